// The session logic with a fake clock and fake sockets (keepalive timing without waiting), and
// the handshake against hand-made servers on loopback that misbehave in every way.

import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { after, describe, test } from 'node:test';
import {
  ChatSession,
  decodeClientDatagram,
  encodeFrame,
  encodeServerDatagram,
  HandshakeError,
  openChatSession,
  plaintextCipher,
  plaintextCrypto,
  SendError,
} from '../src/protocol';
import { FakeChannel, FakeClock } from './helpers/fakes';
import { Recorder } from './helpers/session';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const notice = (json: string): Uint8Array => encodeServerDatagram('', enc(json));

function makeSession(username = 'alice', room = 'lobby', token = 'AAAAAAAAAAEAAQIDBAUGBwgJCgsMDQ4P') {
  const clock = new FakeClock();
  const channel = new FakeChannel(clock);
  const info = { room, username, host: true, created: true, serverAddress: '127.0.0.1', udpPort: 9000, acceptedMessage: '', security: { encrypted: false as const } };
  const session = new ChatSession(info, channel, plaintextCipher(token), clock);
  const events = new Recorder(session);
  session.start();
  return { clock, channel, session, events };
}

describe('keepalives', () => {
  test('one right after the handshake, then every second until the first pong; 5 unanswered = server gone (§7.5)', () => {
    const { clock, channel, events } = makeSession();
    assert.deepEqual(channel.sent.map((s) => s.at), [0]);
    clock.advance(4999);
    assert.deepEqual(channel.sent.map((s) => s.at), [0, 1000, 2000, 3000, 4000]);
    assert.equal(events.count('ended'), 0);
    clock.advance(1);
    assert.deepEqual(events.seen.at(-1), { name: 'ended', value: { reason: 'server_silent', detail: 'The server did not answer over UDP (is the UDP port reachable?).', time: 5000 } });
    assert.ok(channel.closed);
    clock.advance(60000);
    assert.equal(channel.sent.length, 5);
    assert.deepEqual(channel.kinds(), ['keepalive', 'keepalive', 'keepalive', 'keepalive', 'keepalive']);
  });

  test('after the first pong: every 15 s; a pong resets the count; 3 missed pongs end it', () => {
    const { clock, channel, session, events } = makeSession();
    clock.advance(1500); // keepalives at 0 and 1000
    channel.deliver(notice('{"event":"pong"}'));
    assert.ok(session.member);
    assert.equal(events.count('member'), 1);
    clock.advance(15000); // next at 16500
    assert.deepEqual(channel.sent.map((s) => s.at), [0, 1000, 16500]);
    channel.deliver(notice('{"event":"pong"}')); // answers the keepalive of 16500
    clock.advance(15000 * 4 - 1); // 31500, 46500, 61500 go unanswered; each gets 15 s
    assert.deepEqual(channel.sent.map((s) => s.at), [0, 1000, 16500, 31500, 46500, 61500]);
    assert.equal(events.count('ended'), 0);
    clock.advance(1); // 76500: the third missed pong
    const ended = events.seen.find((e) => e.name === 'ended')!.value as { reason: string };
    assert.equal(ended.reason, 'server_silent');
    assert.equal(events.count('member'), 1);
  });
});

