// The app layer without a browser: the preload's shape, the controller's input checks, and the
// web bridge's guards (who may load the UI and open the WebSocket).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { ChatController } from '../src/main/controller';
import { KnownServers } from '../src/main/known-servers';
import { startBridge, type RunningBridge } from '../src/web/server';
import type { ChatEvent } from '../src/shared/api';
import { temporaryKnownServers } from './helpers/processes';

test('the sandboxed preload requires nothing but electron', () => {
  const preload = readFileSync(path.join(__dirname, '..', 'src', 'main', 'preload.js'), 'utf8');
  const required = [...preload.matchAll(/require\(([^)]*)\)/g)].map((m) => m[1]);
  assert.deepEqual(required, ['"electron"']);
});

describe('ChatController checks what the UI sends', () => {
  const events: ChatEvent[] = [];
  const controller = new ChatController((e) => events.push(e), { knownServers: new KnownServers(temporaryKnownServers()) });
  const base = { operation: 'join', server: '127.0.0.1:1', username: 'b', room: 'c', password: '' };

  test('malformed connect requests', async () => {
    for (const bad of [null, 'x', {}, { operation: 'create' }, { operation: 'delete', server: 'a', username: 'b', room: 'c', password: '' }]) {
      const result = await controller.connect(bad);
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.error.code === 'invalid_input', JSON.stringify(bad));
    }
    const longField = await controller.connect({ operation: 'join', server: 'x'.repeat(5000), username: 'b', room: 'c', password: '' });
    assert.ok(!longField.ok && longField.error.code === 'invalid_input');
  });

  test('a bad server address or name points at its field', async () => {
    const server = await controller.connect({ operation: 'join', server: 'host:99999', username: 'b', room: 'c', password: '' });
    assert.ok(!server.ok && server.error.field === 'server');
    const name = await controller.connect({ operation: 'join', server: '127.0.0.1:1', username: 'a\u0007', room: 'c', password: '' });
    assert.ok(!name.ok && name.error.field === 'username');
  });

  test('the security settings: a fingerprint must look like one, and cannot go with plaintext', async () => {
    const badKey = await controller.connect({ ...base, serverKey: 'SHA256:nope', allowPlaintext: false });
    assert.ok(!badKey.ok && badKey.error.code === 'invalid_input' && badKey.error.field === 'serverKey');
    const both = await controller.connect({ ...base, serverKey: 'SHA256:GutExPD1wgwE4+X9a6juTfKMUfAitOFU+7m7OqcTU7A', allowPlaintext: true });
    assert.ok(!both.ok && both.error.field === 'serverKey' && /only be checked on an encrypted connection/.test(both.error.message));
    const notBoolean = await controller.connect({ ...base, allowPlaintext: 'yes' });
    assert.ok(!notBoolean.ok && notBoolean.error.code === 'invalid_input');
    // Both are optional: without them the request is valid (and nothing listens on port 1).
    const older = await controller.connect(base);
    assert.ok(!older.ok && older.error.code === 'connect_failed' && older.error.field === 'server');
  });

  test('without a known-servers file, an encrypted connection needs the fingerprint', async () => {
    const homeless = new ChatController(() => undefined, { knownServers: undefined });
    const result = await homeless.connect({ ...base, serverKey: '', allowPlaintext: false });
    assert.ok(!result.ok && result.error.code === 'known_servers' && result.error.field === 'serverKey');
    assert.match(result.error.details?.join(' ') ?? '', /Advanced/);
  });

  test('send before connecting, or something that is not text', async () => {
    const early = await controller.send('hello');
    assert.ok(!early.ok && early.error.code === 'not_connected');
    const notText = await controller.send({ text: 1 });
    assert.ok(!notText.ok && notText.error.code === 'invalid_input');
    assert.deepEqual(events, []);
  });
});

describe('web bridge guards', () => {
  let bridge: RunningBridge;
  before(async () => {
    bridge = await startBridge({ port: 0, log: () => undefined, knownServersFile: temporaryKnownServers() });
  });
  after(() => bridge.close());

  function get(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: bridge.port, path: pathname, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
    });
  }

  function upgrade(headers: Record<string, string>): Promise<'open' | number> {
    return new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/bridge`, { headers });
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(0));
    });
  }

  test('listens on 127.0.0.1 by default', () => {
    assert.match(bridge.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  test('serves the UI with a strict Content-Security-Policy', async () => {
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<title>libchat<\/title>/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
  });

  test('serves nothing else', async () => {
    for (const p of ['/package.json', '/../package.json', '/%2e%2e/package.json', '/main/main.js', '/app.ts']) {
      assert.equal((await get(p)).status, 404, p);
    }
  });

  test('refuses other Host headers (DNS rebinding)', async () => {
    assert.equal((await get('/', { Host: `evil.example:${bridge.port}` })).status, 403);
  });

  test('opens the WebSocket only for its own pages', async () => {
    const own = `http://127.0.0.1:${bridge.port}`;
    assert.equal(await upgrade({ Origin: own }), 'open');
    assert.equal(await upgrade({ Origin: 'http://evil.example' }), 403);
    assert.equal(await upgrade({}), 403);
    assert.equal(await upgrade({ Origin: `http://evil.example:${bridge.port}`, Host: `evil.example:${bridge.port}` }), 403);
  });

  test('answers API calls over the WebSocket, and ignores junk', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/bridge`, { headers: { Origin: `http://127.0.0.1:${bridge.port}` } });
    await new Promise((r) => ws.once('open', r));
    const replies: unknown[] = [];
    ws.on('message', (data) => replies.push(JSON.parse(String(data))));
    ws.send('not json');
    ws.send(JSON.stringify({ id: 'x', method: 'send' }));
    ws.send(JSON.stringify({ id: 7, method: 'send', params: { text: 'hi' } }));
    ws.send(JSON.stringify({ id: 8, method: 'explode', params: {} }));
    await new Promise((r) => setTimeout(r, 200));
    replies.sort((a, b) => (a as { id: number }).id - (b as { id: number }).id);
    assert.deepEqual(replies, [
      { id: 7, result: { ok: false, error: { code: 'not_connected', message: 'You are not in a room.' } } },
      { id: 8, result: { ok: false, error: { code: 'invalid_input', message: 'Unknown method.' } } },
    ]);
    ws.close();
  });
});
