// Run by `pnpm start` before the engine: the engine serves the builder UI from builder-ui/dist, so build it when
// it is missing or older than its sources (a fresh clone, a pull). A failed build is reported but does not stop
// the start: the API works without the UI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ui = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'builder-ui');
const built = path.join(ui, 'dist', 'index.html');

function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(p).reduce((m, f) => Math.max(m, newest(path.join(p, f))), s.mtimeMs);
}

if (!existsSync(path.join(ui, 'index.html'))) process.exit(0); // no UI in this checkout
const sources = Math.max(...['src', 'public', 'index.html', 'vite.config.ts', 'package.json'].map((f) => newest(path.join(ui, f))));
const fresh = () => existsSync(built) && statSync(built).mtimeMs >= sources;
if (fresh()) process.exit(0);

// Several processes may ask at once (parallel test files, two starts): one builds, the others wait and then find
// dist fresh. Without this, a second build empties dist while the first caller already serves it.
const lock = path.join(ui, '.build-lock');
for (;;) {
  try {
    mkdirSync(lock);
    break;
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
    if (Date.now() - statSync(lock).mtimeMs > 10 * 60_000) rmSync(lock, { recursive: true, force: true }); // left by a killed build
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}
process.on('exit', () => rmSync(lock, { recursive: true, force: true }));
if (fresh()) process.exit(0);

process.stderr.write('cairn: building the builder UI (builder-ui/dist)…\n');
let vite;
try {
  vite = path.join(path.dirname(createRequire(path.join(ui, 'package.json')).resolve('vite/package.json')), 'bin', 'vite.js');
} catch {
  process.stderr.write('cairn: vite is not installed (run pnpm install); starting without the builder UI\n');
  process.exit(0);
}
const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: ui, stdio: ['ignore', 2, 2] });
if (r.status !== 0) process.stderr.write(`cairn: the builder UI build failed (exit ${r.status}); starting without it\n`);
