// Numbers fixed by docs/protocol.md (§9 and the sections it cites). No Node APIs here.

/** Names (room names, usernames): 1–255 bytes of UTF-8 (§2). */
export const MAX_NAME_BYTES = 255;
/** Passwords: at most 1024 bytes (§4.1). */
export const MAX_PASSWORD_BYTES = 1024;
/** Tokens: 1–255 printable ASCII bytes (§4.4, §5). */
export const MAX_TOKEN_BYTES = 255;
/** A client → server datagram is at most this long (§6.1). */
export const MAX_CLIENT_DATAGRAM = 4096;
/** A server → client datagram is at most this long (§6.3). */
export const MAX_SERVER_DATAGRAM = 4094;
/** TCRP header: RoomNameSize u8 | Operation u8 | State u8 | OperationPayloadSize 29 bytes (§3.1). */
export const TCRP_HEADER_BYTES = 32;
export const TCRP_SIZE_FIELD_BYTES = 29;
/** A client SHOULD accept TCRP payloads of at least 65536 bytes (§3.1); this client accepts exactly that. */
export const CLIENT_MAX_TCRP_PAYLOAD = 65536;
/** The session id of an encrypted session: 8 bytes (§12.3, §12.4). */
export const SESSION_ID_BYTES = 8;
/** Datagrams one key seals before the key update, unless the completion says fewer (§12.4). */
export const DEFAULT_KEY_DATAGRAMS = 2 ** 26;
/** The fewest a completion may say: more than the replay window, so a counter inside it is at most one key back. */
export const MIN_KEY_DATAGRAMS = 2 ** 11;

/** A key-update interval both sides can use: a power of two from 2^11 to 2^26. */
export function isValidKeyDatagrams(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_KEY_DATAGRAMS && n <= DEFAULT_KEY_DATAGRAMS && (n & (n - 1)) === 0;
}
/** The port the reference server listens on by default (§9). */
export const DEFAULT_PORT = 9000;

/**
 * The longest chat text, in UTF-8 bytes, that `username` may send (§6.4): the relayed datagram
 * `1 + len(username) + len(text)` must fit in 4094 bytes.
 */
export function maxTextBytesFor(usernameBytes: number): number {
  return MAX_SERVER_DATAGRAM - 1 - usernameBytes;
}
