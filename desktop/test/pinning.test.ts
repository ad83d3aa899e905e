// Trust on first use (issue 10, item 10), the desktop side: the address a name resolved to is
// remembered with it; a key that cannot be remembered stops a first connection unless the user
// accepts that; a key rotation announced inside the sealed completion is followed. Against the
// real chat-server on loopback, with known-servers files in temporary directories.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { encryptedCrypto, HandshakeError, openChatSession, type ChatSession } from '../src/protocol';
import { ChatController } from '../src/main/controller';
import { decideTrust, KnownServers, missingNextPins, nextKeyLine, parseKnownServers, rotatedText } from '../src/main/known-servers';
import { startServer, temporaryDir, temporaryKnownServers, type RunningServer } from './helpers/processes';

const keyA = 'SHA256:GutExPD1wgwE4+X9a6juTfKMUfAitOFU+7m7OqcTU7A';
const keyB = 'SHA256:gv/stGPWR6fa4BMj+te3hXFQgk3dsWApK8LOwTn2mPY';

describe('the known-servers rules (the same as chat-client’s)', () => {
  const name = 'localhost:9000';
  const address = '127.0.0.1:9000';

  test('@next lines are read apart from pins', () => {
    const parsed = parseKnownServers(`a:1 ${keyA}\n@next a:1 ${keyB} # rotation\n@next a:1\n`);
    assert.deepEqual(parsed.entries.map((e) => e.next), [false, true]);
    assert.deepEqual(parsed.badLines, [3]);
    assert.equal(nextKeyLine('a:1', keyB), `@next a:1 ${keyB}\n`);
  });

  test('a name and the address it resolved to', () => {
    assert.deepEqual(decideTrust(parseKnownServers(''), name, address, keyA), { verdict: 'first_contact', toPin: [name, address] });
    assert.deepEqual(decideTrust(parseKnownServers(''), address, address, keyA), { verdict: 'first_contact', toPin: [address] });
    assert.deepEqual(decideTrust(parseKnownServers(`${address} ${keyA}\n`), name, address, keyA), { verdict: 'known_by_address', toPin: [name] });
    const other = decideTrust(parseKnownServers(`# c\n${address} ${keyA}\n`), name, address, keyB);
    assert.equal(other.verdict, 'address_mismatch');
    assert.equal(other.verdict === 'address_mismatch' && other.pinned.line, 2);
    assert.deepEqual(decideTrust(parseKnownServers(`${name} ${keyA}\n`), name, address, keyA), { verdict: 'known', toPin: [address] });
    assert.equal(decideTrust(parseKnownServers(`${name} ${keyA}\n`), name, address, keyB).verdict, 'mismatch');
  });

  test('a rotation replaces the old pins and nothing else', () => {
    const text = `# mine\n${name} ${keyA}\nother:1 ${keyA}\n${nextKeyLine(name, keyB)}`;
    const parsed = parseKnownServers(text);
    assert.equal(decideTrust(parsed, name, undefined, keyA).verdict, 'known');
    const d = decideTrust(parsed, name, undefined, keyB);
    assert.equal(d.verdict, 'rotated');
    assert.equal(rotatedText(text, parsed, [name], keyB), `# mine\nother:1 ${keyA}\n${name} ${keyB}\n`);
    assert.deepEqual(missingNextPins(parsed, [name, 'other:1'], keyB), ['other:1']);
  });
});

