// The seam between the session and encryption. ChatSession and the TCRP exchange talk to the
// network only through a SessionCrypto: framing (tcrp.ts, datagram.ts) sees plaintext, transports
// (transport.ts) see what goes on the wire.
//
// - encryptedCrypto() (the default): docs/protocol.md §12. Before the request it fetches the server's
//   key (operation 3, on its own TCP connection), checks the fingerprint against the key and asks
//   `trust` whether to use it — before anything secret is sent. Then the request is sealed to that
//   key (Noise NK), the replies must verify, and every datagram is sealed with a counter.
// - plaintextCrypto: the old protocol (§3–§7), for servers started with --allow-plaintext.

import { encodeClientDatagram } from './datagram';
import { HandshakeError } from './errors';
import { MAX_CLIENT_DATAGRAM } from './limits';
import { ClientHandshake, keyFingerprint, type OpenedReply } from './noise';
import type { Completion } from './payloads';
import { SealedDatagramCipher, type SealedCipherOptions } from './secure-channel';
import { requestServerKey, type ServerKey } from './server-key';
import type { Transport } from './transport';
import { serverId } from './fingerprint';
import { encodeUtf8 } from './utf8';

/** Where the handshake goes, for a SessionCrypto that needs to know before the request. */
export interface HandshakeContext {
  host: string;
  port: number;
  /** host:port as the known-servers file names the server (fingerprint.ts serverId). */
  serverId: string;
  /** HOST:PORT for sentences. */
  where: string;
  operation: number;
  room: Uint8Array;
  transport: Transport;
  /** Aborted when the handshake's deadline passes. */
  signal: AbortSignal;
}

export interface SessionCrypto {
  readonly encrypted: boolean;
  /** Runs before the request is sent; an encrypted session fetches and checks the server's key here. */
  begin(context: HandshakeContext): Promise<HandshakeCrypto>;
}

/** One handshake's payload protection. */
export interface HandshakeCrypto {
  readonly security: SessionSecurity;
  /** The request payload (§4.1 JSON, sealed or not). */
  sealRequest(json: Uint8Array): Uint8Array | string;
  /** A state-1 payload: its JSON, and whether it may be taken only as an error. Throws HandshakeError('bad_handshake'). */
  openResponse(payload: Uint8Array): OpenedReply;
  /** The state-2 payload's JSON. Throws HandshakeError('bad_handshake'). */
  openCompletion(payload: Uint8Array): Uint8Array;
  /** After a successful completion: this membership's datagram cipher. Throws HandshakeError. */
  datagramCipher(completion: Completion): DatagramCipher;
  /**
   * After a successful completion, before the session starts: acts on what the (sealed)
   * completion announced, such as the server's next key; may add to `security.note`.
   */
  completed?(completion: Completion): Promise<void>;
  /** The handshake failed: forget what it holds. */
  abandon(): void;
}

export type OpenResult =
  | { ok: true; datagram: Uint8Array }
  /** Dropped: too short, a counter seen before or too old, a tag that does not verify, a counter past the key's limit. */
  | { ok: false; reason: 'malformed' | 'replay' | 'auth_failed' | 'key_limit' };

export interface DatagramCipher {
  readonly encrypted: boolean;
  /** Datagrams sealed so far (the next counter). */
  readonly sent: number;
  /** The longest message (§6.1) one datagram to the server can carry, for a room name of this many bytes. */
  maxMessageBytes(roomBytes: number): number;
  /** The datagram that carries `message` to `room`. Throws SendError ('key_spent' once the key is used up). */
  seal(room: Uint8Array, message: Uint8Array): Uint8Array;
  /** The server's datagram in the clear (§6.3), or why it was dropped. */
  open(datagram: Uint8Array): OpenResult;
  /** The session is over: forget the keys. */
  dispose(): void;
}

