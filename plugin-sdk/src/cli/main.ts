import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPlugin, PluginBuildError } from '../build/build.ts';
import { scaffoldFiles } from './scaffold.ts';

/**
 * `cairn-plugin create|build|test|publish`. Output goes to the streams given (tests capture them); the
 * return value is the exit code: 0 ok, 1 failure, 2 bad usage.
 */

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

const USAGE = `usage: cairn-plugin <command>
  create <dir> [--id <snake_id>] [--name <name>]   scaffold a plugin with a test
  build [dir]                                      bundle src/index.ts → dist/plugin.js + dist/manifest.json
  test [dir]                                       run the plugin's tests (in the sandbox)
  publish [dir] --url <engine url> --key <admin API key>   upload dist/ to POST /v1/plugins`;

function flags(args: string[]): { positional: string[]; opts: Record<string, string> } {
  const positional: string[] = [];
  const opts: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2) as [string, string | undefined];
      opts[k] = v ?? args[++i] ?? '';
    } else positional.push(a);
  }
  return { positional, opts };
}

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  const { positional, opts } = flags(rest);
  const dir = path.resolve(positional[0] ?? '.');
  try {
    switch (command) {
      case 'create':
        if (!positional[0]) return usage(io, 'create needs a directory');
        return await create(dir, opts, io);
      case 'build':
        return await buildCommand(dir, io);
      case 'test':
        return testCommand(dir, io);
      case 'publish':
        if (!opts.url || !opts.key) return usage(io, 'publish needs --url and --key');
        return await publish(dir, opts.url, opts.key, io);
      case undefined:
      case '--help':
      case 'help':
        io.out(USAGE);
        return command ? 0 : 2;
      default:
        return usage(io, `unknown command "${command}"`);
    }
  } catch (err) {
    io.err(`error: ${(err as Error).message}`);
    return 1;
  }
}

function usage(io: Io, problem: string): number {
  io.err(`${problem}\n${USAGE}`);
  return 2;
}

async function create(dir: string, opts: Record<string, string>, io: Io): Promise<number> {
  const id = opts.id ?? path.basename(dir).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^[^a-z]+/, '');
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(id)) return usage(io, `"${id}" is not a valid plugin id: snake_case, starting with a letter (pass --id)`);
  if (existsSync(path.join(dir, 'src', 'index.ts'))) {
    io.err(`error: ${dir} already contains a plugin`);
    return 1;
  }
  const name = opts.name ?? id.split('_').map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ');
  for (const [file, content] of Object.entries(scaffoldFiles(id, name))) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  io.out(`created plugin ${id} in ${dir}`);
  io.out('next: install dependencies, then cairn-plugin test && cairn-plugin build');
  return 0;
}

async function buildCommand(dir: string, io: Io): Promise<number> {
  const entry = path.join(dir, 'src', 'index.ts');
  if (!existsSync(entry)) {
    io.err(`error: ${entry} not found (run cairn-plugin build in a plugin directory)`);
    return 1;
  }
  try {
    const built = await buildPlugin(entry);
    const out = path.join(dir, 'dist');
    await mkdir(out, { recursive: true });
    await writeFile(path.join(out, 'plugin.js'), built.bundle);
    await writeFile(path.join(out, 'manifest.json'), `${JSON.stringify({ ...built.manifest, bundle: 'plugin.js', bundle_sha256: built.sha256 }, null, 2)}\n`);
    io.out(`built ${built.manifest.id}@${built.manifest.version}: dist/plugin.js (${built.bundle.length} bytes, sha256 ${built.sha256}) and dist/manifest.json`);
    return 0;
  } catch (err) {
    if (err instanceof PluginBuildError) {
      io.err(`build failed:\n${err.message}`);
      return 1;
    }
    throw err;
  }
}

function testCommand(dir: string, io: Io): number {
  // The plugin's own vitest if it has one, else the one next to the SDK.
  let pkg: string;
  try {
    pkg = createRequire(path.join(dir, 'package.json')).resolve('vitest/package.json');
  } catch {
    pkg = createRequire(fileURLToPath(import.meta.url)).resolve('vitest/package.json');
  }
  const vitest = path.join(path.dirname(pkg), 'vitest.mjs');
  const r = spawnSync(process.execPath, ['--no-node-snapshot', vitest, 'run', '--root', dir], { cwd: dir, encoding: 'utf8' });
  if (r.stdout) io.out(r.stdout.trimEnd());
  if (r.stderr) io.err(r.stderr.trimEnd());
  return r.status ?? 1;
}

async function publish(dir: string, url: string, key: string, io: Io): Promise<number> {
  const manifestText = await readFile(path.join(dir, 'dist', 'manifest.json'), 'utf8').catch(() => null);
  if (manifestText === null) {
    io.err('error: dist/manifest.json not found; run cairn-plugin build first');
    return 1;
  }
  const { bundle: _file, bundle_sha256: _sha, ...manifest } = JSON.parse(manifestText) as Record<string, unknown>;
  const bundle = await readFile(path.join(dir, 'dist', 'plugin.js'), 'utf8');
  const res = await fetch(new URL('/v1/plugins', url), {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ manifest, bundle }),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status === 201 || res.status === 200) {
    io.out(`${res.status === 201 ? 'published' : 'already published (identical)'} ${String(body.id)}@${String(body.version)} sha256 ${String(body.bundle_sha256)}`);
    return 0;
  }
  io.err(`publish failed: HTTP ${res.status}: ${String(body.detail ?? body.title ?? '')}`);
  for (const e of (body.errors as { path: string; message: string }[] | undefined) ?? []) io.err(`  ${e.path}: ${e.message}`);
  return 1;
}
