import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { eventually, startPluginHarness, type PluginHarness } from './engine-harness.ts';
import { startReceiver } from './receiver.ts';

/**
 * The plugin platform end to end: a plugin scaffolded with `cairn-plugin create`, built and published with
 * the real CLI to a running engine (HTTP server + workers, plugins wired), configured with credentials,
 * placed in a published flow, and run for a triggered contact; its step output is recorded. A hostile plugin
 * in another flow hits its CPU limit meanwhile, with a clear step error, and does not stop the first flow.
 */

const sdkDir = fileURLToPath(new URL('../../plugin-sdk', import.meta.url));
const cli = path.join(sdkDir, 'bin', 'cairn-plugin.js');
const SECRET = 'acme-api-key-7f3e';
// Asynchronous: the engine answering the CLI runs in this very process.
const run = async (...args: string[]) => (await promisify(execFile)(process.execPath, [cli, ...args], { encoding: 'utf8' })).stdout;

let h: PluginHarness;
let base: string;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let pluginDir: string;

const api = (method: string, url: string, body?: unknown) => h.call(method, url, body);

const flowWith = (name: string, event: string, node: { id: string; type: string; config: Record<string, unknown> }) => ({
  schema: 'cairn.flow/v1',
  name,
  settings: { reentry: 'always', goal: null, exit_on: [] },
  nodes: [{ id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event } }, { ...node, position: { x: 0, y: 120 } }],
  edges: [{ id: 'e1', source: 'start', target: node.id }],
});

beforeAll(async () => {
  receiver = await startReceiver(() => ({ status: 201, body: { id: 'msg_42' } }));
  const receiverHost = new URL(receiver.url).host;
  // The local receiver stands in for the vendor: an explicit per-host:port override, not a blanket switch.
  h = await startPluginHarness({ clock: 'system', env: { CAIRN_SANDBOX_CPU_MS: '300' }, fetch: { testHosts: [receiverHost] } });
  base = await h.listen();
  pluginDir = path.join(mkdtempSync(path.join(tmpdir(), 'cairn-e2e-plugin-')), 'acme_crm');
});

afterAll(async () => {
  await h?.close();
  await receiver?.close();
  if (pluginDir) rmSync(path.dirname(pluginDir), { recursive: true, force: true });
});