describe('notices and text', () => {
  test('chat, joined, left, error notices become events; a malformed datagram is dropped, not fatal', () => {
    const { channel, session, events } = makeSession();
    channel.deliver(encodeServerDatagram('bob', enc('hi\u001b[2J')));
    channel.deliver(notice('{"event":"joined","user":"bob"}'));
    channel.deliver(notice('{"event":"left","user":"bob","reason":"timeout"}'));
    channel.deliver(notice('{"event":"error","error":"too_long"}'));
    channel.deliver(new Uint8Array([9, 1, 2]));
    channel.deliver(notice('{"event":"brand_new"}'));
    assert.deepEqual(
      events.seen.map((e) => e.name),
      ['message', 'joined', 'left', 'refused', 'malformed', 'unknownNotice'],
    );
    assert.deepEqual(events.seen[0]!.value, { from: 'bob', text: 'hi\u001b[2J', time: 0 });
    assert.ok(session.active);
  });

  for (const [json, reason, detail] of [
    ['{"event":"timeout"}', 'timeout', ''],
    ['{"event":"room_closed","reason":"host_left"}', 'room_closed', 'host_left'],
    ['{"event":"server_shutdown"}', 'server_shutdown', ''],
  ] as const) {
    test(`${reason} ends the session`, () => {
      const { channel, session, events } = makeSession();
      channel.deliver(notice(json));
      assert.deepEqual(events.seen.at(-1), { name: 'ended', value: { reason, detail, time: 0 } });
      assert.ok(!session.active);
      assert.ok(channel.closed);
    });
  }

  test('text is refused locally past 4093 - username bytes, and sent whole up to it', async () => {
    const { channel, session } = makeSession('zoë', 'r', 't'); // 4 bytes; the datagram limit is looser here
    assert.equal(session.maxTextBytes, 4089);
    await assert.rejects(session.send('x'.repeat(4090)), (e: unknown) => e instanceof SendError && e.code === 'too_long' && e.limit === 4089);
    await session.send('x'.repeat(4089));
    const last = decodeClientDatagram(channel.sent.at(-1)!.data);
    assert.equal(last.kind, 'chat');
    assert.equal(last.message.length, 4089);
  });

  test('the 4096-byte datagram limit applies too (long room name and token)', async () => {
    const { session } = makeSession('al', 'r'.repeat(255), 't'.repeat(255));
    assert.equal(session.maxTextBytes, 4096 - 2 - 255 - 255);
    await assert.rejects(session.send('y'.repeat(session.maxTextBytes + 1)), SendError);
    await session.send('y'.repeat(session.maxTextBytes));
  });

  test('empty text, lone surrogates and a leading NUL are refused', async () => {
    const { session } = makeSession();
    await assert.rejects(session.send(''), SendError);
    await assert.rejects(session.send('a\ud800'), SendError);
    await assert.rejects(session.send('\u0000{"type":"leave"}'), SendError);
  });

  test('leave sends the control message and ends the session', async () => {
    const { channel, session, events } = makeSession();
    await session.leave();
    assert.equal(channel.kinds().at(-1), 'control');
    assert.equal(new TextDecoder().decode(decodeClientDatagram(channel.sent.at(-1)!.data).message.subarray(1)), '{"type":"leave"}');
    assert.equal((events.seen.at(-1)!.value as { reason: string }).reason, 'left');
    await assert.rejects(session.send('late'), SendError);
  });
});

