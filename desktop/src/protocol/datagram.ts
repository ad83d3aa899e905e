// UDP datagram framing (docs/protocol.md §6 and §8), both directions. Pure code.

import { ProtocolError } from './errors';
import { field, JsonSyntaxError, parseJsonObject, type JsonObject } from './json';
import { MAX_CLIENT_DATAGRAM, MAX_NAME_BYTES, MAX_SERVER_DATAGRAM, MAX_TOKEN_BYTES } from './limits';
import { checkName } from './names';
import { decodeUtf8, encodeUtf8 } from './utf8';

export type ClientMessageKind = 'keepalive' | 'control' | 'chat';

export interface ClientDatagram {
  room: Uint8Array;
  token: Uint8Array;
  message: Uint8Array;
  kind: ClientMessageKind;
}

/** `RoomNameSize | TokenSize | room | token | message`, at most 4096 bytes (§6.1). */
export function encodeClientDatagram(room: string | Uint8Array, token: string | Uint8Array, message: Uint8Array): Uint8Array {
  const roomBytes = typeof room === 'string' ? encodeUtf8(room) : room;
  const tokenBytes = typeof token === 'string' ? encodeUtf8(token) : token;
  if (roomBytes.length < 1 || roomBytes.length > MAX_NAME_BYTES) throw new ProtocolError('malformed', 'the room name must be 1–255 bytes');
  if (tokenBytes.length < 1 || tokenBytes.length > MAX_TOKEN_BYTES) throw new ProtocolError('malformed', 'the token must be 1–255 bytes');
  const size = 2 + roomBytes.length + tokenBytes.length + message.length;
  if (size > MAX_CLIENT_DATAGRAM) throw new ProtocolError('oversize', `a datagram of ${size} bytes (at most ${MAX_CLIENT_DATAGRAM})`);
  const out = new Uint8Array(size);
  out[0] = roomBytes.length;
  out[1] = tokenBytes.length;
  out.set(roomBytes, 2);
  out.set(tokenBytes, 2 + roomBytes.length);
  out.set(message, 2 + roomBytes.length + tokenBytes.length);
  return out;
}

/** The bytes of a control message: 0x00 then a JSON object with a "type" (§6.2). */
export function controlMessage(type: string, extra: Record<string, string> = {}): Uint8Array {
  const json = encodeUtf8(JSON.stringify({ type, ...extra }));
  const out = new Uint8Array(1 + json.length);
  out.set(json, 1);
  return out;
}

export const LEAVE_MESSAGE = controlMessage('leave');
export const KEEPALIVE_MESSAGE = new Uint8Array(0);

/** Decodes a client → server datagram (what the server does; used by the tests and for symmetry). */
export function decodeClientDatagram(data: Uint8Array): ClientDatagram {
  if (data.length > MAX_CLIENT_DATAGRAM) throw new ProtocolError('oversize', `a datagram of ${data.length} bytes`);
  if (data.length < 2) throw new ProtocolError('malformed', 'a datagram shorter than its length fields');
  const roomSize = data[0]!;
  const tokenSize = data[1]!;
  if (roomSize === 0 || tokenSize === 0) throw new ProtocolError('malformed', 'a zero RoomNameSize or TokenSize');
  if (2 + roomSize + tokenSize > data.length) throw new ProtocolError('malformed', 'a datagram shorter than its length fields say');
  const message = data.subarray(2 + roomSize + tokenSize);
  const kind: ClientMessageKind = message.length === 0 ? 'keepalive' : message[0] === 0 ? 'control' : 'chat';
  return { room: data.subarray(2, 2 + roomSize), token: data.subarray(2 + roomSize, 2 + roomSize + tokenSize), message, kind };
}

/** A server → client datagram: `SenderNameSize | sender | text`, at most 4094 bytes (§6.3). */
export function encodeServerDatagram(sender: string, text: Uint8Array): Uint8Array {
  const senderBytes = encodeUtf8(sender);
  if (senderBytes.length > MAX_NAME_BYTES) throw new ProtocolError('oversize', 'a sender name over 255 bytes');
  const size = 1 + senderBytes.length + text.length;
  if (size > MAX_SERVER_DATAGRAM) throw new ProtocolError('oversize', `a datagram of ${size} bytes (at most ${MAX_SERVER_DATAGRAM})`);
  const out = new Uint8Array(size);
  out[0] = senderBytes.length;
  out.set(senderBytes, 1);
  out.set(text, 1 + senderBytes.length);
  return out;
}

export type Notice =
  | { event: 'joined'; user: string }
  | { event: 'left'; user: string; reason: string }
  | { event: 'timeout' }
  | { event: 'room_closed'; reason: string }
  | { event: 'server_shutdown' }
  | { event: 'pong' }
  | { event: 'error'; error: string }
  /** One part of the list of who is in the room (§6.6); `host` is '' while the host has not joined. */
  | { event: 'members'; part: number; parts: number; host: string; users: string[] }
  /** An event this client does not know: shown neutrally, never acted on (§6.3). */
  | { event: 'unknown'; name: string; fields: JsonObject };

export type ServerDatagram = { kind: 'chat'; sender: string; text: string } | { kind: 'notice'; notice: Notice };

