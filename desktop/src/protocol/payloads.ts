// TCRP payloads (docs/protocol.md §4): the request the client sends, and the checks on every
// reply the server sends back.

import { HandshakeError, ProtocolError, type HandshakeErrorCode } from './errors';
import { field, JsonSyntaxError, parseJsonObject, type JsonObject } from './json';
import { isValidKeyDatagrams, MAX_PASSWORD_BYTES, MAX_TOKEN_BYTES, SESSION_ID_BYTES } from './limits';
import { checkName, describeNameProblem } from './names';
import { decodeBase64Url } from './base64url';
import { ipFamily } from './ip-address';
import { isSmallOrderKey, keyFingerprint, X25519_KEY_BYTES } from './noise';
import { Operation, State, type OperationCode, type TcrpFrame } from './tcrp';
import { decodeUtf8, encodeUtf8, isWellFormed, utf8Length } from './utf8';

export interface HandshakeRequest {
  operation: OperationCode;
  room: string;
  username: string;
  /** Absent or empty: no password. */
  password?: string;
  /**
   * When the request is sealed, in whole seconds since the Unix epoch (§12.3: a sealed request
   * carries it, and the server refuses replays by it). Absent: encodeRequest takes the clock's
   * time for a sealed request; a plaintext one carries none.
   */
  sentAt?: number;
}

/** The completion of a successful request (§4.4). */
export interface Completion {
  status: 200 | 201;
  token: string;
  udpPort: number;
  host: boolean;
  /** Encrypted sessions only (§12.3): the 8-byte session id that routes the member's datagrams. */
  session?: Uint8Array;
  /**
   * During the server's key rotation (§12.3): its next 32-byte public key. Trustworthy only from a
   * sealed completion; the encrypted SessionCrypto is the one that acts on it.
   */
  nextKey?: Uint8Array;
  /**
   * Cluster mode (§4.4): the address of the node that holds the room, where datagrams go. Absent:
   * the address the TCP connection reached.
   */
  udpHost?: string;
  /** Encrypted sessions, when not 2^26: counters per datagram key before the key update (§12.4). */
  keyDatagrams?: number;
}

export type Reply =
  | { kind: 'accepted'; message: string }
  | { kind: 'completion'; completion: Completion }
  | { kind: 'error'; status: number; error: HandshakeErrorCode; message: string };

/** The server's error codes and the status each goes with (§4.3). */
export const SERVER_ERRORS: Readonly<Record<string, number>> = {
  bad_request: 400,
  bad_password: 401,
  room_full: 403,
  room_not_found: 404,
  room_exists: 409,
  name_taken: 409,
  server_busy: 503,
  internal_error: 500,
  encryption_required: 426,
  encryption_mismatch: 409,
  rate_limited: 429,
};

/** Checks a request before it is encoded; throws HandshakeError('invalid_input') when it is not valid. */
export function checkRequest(request: HandshakeRequest): void {
  const room = checkName(request.room);
  if (room) throw new HandshakeError('invalid_input', describeNameProblem('room name', room), undefined, 'room');
  const user = checkName(request.username);
  if (user) throw new HandshakeError('invalid_input', describeNameProblem('username', user), undefined, 'username');
  if (request.password !== undefined) {
    if (!isWellFormed(request.password)) {
      throw new HandshakeError('invalid_input', 'The password contains characters that cannot be encoded.', undefined, 'password');
    }
    if (utf8Length(request.password) > MAX_PASSWORD_BYTES) {
      throw new HandshakeError('invalid_input', `The password is too long: at most ${MAX_PASSWORD_BYTES} bytes.`, undefined, 'password');
    }
  }
}

/**
 * The request payload (§4.1): `{"username":...}`, plus `"password"` only when one is given, plus
 * `"time"` when `sentAt` is given (sealed requests, §12.3). The key order is libchat's too, so that
 * both clients seal the same bytes (test/vectors/protocol.json).
 */
export function encodeRequestPayload(request: Pick<HandshakeRequest, 'username' | 'password' | 'sentAt'>): string {
  const body: { username: string; password?: string; time?: number } = { username: request.username };
  if (request.password !== undefined && request.password !== '') body.password = request.password;
  if (request.sentAt !== undefined) body.time = request.sentAt;
  return JSON.stringify(body);
}

/**
 * Checks one frame from the server against the request it answers and decodes its payload.
 * `expectState` is the state this reader waits for: 1 for the first frame, 2 for the second.
 * Throws ProtocolError when the frame breaks the spec.
 */
