// The server's half of an encrypted session (docs/protocol.md §12), for the tests only: to check
// the vectors from the other side too, and to play hand-made servers that misbehave. Built on the
// same primitives as the client (src/protocol/noise.ts), following the spec and the C++ server.

import {
  aeadOpen,
  aeadSeal,
  COUNTER_BYTES,
  decodeBase64Url,
  encodeBase64Url,
  field,
  keyFingerprint,
  parseJsonObject,
  readCounter,
  ReplayWindow,
  SESSION_ID_BYTES,
  Transcript,
  writeCounter,
  x25519,
  x25519KeyPair,
  type X25519KeyPair,
} from '../../src/protocol';

export class ServerHandshake {
  private readonly transcript: Transcript;
  private readonly ephemeral: X25519KeyPair;
  private clientEphemeral: Uint8Array | undefined;

  constructor(
    private readonly staticKey: X25519KeyPair,
    operation: number,
    room: Uint8Array,
    ephemeralPrivate?: Uint8Array,
  ) {
    this.transcript = new Transcript(operation, room, staticKey.publicKey);
    this.ephemeral = x25519KeyPair(ephemeralPrivate);
  }

  /** The request's JSON, or undefined when it is not a sealed request that verifies. */
  openRequest(payload: Uint8Array | string): Buffer | undefined {
    let object;
    try {
      object = parseJsonObject(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
    } catch {
      return undefined;
    }
    const e = field(object, 'e');
    const ct = field(object, 'ct');
    const key = typeof e === 'string' ? decodeBase64Url(e) : undefined;
    const sealed = typeof ct === 'string' ? decodeBase64Url(ct) : undefined;
    if (!key || key.length !== 32 || !sealed) return undefined;
    this.clientEphemeral = key;
    this.transcript.mixHash(key);
    const es = x25519(this.staticKey.privateKey, key);
    if (!es) return undefined;
    this.transcript.mixKey(es);
    return this.transcript.decrypt(0, sealed);
  }

  sealResponse(json: string): string {
    this.transcript.mixHash(this.ephemeral.publicKey);
    this.transcript.mixKey(x25519(this.ephemeral.privateKey, this.clientEphemeral!)!);
    const ct = this.transcript.encrypt(0, Buffer.from(json));
    return JSON.stringify({ e: encodeBase64Url(this.ephemeral.publicKey), ct: encodeBase64Url(ct) });
  }

  sealCompletion(json: string): string {
    return JSON.stringify({ ct: encodeBase64Url(this.transcript.encrypt(1, Buffer.from(json))) });
  }

  /** The server's keys: it seals with server → client, opens with client → server. */
  split(): { send: Buffer; receive: Buffer } {
    const { clientToServer, serverToClient } = this.transcript.split();
    return { send: serverToClient, receive: clientToServer };
  }
}

/** The operation-3 answer for a key. */
export function serverKeyResponse(publicKey: Uint8Array): string {
  return JSON.stringify({ status: 200, key: encodeBase64Url(publicKey), fingerprint: keyFingerprint(publicKey) });
}

/** A server → client datagram: counter ‖ AEAD(k_s2c, counter, ad = counter, plaintext). */
export function sealServerDatagram(key: Uint8Array, counter: number, plaintext: Uint8Array): Buffer {
  const head = Buffer.alloc(COUNTER_BYTES);
  writeCounter(counter, head);
  return Buffer.concat([head, aeadSeal(key, counter, head, plaintext)]);
}

export interface OpenedClientDatagram {
  room: string;
  session: Buffer;
  counter: number;
  message: Buffer;
}

/** Opens a sealed client datagram as the server does; undefined when it is not one or does not verify. */
export function openClientDatagram(key: Uint8Array, datagram: Uint8Array, window?: ReplayWindow): OpenedClientDatagram | undefined {
  if (datagram.length < 2) return undefined;
  const roomSize = datagram[0]!;
  if (datagram[1] !== SESSION_ID_BYTES) return undefined;
  const header = 2 + roomSize + SESSION_ID_BYTES;
  if (datagram.length < header + COUNTER_BYTES + 16) return undefined;
  const counter = readCounter(datagram, header);
  if (window && !window.check(counter)) return undefined;
  const message = aeadOpen(key, counter, datagram.subarray(0, header + COUNTER_BYTES), datagram.subarray(header + COUNTER_BYTES));
  if (!message) return undefined;
  window?.accept(counter);
  return {
    room: Buffer.from(datagram.subarray(2, 2 + roomSize)).toString('utf8'),
    session: Buffer.from(datagram.subarray(2 + roomSize, header)),
    counter,
    message,
  };
}
