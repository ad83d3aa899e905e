// Key fingerprints as chat-server prints them, and how a server is named in the known-servers
// file (docs/protocol.md §12.1, §12.2). No Node APIs here: the renderer checks the form with it.

export const FINGERPRINT_PREFIX = 'SHA256:';
/** Unpadded base64 of a 32-byte digest. */
const DIGEST_CHARS = 43;
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Checks a fingerprint as chat-server prints it, "SHA256:" and 43 characters of unpadded standard
 * base64 (one trailing "=" is accepted and dropped). Returns it in that form, or undefined. The
 * same rules as chat-client's, so that both read one known-servers file alike.
 */
export function normaliseFingerprint(text: string): string | undefined {
  const input = text.trim();
  if (!input.startsWith(FINGERPRINT_PREFIX)) return undefined;
  let digest = input.slice(FINGERPRINT_PREFIX.length);
  if (digest.endsWith('=')) digest = digest.slice(0, -1);
  if (digest.length !== DIGEST_CHARS) return undefined;
  for (const c of digest) if (!BASE64.includes(c)) return undefined;
  // 43 characters carry 258 bits for 256: the last character's two low bits must be zero.
  if ((BASE64.indexOf(digest[DIGEST_CHARS - 1]!) & 0x3) !== 0) return undefined;
  return FINGERPRINT_PREFIX + digest;
}

/**
 * How a server is named in the known-servers file: "host:port", or "[v6-address]:port"; ASCII
 * letters of the host in lower case. The host is the one the user typed; the address it resolved
 * to is pinned as well, under its own id (SSH's CheckHostIP).
 */
export function serverId(host: string, port: number): string {
  const name = host.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return `${name.includes(':') ? `[${name}]` : name}:${port}`;
}
