// The shared client transcripts (test/vectors/transcripts.json, also played by libchat's
// client_exchange in test/exchange/client_exchange_test.cpp): for each request, the frames a
// server sends, and what the client must conclude. runHandshake is fed the frames over a fake
// stream, whole and one byte at a time.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import {
  ClientHandshake,
  encodeFrame,
  HandshakeError,
  keyFingerprint,
  plaintextHandshake,
  runHandshake,
  type ByteStream,
  type Completion,
  type HandshakeCrypto,
  type OperationCode,
} from '../src/protocol';
import { repoDir } from './helpers/processes';

type Frame = { operation: number; state: number; room: string; payload: string } | { hex: string };
interface TranscriptCase {
  name: string;
  operation: number;
  room: string;
  username: string;
  password: string | null;
  encrypted: boolean;
  server_key_hex?: string;
  client_ephemeral_private_hex?: string;
  /** Encrypted cases: the time the request is sealed at (the replies' keys depend on it). */
  time?: number;
  replies: Frame[];
  close_after: boolean;
  expect:
    | { grant: { token: string; udp_port: number; host: boolean; created: boolean; session?: boolean; next_fingerprint?: string } }
    | { failure: { kind: string; error?: string; unauthenticated: boolean } };
}

const file = JSON.parse(readFileSync(path.join(repoDir, 'test', 'vectors', 'transcripts.json'), 'utf8')) as {
  cases: TranscriptCase[];
};
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

function frameBytes(f: Frame): Uint8Array {
  if ('hex' in f) return bytes(f.hex);
  return encodeFrame(f.operation, f.state, utf8(f.room), utf8(f.payload));
}

/** A stream that answers the request with `stream`, `chunk` bytes per delivery, then ends. */
function scriptedStream(stream: Uint8Array, chunk: number, closeAfter: boolean): ByteStream {
  let data: ((b: Uint8Array) => void) | undefined;
  let end: (() => void) | undefined;
  return {
    write() {
      queueMicrotask(() => {
        for (let i = 0; i < stream.length; i += chunk) data?.(stream.subarray(i, Math.min(stream.length, i + chunk)));
        if (closeAfter) end?.();
      });
    },
    onData(h) {
      data = h;
    },
    onEnd(h) {
      end = h;
    },
    onError() {},
    close() {},
  };
}

function cryptoFor(c: TranscriptCase): HandshakeCrypto {
  if (!c.encrypted) return plaintextHandshake;
  const handshake = new ClientHandshake(bytes(c.server_key_hex!), c.operation, utf8(c.room), bytes(c.client_ephemeral_private_hex!));
  return {
    security: { encrypted: true, fingerprint: '', pin: 'unchecked' },
    sealRequest: (json) => handshake.sealRequest(json),
    openResponse: (payload) => handshake.openResponse(payload),
    openCompletion: (payload) => handshake.openCompletion(payload),
    datagramCipher: () => {
      throw new Error('not used');
    },
    abandon: () => handshake.wipe(),
  };
}

// libchat's failure kinds, as this client names them.
const LOCAL_CODE: Record<string, string> = {
  bad_reply: 'malformed_reply',
  bad_handshake: 'bad_handshake',
  closed: 'connection_closed',
};

describe('shared client transcripts', () => {
  test('the file has them all', () => assert.ok(file.cases.length >= 20));
  for (const c of file.cases) {
    for (const chunk of [1 << 20, 1]) {
      test(`${c.name} (chunk ${chunk})`, async () => {
        const stream = new Uint8Array(Buffer.concat(c.replies.map((f) => Buffer.from(frameBytes(f)))));
        const request = {
          operation: c.operation as OperationCode,
          room: c.room,
          username: c.username,
          ...(c.password !== null ? { password: c.password } : {}),
          ...(c.time !== undefined ? { sentAt: c.time } : {}),
        };
        const outcome = runHandshake(scriptedStream(stream, chunk, c.close_after), request, cryptoFor(c));
        if ('grant' in c.expect) {
          const { completion } = (await outcome) as { completion: Completion };
          assert.equal(completion.token, c.expect.grant.token);
          assert.equal(completion.udpPort, c.expect.grant.udp_port);
          assert.equal(completion.host, c.expect.grant.host);
          assert.equal(completion.status, c.expect.grant.created ? 201 : 200);
          assert.equal(completion.session !== undefined, c.expect.grant.session === true);
          // A rotation's next key (§12.3) is learned from a sealed completion only: a plaintext
          // handshake has nothing that acts on it.
          const next = c.expect.grant.next_fingerprint;
          if (next !== undefined) assert.equal(completion.nextKey && keyFingerprint(completion.nextKey), next);
          else if (c.encrypted) assert.equal(completion.nextKey, undefined);
          else assert.equal(plaintextHandshake.completed, undefined);
          return;
        }
        const expected = c.expect.failure;
        await assert.rejects(outcome, (e: unknown) => {
          assert.ok(e instanceof HandshakeError, String(e));
          assert.equal(e.code, expected.kind === 'refused' ? expected.error : LOCAL_CODE[expected.kind]);
          assert.equal(e.unauthenticated, expected.unauthenticated);
          assert.ok(e.message.length > 0);
          return true;
        });
      });
    }
  }
});
