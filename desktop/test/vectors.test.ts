// The shared protocol vectors (test/vectors/protocol.json, also checked by libchat's C++ tests):
// the TypeScript encoders produce exactly these bytes, and the decoders accept them.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import {
  ClientHandshake,
  decodeBase64Url,
  decodeClientDatagram,
  decodeLobbyDatagram,
  decodeReply,
  decodeServerDatagram,
  encodeClientDatagram,
  encodeFrame,
  encodeLobbyDatagram,
  encodeRequest,
  encodeServerDatagram,
  decodeServerKeyReply,
  encodeRequestPayload,
  encodeServerKeyRequest,
  FrameReader,
  keyFingerprint,
  KEEPALIVE_MESSAGE,
  LEAVE_MESSAGE,
  parseJsonObject,
  nextDatagramKey,
  SealedDatagramCipher,
  x25519KeyPair,
  type HandshakeRequest,
  type OperationCode,
} from '../src/protocol';
import { openClientDatagram, sealServerDatagram, ServerHandshake, serverKeyResponse } from './helpers/noise-server';
import { repoDir } from './helpers/processes';

interface TcrpVector { name: string; operation: number; state: number; room: string; payload: string; hex: string }
interface ClientVector { name: string; room: string; token: string; message_hex: string; kind: string; hex: string }
interface ServerVector { name: string; sender: string; text_hex: string; hex: string }
interface LobbyVector { name: string; username: string; message_hex: string; hex: string }
interface EncryptedVector {
  server_static_private_hex: string;
  server_static_public_hex: string;
  fingerprint: string;
  client_ephemeral_private_hex: string;
  server_ephemeral_private_hex: string;
  operation: number;
  room: string;
  request_json: string;
  request_payload: string;
  response_json: string;
  response_payload: string;
  completion_json: string;
  completion_payload: string;
  session_id: number;
  client_datagram: { room: string; counter: number; message: string; hex: string };
  server_datagram: { counter: number; plaintext_hex: string; hex: string };
  server_key_response: string;
  /** The "time" inside request_json: when the request was sealed (§12.3). */
  time: number;
  /** The first datagrams under each direction's second key at key_datagrams 2048 (§12.4). */
  key_update: {
    key_datagrams: number;
    c2s_key_1_hex: string;
    s2c_key_1_hex: string;
    client_datagram: { room: string; counter: number; message: string; hex: string };
    server_datagram: { counter: number; plaintext_hex: string; hex: string };
  };
}
interface Vectors {
  token_example: { index: number; secret_hex: string; text: string };
  tcrp: TcrpVector[];
  client_datagrams: ClientVector[];
  server_datagrams: ServerVector[];
  lobby_datagrams: LobbyVector[];
  encrypted: EncryptedVector;
}