describe('trust on first use against the real chat-server', () => {
  const sessions: ChatSession[] = [];
  const servers: RunningServer[] = [];
  after(async () => {
    for (const s of sessions) s.close();
    for (const s of servers) await s.stop();
  });
  const serverWith = async (extra: string[], options: Parameters<typeof startServer>[1] = {}): Promise<RunningServer> => {
    const s = await startServer(extra, options);
    servers.push(s);
    return s;
  };
  const open = async (host: string, on: RunningServer, store: KnownServers, room: string, acceptUnpinned = false) => {
    const session = await openChatSession({
      host,
      port: on.tcpPort,
      operation: 'create',
      room,
      username: 'ada',
      crypto: encryptedCrypto({ trust: store.trust(undefined, acceptUnpinned), recordNextKey: store.recordNextKey }),
    });
    sessions.push(session);
    return session;
  };

  test('localhost, then 127.0.0.1: one first contact, two lines', async () => {
    const on = await serverWith([]);
    const file = temporaryKnownServers();
    const store = new KnownServers(file);
    const first = await open('localhost', on, store, 'tofu-one');
    assert.equal(first.info.security.encrypted && first.info.security.pin, 'first_contact');
    assert.equal(readFileSync(file, 'utf8'), `localhost:${on.tcpPort} ${on.fingerprint}\n127.0.0.1:${on.tcpPort} ${on.fingerprint}\n`);
    const second = await open('127.0.0.1', on, store, 'tofu-two');
    assert.equal(second.info.security.encrypted && second.info.security.pin, 'known');
    assert.equal(readFileSync(file, 'utf8').split('\n').length, 3, 'nothing more to remember');
  });

  test('a new name for an address remembered with another key is refused, nothing sent', async () => {
    const on = await serverWith([]);
    const file = temporaryKnownServers();
    writeFileSync(file, `127.0.0.1:${on.tcpPort} ${keyA}\n`);
    await assert.rejects(open('localhost', on, new KnownServers(file), 'tofu-three'), (e: unknown) => {
      assert.ok(e instanceof HandshakeError && e.code === 'server_key_mismatch', String(e));
      assert.match(e.message, /resolved to, 127\.0\.0\.1:\d+, is remembered with a different key/);
      return true;
    });
    assert.ok(!on.log.some((l) => l.includes('tofu-three')));
  });

  test('a key that cannot be remembered stops a first connection; the setting lets it through', async () => {
    const on = await serverWith([]);
    const dir = temporaryDir();
    writeFileSync(path.join(dir, 'a-file'), 'not a directory');
    const blocked = path.join(dir, 'a-file', 'known_servers');
    const controller = new ChatController(() => undefined, { knownServers: new KnownServers(blocked) });
    const request = { operation: 'create', server: on.address, username: 'ada', room: 'tofu-four', password: '', serverKey: '', allowPlaintext: false };
    const refused = await controller.connect(request);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.error.code, 'pin_not_stored');
    assert.equal(!refused.ok && refused.error.field, 'acceptUnpinned');
    assert.ok(!on.log.some((l) => l.includes('tofu-four')), 'nothing reached the server');
    const accepted = await controller.connect({ ...request, acceptUnpinned: true });
    assert.ok(accepted.ok, JSON.stringify(accepted));
    assert.equal(accepted.ok && accepted.value.security.encrypted && accepted.value.security.pin, 'not_saved');
    assert.ok(accepted.ok && accepted.value.notices.some((n) => n.kind === 'warning' && /will not be checked next time/.test(n.text)));
    await controller.dispose();
  });

  test('a key rotation: the next key from the sealed completion, then the switch without a mismatch', async () => {
    const keys = temporaryDir('libchat-rotation-');
    const keyFileA = path.join(keys, 'a.key');
    const keyFileB = path.join(keys, 'b.key');
    const rotating = await serverWith(['--next-key-file', keyFileB], { keyFile: keyFileA });
    const next = rotating.log.map((l) => /next server key (SHA256:[A-Za-z0-9+/]{43})/.exec(l)?.[1]).find((f) => f !== undefined);
    assert.ok(next !== undefined && next !== rotating.fingerprint, rotating.log.join('\n'));
    const file = temporaryKnownServers();
    const store = new KnownServers(file);
    const where = `127.0.0.1:${rotating.tcpPort}`;
    const before = await open('127.0.0.1', rotating, store, 'tofu-five');
    assert.match(before.info.security.encrypted ? (before.info.security.note ?? '') : '', /announced its next key/);
    assert.equal(readFileSync(file, 'utf8'), `${where} ${rotating.fingerprint}\n@next ${where} ${next}\n`);
    before.close();
    await rotating.stop();

    const switched = await serverWith([], { keyFile: keyFileB, port: rotating.tcpPort, udpPort: rotating.udpPort });
    assert.equal(switched.fingerprint, next);
    const after = await open('127.0.0.1', switched, store, 'tofu-six');
    assert.equal(after.info.security.encrypted && after.info.security.pin, 'rotated');
    assert.equal(readFileSync(file, 'utf8'), `${where} ${next}\n`, 'the old key is no longer trusted');
  });
});
