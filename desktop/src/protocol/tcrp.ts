// TCRP framing (docs/protocol.md §3): a 32-byte header, then the room name, then the payload.
// Pure code: bytes in, frames out. The network side is in handshake.ts.

import { ProtocolError } from './errors';
import { CLIENT_MAX_TCRP_PAYLOAD, MAX_NAME_BYTES, TCRP_HEADER_BYTES, TCRP_SIZE_FIELD_BYTES } from './limits';
import { encodeUtf8 } from './utf8';

export const Operation = { create: 1, join: 2, serverKey: 3 } as const;
/** The operations of a room request (§3.4); operation 3 (the server's key, §12.2) has no request payload. */
export type OperationCode = typeof Operation.create | typeof Operation.join;

export const State = { request: 0, response: 1, completion: 2 } as const;

export interface TcrpFrame {
  operation: number;
  state: number;
  /** The room name exactly as it was on the wire (0–255 bytes; not yet checked as a name). */
  room: Uint8Array;
  payload: Uint8Array;
}

/** Encodes one frame. The payload size is written into all 29 bytes of the size field, big-endian. */
export function encodeFrame(operation: number, state: number, room: string | Uint8Array, payload: string | Uint8Array): Uint8Array {
  const roomBytes = typeof room === 'string' ? encodeUtf8(room) : room;
  const payloadBytes = typeof payload === 'string' ? encodeUtf8(payload) : payload;
  if (roomBytes.length > MAX_NAME_BYTES) throw new ProtocolError('oversize', `room name of ${roomBytes.length} bytes (at most ${MAX_NAME_BYTES})`);
  if (!isByte(operation) || !isByte(state)) throw new ProtocolError('malformed', 'operation and state are single bytes');
  const out = new Uint8Array(TCRP_HEADER_BYTES + roomBytes.length + payloadBytes.length);
  out[0] = roomBytes.length;
  out[1] = operation;
  out[2] = state;
  let size = payloadBytes.length;
  for (let i = TCRP_HEADER_BYTES - 1; i >= 3 && size > 0; i--) {
    out[i] = size % 256;
    size = Math.floor(size / 256);
  }
  out.set(roomBytes, TCRP_HEADER_BYTES);
  out.set(payloadBytes, TCRP_HEADER_BYTES + roomBytes.length);
  return out;
}

/**
 * Reads the declared payload size from a 32-byte header, comparing the whole 29-byte field with
 * `limit` as it goes: returns the size, or undefined when the field states more than `limit`.
 * Nothing is allocated for a size over the limit, however large the field says it is.
 */
export function readPayloadSize(header: Uint8Array, limit: number): number | undefined {
  let value = 0;
  for (let i = 3; i < 3 + TCRP_SIZE_FIELD_BYTES; i++) {
    value = value * 256 + header[i]!;
    if (value > limit) return undefined;
  }
  return value;
}

/**
 * Reads exactly one frame from a byte stream. Feed it chunks with push(); once it returns a
 * frame, the bytes that followed the frame in the last chunk are in `rest`, for the next reader
 * (the server's state-1 and state-2 frames can arrive in one TCP segment). A frame whose header
 * declares a payload over the limit is refused before any of its body is buffered.
 */
export class FrameReader {
  private header = new Uint8Array(TCRP_HEADER_BYTES);
  private headerFill = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private done = false;

  constructor(private readonly maxPayload = CLIENT_MAX_TCRP_PAYLOAD) {}

  /** True once some bytes of this frame have arrived (so that an end of stream cuts it short). */
  get started(): boolean {
    return this.headerFill > 0;
  }

  push(chunk: Uint8Array): { frame: TcrpFrame; rest: Uint8Array } | undefined {
    if (this.done) throw new Error('FrameReader: frame already complete');
    let at = 0;
    if (this.body === undefined) {
      const take = Math.min(TCRP_HEADER_BYTES - this.headerFill, chunk.length);
      this.header.set(chunk.subarray(0, take), this.headerFill);
      this.headerFill += take;
      at = take;
      if (this.headerFill < TCRP_HEADER_BYTES) return undefined;
      const size = readPayloadSize(this.header, this.maxPayload);
      if (size === undefined) {
        throw new ProtocolError('oversize', `the server declared a TCRP payload of more than ${this.maxPayload} bytes`);
      }
      this.body = new Uint8Array(this.header[0]! + size);
    }
    const take = Math.min(this.body.length - this.bodyFill, chunk.length - at);
    this.body.set(chunk.subarray(at, at + take), this.bodyFill);
    this.bodyFill += take;
    at += take;
    if (this.bodyFill < this.body.length) return undefined;
    this.done = true;
    const roomSize = this.header[0]!;
    return {
      frame: {
        operation: this.header[1]!,
        state: this.header[2]!,
        room: this.body.subarray(0, roomSize),
        payload: this.body.subarray(roomSize),
      },
      rest: chunk.subarray(at),
    };
  }
}

function isByte(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 255;
}
