import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

const USAGE = `usage: cairn-plugin <command> [options]   (cairn-plugin <command> --help for one command)
  create <dir> [--id <snake_id>] [--name <name>] [--sdk <version or path>]
                     scaffold a plugin (one action, a test, tsconfig) in <dir>
  build [dir]        type-check src/, bundle src/index.ts → dist/plugin.js (+ .map) + dist/manifest.json, check the
                     manifest with the engine's own rules
  test [dir] [vitest options]
                     run the plugin's tests in the sandbox; options go to vitest (-t <name>, --watch, ...)
  publish [dir]      upload dist/ to POST /v1/plugins of the engine at $CAIRN_URL with the admin key in
                     $CAIRN_API_KEY (--url/--key override them; the key is never printed)`;

const HELP: Record<string, string> = {
  create: `usage: cairn-plugin create <dir> [--id <snake_id>] [--name <name>] [--sdk <version or path>]
  Writes package.json (this SDK, vitest, typescript), tsconfig.json, vitest.config.mjs, src/index.ts (one action)
  and test/plugin.test.ts (the action against a local server, in the sandbox) into <dir>.
  --id    plugin id (snake_case; default: from the directory name)
  --name  display name (default: from the id)
  --sdk   how package.json depends on the SDK: a version range (default ^${sdkVersion()}) or the path of a packed
          tarball or directory (written as file:<path>)`,
  build: `usage: cairn-plugin build [dir]
  Type-checks src/index.ts and what it imports (tsconfig.json of the plugin if present), bundles it for the sandbox,
  refuses imports that cannot run there, and checks the manifest with the rules POST /v1/plugins applies.
  Writes dist/plugin.js, its source map dist/plugin.js.map (for stacks in your source files) and dist/manifest.json.`,
  test: `usage: cairn-plugin test [dir] [vitest options]
  Runs vitest (the plugin's own) in the plugin directory; every option is passed to vitest, e.g.
    cairn-plugin test -t "posts the message"     only tests whose name matches
    cairn-plugin test --watch                     re-run on change`,
  publish: `usage: cairn-plugin publish [dir]
  Uploads dist/manifest.json, dist/plugin.js and dist/plugin.js.map (if there) to POST /v1/plugins.
  CAIRN_URL       the engine, e.g. http://127.0.0.1:3000   (or --url)
  CAIRN_API_KEY   an admin API key of the workspace          (or --key; the environment keeps it out of shell
                  history, process lists and the command line npm/pnpm print)`,
};

function sdkVersion(): string {
  // src/cli/main.ts and dist/cli/main.js are both two levels below package.json.
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  return pkg.version;
}

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

