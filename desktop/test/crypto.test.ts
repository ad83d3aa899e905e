// Encrypted sessions without the real server: the replay window, tampered and replayed datagrams,
// key updates, the known-servers store, and the handshake against hand-made encrypted
// servers that misbehave (a wrong key, a forged or altered reply, a plaintext 202).

import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  ChatSession,
  decodeServerKeyReply,
  encodeFrame,
  encodeServerDatagram,
  encryptedCrypto,
  FrameReader,
  HandshakeError,
  isSmallOrderKey,
  keyFingerprint,
  DEFAULT_KEY_DATAGRAMS,
  MIN_KEY_DATAGRAMS,
  nextDatagramKey,
  normaliseFingerprint,
  openChatSession,
  ProtocolError,
  ReplayWindow,
  SealedDatagramCipher,
  serverId,
  x25519KeyPair,
  type KeyTrust,
  type TrustServerKey,
} from '../src/protocol';
import { defaultKnownServersPath, displayPath, KnownServers, parseKnownServers } from '../src/main/known-servers';
import { FakeChannel, FakeClock } from './helpers/fakes';
import { openClientDatagram, sealServerDatagram, ServerHandshake, serverKeyResponse } from './helpers/noise-server';
import { temporaryDir } from './helpers/processes';
import { Recorder } from './helpers/session';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const notice = (json: string): Uint8Array => encodeServerDatagram('', enc(json));
const SESSION_ID = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 7]);

// The X25519 public keys of small order, as libchat's unit tests list them (test/unit/secure_test.cpp):
// u = 0, 1, p − 1, the two points of order 8, p and p + 1; each also with bit 255 set.
const SMALL_ORDER_KEYS: Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
].flatMap((hex) => {
  const key = new Uint8Array(Buffer.from(hex, 'hex'));
  const top = Uint8Array.from(key);
  top[31]! |= 0x80;
  return [key, top];
});

/** A pair of keys as a handshake would give them, and the two ends that use them. */
function keyPair() {
  const c2s = Buffer.alloc(32, 0x11);
  const s2c = Buffer.alloc(32, 0x22);
  return {
    client: (options = {}) => new SealedDatagramCipher(Buffer.from(c2s), Buffer.from(s2c), SESSION_ID, options),
    serverSeal: (counter: number, plaintext: Uint8Array) => sealServerDatagram(s2c, counter, plaintext),
    serverOpen: (datagram: Uint8Array) => openClientDatagram(c2s, datagram),
    // The same under each direction's key after `updates` key updates (§12.4).
    serverSealUpdated: (updates: number, counter: number, plaintext: Uint8Array) =>
      sealServerDatagram(updated(s2c, updates), counter, plaintext),
    serverOpenUpdated: (updates: number, datagram: Uint8Array) => openClientDatagram(updated(c2s, updates), datagram),
  };
}

function updated(key: Buffer, updates: number): Buffer {
  let k: Buffer = Buffer.from(key);
  for (let i = 0; i < updates; i++) k = nextDatagramKey(k);
  return k;
}

function encryptedSession(options: { firstCounter?: number; keyDatagrams?: number } = {}) {
  const keys = keyPair();
  const clock = new FakeClock();
  const channel = new FakeChannel(clock);
  const security = { encrypted: true as const, fingerprint: 'SHA256:x', pin: 'known' as const };
  const info = { room: 'lobby', username: 'bob', host: false, created: false, serverAddress: '127.0.0.1', udpPort: 9000, acceptedMessage: '', security };
  const session = new ChatSession(info, channel, keys.client(options), clock);
  const events = new Recorder(session);
  session.start();
  return { keys, clock, channel, session, events };
}

