// Errors raised by the protocol layer. Each carries a stable code for programs and a sentence for people.

/** Something the server sent (or something handed to an encoder) breaks docs/protocol.md. */
export class ProtocolError extends Error {
  constructor(
    readonly code: 'malformed' | 'oversize' | 'invalid_utf8' | 'invalid_json' | 'unexpected',
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Codes a handshake can end with: the server's error codes (§4.3) and this client's own. */
export type HandshakeErrorCode =
  | 'bad_request'
  | 'bad_password'
  | 'room_full'
  | 'room_not_found'
  | 'room_exists'
  | 'name_taken'
  | 'server_busy'
  | 'internal_error'
  | 'encryption_required'
  | 'encryption_mismatch'
  | 'rate_limited'
  // local outcomes
  | 'invalid_input'
  | 'connect_failed'
  | 'handshake_timeout'
  | 'connection_closed'
  | 'malformed_reply'
  | 'cancelled'
  // encrypted sessions (docs/protocol.md §12)
  /** A reply did not verify: not sealed by the holder of the server's key, or altered on the way. */
  | 'bad_handshake'
  /** Operation 3 gave no usable key (an older, plaintext-only server; or a malformed answer). */
  | 'server_key_unavailable'
  /** The server's key is not the one pinned for it, or not the fingerprint the user gave. */
  | 'server_key_mismatch'
  /** The known-servers file cannot be read or placed. */
  | 'known_servers'
  /** First contact, but the server's key could not be remembered (and the user did not accept that). */
  | 'pin_not_stored';

/** The part of the request (or of its security settings) an error is about. */
export type HandshakeErrorField = 'server' | 'username' | 'room' | 'password' | 'serverKey' | 'allowPlaintext' | 'acceptUnpinned';

export class HandshakeError extends Error {
  constructor(
    readonly code: HandshakeErrorCode,
    message: string,
    /** The HTTP-like status the server sent, when it sent one. */
    readonly status?: number,
    /** The field of the request the problem is about, when it is known. */
    readonly field?: HandshakeErrorField,
    /** More sentences for people, shown under the message (what happened, what to do). */
    readonly details: readonly string[] = [],
    /**
     * A plaintext error to an encrypted request (§12.3): anyone on the path could have sent it, so
     * it is shown as such and acted on only as "try again", never as advice to weaken anything.
     */
    readonly unauthenticated = false,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

/** Chat text that this client refuses to send (too long, or not encodable). */
export class SendError extends Error {
  constructor(
    readonly code: 'too_long' | 'empty' | 'invalid_text' | 'not_connected' | 'key_spent',
    message: string,
    readonly limit?: number,
  ) {
    super(message);
    this.name = 'SendError';
  }
}