/** How the server's key was trusted (docs/security.md §1, "trust on first use"). */
export type PinOutcome =
  /** It is the key pinned for this server. */
  | 'known'
  /** First contact: nothing was pinned; it is now. */
  | 'first_contact'
  /** It matches the fingerprint the user gave (and is pinned now, if it was not). */
  | 'given'
  /** It matches the fingerprint the user gave, which replaced another pinned key. */
  | 'replaced'
  /** First contact, but the pin could not be saved (the user accepted that): it will not be checked next time. */
  | 'not_saved'
  /** The key the server had announced as its next one (a key rotation); it replaced the old pin. */
  | 'rotated'
  /** Nothing checked it (a caller of openChatSession without `trust`). */
  | 'unchecked';

export interface KeyTrust {
  pin: PinOutcome;
  /** A sentence for people about the pin (first contact, replaced, not saved). */
  note?: string;
  /** The known-servers ids that pin the key now: where an announced next key is recorded. */
  pinnedAs?: string[];
}

export type SessionSecurity = { encrypted: false } | { encrypted: true; fingerprint: string; pin: PinOutcome; note?: string };

export interface ServerIdentity {
  host: string;
  port: number;
  /** host:port as the known-servers file names it. */
  id: string;
  /** The address `host` resolved to (for the key request), as the known-servers file names it. */
  address?: string;
}

/**
 * Decides whether to use the key the server presented. Resolves with how it was trusted; rejects
 * with a HandshakeError (server_key_mismatch, known_servers) to refuse it. It runs before
 * anything secret is sent.
 */
export type TrustServerKey = (server: ServerIdentity, key: ServerKey) => Promise<KeyTrust>;

/**
 * The fingerprint this client expects from the server (entered by the user, or remembered), if
 * any. A server that has one and answers "no key here" is not an older server but someone in the
 * path who wants the user to turn encryption off.
 */
export type PinnedFingerprint = (server: ServerIdentity) => Promise<string | undefined>;

/**
 * Records `next`, the key the server announced inside its sealed completion for a key rotation,
 * for the ids that pin its current key (`trusted.pinnedAs`). Resolves with a sentence for people
 * when something was recorded (or could not be); never rejects.
 */
export type RecordNextKey = (server: ServerIdentity, trusted: KeyTrust, next: ServerKey) => Promise<string | undefined>;

export interface EncryptedCryptoOptions {
  /** Default: use whatever key the server presents (protects from eavesdroppers, not from impostors). */
  trust?: TrustServerKey;
  /** Default: no server is pinned. */
  pinned?: PinnedFingerprint;
  /** Default: an announced next key is not recorded. */
  recordNextKey?: RecordNextKey;
  /** Fixes the client's ephemeral key: test vectors only. */
  ephemeralPrivate?: Uint8Array;
  /** Options of the datagram cipher: tests only. */
  cipher?: SealedCipherOptions;
}

const uncheckedTrust: TrustServerKey = () => Promise.resolve({ pin: 'unchecked' });

/** Encrypted sessions (§12), the default. */
export function encryptedCrypto(options: EncryptedCryptoOptions = {}): SessionCrypto {
  const trust = options.trust ?? uncheckedTrust;
  return {
    encrypted: true,
    async begin(context: HandshakeContext): Promise<HandshakeCrypto> {
      const server: ServerIdentity = { host: context.host, port: context.port, id: context.serverId };
      const { key: serverKey, remoteAddress } = await fetchServerKeyOrExplain(context, server, options.pinned);
      server.address = serverId(unmappedAddress(remoteAddress), context.port);
      // The pin is checked before the request is even sealed: nothing secret leaves before it.
      const verdict = await trust(server, serverKey);
      if (context.signal.aborted) throw context.signal.reason;
      const handshake = new ClientHandshake(serverKey.key, context.operation, context.room, options.ephemeralPrivate);
      const security: Extract<SessionSecurity, { encrypted: true }> = { encrypted: true, fingerprint: serverKey.fingerprint, pin: verdict.pin };
      if (verdict.note !== undefined) security.note = verdict.note;
      return {
        security,
        sealRequest: (json) => handshake.sealRequest(json),
        openResponse: (payload) => handshake.openResponse(payload),
        openCompletion: (payload) => handshake.openCompletion(payload),
        datagramCipher(completion: Completion): DatagramCipher {
          if (!completion.session) {
            handshake.wipe();
            throw new HandshakeError('malformed_reply', `The server at ${context.where} sent an encrypted completion without a session id.`);
          }
          const keys = handshake.split();
          const cipherOptions: SealedCipherOptions = { ...options.cipher };
          if (completion.keyDatagrams !== undefined) cipherOptions.keyDatagrams = completion.keyDatagrams;
          return new SealedDatagramCipher(keys.send, keys.receive, completion.session, cipherOptions);
        },
        async completed(completion: Completion): Promise<void> {
          // Only here, in the sealed completion, is a next key vouched for by the pinned one.
          if (!completion.nextKey || options.recordNextKey === undefined) return;
          const next = { key: completion.nextKey, fingerprint: keyFingerprint(completion.nextKey) };
          if (next.fingerprint === serverKey.fingerprint) return;
          const said = await options.recordNextKey(server, verdict, next);
          if (said !== undefined) security.note = security.note === undefined ? said : `${security.note} ${said}`;
        },
        abandon: () => handshake.wipe(),
      };
    },
  };
}