const vectors = JSON.parse(readFileSync(path.join(repoDir, 'test', 'vectors', 'protocol.json'), 'utf8')) as Vectors;
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const utf8 = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('shared vectors: TCRP frames', () => {
  test('the file has every kind of frame', () => {
    assert.ok(vectors.tcrp.length >= 9);
    assert.ok(vectors.client_datagrams.length >= 4);
    assert.ok(vectors.server_datagrams.length >= 9);
    assert.ok(vectors.lobby_datagrams.length >= 1);
  });

  for (const v of vectors.tcrp) {
    test(`encode: ${v.name}`, () => {
      assert.equal(hex(encodeFrame(v.operation, v.state, v.room, v.payload)), v.hex);
    });

    test(`decode: ${v.name}`, () => {
      const reader = new FrameReader();
      const result = reader.push(bytes(v.hex));
      assert.ok(result, 'one whole frame');
      assert.equal(result.frame.operation, v.operation);
      assert.equal(result.frame.state, v.state);
      assert.equal(utf8(result.frame.room), v.room);
      assert.equal(utf8(result.frame.payload), v.payload);
      assert.equal(result.rest.length, 0);
    });

    if (v.state === 0) {
      test(`request encoder: ${v.name}`, () => {
        const payload = parseJsonObject(v.payload);
        const request: HandshakeRequest = {
          operation: v.operation as OperationCode,
          room: v.room,
          username: payload['username'] as string,
        };
        if (typeof payload['password'] === 'string') request.password = payload['password'];
        assert.equal(hex(encodeRequest(request)), v.hex);
      });
    } else {
      test(`reply decoder accepts: ${v.name}`, () => {
        const frame = new FrameReader().push(bytes(v.hex))!.frame;
        const request = { operation: v.operation as OperationCode, room: 'lobby', username: 'alice' };
        const reply = decodeReply(frame, request, v.state as 1 | 2);
        const payload = parseJsonObject(v.payload);
        if ('error' in payload) {
          assert.equal(reply.kind, 'error');
          assert.ok(reply.kind === 'error');
          assert.equal(reply.error, payload['error']);
          assert.equal(reply.status, payload['status']);
          assert.equal(reply.message, payload['message']);
        } else if (v.state === 1) {
          assert.deepEqual(reply, { kind: 'accepted', message: payload['message'] });
        } else {
          assert.deepEqual(reply, {
            kind: 'completion',
            completion: { status: payload['status'], token: payload['token'], udpPort: payload['udp_port'], host: payload['host'] },
          });
        }
      });
    }
  }

  test('the state-1 and state-2 frames arrive in one chunk: a reader per frame', () => {
    const accepted = vectors.tcrp.find((v) => v.name === 'accepted response')!;
    const created = vectors.tcrp.find((v) => v.name === 'created completion')!;
    const both = bytes(accepted.hex + created.hex);
    const first = new FrameReader().push(both)!;
    assert.equal(first.frame.state, 1);
    const second = new FrameReader().push(first.rest)!;
    assert.equal(second.frame.state, 2);
    assert.equal(second.rest.length, 0);
  });

  test('byte by byte, frames decode the same', () => {
    for (const v of vectors.tcrp) {
      const reader = new FrameReader();
      const all = bytes(v.hex);
      let result;
      for (let i = 0; i < all.length; i++) {
        result = reader.push(all.subarray(i, i + 1));
        assert.equal(result === undefined, i < all.length - 1, `${v.name} at byte ${i}`);
      }
      assert.equal(utf8(result!.frame.payload), v.payload);
    }
  });
});

describe('shared vectors: client datagrams', () => {
  for (const v of vectors.client_datagrams) {
    test(`encode: ${v.name}`, () => {
      assert.equal(hex(encodeClientDatagram(v.room, v.token, bytes(v.message_hex))), v.hex);
    });
    test(`decode: ${v.name}`, () => {
      const d = decodeClientDatagram(bytes(v.hex));
      assert.equal(utf8(d.room), v.room);
      assert.equal(utf8(d.token), v.token);
      assert.equal(hex(d.message), v.message_hex);
      assert.equal(d.kind, v.kind);
    });
  }

  test('the session helpers make the keepalive and leave messages of the vectors', () => {
    assert.equal(hex(KEEPALIVE_MESSAGE), vectors.client_datagrams.find((v) => v.kind === 'keepalive')!.message_hex);
    assert.equal(hex(LEAVE_MESSAGE), vectors.client_datagrams.find((v) => v.name === 'leave')!.message_hex);
  });
});

describe('shared vectors: server datagrams', () => {
  for (const v of vectors.server_datagrams) {
    test(`encode: ${v.name}`, () => {
      assert.equal(hex(encodeServerDatagram(v.sender, bytes(v.text_hex))), v.hex);
    });
    test(`decode: ${v.name}`, () => {
      const d = decodeServerDatagram(bytes(v.hex));
      const text = utf8(bytes(v.text_hex));
      if (v.sender === '') {
        assert.equal(d.kind, 'notice');
        assert.ok(d.kind === 'notice');
        const json = parseJsonObject(text);
        assert.equal(d.notice.event, json['event']);
        if ('user' in d.notice) assert.equal(d.notice.user, json['user']);
        if ('reason' in d.notice) assert.equal(d.notice.reason, json['reason']);
        if ('error' in d.notice) assert.equal(d.notice.error, json['error']);
      } else {
        assert.deepEqual(d, { kind: 'chat', sender: v.sender, text });
      }
    });
  }
});