describe('replay window (RFC 6479, 1984 counters)', () => {
  test('in order, out of order, duplicates, and the edge of the window', () => {
    const w = new ReplayWindow();
    assert.equal(ReplayWindow.SIZE, 1984);
    for (const c of [0, 1, 2, 5, 4, 3]) {
      assert.ok(w.check(c), `first ${c}`);
      w.accept(c);
    }
    for (const c of [0, 1, 2, 3, 4, 5]) assert.ok(!w.check(c), `again ${c}`);
    w.accept(5000);
    assert.ok(w.check(5000 - 1983), 'the oldest counter still in the window');
    assert.ok(!w.check(5000 - 1984), 'one older is refused');
    assert.ok(w.check(4999));
    w.accept(4999);
    assert.ok(!w.check(4999));
    // A jump far ahead clears the whole bitmap: counters just behind are new again.
    w.accept(100_000);
    assert.ok(w.check(99_999) && !w.check(100_000) && !w.check(5000));
  });

  test('checking alone never moves it (only a datagram that verified does)', () => {
    const w = new ReplayWindow();
    w.accept(10);
    assert.ok(w.check(1_000_000));
    assert.ok(w.check(9) && w.check(11));
  });
});

describe('sealed datagrams', () => {
  test('every single flipped bit of a server datagram is rejected; the genuine one still opens', () => {
    const { client, serverSeal } = keyPair();
    const cipher = client();
    const genuine = serverSeal(3, encodeServerDatagram('alice', enc('hi bob')));
    for (let bit = 0; bit < genuine.length * 8; bit++) {
      const forged = Buffer.from(genuine);
      forged[bit >> 3]! ^= 1 << (bit & 7);
      const opened = cipher.open(forged);
      assert.ok(!opened.ok, `bit ${bit}`);
    }
    for (const cut of [0, 1, 8, 23, genuine.length - 1]) assert.ok(!cipher.open(genuine.subarray(0, cut)).ok, `cut at ${cut}`);
    const opened = cipher.open(genuine);
    assert.ok(opened.ok);
    assert.deepEqual(Buffer.from(opened.datagram), Buffer.from(encodeServerDatagram('alice', enc('hi bob'))));
  });

  test('a forged datagram with a high counter does not push real ones out of the window', () => {
    const { client, serverSeal } = keyPair();
    const cipher = client();
    const forged = serverSeal(50_000, enc('\x05alicex'));
    forged[forged.length - 1]! ^= 1;
    assert.deepEqual(cipher.open(forged), { ok: false, reason: 'auth_failed' });
    assert.ok(cipher.open(serverSeal(1, enc('\x05aliceok'))).ok);
  });

  test('what the client seals, the server opens; the clear header is authenticated too', () => {
    const { client, serverOpen } = keyPair();
    const cipher = client();
    const datagram = cipher.seal(enc('lobby'), enc('hello'));
    assert.deepEqual(Buffer.from(datagram.subarray(0, 7)), Buffer.from([5, 8, ...enc('lobby')]));
    const opened = serverOpen(datagram)!;
    assert.deepEqual([opened.room, opened.counter, opened.message.toString()], ['lobby', 0, 'hello']);
    for (const at of [0, 1, 3, 8, 14, 16, datagram.length - 1]) {
      const forged = Buffer.from(datagram);
      forged[at]! ^= 0x40;
      assert.equal(serverOpen(forged), undefined, `byte ${at}`);
    }
    assert.equal(serverOpen(cipher.seal(enc('lobby'), new Uint8Array(0)))!.counter, 1);
  });

  test('in a session: tampered datagrams are dropped unseen, a replayed one is delivered once', () => {
    const { keys, channel, events, session } = encryptedSession();
    const hello = keys.serverSeal(0, encodeServerDatagram('alice', enc('hello')));
    channel.deliver(hello);
    channel.deliver(hello); // replayed by someone on the path
    const tampered = Buffer.from(keys.serverSeal(1, encodeServerDatagram('alice', enc('pay mallory'))));
    tampered[12]! ^= 0x01;
    channel.deliver(tampered);
    channel.deliver(keys.serverSeal(3, encodeServerDatagram('alice', enc('three'))));
    channel.deliver(keys.serverSeal(2, encodeServerDatagram('alice', enc('two')))); // late, still in the window
    channel.deliver(keys.serverSeal(3, encodeServerDatagram('alice', enc('three'))));
    channel.deliver(encodeServerDatagram('alice', enc('a plaintext datagram'))); // its first 8 bytes: a counter past any key
    assert.deepEqual(
      events.seen.filter((e) => e.name === 'message').map((e) => (e.value as { text: string }).text),
      ['hello', 'three', 'two'],
    );
    assert.deepEqual(
      events.seen.filter((e) => e.name === 'dropped').map((e) => (e.value as { reason: string }).reason),
      ['replay', 'auth_failed', 'replay', 'key_limit'],
    );
    assert.equal(events.count('malformed'), 0);
    assert.ok(session.active);
  });

  test('keepalives, chat and leave are all sealed, with counters 0, 1, 2, ...', async () => {
    const { keys, channel, session } = encryptedSession();
    channel.deliver(keys.serverSeal(0, notice('{"event":"pong"}')));
    assert.ok(session.member);
    await session.send('sealed text');
    await session.leave();
    const opened = channel.sent.map((s) => keys.serverOpen(s.data)!);
    assert.deepEqual(
      opened.map((o) => [o.counter, o.message.toString('utf8')]),
      [
        [0, ''],
        [1, 'sealed text'],
        [2, '\u0000{"type":"leave"}'],
      ],
    );
    for (const o of opened) assert.deepEqual([...o.session], [...SESSION_ID]);
  });

  test('at 2^26 counters the key updates and the session goes on: the server opens each datagram under the key of its counter', async () => {
    const { session, events, channel, keys } = encryptedSession({ firstCounter: DEFAULT_KEY_DATAGRAMS - 2 });
    assert.equal(channel.sent.length, 1); // the first keepalive took counter 2^26 - 2
    await session.send('the last one under the first key'); // 2^26 - 1
    await session.send('the first one under the next key'); // 2^26
    await session.send('and on'); // 2^26 + 1
    const opened = channel.sent.map((s, i) => (i < 2 ? keys.serverOpen(s.data) : keys.serverOpenUpdated(1, s.data)));
    assert.deepEqual(
      opened.map((o) => o && [o.counter, o.message.toString('utf8')]),
      [
        [DEFAULT_KEY_DATAGRAMS - 2, ''],
        [DEFAULT_KEY_DATAGRAMS - 1, 'the last one under the first key'],
        [DEFAULT_KEY_DATAGRAMS, 'the first one under the next key'],
        [DEFAULT_KEY_DATAGRAMS + 1, 'and on'],
      ],
    );
    assert.equal(keys.serverOpen(channel.sent[2]!.data), undefined); // never the old key past the boundary
    assert.ok(!events.seen.some((e) => e.name === 'ended'));
  });

  test('the client follows the server across key updates, reordered, and a forged next-key datagram moves nothing', () => {
    const { events, channel, keys } = encryptedSession({ keyDatagrams: MIN_KEY_DATAGRAMS });
    const say = (text: string) => encodeServerDatagram('alice', enc(text));
    const texts = () => events.seen.filter((e) => e.name === 'message').map((e) => (e.value as { text: string }).text);
    const n = MIN_KEY_DATAGRAMS;
    const forged = keys.serverSealUpdated(1, n, say('forged'));
    forged[forged.length - 1]! ^= 1;
    channel.deliver(forged);
    channel.deliver(keys.serverSeal(n - 2, say('old key')));
    channel.deliver(keys.serverSealUpdated(1, n + 1, say('next key')));
    channel.deliver(keys.serverSeal(n - 1, say('old key, late')));
    channel.deliver(keys.serverSealUpdated(1, n, say('next key, late')));
    channel.deliver(keys.serverSealUpdated(2, 2 * n, say('a key further')));
    channel.deliver(keys.serverSealUpdated(3, 4 * n, say('two keys ahead: refused')));
    assert.deepEqual(texts(), ['old key', 'next key', 'old key, late', 'next key, late', 'a key further']);
  });

  test('a timeout notice ends the session as a timeout, however many datagrams it sealed', () => {
    const b = encryptedSession({ firstCounter: DEFAULT_KEY_DATAGRAMS - 1000 });
    b.channel.deliver(b.keys.serverSeal(0, notice('{"event":"timeout"}')));
    assert.equal((b.events.seen.at(-1)!.value as { reason: string }).reason, 'timeout');
  });

  test('a cipher is never made with an interval the server could not use', () => {
    const { client } = keyPair();
    for (const bad of [0, 1000, 1024, 3000, 2 ** 27, 2048.5]) assert.throws(() => client({ keyDatagrams: bad }), RangeError);
    assert.doesNotThrow(() => client({ keyDatagrams: MIN_KEY_DATAGRAMS }));
  });
});

