// Unit tests of the pure protocol code: bad input from the server is a clear error, never a crash.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkName,
  decodeReply,
  decodeServerDatagram,
  encodeClientDatagram,
  encodeFrame,
  FrameReader,
  isToken,
  JsonSyntaxError,
  maxTextBytesFor,
  parseJson,
  parseJsonObject,
  parseServerAddress,
  ProtocolError,
  readPayloadSize,
  utf8Length,
  type HandshakeRequest,
} from '../src/protocol';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const create: HandshakeRequest = { operation: 1, room: 'lobby', username: 'alice' };
const join: HandshakeRequest = { operation: 2, room: 'lobby', username: 'bob' };

function header(roomSize: number, op: number, state: number, sizeField: number[]): Uint8Array {
  const h = new Uint8Array(32);
  h[0] = roomSize;
  h[1] = op;
  h[2] = state;
  sizeField.forEach((b, i) => (h[3 + i] = b));
  return h;
}

describe('TCRP size field', () => {
  test('all 29 bytes are compared with the limit', () => {
    const sizes = new Array<number>(29).fill(0);
    sizes[0] = 1; // 2^224: the low bytes alone would say 0
    assert.equal(readPayloadSize(header(5, 1, 1, sizes), 65536), undefined);
    const low = new Array<number>(29).fill(0);
    low[26] = 1; // 65536 exactly
    assert.equal(readPayloadSize(header(5, 1, 1, low), 65536), 65536);
    low[28] = 1; // 65537
    assert.equal(readPayloadSize(header(5, 1, 1, low), 65536), undefined);
  });

  test('an oversized frame is refused from its header alone, before any body arrives', () => {
    const sizes = new Array<number>(29).fill(0xff);
    const reader = new FrameReader(65536);
    assert.throws(() => reader.push(header(5, 1, 1, sizes)), (e: unknown) => e instanceof ProtocolError && e.code === 'oversize');
  });

  test('a frame with the largest accepted payload is read', () => {
    const payload = new Uint8Array(65536).fill(0x20);
    const frame = encodeFrame(1, 1, 'lobby', payload);
    const result = new FrameReader(65536).push(frame);
    assert.equal(result?.frame.payload.length, 65536);
  });

  test('the encoder writes sizes big-endian into the last bytes', () => {
    const frame = encodeFrame(2, 0, 'r', new Uint8Array(0x10203));
    assert.deepEqual([...frame.subarray(3, 29)], new Array(26).fill(0));
    assert.deepEqual([...frame.subarray(29, 32)], [0x01, 0x02, 0x03]);
  });
});

