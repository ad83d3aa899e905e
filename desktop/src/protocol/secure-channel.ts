// Sealed datagrams of an encrypted session (docs/protocol.md §12.4), the client's side:
//
//   client → server:  RoomNameSize | 8 | room | session id (8) | counter (8, BE) | AEAD(k_c2s, counter, ad, message)
//                     ad = every byte before the ciphertext
//   server → client:  counter (8, BE) | AEAD(k_s2c, counter, ad = the 8 counter bytes, datagram)
//
// Counters start at 0 and never wrap. Every `keyDatagrams` counters (2^26 unless the completion
// says fewer) both sides move each direction to its next key, k' = the first half of
// HKDF(k, "", "libchat key update"), so a session never ends for a spent key. What arrives goes
// through an RFC 6479 replay window, checked before the tag and moved only after it verified, so
// that a forged datagram with a high counter can push neither real ones out nor the key on.

import type { DatagramCipher, OpenResult } from './crypto';
import { SendError } from './errors';
import { DEFAULT_KEY_DATAGRAMS, isValidKeyDatagrams, MAX_CLIENT_DATAGRAM, MAX_NAME_BYTES, SESSION_ID_BYTES } from './limits';
import { aeadOpen, aeadSeal, AEAD_TAG_BYTES, nextDatagramKey } from './noise';

export const COUNTER_BYTES = 8;
/** Counters a session may use: exact in a JavaScript number; at any chat rate, never reached. */
export const MAX_SESSION_DATAGRAMS = Number.MAX_SAFE_INTEGER;

/** What sealing adds to a client datagram besides its 2 size bytes and the room name. */
export const SEALED_CLIENT_OVERHEAD = SESSION_ID_BYTES + COUNTER_BYTES + AEAD_TAG_BYTES;

/** Reads a 64-bit big-endian counter; values past 2^53 come out inexact but far past any limit. */
export function readCounter(bytes: Uint8Array, at = 0): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, COUNTER_BYTES);
  return view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4);
}

export function writeCounter(counter: number, out: Uint8Array, at = 0): void {
  const view = new DataView(out.buffer, out.byteOffset + at, COUNTER_BYTES);
  view.setUint32(0, Math.floor(counter / 0x1_0000_0000));
  view.setUint32(4, counter >>> 0);
}

/**
 * Anti-replay (RFC 6479): a bitmap of 32 blocks of 64 bits addressed by counter, so that moving the
 * window clears whole blocks instead of shifting. The caller checks, opens (verifies the tag), and
 * only then accepts. Counters are below 2^26 here, so plain numbers hold them exactly.
 */
export class ReplayWindow {
  private static readonly BLOCKS = 32;
  /** Counters this far behind the highest one accepted are refused: the bitmap minus one block. */
  static readonly SIZE = (ReplayWindow.BLOCKS - 1) * 64;

  // Each 64-bit block is two 32-bit words: bits 0–31 in word 2b, bits 32–63 in word 2b + 1.
  private readonly words = new Uint32Array(ReplayWindow.BLOCKS * 2);
  private highest = 0;
  private any = false;

  /** True if `counter` was not seen and is not too old. */
  check(counter: number): boolean {
    if (!this.any || counter > this.highest) return true;
    if (this.highest - counter >= ReplayWindow.SIZE) return false;
    const [word, mask] = ReplayWindow.locate(counter);
    return (this.words[word]! & mask) === 0;
  }

  /** Records `counter` as seen. Precondition: check(counter) was true and the datagram verified. */
  accept(counter: number): void {
    if (!this.any || counter > this.highest) {
      const to = Math.floor(counter / 64);
      if (!this.any) {
        this.words.fill(0);
      } else {
        const from = Math.floor(this.highest / 64);
        for (let b = from + 1; b <= to && b - from <= ReplayWindow.BLOCKS; b++) {
          const block = b % ReplayWindow.BLOCKS;
          this.words[2 * block] = 0;
          this.words[2 * block + 1] = 0;
        }
      }
      this.highest = counter;
      this.any = true;
    }
    const [word, mask] = ReplayWindow.locate(counter);
    this.words[word] = (this.words[word]! | mask) >>> 0;
  }

  private static locate(counter: number): [number, number] {
    const block = Math.floor(counter / 64) % ReplayWindow.BLOCKS;
    const bit = counter % 64;
    return [2 * block + (bit >= 32 ? 1 : 0), (1 << (bit & 31)) >>> 0];
  }
}

export interface SealedCipherOptions {
  /** The first counter to seal with (tests of the counter limit only; 0 otherwise). */
  firstCounter?: number;
  /** Counters per key: the completion's "key_datagrams" (DEFAULT_KEY_DATAGRAMS when absent). */
  keyDatagrams?: number;
}

/** The datagram cipher of an encrypted session: seals what the client sends, opens what the server sends. */
export class SealedDatagramCipher implements DatagramCipher {
  readonly encrypted = true;
  private readonly window = new ReplayWindow();
  private readonly keyDatagrams: number;
  private nextSend: number;
  private disposed = false;
  // The receiving side holds the key of the newest counter that verified (receiveEpoch), the one
  // before it (datagrams reordered across an update) and, once a datagram asked for it, the next.
  private receiveEpoch = 0;
  private receivePrevious: Buffer | undefined;
  private receiveNext: Buffer | undefined;

