// The protocol module against the real chat-server on ephemeral loopback ports, with the C++
// chat-client --json on the other end. The server runs as it does by default: encrypted
// handshakes only (no --allow-plaintext), its key in a temporary file; chat-client encrypts by
// default too. The plaintext protocol is tested against a server started with --allow-plaintext.

import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  encryptedCrypto,
  HandshakeError,
  nodeTransport,
  openChatSession,
  plaintextCrypto,
  type ChatSession,
  type ConnectOptions,
  type Transport,
} from '../src/protocol';
import { KnownServers } from '../src/main/known-servers';
import { CliClient, startServer, temporaryDir, temporaryKnownServers, type CliOptions, type RunningServer } from './helpers/processes';
import { Recorder } from './helpers/session';

let server: RunningServer;
const sessions: ChatSession[] = [];
const clients: CliClient[] = [];
const servers: RunningServer[] = [];
/** This file's known-servers file, as the app keeps one. */
const knownFile = temporaryKnownServers();
const known = new KnownServers(knownFile);

before(async () => {
  server = await startServer();
  servers.push(server);
});

after(async () => {
  for (const s of sessions) s.close();
  for (const c of clients) c.kill();
  for (const s of servers) await s.stop();
});

type Open = Partial<ConnectOptions> & Pick<ConnectOptions, 'operation' | 'room' | 'username'>;

/** An encrypted session (the default), the server's key checked against `store`. */
async function open(options: Open, on = server, store = known) {
  const session = await openChatSession({ host: on.host, port: on.tcpPort, crypto: encryptedCrypto({ trust: store.trust() }), ...options });
  sessions.push(session);
  const events = new Recorder(session);
  return { session, events };
}

function cli(mode: '--create' | '--join', room: string, name: string, password?: string, on = server, options: CliOptions = {}): CliClient {
  const client = new CliClient(on, mode, room, name, password, options);
  clients.push(client);
  return client;
}

async function serverWith(extra: string[] = [], options = {}): Promise<RunningServer> {
  const s = await startServer(extra, options);
  servers.push(s);
  return s;
}

const handshakeError = (code: string) => (e: unknown) =>
  e instanceof HandshakeError && e.code === code && typeof e.message === 'string' && e.message.length > 0;

