import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.ts';
import { createApiKey } from '../src/auth/api-keys.ts';
import { createWorkspace } from '../src/crm/workspaces.ts';
import { EXAMPLES_DIR } from '../src/flow/examples.ts';
import { startHarness, type Harness } from './engine-harness.ts';

/** `cairn flows pull/push/diff` in-process against a real engine listening on a port, two workspaces (staging, production). */
describe('cairn flows pull / push / diff', () => {
  let h: Harness;
  let url: string;
  let prodKey: string;
  let dirs: string[] = [];

  const cli = async (args: string[], apiKey: string) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, { CAIRN_URL: url, CAIRN_API_KEY: apiKey, LOG_LEVEL: 'silent' });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  };
  const tempDir = async () => {
    const d = await mkdtemp(path.join(tmpdir(), 'cairn-flows-'));
    dirs.push(d);
    return d;
  };
  const flowFiles = async (dir: string) => {
    const names = (await readdir(dir)).filter((n) => n.endsWith('.flow.json')).sort();
    return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, n), 'utf8')] as const)));
  };

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.address() as { port: number };
    url = `http://127.0.0.1:${address.port}`;
    const prod = await createWorkspace(h.t.db, { slug: 'production' });
    prodKey = (await createApiKey(h.t.db, { workspaceId: prod.id, role: 'editor' })).key;
    // Staging holds the examples as the builder made them: created through the API, without keys.
    for (const name of (await readdir(EXAMPLES_DIR)).sort()) {
      const doc = JSON.parse(await readFile(path.join(EXAMPLES_DIR, name, 'flow.json'), 'utf8').catch(() => 'null'));
      if (!doc) continue;
      const r = await h.call('POST', '/v1/flows', doc);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
  });
  afterAll(async () => {
    await h?.close();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    dirs = [];
  });

  it('pull from staging, push --publish to production, pull again: byte-identical files; a second push changes nothing', async () => {
    const staging = await tempDir();
    const pulled = await cli(['flows', 'pull', staging], h.key);
    expect(pulled.code, pulled.stderr).toBe(0);
    const stagingFiles = await flowFiles(staging);
    expect(Object.keys(stagingFiles)).toEqual(expect.arrayContaining(['inbound-lead-routing.flow.json']));
    expect(Object.keys(stagingFiles).length).toBeGreaterThanOrEqual(5);
    expect(pulled.stdout).toContain('keyed');

    const pushed = await cli(['flows', 'push', staging, '--publish'], prodKey);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout.match(/^created /gm)).toHaveLength(Object.keys(stagingFiles).length);
    expect(pushed.stdout.match(/^published /gm)).toHaveLength(Object.keys(stagingFiles).length);

    const production = await tempDir();
    expect((await cli(['flows', 'pull', production], prodKey)).code).toBe(0);
    expect(await flowFiles(production)).toEqual(stagingFiles);

    // Idempotent: the same files again create, update and publish nothing.
    const versionsBefore = (await prodFlows()).map((f) => `${f.key}:${f.published_version}`).sort();
    const again = await cli(['flows', 'push', staging, '--publish'], prodKey);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/^(created|updated|published) /m);
    expect(again.stdout).toContain(`(${Object.keys(stagingFiles).length} unchanged)`);
    expect((await prodFlows()).map((f) => `${f.key}:${f.published_version}`).sort()).toEqual(versionsBefore);
    const repull = await cli(['flows', 'pull', staging], h.key);
    expect(repull.stdout).not.toMatch(/^(new|updated|keyed) /m);
    expect(await flowFiles(staging)).toEqual(stagingFiles);
  });

  it('diff shows node-level changes; a push over a draft changed in the workspace is refused with a clear message and changes nothing', async () => {
    const dir = await tempDir();
    expect((await cli(['flows', 'pull', dir], prodKey)).code).toBe(0);
    const file = path.join(dir, 'inbound-lead-routing.flow.json');
    const doc = JSON.parse(await readFile(file, 'utf8'));

    // Someone edits the flow in the builder: a node's config and a new tag node.
    const [flow] = await prodFlows('inbound-lead-routing');
    const remoteDoc = structuredClone(doc);
    remoteDoc.nodes.find((n: { type: string }) => n.type === 'action.tag').config.add = ['nurture', 'from-builder'];
    const put = await h.call('PUT', `/v1/flows/${flow!.id}/draft`, remoteDoc, prodKey);
    expect(put.status).toBe(200);

    // Meanwhile the file gets another node and an edge.
    doc.nodes.push({ id: 'vip', type: 'action.tag', position: { x: 300, y: 360 }, config: { add: ['vip'] } });
    doc.edges.push({ id: 'e-vip', source: doc.nodes.find((n: { type: string }) => n.type === 'action.assign_owner').id, target: 'vip' });
    await writeFile(file, JSON.stringify(doc, null, 2));

    const diff = await cli(['flows', 'diff', dir], prodKey);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain('~ inbound-lead-routing.flow.json');
    expect(diff.stdout).toContain('+ node vip (action.tag)');
    expect(diff.stdout).toMatch(/\+ edge e-vip: \S+ -> vip/);
    expect(diff.stdout).toMatch(/~ node \S+ \(action\.tag\)\n\s+config\.add: \["nurture","from-builder"\] → \["nurture"\]/);
    expect(diff.stdout).toContain('1 flow(s) differ');

    const refused = await cli(['flows', 'push', dir], prodKey);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('push refused, nothing was changed');
    expect(refused.stderr).toContain('inbound-lead-routing.flow.json: the draft of "Inbound lead routing" was changed in workspace production since this directory last pulled or pushed it');
    const after = await h.call('GET', `/v1/flows/${flow!.id}`, undefined, prodKey);
    expect(after.body.draft.nodes.map((n: { id: string }) => n.id)).not.toContain('vip');
    expect(after.body.draft_etag).toBe(put.body.draft_etag);

    // The key never appears in what the CLI prints.
    for (const r of [diff, refused]) expect(`${r.stdout}${r.stderr}`).not.toContain(prodKey);
  });

  it('pull keeps a file changed here since the last pull (exit 1, named) until --force; flow keys are checked by the API', async () => {
    const dir = await tempDir();
    expect((await cli(['flows', 'pull', dir], prodKey)).code).toBe(0);
    const file = path.join(dir, 'nps-advocacy.flow.json');
    const [flow] = await prodFlows('nps-advocacy');
    const doc = (await h.call('GET', `/v1/flows/${flow!.id}`, undefined, prodKey)).body.draft;
    expect((await h.call('PUT', `/v1/flows/${flow!.id}/draft`, { ...doc, name: 'NPS advocacy (builder)' }, prodKey)).status).toBe(200);
    await writeFile(file, JSON.stringify({ ...doc, name: 'NPS advocacy (git)' }));

    const kept = await cli(['flows', 'pull', dir], prodKey);
    expect(kept.code).toBe(1);
    expect(kept.stderr).toContain('not pulled, changed here since the last pull');
    expect(kept.stderr).toContain('nps-advocacy.flow.json');
    expect(JSON.parse(await readFile(file, 'utf8')).name).toBe('NPS advocacy (git)');
    const forced = await cli(['flows', 'pull', dir, '--force'], prodKey);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('updated  nps-advocacy.flow.json');
    expect(JSON.parse(await readFile(file, 'utf8')).name).toBe('NPS advocacy (builder)');

    const bad = await h.call('PUT', `/v1/flows/${flow!.id}/key`, { key: 'Not A Key' }, prodKey);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('/key');
    const taken = await h.call('PUT', `/v1/flows/${flow!.id}/key`, { key: 'inbound-lead-routing' }, prodKey);
    expect(taken.status).toBe(409);
    expect(taken.body.detail).toContain('already has the key "inbound-lead-routing"');
    const created = await h.call('POST', '/v1/flows?key=nps-advocacy', doc, prodKey);
    expect(created.status).toBe(409);
  });

  it('usage: a missing directory, engine or key exits 2 naming it; a wrong key exits 1 without echoing it', async () => {
    const noDir = await cli(['flows', 'push'], prodKey);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain('<dir> is required');
    const out: string[] = [];
    const noUrl = await main(['flows', 'pull', '/tmp/x'], { out: (l) => out.push(l), err: (l) => out.push(l) }, { LOG_LEVEL: 'silent' });
    expect(noUrl).toBe(2);
    expect(out.join('\n')).toContain('set CAIRN_URL or pass --url');
    const bad = await cli(['flows', 'diff', await tempDir()], 'cairn_000000000000_not-a-real-key-at-all-not-a-real-key-xx');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('refused the API key (401)');
    expect(bad.stderr).not.toContain('not-a-real-key');
  });

  async function prodFlows(key?: string): Promise<{ id: string; key: string; published_version: number | null }[]> {
    const r = await h.call('GET', `/v1/flows${key ? `?key=${key}` : ''}`, undefined, prodKey);
    expect(r.status).toBe(200);
    return r.body.items;
  }
});