describe('fingerprints and the operation-3 answer', () => {
  test('normaliseFingerprint takes what chat-server prints, and nothing else', () => {
    const fp = 'SHA256:GutExPD1wgwE4+X9a6juTfKMUfAitOFU+7m7OqcTU7A';
    assert.equal(normaliseFingerprint(fp), fp);
    assert.equal(normaliseFingerprint(` ${fp}= `), fp);
    for (const bad of ['', fp.slice(0, -1), 'sha256:' + fp.slice(7), fp.replace('+', '-'), fp.slice(0, -1) + 'B', 'MD5:' + fp.slice(7)]) {
      assert.equal(normaliseFingerprint(bad), undefined, bad);
    }
  });

  test('server ids are those of chat-client', () => {
    assert.equal(serverId('Chat.Example.org', 9000), 'chat.example.org:9000');
    assert.equal(serverId('::1', 9000), '[::1]:9000');
  });

  test('a fingerprint that does not match the key, a short key, a room name: malformed', () => {
    const key = x25519KeyPair().publicKey;
    const frame = (payload: string, room = '') => new FrameReader().push(encodeFrame(3, 1, room, payload))!.frame;
    assert.equal(decodeServerKeyReply(frame(serverKeyResponse(key)), 'x').fingerprint, keyFingerprint(key));
    const other = keyFingerprint(x25519KeyPair().publicKey);
    const wrongPrint = JSON.stringify({ status: 200, key: Buffer.from(key).toString('base64url'), fingerprint: other });
    assert.throws(() => decodeServerKeyReply(frame(wrongPrint), 'x'), ProtocolError);
    const shortKey = JSON.stringify({ status: 200, key: 'AAAA', fingerprint: other });
    assert.throws(() => decodeServerKeyReply(frame(shortKey), 'x'), ProtocolError);
    assert.throws(() => decodeServerKeyReply(frame(serverKeyResponse(key), 'lobby'), 'x'), ProtocolError);
    const padded = JSON.stringify({ status: 200, key: Buffer.from(key).toString('base64') , fingerprint: keyFingerprint(key) });
    assert.throws(() => decodeServerKeyReply(frame(padded), 'x'), ProtocolError);
  });

  test('a small-order key is refused where the key answer is read, every one of them', () => {
    const frame = (payload: string) => new FrameReader().push(encodeFrame(3, 1, '', payload))!.frame;
    assert.equal(SMALL_ORDER_KEYS.length, 14);
    for (const key of SMALL_ORDER_KEYS) {
      assert.ok(isSmallOrderKey(key), Buffer.from(key).toString('hex'));
      assert.throws(() => decodeServerKeyReply(frame(serverKeyResponse(key)), 'x'), (e: unknown) => e instanceof ProtocolError && /small-order/.test(e.message));
    }
    for (let i = 0; i < 20; i++) assert.equal(isSmallOrderKey(x25519KeyPair().publicKey), false);
  });
});