describe('handshake against misbehaving servers (plaintext protocol)', () => {
  const servers: net.Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  /** A TCP server on loopback whose every connection gets `reply` after the request arrives. */
  async function fakeServer(reply: (socket: net.Socket, request: Buffer) => void): Promise<number> {
    const server = net.createServer((socket) => {
      let got = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 32 && got.length >= 32 + got[0]! + got.readUInt32BE(28)) reply(socket, got);
      });
      socket.on('error', () => undefined);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return (server.address() as net.AddressInfo).port;
  }

  const connect = (port: number, extra: object = {}) =>
    openChatSession({ host: '127.0.0.1', port, operation: 'create', room: 'lobby', username: 'alice', handshakeTimeoutMs: 2000, crypto: plaintextCrypto, ...extra });
  const code = (c: string) => (e: unknown) => e instanceof HandshakeError && e.code === c;

  test('202 and the completion in one segment, then a real UDP exchange', async () => {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const udpPort = udp.address().port;
    const received: Buffer[] = [];
    udp.on('message', (msg, rinfo) => {
      received.push(msg);
      if (msg.length === 2 + 5 + 3) udp.send(notice('{"event":"pong"}'), rinfo.port, rinfo.address);
    });
    const port = await fakeServer((socket, request) => {
      assert.equal(request.toString('hex'), Buffer.from(encodeFrame(1, 0, 'lobby', '{"username":"alice"}')).toString('hex'));
      socket.end(
        Buffer.concat([
          encodeFrame(1, 1, 'lobby', '{"status":202,"message":"Creating room \'lobby\'."}'),
          encodeFrame(1, 2, 'lobby', `{"status":201,"token":"tok","udp_port":${udpPort},"host":true}`),
        ]),
      );
    });
    const session = await connect(port);
    const events = new Recorder(session);
    assert.equal(session.info.host, true);
    assert.equal(session.info.created, true);
    assert.equal(session.info.acceptedMessage, "Creating room 'lobby'.");
    await events.waitFor('member');
    assert.equal(Buffer.from(received[0]!).toString('hex'), '05036c6f626279746f6b'); // keepalive: lobby, tok
    await session.leave();
    udp.close();
  });

  test('an error response with an empty room name (a rejected header)', async () => {
    const port = await fakeServer((socket) =>
      socket.end(encodeFrame(1, 1, '', '{"status":400,"error":"bad_request","message":"The request is malformed."}')),
    );
    await assert.rejects(connect(port), (e: unknown) => e instanceof HandshakeError && e.code === 'bad_request' && e.status === 400 && e.message === 'The request is malformed.');
  });

  test('an error completion (state 2) after the 202', async () => {
    const port = await fakeServer((socket) => {
      socket.write(encodeFrame(2, 1, 'lobby', '{"status":202,"message":"Joining."}'));
      setTimeout(() => socket.end(encodeFrame(2, 2, 'lobby', '{"status":401,"error":"bad_password","message":"Wrong password for room \'lobby\'."}')), 20);
    });
    await assert.rejects(connect(port, { operation: 'join' }), (e: unknown) => e instanceof HandshakeError && e.code === 'bad_password' && e.field === 'password');
  });

  test('a header declaring a gigantic payload is a malformed reply, at once', async () => {
    const port = await fakeServer((socket) => {
      const h = Buffer.alloc(32, 0xff);
      h[0] = 5;
      h[1] = 1;
      h[2] = 1;
      socket.write(h); // and keep the connection open: the client must not wait for the body
    });
    await assert.rejects(connect(port), code('malformed_reply'));
  });

  test('state 0 from the server, or garbage JSON, is a malformed reply', async () => {
    const p1 = await fakeServer((socket) => socket.end(encodeFrame(1, 0, 'lobby', '{"status":202}')));
    await assert.rejects(connect(p1), code('malformed_reply'));
    const p2 = await fakeServer((socket) => socket.end(encodeFrame(1, 1, 'lobby', '{"status":202,,}')));
    await assert.rejects(connect(p2), code('malformed_reply'));
  });

  test('a close without a reply, or in the middle of one', async () => {
    const p1 = await fakeServer((socket) => socket.end());
    await assert.rejects(connect(p1), code('connection_closed'));
    const p2 = await fakeServer((socket) => socket.end(encodeFrame(1, 1, 'lobby', '{"status":202}').subarray(0, 40)));
    await assert.rejects(connect(p2), (e: unknown) => e instanceof HandshakeError && e.code === 'connection_closed' && /middle/.test(e.message));
  });

  test('a server that never answers: handshake_timeout', async () => {
    const port = await fakeServer(() => undefined);
    await assert.rejects(connect(port, { handshakeTimeoutMs: 300 }), code('handshake_timeout'));
  });

  test('nothing listening: connect_failed with a sentence for a person', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    await assert.rejects(connect(port), (e: unknown) => e instanceof HandshakeError && e.code === 'connect_failed' && /Nothing is listening/.test(e.message));
  });

  test('invalid input is refused before connecting', async () => {
    await assert.rejects(
      openChatSession({ host: '127.0.0.1', port: 1, operation: 'join', room: 'a\nb', username: 'x' }),
      (e: unknown) => e instanceof HandshakeError && e.code === 'invalid_input' && e.field === 'room',
    );
  });
});
