// Bundles the renderer for the browser and Electron with esbuild, and copies its static files.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'src', 'renderer');
const fonts = join(root, 'node_modules', '@fontsource-variable', 'inter');

await mkdir(join(out, 'fonts'), { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'renderer', 'app.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome120', 'firefox120', 'safari17'],
  sourcemap: true,
  logLevel: 'warning',
});
const copies = [
  [join(root, 'src', 'renderer', 'index.html'), join(out, 'index.html')],
  [join(root, 'src', 'renderer', 'styles.css'), join(out, 'styles.css')],
  [join(root, 'src', 'renderer', 'favicon.svg'), join(out, 'favicon.svg')],
  [join(fonts, 'files', 'inter-latin-wght-normal.woff2'), join(out, 'fonts', 'inter-latin.woff2')],
  [join(fonts, 'files', 'inter-latin-ext-wght-normal.woff2'), join(out, 'fonts', 'inter-latin-ext.woff2')],
  [join(fonts, 'LICENSE'), join(out, 'fonts', 'LICENSE-Inter.txt')],
];
await Promise.all(copies.map(([from, to]) => copyFile(from, to)));
