import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startPluginHarness, type PluginHarness } from './engine-harness.ts';

/**
 * The SDK as a newcomer gets it: `pnpm pack` of plugin-sdk, installed with npm in an empty temporary directory
 * outside the repository (nothing of the workspace is linked: no tsx, no workspace packages). There the
 * packed CLI creates a plugin, the author writes an action and its test, `cairn-plugin test` runs them (with
 * vitest's `-t`), `build` type-checks (a typo fails) and checks the manifest with the engine's rules, `publish`
 * uploads to a running engine from CAIRN_URL/CAIRN_API_KEY without printing the key, and a flow using the new
 * action completes a run.
 *
 * npm installs with --prefer-offline (the local npm cache first; the registry only for what is missing) and
 * --ignore-scripts: isolated-vm has no prebuilt binary for this platform and would compile for minutes, so its
 * binary is copied from the repository's own install of the same version (5.0.4, same Node). A real user's
 * `npm install` compiles it once (it needs a C++ toolchain; docs/plugins.md says so).
 */

const repo = fileURLToPath(new URL('../..', import.meta.url));
const sdkDir = path.join(repo, 'plugin-sdk');
const KEY_MARK = 'cairn-admin-key';

let h: PluginHarness;
let base: string;
let root: string;
let tarball: string;
let pluginDir: string;

// eslint-disable-next-line no-control-regex -- colour codes, should a tool ignore NO_COLOR
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

interface Ran { code: number; stdout: string; stderr: string }

/** Runs a command without a shell; resolves also on a non-zero exit (the code is part of the result). */
function sh(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<Ran> {
  // No workspace variables leak in: the child sees a plain environment, as in a fresh terminal.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', npm_config_update_notifier: 'false', NO_COLOR: '1', ...opts.env };
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: plain(stdout), stderr: plain(stderr) });
    });
  });
}

const npmInstall = async (cwd: string, ...pkgs: string[]) => {
  const r = await sh('npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', ...pkgs], { cwd });
  expect(r.code, r.stderr).toBe(0);
  // See the header: the native binary of the same isolated-vm version, instead of a multi-minute compile.
  const ivm = path.dirname(createRequire(path.join(sdkDir, 'package.json')).resolve('isolated-vm/package.json'));
  const target = path.join(cwd, 'node_modules', 'isolated-vm');
  if (existsSync(target)) {
    mkdirSync(path.join(target, 'out'), { recursive: true });
    copyFileSync(path.join(ivm, 'out', 'isolated_vm.node'), path.join(target, 'out', 'isolated_vm.node'));
  }
};

const cli = (args: string[], env: Record<string, string> = {}) => sh(path.join(pluginDir, 'node_modules', '.bin', 'cairn-plugin'), args, { cwd: pluginDir, env });

const api = (method: string, url: string, body?: unknown) => h.call(method, url, body);

beforeAll(async () => {
  h = await startPluginHarness({ clock: 'system' });
  base = await h.listen();
  root = mkdtempSync(path.join(tmpdir(), 'cairn-sdk-standalone-'));
  pluginDir = path.join(root, 'acme_crm');
}, 300_000);