describe('shared vectors: lobby datagrams', () => {
  for (const v of vectors.lobby_datagrams) {
    test(`encode and decode: ${v.name}`, () => {
      assert.equal(hex(encodeLobbyDatagram(v.username, bytes(v.message_hex))), v.hex);
      const d = decodeLobbyDatagram(bytes(v.hex));
      assert.equal(d.username, v.username);
      assert.equal(hex(d.message), v.message_hex);
    });
  }
});

test('shared vectors: the example token is base64url of index and secret (server behaviour)', () => {
  const t = vectors.token_example;
  const raw = Buffer.alloc(24);
  raw.writeBigUInt64BE(BigInt(t.index), 0);
  Buffer.from(t.secret_hex, 'hex').copy(raw, 8);
  assert.equal(raw.toString('base64url'), t.text);
});

describe('shared vectors: an encrypted session with fixed keys (§12)', () => {
  const v = vectors.encrypted;
  const room = new TextEncoder().encode(v.room);
  const serverStatic = x25519KeyPair(bytes(v.server_static_private_hex));
  const request = parseJsonObject(v.request_json);
  const handshakeRequest: HandshakeRequest = {
    operation: v.operation as OperationCode,
    room: v.room,
    username: request['username'] as string,
    password: request['password'] as string,
    sentAt: request['time'] as number,
  };

  /** The client's half, with the vector's ephemeral key, run through the whole exchange. */
  function clientThroughCompletion() {
    const client = new ClientHandshake(serverStatic.publicKey, v.operation, room, bytes(v.client_ephemeral_private_hex));
    const sealed = client.sealRequest(new TextEncoder().encode(v.request_json));
    const response = client.openResponse(new TextEncoder().encode(v.response_payload));
    const completion = client.openCompletion(new TextEncoder().encode(v.completion_payload));
    return { client, sealed, response, completion };
  }

  test('the server key: public half, fingerprint, and the operation-3 answer', () => {
    assert.equal(hex(serverStatic.publicKey), v.server_static_public_hex);
    assert.equal(keyFingerprint(serverStatic.publicKey), v.fingerprint);
    assert.equal(serverKeyResponse(serverStatic.publicKey), v.server_key_response);
    const answer = new FrameReader().push(encodeFrame(3, 1, '', v.server_key_response))!.frame;
    const key = decodeServerKeyReply(answer, 'vectors');
    assert.equal(hex(key.key), v.server_static_public_hex);
    assert.equal(key.fingerprint, v.fingerprint);
    assert.equal(hex(encodeServerKeyRequest()), '0003' + '00'.repeat(30));
  });

  test('the request JSON is the §4.1 encoding, and the client seals exactly the request payload', () => {
    assert.equal(encodeRequestPayload(handshakeRequest), v.request_json);
    const { sealed } = clientThroughCompletion();
    assert.equal(sealed, v.request_payload);
  });

  test('the client opens exactly the response and the completion, and gets session id 1', () => {
    const { response, completion } = clientThroughCompletion();
    assert.equal(response.errorOnly, false);
    assert.equal(utf8(response.json), v.response_json);
    assert.equal(utf8(completion), v.completion_json);
    const frame = { operation: v.operation, state: 2, room, payload: completion };
    const reply = decodeReply(frame, handshakeRequest, 2);
    assert.ok(reply.kind === 'completion');
    assert.equal(hex(reply.completion.session!), '0000000000000001');
    assert.equal(reply.completion.session!.length, 8);
    assert.deepEqual(decodeBase64Url('AAAAAAAAAAE'), new Uint8Array([0, 0, 0, 0, 0, 0, 0, v.session_id]));
  });

  test('the server side (test helper) opens the request and seals exactly the response and completion', () => {
    const server = new ServerHandshake(serverStatic, v.operation, room, bytes(v.server_ephemeral_private_hex));
    assert.equal(utf8(server.openRequest(v.request_payload)!), v.request_json);
    assert.equal(server.sealResponse(v.response_json), v.response_payload);
    assert.equal(server.sealCompletion(v.completion_json), v.completion_payload);
  });

  test('datagrams: the client seals exactly the chat datagram, and opens exactly the server datagram', () => {
    const { client } = clientThroughCompletion();
    const keys = client.split();
    const cipher = new SealedDatagramCipher(keys.send, keys.receive, bytes('0000000000000001'));
    assert.equal(cipher.sent, v.client_datagram.counter);
    const datagram = cipher.seal(new TextEncoder().encode(v.client_datagram.room), new TextEncoder().encode(v.client_datagram.message));
    assert.equal(hex(datagram), v.client_datagram.hex);
    assert.equal(datagram.length, 45);
    assert.equal(cipher.maxMessageBytes(5), 4062 - 5);
    const opened = cipher.open(bytes(v.server_datagram.hex));
    assert.ok(opened.ok);
    assert.equal(hex(opened.datagram), v.server_datagram.plaintext_hex);
    assert.deepEqual(decodeServerDatagram(opened.datagram), { kind: 'chat', sender: 'alice', text: 'hi bob' });
  });

  test('datagrams from the server side (test helper): the same bytes both ways', () => {
    const server = new ServerHandshake(serverStatic, v.operation, room, bytes(v.server_ephemeral_private_hex));
    server.openRequest(v.request_payload);
    server.sealResponse(v.response_json);
    server.sealCompletion(v.completion_json);
    const keys = server.split();
    const got = openClientDatagram(keys.receive, bytes(v.client_datagram.hex))!;
    assert.deepEqual([got.room, hex(got.session), got.counter, utf8(got.message)], ['lobby', '0000000000000001', 0, 'hi bob']);
    assert.equal(hex(sealServerDatagram(keys.send, v.server_datagram.counter, bytes(v.server_datagram.plaintext_hex))), v.server_datagram.hex);
  });

  test('key update: the datagrams at counter key_datagrams are sealed and opened under the next key of each direction', () => {
    const ku = v.key_update;
    const { client } = clientThroughCompletion();
    const keys = client.split();
    assert.equal(hex(nextDatagramKey(keys.send)), ku.c2s_key_1_hex);
    assert.equal(hex(nextDatagramKey(keys.receive)), ku.s2c_key_1_hex);
    const cipher = new SealedDatagramCipher(keys.send, keys.receive, bytes('0000000000000001'), { keyDatagrams: ku.key_datagrams });
    const room = new TextEncoder().encode(ku.client_datagram.room);
    const message = new TextEncoder().encode(ku.client_datagram.message);
    let datagram: Uint8Array = new Uint8Array();
    for (let i = 0; i <= ku.client_datagram.counter; i++) datagram = cipher.seal(room, message);
    assert.equal(hex(datagram), ku.client_datagram.hex);
    const opened = cipher.open(bytes(ku.server_datagram.hex)); // one update ahead of a receiver that has seen nothing
    assert.ok(opened.ok);
    assert.equal(hex(opened.datagram), ku.server_datagram.plaintext_hex);
    assert.equal(cipher.receiveKeyUpdates, 1);
  });

  test('the whole request frame carries the sealed payload under the clear header', () => {
    const frame = encodeFrame(v.operation, 0, v.room, v.request_payload);
    const back = new FrameReader().push(frame)!.frame;
    assert.equal(utf8(back.room), 'lobby');
    assert.equal(utf8(back.payload), v.request_payload);
    assert.ok(!utf8(frame).includes('hunter2') && !utf8(frame).includes('alice'), 'neither password nor name in clear');
  });
});