describe('with the real chat-server, encrypted (no --allow-plaintext)', () => {
  test('the server refuses plaintext: encryption_required (426), with what to do', async () => {
    assert.ok(!server.plaintext);
    await assert.rejects(open({ operation: 'create', room: 'clear', username: 'zed', crypto: plaintextCrypto }), (e: unknown) => {
      assert.ok(e instanceof HandshakeError);
      assert.equal(e.code, 'encryption_required');
      assert.equal(e.status, 426);
      assert.equal(e.field, 'allowPlaintext');
      assert.match(e.details.join(' '), /Untick “Allow unencrypted connection”/);
      return true;
    });
  });

  test('first contact pins the key the server printed; later it is known', async () => {
    const alice = await open({ operation: 'create', room: 'pinning', username: 'alice' });
    const security = alice.session.info.security;
    assert.ok(security.encrypted);
    assert.equal(security.fingerprint, server.fingerprint);
    assert.equal(security.pin, 'first_contact');
    assert.equal(security.note, `First connection to ${server.address}. Its key fingerprint ${server.fingerprint} is now remembered.`);
    // chat-client's format, and a file only the user can read.
    assert.equal(readFileSync(knownFile, 'utf8'), `${server.address} ${server.fingerprint}\n`);
    assert.equal(statSync(knownFile).mode & 0o777, 0o600);
    await alice.events.waitFor('member');
    const again = await open({ operation: 'join', room: 'pinning', username: 'bob' });
    assert.ok(again.session.info.security.encrypted && again.session.info.security.pin === 'known');
    await again.session.leave();
    await alice.session.leave();
  });

  test('create in TypeScript, join with chat-client, relay both ways, leave', async () => {
    const alice = await open({ operation: 'create', room: 'relay', username: 'alice' });
    assert.equal(alice.session.info.host, true);
    assert.equal(alice.session.info.created, true);
    assert.equal(alice.session.info.udpPort, server.udpPort);
    await alice.events.waitFor('member');

    const bob = cli('--join', 'relay', 'bob');
    const connected = await bob.waitFor((e) => e.type === 'connected', 10000, 'connected');
    assert.equal(connected['host'], false);
    assert.equal(connected['encrypted'], true);
    assert.equal(connected['server_key'], server.fingerprint);
    await alice.events.waitFor('joined', (e) => e.user === 'bob');

    // Both ways, and non-ASCII text survives byte for byte.
    bob.send('hello from the terminal, ünïcödé 👋');
    const fromBob = await alice.events.waitFor('message');
    assert.equal(fromBob.from, 'bob');
    assert.equal(fromBob.text, 'hello from the terminal, ünïcödé 👋');

    await alice.session.send('hi bob, from TypeScript');
    const fromAlice = await bob.waitFor((e) => e.type === 'message', 10000, 'a message');
    assert.equal(fromAlice['from'], 'alice');
    assert.equal(fromAlice['text'], 'hi bob, from TypeScript');

    assert.equal(await bob.quit(), 0);
    const left = await alice.events.waitFor('left');
    assert.deepEqual([left.user, left.reason], ['bob', 'leave']);
    assert.equal(alice.events.count('dropped'), 0);
    await alice.session.leave();
  });

  test('chat-client creates, TypeScript joins; the host leaves: room_closed', async () => {
    const carol = cli('--create', 'cli-room', 'carol');
    await carol.waitFor((e) => e.type === 'connected', 10000, 'connected');
    const dave = await open({ operation: 'join', room: 'cli-room', username: 'dave' });
    assert.equal(dave.session.info.host, false);
    assert.equal(dave.session.info.created, false);
    await dave.events.waitFor('member');
    await carol.waitFor((e) => e.type === 'notice' && e['event'] === 'joined' && e['user'] === 'dave', 10000, 'joined dave');

    carol.send('welcome, dave');
    assert.equal((await dave.events.waitFor('message')).text, 'welcome, dave');

    await carol.quit();
    const ended = await dave.events.waitFor('ended');
    assert.deepEqual([ended.reason, ended.detail], ['room_closed', 'host_left']);
    assert.ok(!dave.session.active);
  });

  test('the TypeScript host leaves: chat-client is told room_closed, and the name is free again', async () => {
    const host = await open({ operation: 'create', room: 'short-lived', username: 'erin' });
    await host.events.waitFor('member');
    const guest = cli('--join', 'short-lived', 'frank');
    await guest.waitFor((e) => e.type === 'connected', 10000, 'connected');
    await host.events.waitFor('joined');
    await host.session.leave();
    await guest.waitFor((e) => e.type === 'notice' && e['event'] === 'room_closed', 10000, 'room_closed');
    assert.equal(await guest.exited, 4); // "the server ended the session"
    const again = await open({ operation: 'create', room: 'short-lived', username: 'erin' });
    await again.session.leave();
  });

  test('a first contact that then fails still says the key is now remembered', async () => {
    const fresh = new KnownServers(temporaryKnownServers());
    await assert.rejects(open({ operation: 'join', room: 'nowhere', username: 'abe' }, server, fresh), (e: unknown) => {
      assert.ok(e instanceof HandshakeError && e.code === 'room_not_found');
      assert.deepEqual(e.details, [`First connection to ${server.address}. Its key fingerprint ${server.fingerprint} is now remembered.`]);
      return true;
    });
    assert.equal(readFileSync(fresh.file, 'utf8'), `${server.address} ${server.fingerprint}\n`);
  });

  test("errors: room_exists, room_not_found, name_taken, each with the server's sentence (sealed)", async () => {
    const host = await open({ operation: 'create', room: 'taken', username: 'gina' });
    await host.events.waitFor('member');
    await assert.rejects(open({ operation: 'create', room: 'taken', username: 'hal' }), handshakeError('room_exists'));
    await assert.rejects(open({ operation: 'join', room: 'no-such-room', username: 'hal' }), handshakeError('room_not_found'));
    await assert.rejects(open({ operation: 'join', room: 'taken', username: 'gina' }), handshakeError('name_taken'));
    await host.session.leave();
  });

  test('password right and wrong', async () => {
    const host = await open({ operation: 'create', room: 'vault', username: 'ivy', password: 'hunter2' });
    await host.events.waitFor('member');
    await assert.rejects(open({ operation: 'join', room: 'vault', username: 'jack', password: 'hunter3' }), (e: unknown) => {
      assert.ok(e instanceof HandshakeError);
      assert.equal(e.code, 'bad_password');
      assert.equal(e.status, 401);
      assert.equal(e.field, 'password');
      assert.match(e.message, /password/i);
      return true;
    });
    await assert.rejects(open({ operation: 'join', room: 'vault', username: 'jack' }), handshakeError('bad_password'));
    const wrongCli = cli('--join', 'vault', 'kim', 'nope');
    await wrongCli.waitFor((e) => e.type === 'error' && e['error'] === 'bad_password', 10000, 'bad_password');
    assert.equal(await wrongCli.exited, 1);

    const jack = await open({ operation: 'join', room: 'vault', username: 'jack', password: 'hunter2' });
    await jack.events.waitFor('member');
    const rightCli = cli('--join', 'vault', 'kim', 'hunter2');
    await rightCli.waitFor((e) => e.type === 'connected', 10000, 'connected');
    await jack.events.waitFor('joined', (e) => e.user === 'kim');
    await jack.session.send('the vault is open');
    assert.equal((await rightCli.waitFor((e) => e.type === 'message', 10000, 'a message'))['text'], 'the vault is open');
    await rightCli.quit();
    await jack.session.leave();
    await host.session.leave();
  });

  test('the longest text is relayed whole; one byte more is refused here, never cut', async () => {
    const a = await open({ operation: 'create', room: 'big', username: 'lena' });
    await a.events.waitFor('member');
    const b = await open({ operation: 'join', room: 'big', username: 'mo' });
    await b.events.waitFor('member');
    const limit = a.session.maxTextBytes;
    assert.equal(limit, Math.min(4093 - 4, 4062 - 3)); // sealed: 34 bytes of overhead (§12.4)
    const text = 'é'.repeat(Math.floor(limit / 2)) + (limit % 2 ? 'x' : '');
    await a.session.send(text);
    assert.equal((await b.events.waitFor('message')).text, text);
    await assert.rejects(a.session.send(text + 'x'), /too long/);
    await b.session.leave();
    await a.session.leave();
  });

  test('on the wire: no password, name or text in clear, every datagram sealed', async () => {
    const wire = { tcp: [] as Buffer[], udp: [] as Buffer[] };
    const recording: Transport = {
      async connectTcp(host, port, signal) {
        const tcp = await nodeTransport.connectTcp(host, port, signal);
        return {
          remoteAddress: tcp.remoteAddress,
          family: tcp.family,
          write: (data) => {
            wire.tcp.push(Buffer.from(data));
            tcp.write(data);
          },
          onData: (handler) =>
            tcp.onData((chunk) => {
              wire.tcp.push(Buffer.from(chunk));
              handler(chunk);
            }),
          onEnd: (handler) => tcp.onEnd(handler),
          onError: (handler) => tcp.onError(handler),
          close: () => tcp.close(),
        };
      },
      async openDatagramChannel(address, family, port) {
        const udp = await nodeTransport.openDatagramChannel(address, family, port);
        return {
          send: (data) => {
            wire.udp.push(Buffer.from(data));
            return udp.send(data);
          },
          onMessage: (handler) =>
            udp.onMessage((data) => {
              wire.udp.push(Buffer.from(data));
              handler(data);
            }),
          onError: (handler) => udp.onError(handler),
          close: () => udp.close(),
        };
      },
    };
    const host = await open({ operation: 'create', room: 'wiretap', username: 'nadia-secret-name', password: 'correct horse battery', transport: recording });
    await host.events.waitFor('member');
    const guest = await open({ operation: 'join', room: 'wiretap', username: 'oscar', password: 'correct horse battery' });
    await guest.events.waitFor('member');
    await guest.session.send('the launch code is 0000');
    await host.events.waitFor('message');
    await host.session.send('a reply that stays between us');
    await guest.events.waitFor('message');
    await host.session.leave();
    const all = Buffer.concat([...wire.tcp, ...wire.udp]);
    for (const secret of ['correct horse', 'nadia-secret-name', 'oscar', 'launch code', 'stays between us', 'pong', 'joined']) {
      assert.equal(all.indexOf(secret), -1, `"${secret}" on the wire`);
    }
    const sent = wire.udp.filter((d) => d[0] === 7 && d.subarray(2, 9).toString() === 'wiretap');
    assert.ok(sent.length >= 3, 'keepalive, chat, leave');
    for (const d of sent) assert.equal(d[1], 8, 'TokenSize 8: a sealed datagram');
  });

  test('chat-client and the desktop read one known-servers file alike', async () => {
    const shared = temporaryKnownServers();
    const pinner = cli('--create', 'shared-pins', 'pia', undefined, server, { knownServers: shared });
    await pinner.waitFor((e) => e.type === 'connected', 10000, 'connected');
    assert.equal(readFileSync(shared, 'utf8'), `${server.address} ${server.fingerprint}\n`);
    const desktop = await open({ operation: 'join', room: 'shared-pins', username: 'quin' }, server, new KnownServers(shared));
    assert.ok(desktop.session.info.security.encrypted && desktop.session.info.security.pin === 'known');
    await desktop.session.leave();
    await pinner.quit();
  });
});