describe('TCRP replies', () => {
  const reply = (op: number, state: number, room: string, payload: string, request = create, expect: 1 | 2 = state as 1 | 2) =>
    decodeReply(new FrameReader().push(encodeFrame(op, state, room, payload))!.frame, request, expect);
  const malformed = (e: unknown): boolean => e instanceof ProtocolError;

  test('state 0 from the server is malformed', () => {
    assert.throws(() => reply(1, 0, 'lobby', '{"status":202}', create, 1), malformed);
  });
  test('an unknown state is malformed', () => {
    assert.throws(() => reply(1, 7, 'lobby', '{"status":202}', create, 1), malformed);
  });
  test('state 2 where state 1 was due is refused', () => {
    assert.throws(() => reply(1, 2, 'lobby', '{"status":201,"token":"t","udp_port":1,"host":true}', create, 1), malformed);
  });
  test('state 2 can be an error', () => {
    const r = reply(2, 2, 'lobby', '{"status":409,"error":"name_taken","message":"Taken."}', join);
    assert.deepEqual(r, { kind: 'error', status: 409, error: 'name_taken', message: 'Taken.' });
  });
  test('another operation or room is malformed', () => {
    assert.throws(() => reply(2, 1, 'lobby', '{"status":202}'), malformed);
    assert.throws(() => reply(1, 1, 'other', '{"status":202}'), malformed);
  });
  test('an empty room name is allowed only in an error response', () => {
    assert.equal(reply(1, 1, '', '{"status":400,"error":"bad_request","message":"m"}').kind, 'error');
    assert.throws(() => reply(1, 1, '', '{"status":202,"message":"m"}'), malformed);
    assert.throws(() => reply(1, 2, '', '{"status":400,"error":"bad_request","message":"m"}'), malformed);
  });
  test('an unknown error code, or a status that does not match, becomes internal_error with the message kept', () => {
    const r = reply(1, 1, 'lobby', '{"status":418,"error":"teapot","message":"I am a teapot."}');
    assert.deepEqual(r, { kind: 'error', status: 418, error: 'internal_error', message: 'I am a teapot.' });
    const m = reply(1, 1, 'lobby', '{"status":400,"error":"room_exists","message":"x"}');
    assert.equal(m.kind === 'error' && m.error, 'internal_error');
  });
  test('payloads that are not UTF-8, not JSON, not objects, or repeat a key are malformed', () => {
    const bad = (payload: Uint8Array) => decodeReply(new FrameReader().push(encodeFrame(1, 1, 'lobby', payload))!.frame, create, 1);
    assert.throws(() => bad(new Uint8Array([0x7b, 0xff, 0x7d])), (e: unknown) => e instanceof ProtocolError && e.code === 'invalid_utf8');
    assert.throws(() => bad(enc('{"status":202')), (e: unknown) => e instanceof ProtocolError && e.code === 'invalid_json');
    assert.throws(() => bad(enc('[202]')), malformed);
    assert.throws(() => bad(enc('{"status":202,"status":202}')), malformed);
    assert.throws(() => bad(enc('{"message":"no status"}')), malformed);
    assert.throws(() => bad(enc('{"status":"202"}')), malformed);
  });
  test('a completion must carry a valid token, udp_port and host, and the status of its operation', () => {
    const ok = '{"status":201,"token":"abc","udp_port":9000,"host":true}';
    assert.equal(reply(1, 2, 'lobby', ok).kind, 'completion');
    assert.throws(() => reply(2, 2, 'lobby', ok, join), malformed); // 201 answers a join
    assert.throws(() => reply(1, 2, 'lobby', '{"status":201,"token":"a b","udp_port":9000,"host":true}'), malformed);
    assert.throws(() => reply(1, 2, 'lobby', '{"status":201,"token":"abc","udp_port":0,"host":true}'), malformed);
    assert.throws(() => reply(1, 2, 'lobby', '{"status":201,"token":"abc","udp_port":70000,"host":true}'), malformed);
    assert.throws(() => reply(1, 2, 'lobby', '{"status":201,"token":"abc","udp_port":9000}'), malformed);
    assert.throws(() => reply(1, 2, 'lobby', '{"status":202,"message":"again"}'), malformed);
  });
  test('key_datagrams: a power of two from 2048 to 2^26 is taken, anything else is malformed', () => {
    const completion = (value: string) => reply(1, 2, 'lobby', `{"status":201,"token":"abc","udp_port":9000,"host":true,"key_datagrams":${value}}`);
    const r = completion('4096');
    assert.equal(r.kind === 'completion' && r.completion.keyDatagrams, 4096);
    for (const bad of ['0', '1000', '1024', '3000', '134217728', '-2048', '"2048"', '2048.5', 'null'])
      assert.throws(() => completion(bad), malformed, bad);
    const plain = reply(1, 2, 'lobby', '{"status":201,"token":"abc","udp_port":9000,"host":true}');
    assert.equal(plain.kind === 'completion' && plain.completion.keyDatagrams, undefined);
  });
  test('udp_host: an IP address is taken, anything else (a name, a port, brackets) is malformed', () => {
    const completion = (value: string) => reply(1, 2, 'lobby', `{"status":201,"token":"abc","udp_port":9000,"host":true,"udp_host":${value}}`);
    for (const good of ['127.0.0.2', '10.1.2.3', '2001:db8::7', '::1', '::ffff:192.0.2.1', '1:2:3:4:5:6:7:8']) {
      const r = completion(JSON.stringify(good));
      assert.equal(r.kind === 'completion' && r.completion.udpHost, good, good);
    }
    for (const bad of ['"chat.example.com"', '""', '"127.0.0.1:9000"', '"[::1]"', '"1.2.3"', '"1.2.3.256"', '"01.2.3.4"', '"fe80::1%eth0"', '"1::2::3"', '"1:2:3:4:5:6:7:8:9"', '7', 'null'])
      assert.throws(() => completion(bad), malformed, bad);
    const plain = reply(1, 2, 'lobby', '{"status":201,"token":"abc","udp_port":9000,"host":true}');
    assert.equal(plain.kind === 'completion' && plain.completion.udpHost, undefined);
  });
  test('unknown keys are ignored', () => {
    const r = reply(1, 2, 'lobby', '{"status":201,"token":"abc","udp_port":9000,"host":true,"future":{"x":[1]}}');
    assert.equal(r.kind, 'completion');
  });
  test('tokens are 1–255 printable ASCII characters', () => {
    assert.ok(isToken('AAAAAAAAAAEAAQIDBAUGBwgJCgsMDQ4P'));
    assert.ok(!isToken(''));
    assert.ok(!isToken('x'.repeat(256)));
    assert.ok(!isToken('é'));
  });
});

