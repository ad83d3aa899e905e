// The desktop client against a three-node cluster (docs/cluster.md), as a new user would use it:
// a nats-server with JetStream, chat-server nodes on 127.0.0.1, .2 and .3 sharing one key, the UI
// in headless Chromium through the web bridge. Alice creates a room through node 1, Bob joins it
// through node 2 (his join is forwarded to node 1, and his datagrams go to node 1 as the
// completion's udp_host says), and Carol's chat-client joins through node 3.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startBridge, type RunningBridge } from '../src/web/server';
import { CliClient, desktopDir, startNats, startServer, temporaryDir, temporaryKnownServers, type RunningNats, type RunningServer } from './helpers/processes';
import { sleep } from './helpers/session';

const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const results = path.join(desktopDir, 'test-results');

let nats: RunningNats;
const nodes: RunningServer[] = [];
let bridge: RunningBridge;
let context: BrowserContext;
let userDataDir: string;
const clients: CliClient[] = [];
const problems: string[] = [];

async function waitForLog(server: RunningServer, text: string, ms = 10000): Promise<void> {
  const until = Date.now() + ms;
  while (!server.log.some((line) => line.includes(text))) {
    if (Date.now() > until) throw new Error(`no "${text}" in the node's log:\n${server.log.join('\n')}`);
    await sleep(50);
  }
}

before(async () => {
  mkdirSync(results, { recursive: true });
  nats = await startNats();
  const keyFile = path.join(temporaryDir('libchat-cluster-key-'), 'server.key');
  for (const n of [1, 2, 3]) {
    const node = await startServer(['--cluster', nats.url, '--node-name', `node${n}`, '--node-timeout', '2'], { bind: `127.0.0.${n}`, keyFile });
    nodes.push(node);
    await waitForLog(node, 'room directory ready');
  }
  bridge = await startBridge({ port: 0, log: () => undefined, knownServersFile: temporaryKnownServers() });
  userDataDir = mkdtempSync(path.join(os.tmpdir(), 'libchat-cluster-ui-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1100, height: 760 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
    locale: 'en-GB',
  });
  context.setDefaultTimeout(10000);
});

after(async () => {
  for (const c of clients) c.kill();
  await context?.close();
  await bridge?.close();
  for (const n of nodes) await n.stop();
  await nats?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(bridge.url);
  await page.waitForSelector('html[data-ready="true"]');
  return page;
}

async function start(page: Page, mode: 'create' | 'join', username: string, room: string, on: RunningServer): Promise<void> {
  await page.getByText(mode === 'create' ? 'Create a room' : 'Join a room', { exact: true }).click();
  await page.getByLabel('Server', { exact: true }).fill(on.address);
  await page.getByLabel('Your name').fill(username);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.locator('#submit').click();
  await page.locator('#chat-view').waitFor({ state: 'visible' });
  await page.locator('#status[data-state="online"]').waitFor();
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).click();
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

const message = (page: Page, from: string, text: string) =>
  page.locator(`#messages .msg.other[data-from="${from}"] .bubble`, { hasText: text });

describe('the desktop client on a three-node cluster', () => {
  test('create through node 1, join through node 2 and (chat-client) node 3, and chat', async () => {
    const [node1, node2, node3] = nodes as [RunningServer, RunningServer, RunningServer];
    const alice = await newPage();
    await start(alice, 'create', 'alice', 'cluster-room', node1);
    const bob = await newPage();
    await start(bob, 'join', 'bob', 'cluster-room', node2);
    const carol = new CliClient(node3, '--join', 'cluster-room', 'carol');
    clients.push(carol);
    await carol.waitFor((e) => e.type === 'connected', 10000, 'carol connected');

    await say(bob, 'Hello from node 2');
    await message(alice, 'bob', 'Hello from node 2').waitFor();
    await carol.waitFor((e) => e.type === 'message' && e['text'] === 'Hello from node 2', 5000, "bob's message");
    await say(alice, 'Hi Bob, the room lives on node 1');
    await message(bob, 'alice', 'the room lives on node 1').waitFor();
    carol.send('and I came through node 3');
    await message(alice, 'carol', 'through node 3').waitFor();
    await message(bob, 'carol', 'through node 3').waitFor();

    // Node 1 ran every join; nodes 2 and 3 only passed them on.
    assert.ok(node1.log.some((l) => l.includes("room 'cluster-room': token issued to 'bob'")));
    assert.ok(node1.log.some((l) => l.includes("room 'cluster-room': token issued to 'carol'")));
    assert.ok(!node2.log.some((l) => l.includes('token issued')));
    await sleep(100);
    await bob.screenshot({ path: path.join(results, 'cluster-bob.png') });
    assert.deepEqual(problems, []);
  });
});
