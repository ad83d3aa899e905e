// The cryptography of encrypted sessions (docs/protocol.md §12), on Node's own crypto: X25519,
// SHA-256, HKDF-SHA256 and AES-256-GCM. The handshake is the Noise NK pattern carried inside TCRP
// (-> e, es; <- e, ee): the client knows the server's static key and encrypts its request to it;
// the server answers from a fresh key of its own; both then derive one datagram key per direction.
//
// Secrets (private keys, chaining keys, datagram keys) never leave this module and session.ts'
// cipher except as opaque objects, and nothing here logs anything.

import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { decodeBase64Url, encodeBase64Url } from './base64url';
import { HandshakeError } from './errors';
import { FINGERPRINT_PREFIX } from './fingerprint';
import { field, parseJsonObject, type JsonObject } from './json';
import { decodeUtf8, encodeUtf8 } from './utf8';

export const X25519_KEY_BYTES = 32;
export const AEAD_TAG_BYTES = 16;
export const AEAD_KEY_BYTES = 32;
/** Hashed first into every transcript: a change here is a new protocol. */
export const HANDSHAKE_PROTOCOL_NAME = 'libchat/1 Noise_NK_25519_AESGCM_SHA256';
const MIX_LABEL = 'libchat mix';
const SPLIT_LABEL = 'libchat split';
const KEY_UPDATE_LABEL = 'libchat key update';

// DER wrappers that turn 32 raw bytes into the key objects Node's crypto takes (RFC 8410).
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

// ---- fingerprints ---------------------------------------------------------------------------

/** "SHA256:" and the unpadded standard base64 of SHA-256(key), as OpenSSH prints fingerprints. */
export function keyFingerprint(key: Uint8Array): string {
  return FINGERPRINT_PREFIX + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

// ---- X25519 ---------------------------------------------------------------------------------

export interface X25519KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
}

/** A fresh key pair, or (test vectors only) the one of 32 given private bytes, clamped as RFC 7748 says. */
export function x25519KeyPair(privateBytes?: Uint8Array): X25519KeyPair {
  let privateKey: KeyObject;
  if (privateBytes) {
    if (privateBytes.length !== X25519_KEY_BYTES) throw new RangeError('an X25519 private key is 32 bytes');
    privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, privateBytes]), format: 'der', type: 'pkcs8' });
  } else {
    privateKey = generateKeyPairSync('x25519').privateKey;
  }
  return { privateKey, publicKey: rawPublicKey(createPublicKey(privateKey)) };
}

function rawPublicKey(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - X25519_KEY_BYTES));
}

/**
 * X25519(private, peer). Undefined when the peer's key is not 32 bytes, is a small-order point
 * (OpenSSL refuses the derivation), or the shared secret is all zeros.
 */
export function x25519(privateKey: KeyObject, peer: Uint8Array): Buffer | undefined {
  if (peer.length !== X25519_KEY_BYTES) return undefined;
  let shared: Buffer;
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, peer]), format: 'der', type: 'spki' });
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    return undefined;
  }
  if (shared.every((b) => b === 0)) return undefined;
  return shared;
}

/**
 * True for a small-order X25519 public key (order dividing 8, on the curve or its twist, in any
 * encoding): every secret agreed with it is all zeros, so whatever is sealed to it can be read by
 * anyone. A clamped private key is a multiple of 8 and below 8 times either large prime order,
 * so one agreement with any fixed key tells small-order points from all others.
 */
export function isSmallOrderKey(key: Uint8Array): boolean {
  return key.length === X25519_KEY_BYTES && x25519(smallOrderProbe().privateKey, key) === undefined;
}

let probe: X25519KeyPair | undefined;
function smallOrderProbe(): X25519KeyPair {
  probe ??= x25519KeyPair(Uint8Array.from({ length: X25519_KEY_BYTES }, (_, i) => i + 1));
  return probe;
}

// ---- AES-256-GCM ----------------------------------------------------------------------------

/** The 12-byte nonce: 00 00 00 00 followed by the 64-bit big-endian counter. */
export function aeadNonce(counter: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 4);
  nonce.writeUInt32BE(counter >>> 0, 8);
  return nonce;
}

/** AEAD(k, n, ad, p): the ciphertext followed by the 16-byte tag. */
export function aeadSeal(key: Uint8Array, counter: number, ad: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, aeadNonce(counter), { authTagLength: AEAD_TAG_BYTES });
  cipher.setAAD(ad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([body, cipher.getAuthTag()]);
}

