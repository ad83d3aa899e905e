// The UI in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core), through
// the web bridge, against the real chat-server (encrypted only, as it runs by default). The
// bridge pins server keys in a temporary known-servers file. Screenshots go to test-results/.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { openChatSession, type ChatSession } from '../src/protocol';
import { startBridge, type RunningBridge } from '../src/web/server';
import { CliClient, desktopDir, startServer, temporaryDir, temporaryKnownServers, type RunningServer } from './helpers/processes';
import { Recorder, sleep } from './helpers/session';

const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const results = path.join(desktopDir, 'test-results');

let server: RunningServer;
const extraServers: RunningServer[] = [];
const knownServersFile = temporaryKnownServers();
let bridge: RunningBridge;
let context: BrowserContext;
let userDataDir: string;
const problems: string[] = [];
const sessions: ChatSession[] = [];
const clients: CliClient[] = [];

before(async () => {
  mkdirSync(results, { recursive: true });
  server = await startServer();
  bridge = await startBridge({ port: 0, log: () => undefined, knownServersFile });
  userDataDir = mkdtempSync(path.join(os.tmpdir(), 'libchat-ui-'));
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
  for (const s of extraServers) await s.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  await page.goto(bridge.url);
  await page.waitForSelector('html[data-ready="true"]');
  return page;
}

async function fillStart(page: Page, mode: 'create' | 'join', username: string, room: string, password = '', on = server): Promise<void> {
  await page.getByText(mode === 'create' ? 'Create a room' : 'Join a room', { exact: true }).click();
  await page.getByLabel('Server', { exact: true }).fill(on.address);
  await page.getByLabel('Your name').fill(username);
  await page.getByLabel('Room', { exact: true }).fill(room);
  await page.getByLabel('Password').fill(password);
}

async function inChat(page: Page): Promise<void> {
  await page.locator('#chat-view').waitFor({ state: 'visible' });
  await page.locator('#status[data-state="online"]').waitFor();
}

const activeId = (page: Page): Promise<string> => page.evaluate(() => document.activeElement?.id ?? '');

async function sendFromUi(page: Page, text: string): Promise<void> {
  const box = page.getByLabel('Message', { exact: true });
  await box.click();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) await page.keyboard.press('Shift+Enter');
    await page.keyboard.type(lines[i]!);
  }
  await page.keyboard.press('Enter');
  await page.locator('#messages .msg.own .bubble', { hasText: lines[0]! }).last().waitFor();
}

const message = (page: Page, from: string, text: string) =>
  page.locator(`#messages .msg.other[data-from="${from}"] .bubble`, { hasText: text });

function scrollState(page: Page) {
  return page.$eval('#messages', (l) => ({ top: l.scrollTop, max: l.scrollHeight - l.clientHeight }));
}

/** True when the element is inside the visible part of the message list. */
function visibleInList(page: Page, text: string) {
  return page.$eval(
    '#messages',
    (list, wanted) => {
      const item = [...list.querySelectorAll('.bubble, .notice-text')].find((b) => b.textContent?.startsWith(wanted));
      if (!item) return false;
      const a = list.getBoundingClientRect();
      const b = item.getBoundingClientRect();
      return b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
    },
    text,
  );
}

