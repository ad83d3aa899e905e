// The members notice (docs/protocol.md §6.6): the desktop's decoding of it, byte for byte and
// against hostile input, and the session against the real chat-server: who a joining member is
// told is in the room, over several datagrams when the names need them.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeServerDatagram, openChatSession, ProtocolError, type ChatSession, type SessionEvents } from '../src/protocol';
import { parseNotice } from '../src/protocol/datagram';
import { startServer, type RunningServer } from './helpers/processes';
import { Recorder } from './helpers/session';

const bytes = (hex: string): Uint8Array => Uint8Array.from(hex.split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));

describe('members notice: decoding', () => {
  test('the worked example of §6.6 decodes to its part, host and users', () => {
    const wire = bytes(`00 7b 22 65 76 65 6e 74 22 3a 22 6d 65 6d 62 65 72 73 22 2c 22 70 61 72 74 22 3a 31 2c 22 70 61
      72 74 73 22 3a 31 2c 22 68 6f 73 74 22 3a 22 61 6c 69 63 65 22 2c 22 75 73 65 72 73 22 3a 5b 22 61 6c 69 63 65 22
      2c 22 62 6f 62 22 2c 22 63 61 72 6f 6c 22 5d 7d`);
    assert.deepEqual(decodeServerDatagram(wire), {
      kind: 'notice',
      notice: { event: 'members', part: 1, parts: 1, host: 'alice', users: ['alice', 'bob', 'carol'] },
    });
  });

  test('keys in any order, unknown keys ignored, no host while the host has not joined', () => {
    assert.deepEqual(parseNotice('{"users":["b"],"later":{"x":[1]},"parts":3,"part":2,"event":"members"}'), {
      event: 'members',
      part: 2,
      parts: 3,
      host: '',
      users: ['b'],
    });
  });

  const bad: [string, string][] = [
    ['no users', '{"event":"members","part":1,"parts":1}'],
    ['users not an array', '{"event":"members","part":1,"parts":1,"users":"a"}'],
    ['a user that is a number', '{"event":"members","part":1,"parts":1,"users":["a",1]}'],
    ['an empty name', '{"event":"members","part":1,"parts":1,"users":[""]}'],
    ['a control character', '{"event":"members","part":1,"parts":1,"users":["\\u001b[2J"]}'],
    ['a name past 255 bytes', `{"event":"members","part":1,"parts":1,"users":["${'é'.repeat(128)}"]}`],
    ['part 0', '{"event":"members","part":0,"parts":1,"users":["a"]}'],
    ['part past parts', '{"event":"members","part":2,"parts":1,"users":["a"]}'],
    ['a huge count', '{"event":"members","part":1,"parts":1e12,"users":["a"]}'],
    ['a fractional part', '{"event":"members","part":1.5,"parts":2,"users":["a"]}'],
    ['a host that is not a name', '{"event":"members","part":1,"parts":1,"host":"\\u0007","users":["a"]}'],
    ['a repeated key', '{"event":"members","part":1,"parts":1,"users":["a"],"users":["b"]}'],
  ];
  for (const [name, json] of bad) {
    test(`refused: ${name}`, () => {
      assert.throws(() => parseNotice(json), ProtocolError);
    });
  }
});

describe('members notice: against the real chat-server', () => {
  let server: RunningServer;
  const sessions: ChatSession[] = [];

  before(async () => {
    server = await startServer(['--join-rate', '1000', '--join-burst', '1000', '--handshake-rate', '1000', '--handshake-burst', '1000']);
  });
  after(async () => {
    for (const s of sessions) s.close();
    await server?.stop();
  });

  async function join(operation: 'create' | 'join', room: string, username: string) {
    const session = await openChatSession({ host: server.host, port: server.tcpPort, operation, room, username });
    sessions.push(session);
    const events = new Recorder(session);
    await events.waitFor('member');
    return { session, events };
  }

  /** Every part of the list a member was sent on joining. */
  async function list(events: Recorder): Promise<SessionEvents['members'][]> {
    const first = await events.waitFor('members');
    const parts = [first];
    for (let part = 2; part <= first.parts; part++) parts.push(await events.waitFor('members', (m) => m.part === part));
    return parts;
  }

  test('the third member is told all three, alice as host; the first two hear that it joined', async () => {
    const alice = await join('create', 'trio', 'alice');
    const bob = await join('join', 'trio', 'bob');
    const carol = await join('join', 'trio', 'carol');
    const parts = await list(carol.events);
    assert.equal(parts.length, 1);
    assert.deepEqual([...parts[0]!.users].sort(), ['alice', 'bob', 'carol']);
    assert.equal(parts[0]!.host, 'alice');
    assert.deepEqual((await list(alice.events))[0]!.users, ['alice']);
    await alice.events.waitFor('joined', (e) => e.user === 'carol');
    await bob.events.waitFor('joined', (e) => e.user === 'carol');
    assert.equal(alice.events.count('members'), 1);
    assert.equal(bob.events.count('members'), 1);
  });

  test('a room of long names is listed over several datagrams that hold every name once', async () => {
    const names: string[] = [];
    let last: Recorder | undefined;
    for (let i = 0; i < 40; i++) {
      const name = `${i}-`.padEnd(255, 'w');
      names.push(name);
      last = (await join(i === 0 ? 'create' : 'join', 'long names', name)).events;
    }
    const parts = await list(last!);
    assert.ok(parts.length >= 3, `${parts.length} parts`);
    for (const [i, p] of parts.entries()) {
      assert.equal(p.part, i + 1);
      assert.equal(p.parts, parts.length);
      assert.equal(p.host, names[0]);
    }
    assert.deepEqual(parts.flatMap((p) => p.users).sort(), [...names].sort());
  });
});
