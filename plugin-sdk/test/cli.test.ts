import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, vitestInvocation, type Io } from '../src/cli/main.ts';

/** `cairn-plugin` end to end on a scaffolded plugin in a temporary directory (the SDK linked as an install would). */
const sdkDir = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(sdkDir, 'bin', 'cairn-plugin.js');
let dir: string;

function capture(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => void stdout.push(l), err: (l) => void stderr.push(l) };
}

beforeAll(async () => {
  dir = path.join(await mkdtemp(path.join(tmpdir(), 'cairn-plugin-cli-')), 'acme_crm');
});
afterAll(async () => {
  await rm(path.dirname(dir), { recursive: true, force: true });
});

describe('cairn-plugin', () => {
  it('create scaffolds a plugin with a test (run through the real bin)', async () => {
    const out = execFileSync(process.execPath, [bin, 'create', dir], { encoding: 'utf8' });
    expect(out).toContain('created plugin acme_crm');
    for (const f of ['package.json', 'src/index.ts', 'test/plugin.test.ts', 'vitest.config.mjs']) expect(existsSync(path.join(dir, f)), f).toBe(true);
    // What `pnpm install` would do: link the SDK and vitest into the plugin's node_modules.
    await mkdir(path.join(dir, 'node_modules', '@cairn'), { recursive: true });
    await symlink(sdkDir, path.join(dir, 'node_modules', '@cairn', 'plugin-sdk'));
    const vitestPkg = path.dirname(createRequire(import.meta.url).resolve('vitest/package.json'));
    await symlink(realpathSync(vitestPkg), path.join(dir, 'node_modules', 'vitest'));
    const again = capture();
    expect(await main(['create', dir], again)).toBe(1);
    expect(again.stderr.join('\n')).toMatch(/already contains a plugin/);
  });

  it('test runs the scaffolded test in the sandbox against its local server', async () => {
    const io = capture();
    const code = await main(['test', dir], io);
    expect(code, io.stdout.join('\n') + io.stderr.join('\n')).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/1 passed/);
  });

  it('test passes vitest options through: -t selects tests by name (not a directory)', async () => {
    const io = capture();
    expect(await main(['test', dir, '-t', 'no test has this name'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/1 skipped/);
    expect(io.stdout.join('\n')).not.toMatch(/passed/);
  });

  it('test: a leading directory is the plugin, every other argument goes to vitest; --watch drops "run"', () => {
    expect(vitestInvocation(['-t', 'sends'], dir)).toEqual({ dir, vitestArgs: ['run', '-t', 'sends'] });
    expect(vitestInvocation(['--watch'], dir)).toEqual({ dir, vitestArgs: ['--watch'] });
    expect(vitestInvocation(['-w', '-t', 'x'], dir)).toEqual({ dir, vitestArgs: ['-w', '-t', 'x'] });
    expect(vitestInvocation(['src', '--reporter', 'dot'], dir)).toEqual({ dir: path.join(dir, 'src'), vitestArgs: ['run', '--reporter', 'dot'] });
    // A test-name filter that happens not to be a directory stays a vitest argument.
    expect(vitestInvocation(['notify'], dir)).toEqual({ dir, vitestArgs: ['run', 'notify'] });
  });

  it('pnpm exec cairn-plugin works at the repository root (the root depends on the workspace SDK)', () => {
    const r = spawnSync('pnpm', ['exec', 'cairn-plugin', 'build', '--help'], { cwd: path.join(sdkDir, '..'), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('usage: cairn-plugin build');
  });

  it('every command has --help; the scaffold depends on this SDK version, vitest and TypeScript, never "*"', async () => {
    for (const command of ['create', 'build', 'test', 'publish']) {
      const io = capture();
      expect(await main([command, '--help'], io)).toBe(0);
      expect(io.stdout.join('\n')).toContain(`usage: cairn-plugin ${command}`);
    }
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    const own = JSON.parse(await readFile(path.join(sdkDir, 'package.json'), 'utf8'));
    expect(pkg.dependencies).toEqual({ '@cairn/plugin-sdk': `^${own.version}` });
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(['@types/node', 'typescript', 'vitest']);
    expect(pkg.scripts.publish).toBeUndefined();
  });

  it('build type-checks the plugin: a props typo fails with the file and line', async () => {
    const entry = path.join(dir, 'src', 'index.ts');
    const original = await readFile(entry, 'utf8');
    try {
      await writeFile(entry, original.replace('message: props.message', 'message: props.mesage'));
      const io = capture();
      expect(await main(['build', dir], io)).toBe(1);
      expect(io.stderr.join('\n')).toMatch(/src\/index\.ts:\d+:\d+: error TS2551: Property 'mesage' does not exist/);
    } finally {
      await writeFile(entry, original);
    }
  });

  it('build writes one bundle and manifest.json with the schemas', async () => {
    const io = capture();
    expect(await main(['build', dir], io)).toBe(0);
    const manifest = JSON.parse(await readFile(path.join(dir, 'dist', 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ id: 'acme_crm', version: '0.1.0', allowedHosts: ['api.example.com'], bundle: 'plugin.js', auth: { required: ['api_key'] } });
    expect(manifest.actions[0]).toMatchObject({ key: 'notify', props: { type: 'object', required: ['message'] } });
    const bundle = await readFile(path.join(dir, 'dist', 'plugin.js'), 'utf8');
    expect(bundle).toContain('__cairn_plugin');
    expect(bundle).not.toMatch(/\bimport\s/);
    expect(manifest.bundle_sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('build refuses Node built-ins and other forbidden imports with a hint naming the replacement', async () => {
    const entry = path.join(dir, 'src', 'index.ts');
    const original = await readFile(entry, 'utf8');
    try {
      for (const [imp, hint] of [
        ["import http from 'node:http'; void http;", /"node:http" cannot be used in a Cairn plugin: use ctx\.http\.fetch/],
        ["import { readFileSync } from 'fs'; void readFileSync;", /"fs" cannot be used.*ctx\.store/],
        ["import { createHmac } from 'crypto'; void createHmac;", /"crypto" cannot be used.*hmacSha256Hex/],
        ["import axios from 'axios'; void axios;", /"axios" cannot be used.*ctx\.http\.fetch/],
        ["import { loadPlugin } from '@cairn/plugin-sdk/testing'; void loadPlugin;", /only "@cairn\/plugin-sdk"/],
      ] as const) {
        await writeFile(entry, `${imp}\n${original}`);
        const io = capture();
        expect(await main(['build', dir], io)).toBe(1);
        expect(io.stderr.join('\n')).toMatch(hint);
        expect(io.stderr.join('\n')).toMatch(/src\/index\.ts:1/);
      }
    } finally {
      await writeFile(entry, original);
    }
  });

  it('usage errors exit 2; publish without a build says so', async () => {
    expect(spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' }).status).toBe(2);
    const io = capture();
    expect(await main(['publish', dir], io, {})).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/CAIRN_URL and CAIRN_API_KEY/);
    const empty = await mkdtemp(path.join(tmpdir(), 'cairn-empty-'));
    const io2 = capture();
    expect(await main(['publish', empty], io2, { CAIRN_URL: 'http://127.0.0.1:1', CAIRN_API_KEY: 'k' })).toBe(1);
    expect(io2.stderr.join('\n')).toMatch(/run cairn-plugin build first/);
    await rm(empty, { recursive: true });
  });
});