describe('UI through the web bridge', () => {
  let alice: Page;
  let bob: Page;

  test('the start screen: create or join, labelled fields, defaults', async () => {
    alice = await newPage();
    assert.equal(await alice.getByLabel('Server', { exact: true }).inputValue(), '127.0.0.1:9000');
    assert.ok(await alice.getByLabel('Create a room').isChecked());
    assert.equal(await alice.locator('#submit').textContent(), 'Create room');
    await alice.getByText('Join a room', { exact: true }).click();
    assert.equal(await alice.locator('#submit').textContent(), 'Join room');
    await fillStart(alice, 'create', 'alice', 'design-review');
    await alice.getByLabel('Your name').focus();
    await alice.screenshot({ path: path.join(results, 'start-screen.png') });
    // Advanced: the fingerprint and the unencrypted protocol, closed until asked for.
    assert.ok(await alice.getByLabel('Server key fingerprint').isHidden());
    await alice.getByText('Advanced', { exact: true }).click();
    assert.ok(await alice.getByLabel('Server key fingerprint').isVisible());
    assert.equal(await alice.getByLabel('Allow unencrypted connection').isChecked(), false);
    await alice.screenshot({ path: path.join(results, 'start-advanced.png'), fullPage: true });
    await alice.getByText('Advanced', { exact: true }).click();
  });

  test('create a room: first contact with the server pins its key and says so; a lock shows', async () => {
    await alice.locator('#submit').click();
    await inChat(alice);
    assert.equal(await alice.locator('#room-name').textContent(), 'design-review');
    assert.match((await alice.locator('#room-meta').textContent()) ?? '', /alice.*host/);
    assert.equal(await activeId(alice), 'message-input');
    const firstContact = alice.locator('#messages .notice-security');
    assert.equal(
      await firstContact.textContent(),
      `First connection to ${server.address}. Its key fingerprint ${server.fingerprint} is now remembered.${await firstContact.locator('time').textContent()}`,
    );
    assert.equal(readFileSync(knownServersFile, 'utf8'), `${server.address} ${server.fingerprint}\n`);
    assert.equal(await alice.locator('#security').getAttribute('data-state'), 'encrypted');
    assert.equal(await alice.locator('#security-badge').textContent().then((t) => t?.trim()), 'Encrypted');
    await sleep(100);
    await alice.screenshot({ path: path.join(results, 'first-contact.png') });
  });

  test('join from a second page using the keyboard only', async () => {
    bob = await newPage();
    // Focus starts on the first empty field, the name (after clearing what alice's page saved);
    // the mode switch is two steps back.
    await bob.evaluate(() => localStorage.clear());
    await bob.reload();
    await bob.waitForSelector('html[data-ready="true"]');
    assert.equal(await activeId(bob), 'username');
    await bob.keyboard.press('Shift+Tab');
    assert.equal(await activeId(bob), 'server');
    await bob.keyboard.press('Control+A');
    await bob.keyboard.type(server.address);
    await bob.keyboard.press('Shift+Tab');
    assert.equal(await activeId(bob), 'mode-create');
    await bob.keyboard.press('ArrowRight');
    assert.equal(await activeId(bob), 'mode-join');
    assert.equal(await bob.locator('#submit').textContent(), 'Join room');
    await bob.keyboard.press('Tab');
    await bob.keyboard.press('Tab');
    assert.equal(await activeId(bob), 'username');
    await bob.keyboard.type('bob');
    await bob.keyboard.press('Tab');
    assert.equal(await activeId(bob), 'room');
    await bob.keyboard.type('design-review');
    await bob.keyboard.press('Tab');
    assert.equal(await activeId(bob), 'password');
    await bob.keyboard.press('Tab');
    assert.equal(await activeId(bob), 'advanced-toggle');
    await bob.keyboard.press('Tab');
    assert.equal(await activeId(bob), 'submit');
    await bob.keyboard.press('Enter');
    await inChat(bob);
    assert.equal(await activeId(bob), 'message-input');
    await alice.locator('#messages .notice-join', { hasText: 'bob joined the room' }).waitFor();
    // The key is known by now: no first-contact notice the second time.
    assert.equal(await bob.locator('#messages .notice-security').count(), 0);
    assert.equal(await bob.locator('#security').getAttribute('data-state'), 'encrypted');
  });

  test('the lock shows the fingerprint on hover and on keyboard focus, and tells assistive technology', async () => {
    const tip = bob.locator('#security-tip');
    assert.ok(!(await tip.isVisible()), 'hidden until asked for');
    await bob.locator('#security-badge').hover();
    await tip.waitFor({ state: 'visible' });
    assert.match((await tip.textContent()) ?? '', new RegExp(`Server key ${server.fingerprint.replace(/[+/]/g, '\\$&')}`));
    assert.match((await tip.textContent()) ?? '', /It is the key remembered for this server\./);
    await sleep(200);
    await bob.screenshot({ path: path.join(results, 'security-tooltip.png') });
    await bob.mouse.move(5, 700);
    await tip.waitFor({ state: 'hidden' });
    // Keyboard: the badge is focusable; the tooltip is its description and shows with focus.
    await bob.locator('#security-badge').focus();
    await tip.waitFor({ state: 'visible' });
    assert.equal(await bob.locator('#security-badge').getAttribute('aria-describedby'), 'security-tip');
    assert.equal(await tip.getAttribute('role'), 'tooltip');
    const description = await bob.evaluate(() => document.getElementById(document.getElementById('security-badge')!.getAttribute('aria-describedby')!)!.textContent);
    assert.ok(description?.includes(server.fingerprint));
    await bob.keyboard.press('Escape');
    await tip.waitFor({ state: 'hidden' });
    await bob.getByLabel('Message', { exact: true }).focus();
  });

  test('exchange messages: Enter sends, Shift+Enter makes a new line', async () => {
    await sendFromUi(bob, 'Morning! Did everyone get a chance to look at the new onboarding flow?');
    await message(alice, 'bob', 'onboarding flow').waitFor();
    await sendFromUi(alice, 'Yes, went through it last night.\nThe second step is much clearer now.');
    const multi = message(bob, 'alice', 'went through it');
    await multi.waitFor();
    assert.equal(await multi.textContent(), 'Yes, went through it last night.\nThe second step is much clearer now.');
    // Own messages on one side, everyone else's on the other.
    const own = await alice.locator('#messages .msg.own .bubble').last().boundingBox();
    const other = await alice.locator('#messages .msg.other .bubble').last().boundingBox();
    assert.ok(own && other && own.x > other.x + other.width / 2, 'own messages sit on the right');
    // Sender and time are shown.
    const meta = alice.locator('#messages .msg.other .meta').last();
    assert.equal(await meta.locator('.sender').textContent(), 'bob');
    assert.match((await meta.locator('time').getAttribute('datetime')) ?? '', /^\d{4}-\d\d-\d\dT/);
  });

  test('with chat-client in the same room; text from others is text, never markup', async () => {
    const carol = new CliClient(server, '--join', 'design-review', 'carol');
    clients.push(carol);
    await carol.waitFor((e) => e.type === 'connected', 10000, 'connected');
    await alice.locator('#messages .notice-join', { hasText: 'carol joined' }).waitFor();
    carol.send('Joining from the terminal. I left two comments on the copy.');
    await message(alice, 'carol', 'Joining from the terminal').waitFor();
    await message(bob, 'carol', 'Joining from the terminal').waitFor();
    await sendFromUi(bob, 'Thanks Carol, I will fold them in before the review at 3.');
    const got = await carol.waitFor((e) => e.type === 'message' && e['from'] === 'bob', 10000, "bob's message");
    assert.equal(got['text'], 'Thanks Carol, I will fold them in before the review at 3.');
    carol.send('Sounds good.');
    await message(alice, 'carol', 'Sounds good.').waitFor();
    await sendFromUi(alice, 'Great, see you all at 3 then!');
    await carol.waitFor((e) => e.type === 'message' && e['from'] === 'alice' && String(e['text']).startsWith('Great'), 10000, "alice's message");
    await message(bob, 'alice', 'see you all at 3').waitFor();
    await sleep(150);
    await alice.screenshot({ path: path.join(results, 'chat-view.png') });
    await bob.screenshot({ path: path.join(results, 'chat-view-bob.png') });

    carol.send('<img src=x onerror="document.title=\'pwned\'"> and \u001b[2J');
    const hostile = message(alice, 'carol', '<img');
    await hostile.waitFor();
    assert.equal(await hostile.textContent(), '<img src=x onerror="document.title=\'pwned\'"> and \u241b[2J');
    assert.equal(await alice.locator('#messages img').count(), 0);
    assert.notEqual(await alice.title(), 'pwned');
  });

  test('scroll back through 200 messages; stay pinned unless scrolled up; a new-messages button', async () => {
    const dave = await openChatSession({ host: server.host, port: server.tcpPort, operation: 'join', room: 'design-review', username: 'dave' });
    sessions.push(dave);
    await new Recorder(dave).waitFor('member');
    for (let i = 1; i <= 200; i++) {
      await dave.send(`Message ${i} of 200`);
      if (i % 20 === 0) await sleep(10); // loopback UDP is fast; keep the socket buffers easy
    }
    await message(alice, 'dave', 'Message 200 of 200').waitFor();
    assert.equal(await alice.locator('#messages .msg[data-from="dave"]').count(), 200);
    // Pinned to the bottom while messages arrive.
    await alice.waitForFunction(() => {
      const l = document.getElementById('messages')!;
      return l.scrollHeight - l.scrollTop - l.clientHeight < 2;
    });
    assert.ok(await visibleInList(alice, 'Message 200 of 200'));
    assert.ok(!(await visibleInList(alice, 'Message 1 of 200')));

    // Scroll up with the keyboard (the log is focusable), then with the wheel.
    await alice.locator('#messages').focus();
    await alice.keyboard.press('Home');
    await alice.waitForFunction(() => document.getElementById('messages')!.scrollTop === 0);
    assert.ok(await visibleInList(alice, 'You created #design-review'));
    await message(alice, 'dave', 'Message 1 of 200').scrollIntoViewIfNeeded();
    assert.ok(await visibleInList(alice, 'Message 1 of 200'));
    assert.ok(!(await visibleInList(alice, 'Message 200 of 200')));
    await alice.keyboard.press('End');
    await alice.waitForFunction(() => {
      const l = document.getElementById('messages')!;
      return l.scrollHeight - l.scrollTop - l.clientHeight < 2;
    });
    await alice.locator('#messages').hover();
    await alice.mouse.wheel(0, -1500);
    await alice.waitForFunction(() => {
      const l = document.getElementById('messages')!;
      return l.scrollHeight - l.scrollTop - l.clientHeight > 1000;
    });
    const before = await scrollState(alice);

    // A message while scrolled up: the view stays put and offers a way down.
    await dave.send('One more thing: the review moved to 3:30.');
    await message(alice, 'dave', 'moved to 3:30').waitFor({ state: 'attached' });
    const button = alice.locator('#new-messages');
    await button.waitFor({ state: 'visible' });
    assert.equal(await button.textContent(), '1 new message');
    const still = await scrollState(alice);
    assert.ok(Math.abs(still.top - before.top) < 2, `the view did not move (${before.top} → ${still.top})`);
    assert.ok(!(await visibleInList(alice, 'One more thing: the review moved to 3:30.')));
    await alice.screenshot({ path: path.join(results, 'chat-scrolled-up.png') });
    await button.click();
    await button.waitFor({ state: 'hidden' });
    await alice.waitForFunction(() => {
      const l = document.getElementById('messages')!;
      return l.scrollHeight - l.scrollTop - l.clientHeight < 2;
    });
    assert.ok(await visibleInList(alice, 'One more thing: the review moved to 3:30.'));
    await dave.leave();
    await alice.locator('#messages .notice-leave', { hasText: 'dave left' }).waitFor();
  });

  test('server errors show next to the form: wrong password, room exists', async () => {
    const keeper = await openChatSession({
      host: server.host,
      port: server.tcpPort,
      operation: 'create',
      room: 'vault',
      username: 'keeper',
      password: 'open sesame',
    });
    sessions.push(keeper);
    const eve = await newPage();
    await fillStart(eve, 'join', 'eve', 'vault', 'guess');
    await eve.locator('#submit').click();
    const error = eve.locator('#form-error');
    await error.waitFor({ state: 'visible' });
    assert.equal(await error.textContent(), "Wrong password for room 'vault'.");
    assert.equal(await error.getAttribute('role'), 'alert');
    assert.equal(await eve.getByLabel('Password').getAttribute('aria-invalid'), 'true');
    assert.equal(await activeId(eve), 'password');
    assert.ok(await eve.locator('#start-view').isVisible());
    await eve.screenshot({ path: path.join(results, 'wrong-password.png') });

    await fillStart(eve, 'create', 'eve', 'design-review');
    await eve.locator('#submit').click();
    await eve.locator('#form-error', { hasText: 'already exists' }).waitFor();
    assert.equal(await eve.getByLabel('Room', { exact: true }).getAttribute('aria-invalid'), 'true');

    await fillStart(eve, 'join', 'eve', 'vault', 'open sesame');
    await eve.locator('#submit').click();
    await inChat(eve);
    await keeper.leave();
    await eve.locator('#banner').waitFor({ state: 'visible' });
    await eve.close();
  });

  test('the host leaves: room_closed banner, and a way back to the start screen', async () => {
    await alice.locator('#leave').click();
    await alice.locator('#start-view').waitFor({ state: 'visible' });
    const banner = bob.locator('#banner');
    await banner.waitFor({ state: 'visible' });
    assert.equal(await bob.locator('#banner-title').textContent(), 'The room was closed');
    assert.equal(await bob.locator('#banner-text').textContent(), 'The host left, so the room is closed. You can create it again, or join another room.');
    assert.ok(await bob.locator('#composer').isHidden());
    assert.equal(await activeId(bob), 'back');
    assert.equal(await bob.locator('#status-text').textContent(), 'Disconnected');
    await sleep(100);
    await bob.screenshot({ path: path.join(results, 'room-closed.png') });
    const carol = clients[0]!;
    await carol.waitFor((e) => e.type === 'notice' && e['event'] === 'room_closed', 10000, 'room_closed');
    await bob.keyboard.press('Enter');
    await bob.locator('#start-view').waitFor({ state: 'visible' });
    assert.equal(await bob.getByLabel('Your name').inputValue(), 'bob');
  });

  test("a server whose key changed: a hard error next to the form; the new fingerprint, entered, is accepted", async () => {
    const first = await startServer();
    extraServers.push(first);
    const page = await newPage();
    await fillStart(page, 'create', 'fay', 'keys', '', first);
    await page.locator('#submit').click();
    await inChat(page);
    await page.locator('#messages .notice-security', { hasText: 'First connection' }).waitFor();
    await page.locator('#leave').click();
    await page.locator('#start-view').waitFor({ state: 'visible' });
    await first.stop();
    const second = await startServer([], { keyFile: path.join(temporaryDir(), 'replaced.key'), port: first.tcpPort, udpPort: first.udpPort });
    extraServers.push(second);

    await fillStart(page, 'create', 'fay', 'keys', 'not for impostors', second);
    await page.locator('#submit').click();
    const error = page.locator('#form-error');
    await error.waitFor({ state: 'visible' });
    assert.equal(await error.getAttribute('data-code'), 'server_key_mismatch');
    const text = (await error.textContent()) ?? '';
    assert.match(text, /presented a different key than the one remembered for it/);
    assert.match(text, /Someone may be intercepting the connection, or the server's key was replaced/);
    assert.ok(text.includes(`Key presented: ${second.fingerprint}`));
    assert.equal(await error.locator('code.fingerprint').count(), 2);
    assert.ok(text.includes(`Key remembered: ${first.fingerprint}`));
    assert.match(text, /enter its fingerprint under Advanced/);
    assert.ok(await page.locator('#start-view').isVisible());
    assert.equal(await page.locator('#advanced').getAttribute('open'), '');
    assert.equal(await activeId(page), 'server-key');
    assert.ok(!second.log.some((line) => line.includes("room 'keys'")), 'the request never reached the server');
    await sleep(150);
    const box = (await error.boundingBox())!;
    assert.ok(box.y + box.height <= 761, `the error is in sight: ${JSON.stringify(box)} scrollY ${await page.evaluate(() => window.scrollY + ' ' + document.scrollingElement?.scrollHeight)}`);
    await page.screenshot({ path: path.join(results, 'key-mismatch.png') });
    await page.screenshot({ path: path.join(results, 'key-mismatch-full.png'), fullPage: true });

    // A fingerprint that does not look like one is caught in the form.
    await page.getByLabel('Server key fingerprint').fill('SHA256:not-a-fingerprint');
    await page.locator('#submit').click();
    await page.locator('#form-error', { hasText: 'as chat-server prints it' }).waitFor();
    // The operator confirms the new key: entered, it is checked and replaces the old pin.
    await page.getByLabel('Server key fingerprint').fill(second.fingerprint);
    await page.getByLabel('Password').fill('');
    await page.locator('#submit').click();
    await inChat(page);
    await page.locator('#messages .notice-security', { hasText: 'replaces the key remembered' }).waitFor();
    assert.ok(readFileSync(knownServersFile, 'utf8').includes(`${second.address} ${second.fingerprint}\n`));
    assert.ok(!readFileSync(knownServersFile, 'utf8').includes(first.fingerprint));
    await page.locator('#leave').click();
    await page.close();
  });

  test('unencrypted: refused by an encrypted-only server with what to do; against --allow-plaintext, a warning badge', async () => {
    const page = await newPage();
    await fillStart(page, 'create', 'gus', 'open-plan');
    await page.getByText('Advanced', { exact: true }).click();
    await page.getByLabel('Allow unencrypted connection').check();
    await page.locator('#submit').click();
    const error = page.locator('#form-error');
    await error.waitFor({ state: 'visible' });
    assert.equal(await error.getAttribute('data-code'), 'encryption_required');
    assert.match((await error.textContent()) ?? '', /accepts encrypted connections only.*Untick “Allow unencrypted connection”/s);
    assert.equal(await activeId(page), 'allow-plaintext');

    const plain = await startServer(['--allow-plaintext']);
    extraServers.push(plain);
    await fillStart(page, 'create', 'gus', 'open-plan', '', plain);
    assert.ok(await page.getByLabel('Allow unencrypted connection').isChecked());
    await page.locator('#submit').click();
    await inChat(page);
    assert.equal(await page.locator('#security').getAttribute('data-state'), 'unencrypted');
    assert.equal(await page.locator('#security-badge').textContent().then((t) => t?.trim()), 'Not encrypted');
    await page.locator('#messages .notice-warning', { hasText: 'This connection is not encrypted' }).waitFor();
    const carol = new CliClient(plain, '--join', 'open-plan', 'hana', undefined, { insecure: true });
    clients.push(carol);
    await carol.waitFor((e) => e.type === 'connected', 10000, 'connected');
    carol.send('Plain text, as in the old days.');
    await message(page, 'hana', 'Plain text').waitFor();
    await sleep(150);
    await page.screenshot({ path: path.join(results, 'unencrypted.png') });

    // An encrypted join to that unencrypted room: encryption_mismatch, explained.
    const other = await newPage();
    await fillStart(other, 'join', 'ian', 'open-plan', '', plain);
    await other.locator('#submit').click();
    const mismatch = other.locator('#form-error');
    await mismatch.waitFor({ state: 'visible' });
    assert.equal(await mismatch.getAttribute('data-code'), 'encryption_mismatch');
    assert.match((await mismatch.textContent()) ?? '', /is not encrypted.*tick “Allow unencrypted connection”/s);
    await carol.quit();
    await page.locator('#leave').click();
    await other.close();
    await page.close();
  });

  test('no script errors and no Content-Security-Policy violations', () => {
    assert.deepEqual(problems, []);
  });
});
