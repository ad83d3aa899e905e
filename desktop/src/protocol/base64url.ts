// base64url without padding (RFC 4648 §5): how the protocol writes keys, ciphertexts and session ids.

/** base64url without padding (RFC 4648 §5), as the protocol writes keys and ciphertexts. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Strict base64url: only the alphabet, no padding, and the canonical spelling (unused low bits
 * zero). Node's own decoder skips what it does not know, which must not happen to a key.
 */
export function decodeBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