describe('a server whose key changed', () => {
  test('the client refuses it before sending anything secret; the new fingerprint, entered, replaces the pin', async () => {
    const pins = new KnownServers(temporaryKnownServers());
    const first = await serverWith();
    const a = await open({ operation: 'create', room: 'before', username: 'rita' }, first, pins);
    await a.session.leave();
    await first.stop();

    // The same address, another key file: an impostor, or a reinstalled server.
    const second = await serverWith([], { keyFile: `${temporaryDir()}/other.key`, port: first.tcpPort, udpPort: first.udpPort });
    assert.notEqual(second.fingerprint, first.fingerprint);
    await assert.rejects(open({ operation: 'create', room: 'after', username: 'rita', password: 'do not leak' }, second, pins), (e: unknown) => {
      assert.ok(e instanceof HandshakeError);
      assert.equal(e.code, 'server_key_mismatch');
      assert.equal(e.field, 'serverKey');
      assert.match(e.message, /different key than the one remembered/);
      assert.match(e.message, /Nothing secret was sent/);
      const details = e.details.join('\n');
      assert.match(details, /Someone may be intercepting the connection, or the server's key was replaced/);
      assert.ok(details.includes(`Key presented: ${second.fingerprint}`));
      assert.ok(details.includes(`Key remembered: ${first.fingerprint}`));
      assert.match(details, /enter its fingerprint under Advanced and connect again: it then replaces the old one \(line 1 of /);
      return true;
    });
    // The server saw the key request only: no room request ever reached it.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!second.log.some((line) => line.includes("room 'after'")), second.log.join('\n'));
    // chat-client refuses it too, from the same file (exit status 3).
    const cliRefuses = cli('--create', 'after', 'sam', undefined, second, { knownServers: pins.file });
    await cliRefuses.waitFor((e) => e.type === 'error' && e['error'] === 'server_key_mismatch', 10000, 'server_key_mismatch');
    assert.equal(await cliRefuses.exited, 3);

    // The operator confirms the new key: entered by hand, it is checked and replaces the old pin.
    const b = await openChatSession({
      host: second.host,
      port: second.tcpPort,
      operation: 'create',
      room: 'after',
      username: 'rita',
      crypto: encryptedCrypto({ trust: pins.trust(second.fingerprint) }),
    });
    sessions.push(b);
    assert.ok(b.info.security.encrypted && b.info.security.pin === 'replaced');
    assert.equal(readFileSync(pins.file, 'utf8'), `${second.address} ${second.fingerprint}\n`);
    await b.leave();
  });

  test('a fingerprint entered by hand that does not match: refused', async () => {
    const pins = new KnownServers(temporaryKnownServers());
    await assert.rejects(
      openChatSession({
        host: server.host,
        port: server.tcpPort,
        operation: 'create',
        room: 'typo',
        username: 'tom',
        crypto: encryptedCrypto({ trust: pins.trust('SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA') }),
      }),
      (e: unknown) => e instanceof HandshakeError && e.code === 'server_key_mismatch' && /fingerprint you entered/.test(e.message),
    );
  });
});

describe('plaintext, against a server started with --allow-plaintext', () => {
  let open2: RunningServer;
  before(async () => {
    open2 = await serverWith(['--allow-plaintext']);
    assert.ok(open2.plaintext);
  });

  test('TypeScript and chat-client --insecure chat unencrypted; the session says so', async () => {
    const uma = await open({ operation: 'create', room: 'clear', username: 'uma', crypto: plaintextCrypto }, open2);
    assert.deepEqual(uma.session.info.security, { encrypted: false });
    assert.equal(uma.session.maxTextBytes, Math.min(4093 - 3, 4096 - 2 - 5 - 32)); // the 32-character token in clear
    await uma.events.waitFor('member');
    const vic = cli('--join', 'clear', 'vic', undefined, open2, { insecure: true });
    const connected = await vic.waitFor((e) => e.type === 'connected', 10000, 'connected');
    assert.equal(connected['encrypted'], false);
    await uma.events.waitFor('joined', (e) => e.user === 'vic');
    vic.send('in clear');
    assert.equal((await uma.events.waitFor('message')).text, 'in clear');
    await uma.session.send('also in clear');
    assert.equal((await vic.waitFor((e) => e.type === 'message', 10000, 'a message'))['text'], 'also in clear');

    // An encrypted join cannot enter an unencrypted room: encryption_mismatch, and what to do.
    await assert.rejects(open({ operation: 'join', room: 'clear', username: 'walt' }, open2), (e: unknown) => {
      assert.ok(e instanceof HandshakeError);
      assert.equal(e.code, 'encryption_mismatch');
      assert.equal(e.status, 409);
      assert.equal(e.field, 'allowPlaintext');
      assert.match(e.message, /not encrypted/);
      assert.match(e.details.join(' '), /tick “Allow unencrypted connection”/);
      return true;
    });
    await vic.quit();
    await uma.session.leave();
  });

  test('an encrypted room on the same server admits no plaintext join: encryption_required', async () => {
    const xena = await open({ operation: 'create', room: 'sealed', username: 'xena' }, open2);
    assert.ok(xena.session.info.security.encrypted);
    await xena.events.waitFor('member');
    await assert.rejects(open({ operation: 'join', room: 'sealed', username: 'yann', crypto: plaintextCrypto }, open2), handshakeError('encryption_required'));
    await xena.session.leave();
  });
});

describe('timeouts and shutdown (encrypted)', () => {
  test('a member silent past --inactivity-timeout gets the timeout notice', async () => {
    // --token-ttl 1 as well: the reference server arms a room's timer for the token's first-datagram
    // deadline (30 s by default) and does not re-arm it when the first datagram brings the
    // inactivity deadline closer, so without it the timeout notice comes only after 30 s.
    const quick = await serverWith(['--inactivity-timeout', '0.5', '--token-ttl', '1']);
    // The session's keepalives come every 15 s once it is a member: far past 0.5 s.
    const { events } = await open({ operation: 'create', room: 'sleepy', username: 'nina' }, quick);
    await events.waitFor('member');
    const ended = await events.waitFor('ended', () => true, 10000);
    assert.equal(ended.reason, 'timeout');
  });

  test('the server stops: server_shutdown', async () => {
    const doomed = await serverWith();
    const { events } = await open({ operation: 'create', room: 'last', username: 'omar' }, doomed);
    await events.waitFor('member');
    await doomed.stop();
    assert.equal((await events.waitFor('ended')).reason, 'server_shutdown');
  });
});

describe('key updates (encrypted)', () => {
  test('a room outlives several key updates both ways: every message arrives, nobody is removed', async () => {
    // --key-datagrams 2048, the smallest a server may set: the completion tells the client, and
    // 2,600 messages each way take every direction of both sessions past its first key update.
    const quick = await serverWith(['--key-datagrams', '2048', '--chat-rate', '100000', '--chat-burst', '100000']);
    const host = await open({ operation: 'create', room: 'updates', username: 'uma' }, quick);
    await host.events.waitFor('member');
    const guest = await open({ operation: 'join', room: 'updates', username: 'vic' }, quick);
    await guest.events.waitFor('member');
    await host.events.waitFor('joined', (j) => j.user === 'vic');
    const total = 2600;
    for (let sent = 0; sent < total; sent += 100) {
      // In batches that the socket buffers hold, each answered before the next.
      for (let i = sent; i < sent + 100; i++) {
        await host.session.send(`from uma ${i}`);
        await guest.session.send(`from vic ${i}`);
      }
      await guest.events.waitFor('message', (m) => m.text === `from uma ${sent + 99}`);
      await host.events.waitFor('message', (m) => m.text === `from vic ${sent + 99}`);
    }
    const texts = (r: Recorder, from: string) =>
      r.seen.filter((e) => e.name === 'message' && (e.value as { from: string }).from === from).length;
    assert.equal(texts(guest.events, 'uma'), total);
    assert.equal(texts(host.events, 'vic'), total);
    assert.equal(guest.events.count('dropped'), 0);
    assert.equal(host.events.count('dropped'), 0);
    assert.ok(!host.events.seen.some((e) => e.name === 'ended' || e.name === 'left'));
  });
});