describe('plugin end to end', () => {
  it('create → build → publish → credentials → published flow → the action runs for a triggered contact', async () => {
    await run('create', pluginDir);
    // What installing the scaffold's dependencies does: the SDK in node_modules.
    mkdirSync(path.join(pluginDir, 'node_modules', '@cairn'), { recursive: true });
    symlinkSync(sdkDir, path.join(pluginDir, 'node_modules', '@cairn', 'plugin-sdk'));
    expect(await run('build', pluginDir)).toMatch(/built acme_crm@0\.1\.0/);
    const published = await run('publish', pluginDir, '--url', base, '--key', h.key);
    expect(published).toMatch(/published acme_crm@0\.1\.0 sha256 [0-9a-f]{64}/);
    const manifest = JSON.parse(readFileSync(path.join(pluginDir, 'dist', 'manifest.json'), 'utf8'));
    expect(published).toContain(manifest.bundle_sha256);

    expect((await api('PUT', '/v1/plugins/acme_crm/credentials', { api_key: SECRET })).status).toBe(200);
    const catalog = await api('GET', '/v1/catalog');
    expect(catalog.body.nodes.find((n: { type: string }) => n.type === 'plugin:acme_crm/notify')).toMatchObject({ category: 'action' });

    // Props are checked at publish time: an empty message is refused with a path into the document.
    const bad = await api('POST', '/v1/flows', flowWith('Bad', 'lead.created', { id: 'notify', type: 'plugin:acme_crm/notify', config: { message: '', base_url: receiver.url } }));
    const refused = await api('POST', `/v1/flows/${bad.body.id}/publish`, {});
    expect(refused.status).toBe(422);
    expect(refused.body.errors.some((e: { path: string }) => e.path.startsWith('/nodes/1/config'))).toBe(true);

    const flow = await api('POST', '/v1/flows', flowWith('Welcome via Acme', 'lead.created', { id: 'notify', type: 'plugin:acme_crm/notify', config: { message: 'Welcome aboard', base_url: receiver.url } }));
    expect(flow.status).toBe(201);
    const pub = await api('POST', `/v1/flows/${flow.body.id}/publish`, {});
    expect(pub.status).toBe(200);
    const version = await api('GET', `/v1/flows/${flow.body.id}/versions/${pub.body.version}`);
    expect(version.body.plugin_pins).toEqual({ acme_crm: '0.1.0' });

    const ev = await api('POST', '/v1/events', { type: 'lead.created', contact: { email: 'ana@example.com' } });
    expect(ev.status).toBe(202);
    const done = await eventually(async () => {
      const runs = await api('GET', `/v1/runs?flow_id=${flow.body.id}`);
      const r = runs.body.items?.[0];
      return r && r.status === 'completed' ? r : undefined;
    });
    const detail = await api('GET', `/v1/runs/${done.id}`);
    const step = detail.body.steps.find((s: { node_id: string }) => s.node_id === 'notify');
    expect(step).toMatchObject({ status: 'completed', output: { id: 'msg_42', status: 201 } });
    const call = receiver.received.find((r) => r.url === '/notify')!;
    expect(call.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(call.headers['idempotency-key']).toBe(`${done.id}:notify`);
    expect(JSON.parse(call.body)).toEqual({ message: 'Welcome aboard', email: 'ana@example.com' });
  }, 180_000);

  it('a hostile plugin in another flow fails its step with a limit error while the first flow keeps completing runs', async () => {
    const hostile = await buildPlugin(fileURLToPath(new URL('../../plugin-sdk/test/fixtures/hostile.ts', import.meta.url)));
    expect((await api('POST', '/v1/plugins', { manifest: hostile.manifest, bundle: hostile.bundle })).status).toBe(201);
    const bad = await api('POST', '/v1/flows', flowWith('Spinner', 'lead.created', { id: 'spin', type: 'plugin:hostile/spin', config: { retry: { max_attempts: 1, backoff: 'PT1S' } } }));
    expect((await api('POST', `/v1/flows/${bad.body.id}/publish`, {})).status).toBe(200);
    const good = (await api('GET', '/v1/flows')).body.items.find((f: { name: string }) => f.name === 'Welcome via Acme');

    const emails = Array.from({ length: 5 }, (_, i) => `lead${i}@example.com`);
    for (const email of emails) expect((await api('POST', '/v1/events', { type: 'lead.created', contact: { email } })).status).toBe(202);
    const completed = await eventually(async () => {
      const runs = (await api('GET', `/v1/runs?flow_id=${good.id}&status=completed`)).body.items;
      return runs.length >= 6 ? runs : undefined;
    }, 60_000);
    expect(completed.length).toBeGreaterThanOrEqual(6);
    const failed = await eventually(async () => {
      const runs = (await api('GET', `/v1/runs?flow_id=${bad.body.id}&status=failed`)).body.items;
      return runs.length >= 5 ? runs : undefined;
    }, 60_000);
    // The five spinning calls share one isolate (same plugin and workspace): the one that breached the limit
    // is blamed; the ones queued behind it are interrupted with a retryable reset (no retries configured here).
    const errors = await Promise.all(failed.map(async (r: { id: string }) =>
      JSON.stringify((await api('GET', `/v1/runs/${r.id}`)).body.steps.find((s: { node_id: string }) => s.node_id === 'spin').error)));
    const blamed = errors.filter((e) => /CAIRN_ERR_PLUGIN_LIMIT/.test(e));
    expect(blamed.length).toBeGreaterThanOrEqual(1);
    expect(blamed[0]).toMatch(/action spin of plugin hostile@1\.0\.0 exceeded its cpu time limit \(300 ms\)/);
    for (const e of errors) expect(e).toMatch(/CAIRN_ERR_PLUGIN_LIMIT|PLUGIN_SANDBOX_RESET/);
  });

  it('versions: re-publishing 0.1.0 with other content is 409; a flow pinned to 0.1.0 keeps it after 0.2.0, also when republished, until its node names 0.2.0', async () => {
    const entry = path.join(pluginDir, 'src', 'index.ts');
    const original = readFileSync(entry, 'utf8');
    // Same version, other code: the CLI reports the engine's 409 and exits 1.
    writeFileSync(entry, original.replace("return { id: body.id ?? null, status: res.status };", "return { id: body.id ?? null, status: res.status, changed: true };"));
    await run('build', pluginDir);
    const refused = await run('publish', pluginDir, '--url', base, '--key', h.key).then(() => null, (err: { code: number; stderr: string }) => err);
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/HTTP 409: acme_crm@0\.1\.0 is already published with other content/);

    writeFileSync(entry, original
      .replace("version: '0.1.0'", "version: '0.2.0'")
      .replace("return { id: body.id ?? null, status: res.status };", "return { id: body.id ?? null, status: res.status, v: 2 };"));
    await run('build', pluginDir);
    expect(await run('publish', pluginDir, '--url', base, '--key', h.key)).toMatch(/published acme_crm@0\.2\.0/);

    const flow = (await api('GET', '/v1/flows')).body.items.find((f: { name: string }) => f.name === 'Welcome via Acme');
    const outputOf = async (email: string) => {
      expect((await api('POST', '/v1/events', { type: 'lead.created', contact: { email } })).status).toBe(202);
      const contact = await eventually(async () => (await api('GET', `/v1/contacts?email=${encodeURIComponent(email)}`)).body.items?.[0]);
      const r = await eventually(async () => {
        const runs = (await api('GET', `/v1/runs?flow_id=${flow.id}&contact_id=${contact.id}&status=completed`)).body.items;
        return runs?.[0];
      });
      return (await api('GET', `/v1/runs/${r.id}`)).body.steps.find((s: { node_id: string }) => s.node_id === 'notify').output;
    };
    expect(await outputOf('pinned@example.com')).toEqual({ id: 'msg_42', status: 201 });
    // Republishing never upgrades a plugin silently: the previous publication's pin is kept.
    const again = await api('POST', `/v1/flows/${flow.id}/publish`, {});
    expect(again.body.plugin_pins).toEqual({ acme_crm: '0.1.0' });
    expect(again.body.pin_changes).toEqual([]);
    expect(await outputOf('kept@example.com')).toEqual({ id: 'msg_42', status: 201 });
    // Naming the version on the node upgrades it, and the publish answer says so.
    const draft = (await api('GET', `/v1/flows/${flow.id}`)).body.draft;
    const doc = { ...draft, nodes: draft.nodes.map((n: { id: string }) => (n.id === 'notify' ? { ...n, plugin_version: '0.2.0' } : n)) };
    expect((await api('PUT', `/v1/flows/${flow.id}/draft`, doc)).status).toBe(200);
    const pub = await api('POST', `/v1/flows/${flow.id}/publish`, {});
    expect(pub.body.pin_changes).toEqual([{ plugin_id: 'acme_crm', from: '0.1.0', to: '0.2.0' }]);
    expect((await api('GET', `/v1/flows/${flow.id}/versions/${pub.body.version}`)).body.plugin_pins).toEqual({ acme_crm: '0.2.0' });
    expect(await outputOf('upgraded@example.com')).toEqual({ id: 'msg_42', status: 201, v: 2 });
    // Two builds (each type-checks, bundles and loads the sandbox) and two CLI processes: slow on a loaded machine.
  }, 180_000);
});