export async function main(argv: string[], io: Io = stdio, env: Record<string, string | undefined> = process.env): Promise<number> {
  const [command, ...rest] = argv;
  if (command && HELP[command] && (rest.includes('--help') || rest.includes('-h'))) {
    io.out(HELP[command]!);
    return 0;
  }
  try {
    switch (command) {
      case 'create': {
        const { positional, opts } = flags(rest);
        if (!positional[0]) return usage(io, 'create needs a directory');
        return await create(path.resolve(positional[0]), opts, io);
      }
      case 'build':
        return await buildCommand(path.resolve(flags(rest).positional[0] ?? '.'), io);
      case 'test':
        return testCommand(rest, io);
      case 'publish': {
        const { positional, opts } = flags(rest);
        const url = opts.url ?? env.CAIRN_URL;
        const key = opts.key ?? env.CAIRN_API_KEY;
        if (!url || !key) return usage(io, 'publish needs CAIRN_URL and CAIRN_API_KEY in the environment (or --url and --key)');
        if (opts.key) io.err('note: prefer CAIRN_API_KEY to --key (a key on the command line is visible in process lists and shell history)');
        return await publish(path.resolve(positional[0] ?? '.'), url, key, io);
      }
      case undefined:
      case '--help':
      case '-h':
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
  const sdk = opts.sdk ? sdkSpec(opts.sdk) : `^${sdkVersion()}`;
  for (const [file, content] of Object.entries(scaffoldFiles(id, name, sdk))) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
  io.out(`created plugin ${id} in ${dir}`);
  io.out(`next: cd ${path.relative(process.cwd(), dir) || '.'} && npm install && npx cairn-plugin test && npx cairn-plugin build`);
  return 0;
}

/** A version range stays as it is; a path (tarball or directory) becomes an absolute `file:` spec. */
function sdkSpec(spec: string): string {
  if (/^(file:|link:|workspace:|npm:)/.test(spec) || /^[\^~<>=*\d]/.test(spec)) return spec;
  return `file:${path.resolve(spec)}`;
}

async function buildCommand(dir: string, io: Io): Promise<number> {
  const entry = path.join(dir, 'src', 'index.ts');
  if (!existsSync(entry)) {
    io.err(`error: ${entry} not found (run cairn-plugin build in a plugin directory)`);
    return 1;
  }
  // Loaded here, not at the top: create and publish must work without esbuild, isolated-vm or TypeScript.
  const { buildPlugin, PluginBuildError } = await import('../build/build.ts');
  const { typecheckPlugin } = await import('../build/typecheck.ts');
  const { checkManifest } = await import('../manifest/rules.ts');
  // Bundling first: a forbidden import gets its hint rather than "cannot find module" from the type checker.
  const built = await buildPlugin(entry, { root: dir }).catch((err: unknown) => err as Error);
  if (built instanceof PluginBuildError) {
    io.err(`build failed:\n${built.message}`);
    return 1;
  }
  const typeErrors = typecheckPlugin(entry, dir);
  if (typeErrors.length) {
    io.err(`build failed: type errors\n${typeErrors.join('\n')}`);
    return 1;
  }
  if (built instanceof Error) throw built;
  const problems = checkManifest(built.manifest, '/manifest');
  if (problems.length) {
    io.err(`build failed: the engine would refuse this manifest\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
    return 1;
  }
  const out = path.join(dir, 'dist');
  await mkdir(out, { recursive: true });
  await writeFile(path.join(out, 'plugin.js'), built.bundle);
  await writeFile(path.join(out, 'plugin.js.map'), built.sourceMap);
  await writeFile(path.join(out, 'manifest.json'), `${JSON.stringify({ ...built.manifest, bundle: 'plugin.js', bundle_sha256: built.sha256 }, null, 2)}\n`);
  io.out(`built ${built.manifest.id}@${built.manifest.version}: dist/plugin.js (${built.bundle.length} bytes, sha256 ${built.sha256}), dist/plugin.js.map and dist/manifest.json`);
  return 0;
}

/**
 * `test [dir] [vitest options]`: a first argument that is a directory is the plugin; everything else goes
 * to vitest unchanged. `--watch`/`-w` runs vitest in watch mode, otherwise `vitest run`.
 */
export function vitestInvocation(args: string[], cwd = process.cwd()): { dir: string; vitestArgs: string[] } {
  let dir = cwd;
  let passthrough = args;
  if (args[0] && !args[0].startsWith('-') && existsSync(path.resolve(cwd, args[0])) && statSync(path.resolve(cwd, args[0])).isDirectory()) {
    dir = path.resolve(cwd, args[0]);
    passthrough = args.slice(1);
  }
  const watch = passthrough.some((a) => a === '--watch' || a === '-w');
  return { dir, vitestArgs: watch ? passthrough : ['run', ...passthrough] };
}

function testCommand(args: string[], io: Io): number {
  const { dir, vitestArgs } = vitestInvocation(args);
  // The plugin's own vitest if it has one, else one next to the SDK.
  let pkg: string;
  try {
    pkg = createRequire(path.join(dir, 'package.json')).resolve('vitest/package.json');
  } catch {
    try {
      pkg = createRequire(import.meta.url).resolve('vitest/package.json');
    } catch {
      io.err('error: vitest is not installed: add it to the plugin\'s devDependencies (npm install -D vitest)');
      return 1;
    }
  }
  const vitest = path.join(path.dirname(pkg), 'vitest.mjs');
  const argv = ['--no-node-snapshot', vitest, ...vitestArgs, '--root', dir];
  if (io === stdio) return spawnSync(process.execPath, argv, { cwd: dir, stdio: 'inherit' }).status ?? 1;
  const r = spawnSync(process.execPath, argv, { cwd: dir, encoding: 'utf8' });
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
  // The source map is optional (a build before maps existed has none): with it, failed steps show source lines.
  const sourceMap = await readFile(path.join(dir, 'dist', 'plugin.js.map'), 'utf8').catch(() => undefined);
  const hide = (text: string) => text.split(key).join('[REDACTED]');
  let res: Response;
  try {
    res = await fetch(new URL('/v1/plugins', url), {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ manifest, bundle, ...(sourceMap === undefined ? {} : { source_map: sourceMap }) }),
    });
  } catch (err) {
    io.err(hide(`publish failed: cannot reach ${url}: ${(err as Error).message}`));
    return 1;
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status === 201 || res.status === 200) {
    io.out(`${res.status === 201 ? 'published' : 'already published (identical)'} ${String(body.id)}@${String(body.version)} sha256 ${String(body.bundle_sha256)}`);
    return 0;
  }
  io.err(hide(`publish failed: HTTP ${res.status}: ${String(body.detail ?? body.title ?? '')}`));
  for (const e of (body.errors as { path: string; message: string }[] | undefined) ?? []) io.err(hide(`  ${e.path}: ${e.message}`));
  return 1;
}
