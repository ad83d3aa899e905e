// The member list beside the chat, in headless Chromium through the web bridge, against the real
// chat-server: it starts from the server's members notice and follows joined/left. Screenshots
// go to test-results/.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { openChatSession, type ChatSession } from '../src/protocol';
import { startBridge, type RunningBridge } from '../src/web/server';
import { CliClient, desktopDir, startServer, temporaryKnownServers, type RunningServer } from './helpers/processes';
import { Recorder, sleep } from './helpers/session';

const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const results = path.join(desktopDir, 'test-results');

let server: RunningServer;
let bridge: RunningBridge;
let context: BrowserContext;
let userDataDir: string;
const problems: string[] = [];
const sessions: ChatSession[] = [];
const clients: CliClient[] = [];

before(async () => {
  mkdirSync(results, { recursive: true });
  server = await startServer();
  bridge = await startBridge({ port: 0, log: () => undefined, knownServersFile: temporaryKnownServers() });
  userDataDir = mkdtempSync(path.join(os.tmpdir(), 'libchat-members-ui-'));
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
  for (const s of sessions) s.close();
  for (const c of clients) c.kill();
  await context?.close();
  await bridge?.close();
  await server?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function enter(mode: 'create' | 'join', username: string, room: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  await page.goto(bridge.url);
  await page.waitForSelector('html[data-ready="true"]');
  await page.getByText(mode === 'create' ? 'Create a room' : 'Join a room', { exact: true }).click();
  await page.getByLabel('Server', { exact: true }).fill(server.address);
  await page.getByLabel('Your name').fill(username);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByLabel('Password').fill('');
  await page.locator('#submit').click();
  await page.locator('#chat-view').waitFor({ state: 'visible' });
  await page.locator('#status[data-state="online"]').waitFor();
  return page;
}

/** The member list as shown, in order: "name", "name (you)", "name [host]". */
async function shown(page: Page): Promise<string[]> {
  return page.$$eval('#member-list .member', (items) =>
    items.map((i) => {
      const name = i.querySelector('.member-name')?.textContent ?? '?';
      return `${name}${i.querySelector('.member-you') ? ' (you)' : ''}${i.querySelector('.badge')?.textContent === 'host' ? ' [host]' : ''}`;
    }),
  );
}

async function waitForList(page: Page, expected: string[]): Promise<void> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const now = await shown(page);
    if (JSON.stringify(now) === JSON.stringify(expected)) return;
    if (Date.now() > deadline) assert.deepEqual(now, expected);
    await sleep(50);
  }
}

describe('member list', () => {
  test('starts from the members notice, follows joins and leaves, and marks the host and you', async () => {
    const alice = await enter('create', 'alice', 'who-is-here');
    await waitForList(alice, ['alice (you) [host]']);
    assert.equal(await alice.locator('#members-count').textContent(), '1');
    assert.ok(await alice.locator('#members-note').isHidden());

    // bob through the protocol module, carol through the terminal client.
    const bob = await openChatSession({ host: server.host, port: server.tcpPort, operation: 'join', room: 'who-is-here', username: 'bob' });
    sessions.push(bob);
    await new Recorder(bob).waitFor('member');
    const carol = new CliClient(server, '--join', 'who-is-here', 'carol');
    clients.push(carol);
    await carol.waitFor((e) => e.type === 'connected', 10000, 'connected');
    await waitForList(alice, ['alice (you) [host]', 'bob', 'carol']);

    // dave joins from the UI: his list comes whole from the server.
    const dave = await enter('join', 'dave', 'who-is-here');
    await waitForList(dave, ['alice [host]', 'bob', 'carol', 'dave (you)']);
    assert.equal(await dave.locator('#members-count').textContent(), '4');
    assert.equal(await dave.locator('#members').getAttribute('data-complete'), 'true');
    await sleep(100);
    await dave.screenshot({ path: path.join(results, 'member-list.png') });

    await bob.leave();
    await carol.quit();
    await waitForList(dave, ['alice [host]', 'dave (you)']);
    await waitForList(alice, ['alice (you) [host]', 'dave']);
    // The list is built with textContent: a name is text, never markup.
    assert.equal(await dave.locator('#member-list img, #member-list script').count(), 0);
    await alice.locator('#leave').click();
    await dave.locator('#banner').waitFor({ state: 'visible' });
    await alice.close();
    await dave.close();
  });

  test('no script errors and no Content-Security-Policy violations', () => {
    assert.deepEqual(problems, []);
  });
});