  /**
   * `send` and `receive` are the datagram keys of the handshake (k_c2s and k_s2c); the cipher
   * owns them from now on and wipes them in dispose(). `sessionId` is the completion's 8 bytes.
   */
  constructor(
    private readonly send: Buffer,
    private readonly receive: Buffer,
    private readonly sessionId: Uint8Array,
    options: SealedCipherOptions = {},
  ) {
    if (sessionId.length !== SESSION_ID_BYTES) throw new RangeError('a session id is 8 bytes');
    this.keyDatagrams = options.keyDatagrams ?? DEFAULT_KEY_DATAGRAMS;
    if (!isValidKeyDatagrams(this.keyDatagrams)) throw new RangeError('key_datagrams is a power of two from 2^11 to 2^26');
    this.nextSend = options.firstCounter ?? 0;
  }

  get sent(): number {
    return this.nextSend;
  }

  /** Key updates so far of the receiving key (moved by the first datagram under the next key that verified). */
  get receiveKeyUpdates(): number {
    return this.receiveEpoch;
  }

  /** Key updates so far of the sending key: the key of the last counter sealed. */
  get sendKeyUpdates(): number {
    return this.nextSend === 0 ? 0 : Math.floor((this.nextSend - 1) / this.keyDatagrams);
  }

  maxMessageBytes(roomBytes: number): number {
    return MAX_CLIENT_DATAGRAM - 2 - roomBytes - SEALED_CLIENT_OVERHEAD;
  }

  seal(room: Uint8Array, message: Uint8Array): Uint8Array {
    if (this.disposed) throw new SendError('not_connected', 'You are not in a room any more.');
    if (room.length < 1 || room.length > MAX_NAME_BYTES) throw new RangeError('the room name must be 1–255 bytes');
    if (message.length > this.maxMessageBytes(room.length)) {
      throw new SendError('too_long', 'The message does not fit in one datagram.', this.maxMessageBytes(room.length));
    }
    if (this.nextSend >= MAX_SESSION_DATAGRAMS) {
      throw new SendError('key_spent', 'This session has used every datagram counter. Join the room again to continue with fresh keys.');
    }
    const counter = this.nextSend++;
    if (counter !== 0 && counter % this.keyDatagrams === 0) this.replaceSendKey(nextDatagramKey(this.send));
    const header = new Uint8Array(2 + room.length + SESSION_ID_BYTES + COUNTER_BYTES);
    header[0] = room.length;
    header[1] = SESSION_ID_BYTES;
    header.set(room, 2);
    header.set(this.sessionId, 2 + room.length);
    writeCounter(counter, header, 2 + room.length + SESSION_ID_BYTES);
    const sealed = aeadSeal(this.send, counter, header, message);
    const out = new Uint8Array(header.length + sealed.length);
    out.set(header);
    out.set(sealed, header.length);
    return out;
  }

  open(datagram: Uint8Array): OpenResult {
    if (this.disposed || datagram.length < COUNTER_BYTES + AEAD_TAG_BYTES) return { ok: false, reason: 'malformed' };
    const counter = readCounter(datagram);
    if (!this.window.check(counter)) return { ok: false, reason: 'replay' };
    // More than one key ahead: a whole key's worth of datagrams lost in a row, or a forgery.
    const key = this.receiveKeyFor(counter);
    if (!key) return { ok: false, reason: 'key_limit' };
    const plaintext = aeadOpen(key, counter, datagram.subarray(0, COUNTER_BYTES), datagram.subarray(COUNTER_BYTES));
    if (!plaintext) return { ok: false, reason: 'auth_failed' };
    // Only now: a forged counter never moves the window, nor the key.
    if (key === this.receiveNext) this.advanceReceiveKey();
    this.window.accept(counter);
    return { ok: true, datagram: new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength) };
  }

  dispose(): void {
    this.disposed = true;
    this.send.fill(0);
    this.receive.fill(0);
    this.receivePrevious?.fill(0);
    this.receiveNext?.fill(0);
  }

  /** The key that opens `counter`; the next one is derived once and kept, so forgeries that claim it cost no HKDF each. */
  private receiveKeyFor(counter: number): Uint8Array | undefined {
    const epoch = Math.floor(counter / this.keyDatagrams);
    if (epoch === this.receiveEpoch) return this.receive;
    if (epoch + 1 === this.receiveEpoch) return this.receivePrevious;
    if (epoch !== this.receiveEpoch + 1) return undefined;
    this.receiveNext ??= nextDatagramKey(this.receive);
    return this.receiveNext;
  }

  /** The next key verified a datagram: it becomes the current one; the one before the previous is wiped. */
  private advanceReceiveKey(): void {
    this.receivePrevious?.fill(0);
    this.receivePrevious = Buffer.from(this.receive);
    this.receive.set(this.receiveNext!);
    this.receiveNext!.fill(0);
    this.receiveNext = undefined;
    this.receiveEpoch++;
  }

  private replaceSendKey(next: Buffer): void {
    this.send.set(next);
    next.fill(0);
  }
}
