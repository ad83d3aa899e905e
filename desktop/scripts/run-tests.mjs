// Runs the compiled tests with Node's own test runner: protocol vectors and codecs, the session
// with fakes, the protocol against the real chat-server and chat-client, and the UI in headless
// Chromium through the web bridge. Stops by itself: a watchdog ends a run that hangs.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const testDir = join(root, 'dist', 'test');
const files = readdirSync(testDir)
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => join(testDir, f));

const need = [
  ['CHAT_SERVER', process.env.CHAT_SERVER || '../build/server/chat-server'],
  ['CHAT_CLIENT', process.env.CHAT_CLIENT || '../build/cli-client/chat-client'],
  ['CHROMIUM', process.env.CHROMIUM || '/usr/bin/chromium'],
];
for (const [name, file] of need) {
  if (!existsSync(resolve(root, file))) {
    console.error(`run-tests: ${name}: nothing at ${resolve(root, file)}.`);
    console.error('Build chat-server and chat-client (see ../README.md) and set CHAT_SERVER/CHAT_CLIENT,');
    console.error('and install Chromium (bash ../scripts/install-deps.sh --test, or apt-get install chromium).');
    process.exit(1);
  }
}

const WATCHDOG_MS = 170_000;
const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], { cwd: root, stdio: 'inherit' });
const watchdog = setTimeout(() => {
  console.error(`run-tests: still running after ${WATCHDOG_MS / 1000} s; stopping it.`);
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 5000).unref();
}, WATCHDOG_MS);
child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  process.exit(signal ? 1 : (code ?? 1));
});