export function decodeReply(frame: TcrpFrame, request: HandshakeRequest, expectState: 1 | 2): Reply {
  if (frame.state === State.request) throw new ProtocolError('malformed', 'the server sent a frame with state 0 (request)');
  if (frame.state !== State.response && frame.state !== State.completion) {
    throw new ProtocolError('malformed', `the server sent a frame with the unknown state ${frame.state}`);
  }
  if (frame.state !== expectState) {
    throw new ProtocolError('unexpected', `the server sent a state-${frame.state} frame where state ${expectState} was due`);
  }
  if (frame.operation !== request.operation) {
    throw new ProtocolError('malformed', `the server's reply carries operation ${frame.operation}, not ${request.operation}`);
  }
  const text = decodeUtf8(frame.payload);
  if (text === undefined) throw new ProtocolError('invalid_utf8', 'the reply payload is not valid UTF-8');
  let payload: JsonObject;
  try {
    payload = parseJsonObject(text);
  } catch (e) {
    const detail = e instanceof JsonSyntaxError ? e.message : String(e);
    throw new ProtocolError('invalid_json', `the reply payload is not a JSON object (${detail})`);
  }
  const status = field(payload, 'status');
  if (typeof status !== 'number' || !Number.isInteger(status)) {
    throw new ProtocolError('malformed', 'the reply has no integer "status"');
  }
  const error = field(payload, 'error');
  const isError = error !== undefined || status >= 400;

  // The reply names the request's room; only an error response (state 1) may name none (§3.5).
  const roomMatches = bytesEqual(frame.room, encodeUtf8(request.room));
  const emptyAllowed = isError && frame.state === State.response && frame.room.length === 0;
  if (!roomMatches && !emptyAllowed) throw new ProtocolError('malformed', "the server's reply names another room");

  if (isError) {
    if (status < 400 || status > 599) throw new ProtocolError('malformed', `an error reply with status ${status}`);
    const message = field(payload, 'message');
    const known = typeof error === 'string' && SERVER_ERRORS[error] === status;
    const code = (known ? error : 'internal_error') as HandshakeErrorCode;
    const text =
      typeof message === 'string' && message.trim() !== ''
        ? message
        : `The server refused the request (${typeof error === 'string' ? error : 'status ' + status}).`;
    return { kind: 'error', status, error: code, message: text };
  }

  if (frame.state === State.response) {
    if (status !== 202) throw new ProtocolError('malformed', `a response with status ${status} (expected 202 or an error)`);
    const message = field(payload, 'message');
    return { kind: 'accepted', message: typeof message === 'string' ? message : '' };
  }

  const expected = request.operation === Operation.create ? 201 : 200;
  if (status !== expected) throw new ProtocolError('malformed', `a completion with status ${status} (expected ${expected})`);
  const token = field(payload, 'token');
  if (typeof token !== 'string' || !isToken(token)) {
    throw new ProtocolError('malformed', 'the completion has no valid "token" (1–255 printable ASCII characters)');
  }
  const udpPort = field(payload, 'udp_port');
  if (typeof udpPort !== 'number' || !Number.isInteger(udpPort) || udpPort < 1 || udpPort > 65535) {
    throw new ProtocolError('malformed', 'the completion has no valid "udp_port"');
  }
  const host = field(payload, 'host');
  if (typeof host !== 'boolean') throw new ProtocolError('malformed', 'the completion has no boolean "host"');
  const completion: Completion = { status: expected, token, udpPort, host };
  const session = field(payload, 'session');
  if (session !== undefined) {
    const id = typeof session === 'string' ? decodeBase64Url(session) : undefined;
    if (!id || id.length !== SESSION_ID_BYTES) throw new ProtocolError('malformed', 'the completion\'s "session" is not 8 bytes of base64url');
    completion.session = id;
  }
  const nextKey = field(payload, 'next_key');
  if (nextKey !== undefined) {
    // A client pins it: only a usable key whose fingerprint (if given) agrees is taken.
    const key = typeof nextKey === 'string' ? decodeBase64Url(nextKey) : undefined;
    if (!key || key.length !== X25519_KEY_BYTES || isSmallOrderKey(key)) {
      throw new ProtocolError('malformed', 'the completion\'s "next_key" is not a usable 32-byte key');
    }
    const nextFingerprint = field(payload, 'next_fingerprint');
    if (nextFingerprint !== undefined && nextFingerprint !== keyFingerprint(key)) {
      throw new ProtocolError('malformed', 'the completion\'s "next_fingerprint" does not match its "next_key"');
    }
    completion.nextKey = key;
  }
  const keyDatagrams = field(payload, 'key_datagrams');
  if (keyDatagrams !== undefined) {
    // Both sides must update the keys at the same counters: an interval we cannot use is a broken reply.
    if (typeof keyDatagrams !== 'number' || !isValidKeyDatagrams(keyDatagrams)) {
      throw new ProtocolError('malformed', 'the completion\'s "key_datagrams" is not a power of two from 2048 to 67108864');
    }
    completion.keyDatagrams = keyDatagrams;
  }
  const udpHost = field(payload, 'udp_host');
  if (udpHost !== undefined) {
    // An address, never a name to look up: a completion cannot make the client resolve anything.
    if (typeof udpHost !== 'string' || ipFamily(udpHost) === undefined) {
      throw new ProtocolError('malformed', 'the completion\'s "udp_host" is not an IP address');
    }
    completion.udpHost = udpHost;
  }
  return { kind: 'completion', completion };
}

/** Tokens are opaque text of 1–255 printable ASCII characters, 0x21–0x7E (§4.4). */
export function isToken(token: string): boolean {
  if (token.length < 1 || token.length > MAX_TOKEN_BYTES) return false;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