/** The plaintext, or undefined when the tag does not verify (or the input is shorter than a tag). */
export function aeadOpen(key: Uint8Array, counter: number, ad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < AEAD_TAG_BYTES) return undefined;
  const split = sealed.length - AEAD_TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, aeadNonce(counter), { authTagLength: AEAD_TAG_BYTES });
  decipher.setAAD(ad);
  decipher.setAuthTag(sealed.subarray(split));
  const body = decipher.update(sealed.subarray(0, split));
  try {
    return Buffer.concat([body, decipher.final()]);
  } catch {
    body.fill(0);
    return undefined;
  }
}

// ---- the transcript -------------------------------------------------------------------------

function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** A direction's next datagram key (§12.4): the first half of HKDF(key, "", "libchat key update"). */
export function nextDatagramKey(key: Uint8Array): Buffer {
  const [next, unused] = hkdf(key, new Uint8Array(0), KEY_UPDATE_LABEL);
  unused.fill(0);
  return next;
}

function hkdf(salt: Uint8Array, ikm: Uint8Array, info: string): [Buffer, Buffer] {
  const out = Buffer.from(hkdfSync('sha256', ikm, salt, info, 64));
  const halves: [Buffer, Buffer] = [Buffer.from(out.subarray(0, 32)), Buffer.from(out.subarray(32))];
  out.fill(0);
  return halves;
}

/**
 * The running state of one handshake, after the Noise framework: `h` hashes everything sent, `ck`
 * chains every Diffie-Hellman result, `k` seals the handshake payloads. Both sides keep one.
 */
export class Transcript {
  private h: Buffer;
  private ck: Buffer;
  private k: Buffer | undefined;

  /** `operation` and `room` are the request frame's; they are bound into every key (§12.3). */
  constructor(operation: number, room: Uint8Array, serverStatic: Uint8Array) {
    this.h = sha256(encodeUtf8(HANDSHAKE_PROTOCOL_NAME));
    this.ck = Buffer.from(this.h);
    this.mixHash(Uint8Array.of(0x54, 0x43, 0x52, 0x50, operation, room.length), room); // "TCRP" ‖ op ‖ size ‖ room
    this.mixHash(serverStatic);
  }

  mixHash(...data: Uint8Array[]): void {
    this.h = sha256(this.h, ...data);
  }

  mixKey(input: Uint8Array): void {
    const [ck, k] = hkdf(this.ck, input, MIX_LABEL);
    this.ck.fill(0);
    this.k?.fill(0);
    this.ck = ck;
    this.k = k;
  }

  /** AEAD under k with nonce n and ad = h; then h absorbs the ciphertext. */
  encrypt(n: number, plaintext: Uint8Array): Buffer {
    if (!this.k) throw new Error('Transcript: no key yet');
    const sealed = aeadSeal(this.k, n, this.h, plaintext);
    this.mixHash(sealed);
    return sealed;
  }

  /** The plaintext, or undefined when it does not verify (h is then unchanged). */
  decrypt(n: number, sealed: Uint8Array): Buffer | undefined {
    if (!this.k) return undefined;
    const plaintext = aeadOpen(this.k, n, this.h, sealed);
    if (plaintext) this.mixHash(sealed);
    return plaintext;
  }

  /** The two datagram keys, client → server then server → client; the transcript is wiped. */
  split(): { clientToServer: Buffer; serverToClient: Buffer } {
    const [clientToServer, serverToClient] = hkdf(this.ck, new Uint8Array(0), SPLIT_LABEL);
    this.wipe();
    return { clientToServer, serverToClient };
  }

  wipe(): void {
    this.ck.fill(0);
    this.k?.fill(0);
    this.k = undefined;
  }
}

// ---- the client's half of the handshake -----------------------------------------------------

/** What a state-1 payload held: the reply's JSON, and whether it may be taken only as an error. */
export interface OpenedReply {
  json: Uint8Array;
  /** True for a plaintext payload on an encrypted handshake: it cannot be authenticated (§12.3). */
  errorOnly: boolean;
}

function badHandshake(what: 'response' | 'completion'): HandshakeError {
  return new HandshakeError(
    'bad_handshake',
    `The server's ${what} could not be authenticated: it was not sealed by the holder of the server's key, or it was altered on the way. Nothing more was sent.`,
  );
}