afterAll(async () => {
  await h?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the packed SDK outside the repository', () => {
  it('packs into a tarball of compiled JavaScript with its own dependencies', async () => {
    expect(root.startsWith(repo)).toBe(false);
    const packed = await sh('pnpm', ['pack', '--pack-destination', root], { cwd: sdkDir });
    expect(packed.code, packed.stderr + packed.stdout).toBe(0);
    tarball = path.join(root, readdirSync(root).find((f) => f.endsWith('.tgz'))!);
    const list = await sh('tar', ['tzf', tarball], { cwd: root });
    expect(list.stdout).toContain('package/dist/cli/main.js');
    expect(list.stdout).toContain('package/dist/index.d.ts');
    expect(list.stdout).not.toContain('package/src/');
    const manifest = JSON.parse((await sh('tar', ['xzf', tarball, '-O', 'package/package.json'], { cwd: root })).stdout);
    expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(JSON.stringify(manifest.dependencies)).not.toMatch(/workspace:|tsx/);
  }, 300_000);

  it('create (from the installed tarball) scaffolds a plugin that installs cleanly with npm', async () => {
    const tools = path.join(root, 'tools');
    mkdirSync(tools);
    writeFileSync(path.join(tools, 'package.json'), '{ "private": true }\n');
    await npmInstall(tools, tarball);
    const created = await sh(path.join(tools, 'node_modules', '.bin', 'cairn-plugin'), ['create', pluginDir, '--sdk', tarball], { cwd: root });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('created plugin acme_crm');
    const pkg = JSON.parse(readFileSync(path.join(pluginDir, 'package.json'), 'utf8'));
    expect(pkg.dependencies['@cairn/plugin-sdk']).toBe(`file:${tarball}`);
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(['@types/node', 'typescript', 'vitest']);
    expect(JSON.stringify(pkg)).not.toContain('"*"');
    await npmInstall(pluginDir);
    expect(existsSync(path.join(pluginDir, 'node_modules', '@cairn', 'plugin-sdk', 'dist', 'index.js'))).toBe(true);
    expect(existsSync(path.join(pluginDir, 'node_modules', 'tsx'))).toBe(false);
    const help = await cli(['--help']);
    expect(help.stdout).toMatch(/create <dir>[\s\S]*build[\s\S]*test[\s\S]*publish/);
  }, 300_000);

  it('an action written by the author passes its test; -t picks tests by name; a props typo fails the build', async () => {
    writeFileSync(path.join(pluginDir, 'src', 'greet.ts'), `import { defineAction } from '@cairn/plugin-sdk';

export const greet = defineAction({
  key: 'greet',
  title: 'Greet',
  description: 'Says hello',
  props: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1 }, times: { type: 'integer', minimum: 1, default: 1 } },
    required: ['name'],
  },
  run: async (ctx, props) => {
    ctx.log.info('greeting', { name: props.name });
    return { text: Array.from({ length: props.times ?? 1 }, () => \`Hello, \${props.name}!\`).join(' ') };
  },
});
`);
    const entry = path.join(pluginDir, 'src', 'index.ts');
    writeFileSync(entry, readFileSync(entry, 'utf8').replace("import { defineAction,", "import { greet } from './greet.ts';\nimport { defineAction,").replace('actions: [notify]', 'actions: [notify, greet]'));
    writeFileSync(path.join(pluginDir, 'test', 'greet.test.ts'), `import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { loadPlugin } from '@cairn/plugin-sdk/testing';

it('greet says hello twice', async () => {
  const plugin = await loadPlugin({ entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)) });
  try {
    expect(await plugin.run('greet', { name: 'Ana', times: 2 })).toEqual({ text: 'Hello, Ana! Hello, Ana!' });
  } finally {
    await plugin.dispose();
  }
});
`);
    const all = await cli(['test']);
    expect(all.code, all.stdout + all.stderr).toBe(0);
    expect(all.stdout).toMatch(/Tests\s+\S*\s*2 passed/);
    const one = await cli(['test', '-t', 'greet says']);
    expect(one.code, one.stdout + one.stderr).toBe(0);
    expect(one.stdout).toMatch(/1 passed/);
    expect(one.stdout).toMatch(/1 skipped/);

    const greetFile = path.join(pluginDir, 'src', 'greet.ts');
    const good = readFileSync(greetFile, 'utf8');
    writeFileSync(greetFile, good.replace('`Hello, ${props.name}!`', '`Hello, ${props.nme}!`'));
    const typo = await cli(['build']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/src\/greet\.ts:\d+:\d+: error TS2551: Property 'nme' does not exist/);
    expect(existsSync(path.join(pluginDir, 'dist'))).toBe(false);

    // A schema the engine would refuse at publish is refused by the build, with the engine's path and message.
    writeFileSync(greetFile, good.replace("minLength: 1 }", "minLength: 1, pattern: '(' }"));
    const badSchema = await cli(['build']);
    expect(badSchema.code).toBe(1);
    expect(badSchema.stderr).toMatch(/\/manifest\/actions\/1\/props: is not a valid JSON Schema/);

    writeFileSync(greetFile, good);
    const built = await cli(['build']);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/built acme_crm@0\.1\.0/);
  }, 300_000);

  it('publish reads CAIRN_URL and CAIRN_API_KEY, never prints the key, and the action runs in a published flow', async () => {
    const missing = await cli(['publish']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/CAIRN_URL and CAIRN_API_KEY/);
    // Unreachable engine: the error names the URL, not the key.
    const down = await cli(['publish'], { CAIRN_URL: 'http://127.0.0.1:9', CAIRN_API_KEY: `${KEY_MARK}-x` });
    expect(down.code).toBe(1);
    expect(down.stdout + down.stderr).not.toContain(KEY_MARK);
    // A wrong key: the engine's 401, no key in the output.
    const wrong = await cli(['publish'], { CAIRN_URL: base, CAIRN_API_KEY: `${KEY_MARK}-wrong` });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/HTTP 401/);
    expect(wrong.stdout + wrong.stderr).not.toContain(KEY_MARK);

    const published = await cli(['publish'], { CAIRN_URL: base, CAIRN_API_KEY: h.key });
    expect(published.code, published.stderr).toBe(0);
    expect(published.stdout).toMatch(/published acme_crm@0\.1\.0 sha256 [0-9a-f]{64}/);
    expect(published.stdout + published.stderr).not.toContain(h.key);

    const flow = await api('POST', '/v1/flows', {
      schema: 'cairn.flow/v1',
      name: 'Greet new leads',
      settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'lead.created' } },
        { id: 'greet', type: 'plugin:acme_crm/greet', position: { x: 0, y: 120 }, config: { name: 'Ana', times: 2 } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'greet' }],
    });
    expect(flow.status).toBe(201);
    expect((await api('POST', `/v1/flows/${flow.body.id}/publish`, {})).status).toBe(200);
    expect((await api('POST', '/v1/events', { type: 'lead.created', contact: { email: 'ana@example.com' } })).status).toBe(202);
    const done = await eventually(async () => {
      const r = (await api('GET', `/v1/runs?flow_id=${flow.body.id}`)).body.items?.[0];
      return r && r.status === 'completed' ? r : undefined;
    });
    const step = (await api('GET', `/v1/runs/${done.id}`)).body.steps.find((s: { node_id: string }) => s.node_id === 'greet');
    expect(step).toMatchObject({ status: 'completed', output: { text: 'Hello, Ana! Hello, Ana!' } });
  }, 300_000);
});