describe('strict JSON', () => {
  test('valid texts', () => {
    const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v)); // objects come without a prototype
    assert.deepEqual(plain(parseJson('{"a":[1,-2.5e3,true,false,null,"\\u00e9\\ud83d\\ude00"]}')), { a: [1, -2500, true, false, null, 'é😀'] });
    assert.equal(Object.getPrototypeOf(parseJsonObject('{"__proto__":{"x":1}}')), null);
  });
  test('invalid texts', () => {
    for (const bad of ['', '{', '{"a":1,}', '[1,]', '{"a":1}x', '01', '1.', '.5', '+1', 'NaN', "{'a':1}", '"\\ud800"', '"\\udc00"', '"\\x"', '"a\tb"', '{"a":1,"a":2}', '\ufeff{}']) {
      assert.throws(() => parseJson(bad), JsonSyntaxError, JSON.stringify(bad));
    }
  });
  test('nesting past 8 levels is refused', () => {
    assert.doesNotThrow(() => parseJson('[[[[[[[[1]]]]]]]]'));
    assert.throws(() => parseJson('[[[[[[[[[1]]]]]]]]]'), JsonSyntaxError);
  });
});

describe('server datagrams', () => {
  const malformed = (e: unknown): boolean => e instanceof ProtocolError;
  test('oversized, empty and cut-short datagrams are malformed', () => {
    assert.throws(() => decodeServerDatagram(new Uint8Array(4095).fill(0x61)), (e: unknown) => e instanceof ProtocolError && e.code === 'oversize');
    assert.throws(() => decodeServerDatagram(new Uint8Array(0)), malformed);
    assert.throws(() => decodeServerDatagram(new Uint8Array([5, 0x61, 0x62])), malformed);
  });
  test('invalid UTF-8 in text or sender is malformed', () => {
    assert.throws(() => decodeServerDatagram(new Uint8Array([1, 0x61, 0xc0, 0x80])), malformed);
    assert.throws(() => decodeServerDatagram(new Uint8Array([1, 0xff, 0x61])), malformed);
    assert.throws(() => decodeServerDatagram(new Uint8Array([1, 0x07, 0x61])), malformed); // control char in the name
  });
  test('notices must be JSON objects with a string event, and the keys they need', () => {
    const notice = (s: string) => decodeServerDatagram(new Uint8Array([0, ...enc(s)]));
    assert.throws(() => notice('not json'), malformed);
    assert.throws(() => notice('{"user":"bob"}'), malformed);
    assert.throws(() => notice('{"event":1}'), malformed);
    assert.throws(() => notice('{"event":"joined"}'), malformed);
    assert.throws(() => notice('{"event":"left","user":""}'), malformed);
    assert.throws(() => notice('{"event":"room_closed","reason":5}'), malformed);
    assert.deepEqual(notice('{"event":"pong","extra":1}'), { kind: 'notice', notice: { event: 'pong' } });
    const unknown = notice('{"event":"typing","user":"bob"}');
    assert.ok(unknown.kind === 'notice' && unknown.notice.event === 'unknown' && unknown.notice.name === 'typing');
  });
  test('a chat message keeps its text exactly, control characters included', () => {
    assert.deepEqual(decodeServerDatagram(new Uint8Array([3, ...enc('bob'), ...enc('a\u001b[2Jb\n')])), {
      kind: 'chat',
      sender: 'bob',
      text: 'a\u001b[2Jb\n',
    });
  });
});

describe('client datagrams and limits', () => {
  test('a datagram over 4096 bytes is refused', () => {
    assert.throws(() => encodeClientDatagram('r', 't', new Uint8Array(4094)), ProtocolError);
    assert.equal(encodeClientDatagram('r', 't', new Uint8Array(4092)).length, 4096);
  });
  test('text limit: 4093 minus the username bytes', () => {
    assert.equal(maxTextBytesFor(5), 4088);
    assert.equal(maxTextBytesFor(utf8Length('zoë')), 4089);
  });
});

describe('names and addresses', () => {
  test('names', () => {
    assert.equal(checkName('alice'), undefined);
    assert.equal(checkName('ünïcödé 名前'), undefined);
    assert.equal(checkName(''), 'empty');
    assert.equal(checkName('a'.repeat(256)), 'too_long');
    assert.equal(checkName('é'.repeat(128)), 'too_long');
    assert.equal(checkName('a\tb'), 'control_character');
    assert.equal(checkName('a\u007f'), 'control_character');
    assert.equal(checkName('a\u0085'), 'control_character');
    assert.equal(checkName('a\ud800'), 'invalid_text');
  });
  test('server addresses', () => {
    assert.deepEqual(parseServerAddress('127.0.0.1:9000'), { host: '127.0.0.1', port: 9000 });
    assert.deepEqual(parseServerAddress(' localhost '), { host: 'localhost', port: 9000 });
    assert.deepEqual(parseServerAddress('[::1]:7000'), { host: '::1', port: 7000 });
    for (const bad of ['', ':9000', '::1', 'host:0', 'host:65536', 'host:x', '[::1', 'a b:1']) {
      assert.equal(typeof parseServerAddress(bad), 'string', bad);
    }
  });
});