describe('the known-servers store', () => {
  const server = { host: '127.0.0.1', port: 9000, id: '127.0.0.1:9000' };
  const keyA = { key: new Uint8Array(32), fingerprint: 'SHA256:GutExPD1wgwE4+X9a6juTfKMUfAitOFU+7m7OqcTU7A' };
  const keyB = { key: new Uint8Array(32), fingerprint: 'SHA256:gv/stGPWR6fa4BMj+te3hXFQgk3dsWApK8LOwTn2mPY' };

  test('the default place is chat-client’s', () => {
    assert.equal(defaultKnownServersPath({ XDG_CONFIG_HOME: '/x/config' }, '/home/u'), '/x/config/libchat/known_servers');
    assert.equal(defaultKnownServersPath({ XDG_CONFIG_HOME: 'relative' }, '/home/u'), '/home/u/.config/libchat/known_servers');
    assert.equal(defaultKnownServersPath({}, '/home/u'), '/home/u/.config/libchat/known_servers');
    assert.equal(displayPath('/home/u/.config/libchat/known_servers', '/home/u'), '~/.config/libchat/known_servers');
  });

  test('parsing: comments, blanks, trailing comments, CRLF; bad lines are listed and ignored', () => {
    const text = `# pins\n\n127.0.0.1:9000 ${keyA.fingerprint}\r\n[::1]:9000 ${keyB.fingerprint} # laptop\nnonsense\nhost:99999 ${keyA.fingerprint}\nHost.Example:1 ${keyB.fingerprint}=\n`;
    const parsed = parseKnownServers(text);
    assert.deepEqual(parsed.entries, [
      { server: '127.0.0.1:9000', fingerprint: keyA.fingerprint, line: 3, next: false },
      { server: '[::1]:9000', fingerprint: keyB.fingerprint, line: 4, next: false },
      { server: 'host.example:1', fingerprint: keyB.fingerprint, line: 7, next: false },
    ]);
    assert.deepEqual(parsed.badLines, [5, 6]);
  });

  test('first contact pins (dir 0700, file 0600); then known; another key is refused with what to do', async () => {
    const dir = temporaryDir();
    const file = path.join(dir, 'config', 'libchat', 'known_servers');
    const store = new KnownServers(file, dir);
    const first: KeyTrust = await store.check(server, keyA);
    assert.deepEqual(first, {
      pin: 'first_contact',
      note: `First connection to 127.0.0.1:9000. Its key fingerprint ${keyA.fingerprint} is now remembered.`,
      pinnedAs: ['127.0.0.1:9000'],
    });
    assert.equal(readFileSync(file, 'utf8'), `127.0.0.1:9000 ${keyA.fingerprint}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.deepEqual(await store.check(server, keyA), { pin: 'known', pinnedAs: ['127.0.0.1:9000'] });
    await assert.rejects(store.check(server, keyB), (e: unknown) => {
      assert.ok(e instanceof HandshakeError && e.code === 'server_key_mismatch');
      assert.ok(e.details.includes(`Key remembered: ${keyA.fingerprint}`));
      assert.ok(e.details.includes(`Key presented: ${keyB.fingerprint}`));
      assert.ok(e.details.some((d) => d.endsWith('(line 1 of ~/config/libchat/known_servers).')));
      return true;
    });
    assert.equal(readFileSync(file, 'utf8'), `127.0.0.1:9000 ${keyA.fingerprint}\n`, 'a refused key is not written');
  });

  test('a fingerprint given by hand is checked, and replaces the old pin keeping everything else', async () => {
    const file = path.join(temporaryDir(), 'known_servers');
    writeFileSync(file, `# mine\nother:1 ${keyB.fingerprint}\n127.0.0.1:9000 ${keyA.fingerprint}\n127.0.0.1:9000 ${keyA.fingerprint}`, { mode: 0o600 });
    const store = new KnownServers(file);
    await assert.rejects(store.check(server, keyB, keyA.fingerprint), (e: unknown) => e instanceof HandshakeError && e.code === 'server_key_mismatch' && e.field === 'serverKey');
    const replaced = await store.check(server, keyB, keyB.fingerprint);
    assert.equal(replaced.pin, 'replaced');
    assert.equal(readFileSync(file, 'utf8'), `# mine\nother:1 ${keyB.fingerprint}\n127.0.0.1:9000 ${keyB.fingerprint}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal((await store.check(server, keyB)).pin, 'known');
  });

  test('two windows meeting a new server at once pin it once', async () => {
    const file = path.join(temporaryDir(), 'known_servers');
    const store = new KnownServers(file);
    const both = await Promise.all([store.check(server, keyA), store.check(server, keyA)]);
    assert.deepEqual(both.map((t) => t.pin), ['first_contact', 'known']);
    assert.equal(readFileSync(file, 'utf8').split('\n').length, 2);
  });

  test('an unreadable file is an error; one that cannot be written stops a first contact unless accepted', async () => {
    const dir = temporaryDir();
    const asDirectory = path.join(dir, 'known_servers');
    mkdirSync(asDirectory);
    await assert.rejects(new KnownServers(asDirectory).check(server, keyA), (e: unknown) => e instanceof HandshakeError && e.code === 'known_servers');
    const blocked = path.join(dir, 'a-file', 'known_servers');
    writeFileSync(path.join(dir, 'a-file'), '');
    await assert.rejects(new KnownServers(blocked).check(server, keyA), (e: unknown) => {
      assert.ok(e instanceof HandshakeError && e.code === 'pin_not_stored' && e.field === 'acceptUnpinned', String(e));
      assert.match(e.message, /could not be remembered/);
      assert.ok(e.details.some((d) => d.includes('Connect even if the key cannot be remembered')));
      return true;
    });
    const trust = await new KnownServers(blocked).check(server, keyA, undefined, true);
    assert.equal(trust.pin, 'not_saved');
    assert.match(trust.note ?? '', /could not be remembered/);
  });
});

describe('handshake against misbehaving encrypted servers', () => {
  const closers: (() => void)[] = [];
  after(() => closers.forEach((c) => c()));

  interface Behaviour {
    /** The operation-3 answer's payload (default: the right key). */
    keyAnswer?: (publicKey: Uint8Array) => string;
    /** What to answer a room request with (default: a sealed 202 and a sealed completion). */
    reply?: (socket: net.Socket, hs: ServerHandshake, request: Buffer | undefined, udpPort: number) => void;
  }

  /** A TCP and UDP server on loopback that speaks §12 with its own static key, as told. */
  async function fakeServer(behaviour: Behaviour = {}) {
    const staticKey = x25519KeyPair();
    const seen = { keyRequests: 0, roomRequests: 0, datagrams: 0 };
    let keys: { send: Buffer; receive: Buffer } | undefined;
    let sendCounter = 0;
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const udpPort = udp.address().port;
    udp.on('message', (msg, rinfo) => {
      seen.datagrams++;
      const opened = keys ? openClientDatagram(keys.receive, msg) : undefined;
      if (opened && opened.message.length === 0) udp.send(sealServerDatagram(keys!.send, sendCounter++, notice('{"event":"pong"}')), rinfo.port, rinfo.address);
    });
    const tcp = net.createServer((socket) => {
      let got = Buffer.alloc(0);
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        got = Buffer.concat([got, chunk]);
        const result = (() => {
          try {
            return new FrameReader().push(got);
          } catch {
            return undefined;
          }
        })();
        if (!result) return;
        const frame = result.frame;
        if (frame.operation === 3) {
          seen.keyRequests++;
          socket.end(encodeFrame(3, 1, '', (behaviour.keyAnswer ?? serverKeyResponse)(staticKey.publicKey)));
          return;
        }
        seen.roomRequests++;
        const hs = new ServerHandshake(staticKey, frame.operation, frame.room);
        const request = hs.openRequest(frame.payload);
        if (behaviour.reply) return behaviour.reply(socket, hs, request, udpPort);
        const room = Buffer.from(frame.room).toString();
        const accepted = hs.sealResponse('{"status":202,"message":"Creating."}');
        const completion = hs.sealCompletion(`{"status":201,"token":"tok","udp_port":${udpPort},"host":true,"session":"AAAAAAAAAAc"}`);
        keys = hs.split();
        socket.end(Buffer.concat([encodeFrame(frame.operation, 1, room, accepted), encodeFrame(frame.operation, 2, room, completion)]));
      });
    });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    closers.push(() => tcp.close(), () => udp.close());
    return { port: (tcp.address() as net.AddressInfo).port, staticKey, seen };
  }

  const connect = (port: number, trust?: TrustServerKey) =>
    openChatSession({
      host: '127.0.0.1',
      port,
      operation: 'create',
      room: 'lobby',
      username: 'alice',
      password: 'swordfish',
      handshakeTimeoutMs: 2000,
      crypto: encryptedCrypto(trust ? { trust } : {}),
    });
  const code = (c: string) => (e: unknown) => e instanceof HandshakeError && e.code === c;

  test('the whole exchange: key, sealed request, sealed replies, sealed pong; encrypted by default', async () => {
    const fake = await fakeServer();
    const session = await connect(fake.port);
    const events = new Recorder(session);
    assert.deepEqual(session.info.security, { encrypted: true, fingerprint: keyFingerprint(fake.staticKey.publicKey), pin: 'unchecked' });
    await events.waitFor('member');
    assert.deepEqual([fake.seen.keyRequests, fake.seen.roomRequests], [1, 1]);
    await session.leave();
    // The default crypto of openChatSession is encrypted too.
    const plainDefault = await openChatSession({ host: '127.0.0.1', port: fake.port, operation: 'create', room: 'lobby', username: 'bob' });
    assert.ok(plainDefault.info.security.encrypted);
    plainDefault.close();
  });

  test('a refused key: nothing but the key request reached the server', async () => {
    const fake = await fakeServer();
    const refuse: TrustServerKey = () => Promise.reject(new HandshakeError('server_key_mismatch', 'not the pinned key'));
    await assert.rejects(connect(fake.port, refuse), code('server_key_mismatch'));
    assert.deepEqual([fake.seen.keyRequests, fake.seen.roomRequests], [1, 0]);
  });

  test('a small-order server key: refused before it is pinned, and nothing is sealed or sent to it', async () => {
    for (const key of [SMALL_ORDER_KEYS[0]!, SMALL_ORDER_KEYS[6]!]) {
      const fake = await fakeServer({ keyAnswer: () => serverKeyResponse(key) });
      const file = path.join(temporaryDir(), 'known_servers');
      const store = new KnownServers(file);
      let asked = 0;
      const trust: TrustServerKey = (server, presented) => {
        asked++;
        return store.check(server, presented);
      };
      await assert.rejects(connect(fake.port, trust), (e: unknown) => {
        assert.ok(e instanceof HandshakeError && e.code === 'malformed_reply');
        assert.match(e.message, /small-order X25519 point/);
        return true;
      });
      assert.equal(asked, 0);
      assert.equal(existsSync(file), false, 'nothing pinned');
      assert.deepEqual([fake.seen.keyRequests, fake.seen.roomRequests], [1, 0]);
    }
  });

  test('operation 3: a fingerprint that does not match the key is malformed; bad_request means an older server', async () => {
    const other = keyFingerprint(x25519KeyPair().publicKey);
    const lying = await fakeServer({ keyAnswer: (k) => JSON.stringify({ status: 200, key: Buffer.from(k).toString('base64url'), fingerprint: other }) });
    await assert.rejects(connect(lying.port), code('malformed_reply'));
    assert.equal(lying.seen.roomRequests, 0);
    const old = await fakeServer({ keyAnswer: () => '{"status":400,"error":"bad_request","message":"The request is malformed: unknown operation."}' });
    await assert.rejects(connect(old.port), (e: unknown) => {
      assert.ok(e instanceof HandshakeError && e.code === 'server_key_unavailable');
      assert.match(e.message, /older chat-server/);
      return true;
    });
  });

  test('"no key here" from a server whose key is pinned is an interception, not an older server', async () => {
    const old = await fakeServer({ keyAnswer: () => '{"status":400,"error":"bad_request","message":"The request is malformed: unknown operation."}' });
    const pin = keyFingerprint(x25519KeyPair().publicKey);
    const file = path.join(temporaryDir(), 'known_servers');
    writeFileSync(file, `127.0.0.1:${old.port} ${pin}\n`);
    const store = new KnownServers(file);
    const attempt = openChatSession({
      host: '127.0.0.1',
      port: old.port,
      operation: 'create',
      room: 'lobby',
      username: 'alice',
      password: 'swordfish',
      handshakeTimeoutMs: 2000,
      crypto: encryptedCrypto({ trust: store.trust(), pinned: (server) => store.pinnedFingerprint(server.id) }),
    });
    await assert.rejects(attempt, (e: unknown) => {
      assert.ok(e instanceof HandshakeError && e.code === 'bad_handshake', String(e));
      assert.equal(e.unauthenticated, true);
      assert.match(e.message, /could not be authenticated/);
      assert.ok(e.message.includes(pin));
      assert.doesNotMatch([e.message, ...e.details].join(' '), /unencrypted/i);
      return true;
    });
    assert.equal(old.seen.roomRequests, 0, 'nothing sent in clear');
    // Unknown to the store: still an older server, and the advice stands.
    assert.equal(await new KnownServers(path.join(temporaryDir(), 'none')).pinnedFingerprint(`127.0.0.1:${old.port}`), undefined);
  });

  test('an impostor that does not hold the static key cannot answer (its reply does not verify)', async () => {
    const impostor = x25519KeyPair();
    const fake = await fakeServer({
      reply: (socket, _hs, request) => {
        // The real key opens it (and it carries the time it was sealed at, §12.3).
        assert.match(request?.toString() ?? '', /^\{"username":"alice","password":"swordfish","time":\d+\}$/);
        const fakeHs = new ServerHandshake(impostor, 1, enc('lobby'));
        fakeHs.openRequest(JSON.stringify({ e: Buffer.from(x25519KeyPair().publicKey).toString('base64url'), ct: 'AAAAAAAAAAAAAAAAAAAAAA' }));
        socket.end(encodeFrame(1, 1, 'lobby', fakeHs.sealResponse('{"status":202,"message":"Creating."}')));
      },
    });
    await assert.rejects(connect(fake.port), code('bad_handshake'));
  });

  test('a reply altered on the way: bad_handshake, for the response and for the completion', async () => {
    const flip = (payload: string): string => {
      const o = JSON.parse(payload) as { e?: string; ct: string };
      const ct = Buffer.from(o.ct, 'base64url');
      ct[0]! ^= 1;
      return JSON.stringify({ ...o, ct: ct.toString('base64url') });
    };
    const badResponse = await fakeServer({
      reply: (socket, hs) => socket.end(encodeFrame(1, 1, 'lobby', flip(hs.sealResponse('{"status":202,"message":"Creating."}')))),
    });
    await assert.rejects(connect(badResponse.port), code('bad_handshake'));
    const badCompletion = await fakeServer({
      reply: (socket, hs, _r, udpPort) => {
        const accepted = hs.sealResponse('{"status":202,"message":"Creating."}');
        const completion = flip(hs.sealCompletion(`{"status":201,"token":"tok","udp_port":${udpPort},"host":true,"session":"AAAAAAAAAAc"}`));
        socket.end(Buffer.concat([encodeFrame(1, 1, 'lobby', accepted), encodeFrame(1, 2, 'lobby', completion)]));
      },
    });
    await assert.rejects(connect(badCompletion.port), code('bad_handshake'));
  });

  test('a plaintext 202 is refused; a plaintext error (the server could not read the request) is shown', async () => {
    const plain202 = await fakeServer({
      reply: (socket) => socket.end(encodeFrame(1, 1, 'lobby', '{"status":202,"message":"Creating."}')),
    });
    await assert.rejects(connect(plain202.port), (e: unknown) => e instanceof HandshakeError && e.code === 'bad_handshake' && /without encryption/.test(e.message));
    const plainError = await fakeServer({
      reply: (socket) => socket.end(encodeFrame(1, 1, '', '{"status":400,"error":"bad_request","message":"The request could not be read."}')),
    });
    await assert.rejects(connect(plainError.port), (e: unknown) => e instanceof HandshakeError && e.code === 'bad_request' && e.message === 'The request could not be read.');
  });

  test('a sealed completion without a session id is malformed', async () => {
    const fake = await fakeServer({
      reply: (socket, hs, _r, udpPort) => {
        const accepted = hs.sealResponse('{"status":202,"message":"Creating."}');
        const completion = hs.sealCompletion(`{"status":201,"token":"tok","udp_port":${udpPort},"host":true}`);
        socket.end(Buffer.concat([encodeFrame(1, 1, 'lobby', accepted), encodeFrame(1, 2, 'lobby', completion)]));
      },
    });
    await assert.rejects(connect(fake.port), code('malformed_reply'));
  });
});
