// Sealed requests carry the time they were sealed at (docs/protocol.md §12.3): what the desktop
// client writes, and what the real chat-server answers to a replay and to a clock that is off.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ClientHandshake,
  encodeRequest,
  HandshakeError,
  nodeTransport,
  plaintextHandshake,
  requestServerKey,
  runHandshake,
  x25519KeyPair,
  type HandshakeCrypto,
  type HandshakeRequest,
} from '../src/protocol';
import { ServerHandshake } from './helpers/noise-server';
import { startServer, type RunningServer } from './helpers/processes';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const fixedEphemeral = new Uint8Array(32).fill(0x41);

/** One handshake's crypto with a fixed ephemeral key: the same request can be sealed again. */
function sealedWith(serverKey: Uint8Array, request: HandshakeRequest, ephemeral: Uint8Array = fixedEphemeral): HandshakeCrypto {
  const hs = new ClientHandshake(new Uint8Array(serverKey), request.operation, enc(request.room), new Uint8Array(ephemeral));
  return {
    security: { encrypted: true, fingerprint: '', pin: 'unchecked' },
    sealRequest: (json) => hs.sealRequest(json),
    openResponse: (payload) => hs.openResponse(payload),
    openCompletion: (payload) => hs.openCompletion(payload),
    datagramCipher: () => {
      throw new Error('not used');
    },
    abandon: () => hs.wipe(),
  };
}

/** The request JSON inside a request frame, as the server opens it. */
function openedRequest(frame: Uint8Array, staticKey: ReturnType<typeof x25519KeyPair>, request: HandshakeRequest): Record<string, unknown> {
  const roomSize = frame[0]!;
  const payload = frame.subarray(32 + roomSize);
  const server = new ServerHandshake(staticKey, request.operation, enc(request.room));
  const json = server.openRequest(payload);
  assert.ok(json, 'the request opens');
  return JSON.parse(Buffer.from(json).toString('utf8')) as Record<string, unknown>;
}

describe('sealed requests carry their time', () => {
  const staticKey = x25519KeyPair(new Uint8Array(32).fill(7));
  const request: HandshakeRequest = { operation: 1, room: 'lobby', username: 'alice', password: 'pw' };

  test('the clock\'s time, in whole seconds, after the password', () => {
    const from = Math.floor(Date.now() / 1000);
    const frame = encodeRequest(request, sealedWith(staticKey.publicKey, request));
    const to = Math.floor(Date.now() / 1000);
    const json = openedRequest(frame, staticKey, request);
    assert.deepEqual(Object.keys(json), ['username', 'password', 'time']);
    assert.ok(Number.isInteger(json['time']));
    assert.ok((json['time'] as number) >= from && (json['time'] as number) <= to);
  });

  test('a given sentAt is the one sealed', () => {
    const frame = encodeRequest({ ...request, sentAt: 1767225600 }, sealedWith(staticKey.publicKey, request));
    assert.equal(openedRequest(frame, staticKey, request)['time'], 1767225600);
  });

  test('a plaintext request carries none', () => {
    const frame = encodeRequest(request, plaintextHandshake);
    const json = JSON.parse(Buffer.from(frame.subarray(32 + 5)).toString('utf8')) as Record<string, unknown>;
    assert.equal('time' in json, false);
  });
});

describe('the real server refuses replays and mistimed requests', () => {
  let server: RunningServer;
  let serverKey: Uint8Array;
  before(async () => {
    server = await startServer();
    const abort = new AbortController();
    const stream = await nodeTransport.connectTcp(server.host, server.tcpPort, abort.signal);
    serverKey = (await requestServerKey(stream, server.address)).key;
    stream.close();
  });
  after(() => server.stop());

  async function attempt(request: HandshakeRequest, ephemeral: Uint8Array): Promise<unknown> {
    const abort = new AbortController();
    const stream = await nodeTransport.connectTcp(server.host, server.tcpPort, abort.signal);
    try {
      return await runHandshake(stream, request, sealedWith(serverKey, request, ephemeral));
    } catch (e) {
      return e;
    } finally {
      stream.close();
    }
  }

  test('the same sealed create, sent twice: the second is refused, and says why only to its sealer', async () => {
    const request: HandshakeRequest = { operation: 1, room: 'replayed', username: 'alice', sentAt: Math.floor(Date.now() / 1000) };
    const ephemeral = new Uint8Array(32).fill(0x52);
    const first = await attempt(request, ephemeral);
    assert.ok(!(first instanceof Error), String(first));
    const second = await attempt(request, ephemeral);
    assert.ok(second instanceof HandshakeError);
    assert.equal(second.code, 'bad_request');
    assert.equal(second.unauthenticated, false);
    assert.match(second.message, /used before, so it was not run again/);
  });

  test('a clock two minutes slow: "your clock is 120 s behind"', async () => {
    const request: HandshakeRequest = { operation: 1, room: 'late', username: 'bob', sentAt: Math.floor(Date.now() / 1000) - 120 };
    const outcome = await attempt(request, new Uint8Array(32).fill(0x53));
    assert.ok(outcome instanceof HandshakeError);
    assert.equal(outcome.code, 'bad_request');
    assert.match(outcome.message, /^Your clock is 12[01] s behind the server's/);
  });
});