/**
 * Decodes and checks one datagram from the server. Throws ProtocolError when it is oversized, cut
 * short, not UTF-8, or a notice that is not a JSON object with a string "event".
 */
export function decodeServerDatagram(data: Uint8Array): ServerDatagram {
  if (data.length > MAX_SERVER_DATAGRAM) throw new ProtocolError('oversize', `a datagram of ${data.length} bytes from the server (at most ${MAX_SERVER_DATAGRAM})`);
  if (data.length < 1) throw new ProtocolError('malformed', 'an empty datagram from the server');
  const senderSize = data[0]!;
  if (1 + senderSize > data.length) throw new ProtocolError('malformed', 'a datagram shorter than its SenderNameSize says');
  const text = decodeUtf8(data.subarray(1 + senderSize));
  if (text === undefined) throw new ProtocolError('invalid_utf8', 'a datagram whose text is not valid UTF-8');
  if (senderSize === 0) return { kind: 'notice', notice: parseNotice(text) };
  const sender = decodeUtf8(data.subarray(1, 1 + senderSize));
  if (sender === undefined || checkName(sender) !== undefined) throw new ProtocolError('malformed', 'a datagram whose sender is not a valid name');
  if (text.length === 0) throw new ProtocolError('malformed', 'an empty chat message from the server');
  return { kind: 'chat', sender, text };
}

/** Checks a notice's JSON (§6.3). Keys this client does not know are ignored. */
export function parseNotice(text: string): Notice {
  let object: JsonObject;
  try {
    object = parseJsonObject(text);
  } catch (e) {
    const detail = e instanceof JsonSyntaxError ? e.message : String(e);
    throw new ProtocolError('invalid_json', `a notice that is not a JSON object (${detail})`);
  }
  const event = field(object, 'event');
  if (typeof event !== 'string') throw new ProtocolError('malformed', 'a notice without a string "event"');
  const optionalString = (key: string): string => {
    const value = field(object, key);
    if (value === undefined) return '';
    if (typeof value !== 'string') throw new ProtocolError('malformed', `a ${event} notice whose "${key}" is not a string`);
    return value;
  };
  const user = (): string => {
    const value = field(object, 'user');
    if (typeof value !== 'string' || checkName(value) !== undefined) throw new ProtocolError('malformed', `a ${event} notice without a valid "user"`);
    return value;
  };
  switch (event) {
    case 'joined':
      return { event, user: user() };
    case 'left':
      return { event, user: user(), reason: optionalString('reason') };
    case 'timeout':
    case 'server_shutdown':
    case 'pong':
      return { event };
    case 'room_closed':
      return { event, reason: optionalString('reason') };
    case 'error':
      return { event, error: optionalString('error') };
    case 'members':
      return parseMembers(object);
    default:
      return { event: 'unknown', name: event, fields: object };
  }
}

/** The most parts a members notice may claim (§6.6): one name per part for 100000 members. */
export const MAX_MEMBERS_PARTS = 100000;

/** The fields of a members notice (§6.6); anything wrong refuses the whole notice. */
function parseMembers(object: JsonObject): Notice {
  const users = field(object, 'users');
  if (!Array.isArray(users)) throw new ProtocolError('malformed', 'a members notice without a "users" array');
  const names: string[] = [];
  for (const user of users) {
    if (typeof user !== 'string' || checkName(user) !== undefined) throw new ProtocolError('malformed', 'a members notice with a user that is not a valid name');
    names.push(user);
  }
  const count = (key: string): number => {
    const value = field(object, key);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_MEMBERS_PARTS) {
      throw new ProtocolError('malformed', `a members notice without a valid "${key}"`);
    }
    return value;
  };
  const part = count('part');
  const parts = count('parts');
  if (part > parts) throw new ProtocolError('malformed', 'a members notice whose "part" is past its "parts"');
  const host = field(object, 'host');
  if (host !== undefined && (typeof host !== 'string' || checkName(host) !== undefined)) {
    throw new ProtocolError('malformed', 'a members notice whose "host" is not a valid name');
  }
  return { event: 'members', part, parts, host: host ?? '', users: names };
}

/** A lobby datagram (§8): `UsernameSize | username | message`, the same both ways. */
export function encodeLobbyDatagram(username: string, message: Uint8Array): Uint8Array {
  if (checkName(username) !== undefined) throw new ProtocolError('malformed', 'the lobby username must be a valid name');
  const out = encodeServerDatagram(username, message);
  if (out.length > MAX_CLIENT_DATAGRAM) throw new ProtocolError('oversize', 'a lobby datagram over 4096 bytes');
  return out;
}

export function decodeLobbyDatagram(data: Uint8Array): { username: string; message: Uint8Array } {
  if (data.length > MAX_CLIENT_DATAGRAM) throw new ProtocolError('oversize', 'a lobby datagram over 4096 bytes');
  if (data.length < 1 || data[0] === 0 || 1 + data[0]! > data.length) throw new ProtocolError('malformed', 'a lobby datagram with a bad UsernameSize');
  const username = decodeUtf8(data.subarray(1, 1 + data[0]!));
  if (username === undefined || checkName(username) !== undefined) throw new ProtocolError('malformed', 'a lobby datagram without a valid username');
  return { username, message: data.subarray(1 + data[0]!) };
}