/**
 * The server's key. "No key here" from a server whose key is pinned cannot be authenticated (a
 * key answer never is): it becomes bad_handshake, marked unauthenticated, with no advice to
 * connect unencrypted.
 */
async function fetchServerKeyOrExplain(
  context: HandshakeContext,
  server: ServerIdentity,
  pinned: PinnedFingerprint | undefined,
): Promise<FetchedKey> {
  try {
    return await fetchServerKey(context);
  } catch (e) {
    if (!(e instanceof HandshakeError) || e.code !== 'server_key_unavailable' || pinned === undefined) throw e;
    const pin = await pinned(server);
    if (pin === undefined) throw e;
    throw new HandshakeError(
      'bad_handshake',
      `The server at ${context.where} answered that it has no key, but its key is known (${pin}): the reply could not be authenticated, so someone may be intercepting the connection. Nothing secret was sent.`,
      e.status,
      'serverKey',
      [],
      true,
    );
  }
}

/** Operation 3's key, and the address it came from (what the host name resolved to). */
interface FetchedKey {
  key: ServerKey;
  remoteAddress: string;
}

async function fetchServerKey(context: HandshakeContext): Promise<FetchedKey> {
  const tcp = await context.transport.connectTcp(context.host, context.port, context.signal);
  try {
    return { key: await abortable(requestServerKey(tcp, context.where), context.signal), remoteAddress: tcp.remoteAddress };
  } finally {
    tcp.close();
  }
}

/** An IPv4-mapped IPv6 address (::ffff:192.0.2.7) as the IPv4 address it is. */
export function unmappedAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** `promise`, or the signal's reason once it is aborted. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The old protocol's datagrams: the token in clear, nothing sealed (§6.1). */
export function plaintextCipher(token: string): DatagramCipher {
  const tokenBytes = encodeUtf8(token);
  let sent = 0;
  return {
    encrypted: false,
    get sent() {
      return sent;
    },
    maxMessageBytes: (roomBytes) => MAX_CLIENT_DATAGRAM - 2 - roomBytes - tokenBytes.length,
    seal(room, message) {
      const datagram = encodeClientDatagram(room, tokenBytes, message);
      sent++;
      return datagram;
    },
    open: (datagram) => ({ ok: true, datagram }),
    dispose: () => undefined,
  };
}

/** The payloads of an unencrypted handshake, as they are. */
export const plaintextHandshake: HandshakeCrypto = {
  security: { encrypted: false },
  sealRequest: (json) => json,
  openResponse: (payload) => ({ json: payload, errorOnly: false }),
  openCompletion: (payload) => payload,
  datagramCipher: (completion) => plaintextCipher(completion.token),
  abandon: () => undefined,
};

/** The old protocol, unencrypted (docs/protocol.md §10.1): only with servers started with --allow-plaintext. */
export const plaintextCrypto: SessionCrypto = {
  encrypted: false,
  begin: () => Promise.resolve(plaintextHandshake),
};
