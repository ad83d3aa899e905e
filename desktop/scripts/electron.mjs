// `npm start`: runs the app in Electron. Dependency install scripts are off (.npmrc), so the
// Electron binary is fetched here on first use, by electron's own installer.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = dirname(require.resolve('electron/package.json'));

if (!existsSync(join(electronDir, 'path.txt'))) {
  console.error('Fetching the Electron binary (first run)...');
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const install = spawnSync(process.execPath, [join(electronDir, 'install.js')], { cwd: electronDir, stdio: 'inherit', env });
  if (install.status !== 0 || !existsSync(join(electronDir, 'path.txt'))) {
    console.error('Could not install Electron\'s binary here. Use the browser mode instead: npm run web');
    process.exit(1);
  }
}

const electron = require('electron'); // the path of the binary
const child = spawn(electron, [root, ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