function payloadObject(payload: Uint8Array): JsonObject | undefined {
  const text = decodeUtf8(payload);
  if (text === undefined) return undefined;
  try {
    return parseJsonObject(text);
  } catch {
    return undefined;
  }
}

function bytesField(object: JsonObject, key: string): Uint8Array | undefined {
  const value = field(object, key);
  return typeof value === 'string' ? decodeBase64Url(value) : undefined;
}

/**
 * The client's half of one encrypted handshake (§12.3). `serverKey` is the server's static key,
 * already checked against the pin. `ephemeralPrivate` fixes the client's ephemeral key: test
 * vectors only.
 */
export class ClientHandshake {
  private readonly transcript: Transcript;
  private readonly ephemeral: X25519KeyPair;
  private stage: 'new' | 'sent' | 'responded' | 'completed' | 'failed' = 'new';

  constructor(
    private readonly serverKey: Uint8Array,
    operation: number,
    room: Uint8Array,
    ephemeralPrivate?: Uint8Array,
  ) {
    if (serverKey.length !== X25519_KEY_BYTES) throw new RangeError('the server key is 32 bytes');
    this.transcript = new Transcript(operation, room, serverKey);
    this.ephemeral = x25519KeyPair(ephemeralPrivate);
  }

  /** The request payload `{"e":…,"ct":…}`: the request JSON sealed so that only the server can read it. */
  sealRequest(json: Uint8Array): string {
    if (this.stage !== 'new') throw new Error('ClientHandshake: the request was sealed already');
    this.stage = 'sent';
    const t = this.transcript;
    t.mixHash(this.ephemeral.publicKey);
    const es = x25519(this.ephemeral.privateKey, this.serverKey);
    // decodeServerKeyReply refuses small-order keys before they are pinned; a handshake made
    // with one from elsewhere still seals nothing to it.
    if (!es) throw new HandshakeError('server_key_unavailable', 'The server presented a key that cannot be used (a small-order point).');
    t.mixKey(es);
    es.fill(0);
    const ct = t.encrypt(0, json);
    return JSON.stringify({ e: encodeBase64Url(this.ephemeral.publicKey), ct: encodeBase64Url(ct) });
  }

  /**
   * Opens a state-1 payload. A payload without "ct" is returned as it is, marked errorOnly: the
   * caller accepts it only as an error (the server could not read the request, so it could not
   * seal its answer). Anything sealed must verify. Throws HandshakeError('bad_handshake').
   */
  openResponse(payload: Uint8Array): OpenedReply {
    if (this.stage !== 'sent') throw badHandshake('response');
    const object = payloadObject(payload);
    if (object && field(object, 'ct') === undefined) return { json: payload, errorOnly: true };
    this.stage = 'failed';
    if (!object) throw badHandshake('response');
    const e = bytesField(object, 'e');
    const ct = bytesField(object, 'ct');
    if (!e || e.length !== X25519_KEY_BYTES || !ct) throw badHandshake('response');
    const t = this.transcript;
    t.mixHash(e);
    const ee = x25519(this.ephemeral.privateKey, e);
    if (!ee) throw badHandshake('response');
    t.mixKey(ee);
    ee.fill(0);
    const json = t.decrypt(0, ct);
    if (!json) throw badHandshake('response');
    this.stage = 'responded';
    return { json, errorOnly: false };
  }

  /** Opens the state-2 payload `{"ct":…}`. Throws HandshakeError('bad_handshake'). */
  openCompletion(payload: Uint8Array): Uint8Array {
    if (this.stage !== 'responded') throw badHandshake('completion');
    this.stage = 'failed';
    const object = payloadObject(payload);
    const ct = object ? bytesField(object, 'ct') : undefined;
    const json = ct ? this.transcript.decrypt(1, ct) : undefined;
    if (!json) throw badHandshake('completion');
    this.stage = 'completed';
    return json;
  }

  /** The datagram keys (§12.3 "Keys"). Only after a completion that verified. */
  split(): { send: Buffer; receive: Buffer } {
    if (this.stage !== 'completed') throw new Error('ClientHandshake: split before the completion');
    const { clientToServer, serverToClient } = this.transcript.split();
    return { send: clientToServer, receive: serverToClient };
  }

  /** Forgets the chaining key (a handshake that failed, or whose keys were taken). */
  wipe(): void {
    this.transcript.wipe();
  }
}
