import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '@cairn/plugin-sdk/testing';
import { createApiKey } from '../src/auth/api-keys.ts';
import { eventually, startPluginHarness, type PluginHarness } from './engine-harness.ts';

/**
 * Secret redaction, end to end: a plugin puts its token in an output (as is, URL-encoded, base64, as a key),
 * in log lines, in a URL query the vendor echoes back and that redirect and bad-URL errors could name, in a
 * vendor's error body and in its own error, and in a webhook trigger's refusal. Then every place a token
 * could surface is searched for it in each of those forms: the runs API read with a viewer key, the engine's
 * whole log (debug level), every row of every table of the database except the sealed credentials, and
 * the webhook's answer.
 */

// `+`, `/` and `=` make the URL-encoded and base64 forms differ from the raw one.
const TOKEN = 'sk_live_9f8e+7d/6c=5bA';
const FORMS = [TOKEN, encodeURIComponent(TOKEN), Buffer.from(TOKEN).toString('base64'), Buffer.from(TOKEN).toString('base64url'), Buffer.from(TOKEN).toString('base64').replace(/=+$/, '')];
const ACTIONS = ['leak_output', 'leak_vendor_error', 'leak_error', 'leak_redirect', 'leak_bad_url'];

let h: PluginHarness;
let vendor: TestServer;
let viewer: string;
const logLines: string[] = [];

const leaks = (text: string) => FORMS.filter((f) => text.includes(f));

async function api(key: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  const res = await h.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key}` }, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : null, text: res.body };
}

beforeAll(async () => {
  // The vendor: echoes the request URL (query and all), refuses /denied quoting it, redirects /redirect elsewhere.
  vendor = await startTestServer((req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/denied')) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: `invalid credentials in ${url}` }));
    }
    if (url.startsWith('/redirect')) {
      res.writeHead(302, { location: `http://elsewhere.invalid/callback?${url.split('?')[1] ?? ''}` });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ you_asked_for: url }));
  });
  h = await startPluginHarness({ clock: 'system', logTo: new Writable({ write(chunk, _enc, done) { logLines.push(String(chunk)); done(); } }), fetch: { testHosts: [vendor.host] } });
  viewer = (await createApiKey(h.t.db, { workspaceId: h.workspaceId, role: 'viewer' })).key;

  await h.installPlugin(new URL('../../plugin-sdk/test/fixtures/leaky.ts', import.meta.url));
  expect((await api(h.key, 'PUT', '/v1/plugins/leaky/credentials', { api_token: TOKEN })).status).toBe(200);
});

afterAll(async () => {
  await h?.close();
  await vendor?.close();
});

describe('secret redaction', () => {
  it('a plugin that puts its token in outputs, errors, logs and URL queries leaks it nowhere', async () => {
    const flowIds: string[] = [];
    for (const action of ACTIONS) {
      const flow = await api(h.key, 'POST', '/v1/flows', {
        schema: 'cairn.flow/v1',
        name: `Leak ${action}`,
        settings: { reentry: 'always', goal: null, exit_on: [] },
        nodes: [
          { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'deal.created' } },
          { id: 'leak', type: `plugin:leaky/${action}`, position: { x: 0, y: 120 }, config: { base_url: vendor.url, retry: { max_attempts: 1, backoff: 'PT1S' } } },
        ],
        edges: [{ id: 'e1', source: 'start', target: 'leak' }],
      });
      expect(flow.status).toBe(201);
      expect((await api(h.key, 'POST', `/v1/flows/${flow.body.id}/publish`, {})).status).toBe(200);
      flowIds.push(flow.body.id);
    }
    expect((await api(h.key, 'POST', '/v1/events', { type: 'deal.created', contact: { email: 'deal@example.com' } })).status).toBe(202);

    // The runs API, read with a viewer key: every run finished, each step says what happened without the token.
    const steps: Record<string, { status: string; output: any; error: any }> = {};
    const runTexts: string[] = [];
    for (const [i, flowId] of flowIds.entries()) {
      const list = await eventually(async () => {
        const r = await api(viewer, 'GET', `/v1/runs?flow_id=${flowId}`);
        return ['completed', 'failed'].includes(r.body.items?.[0]?.status) ? r : undefined;
      });
      const detail = await api(viewer, 'GET', `/v1/runs/${list.body.items[0].id}`);
      expect(detail.status).toBe(200);
      runTexts.push(list.text, detail.text);
      steps[ACTIONS[i]!] = detail.body.steps.find((s: { node_id: string }) => s.node_id === 'leak');
    }
    for (const text of runTexts) expect(leaks(text)).toEqual([]);

    // The redaction is a replacement, not a blanking: the steps still say what happened.
    expect(steps.leak_output).toMatchObject({
      status: 'completed',
      output: { token: '[REDACTED]', encoded: '[REDACTED]', b64: '[REDACTED]', '[REDACTED]': 'as a key', url: `${vendor.url}/echo?api_token=[REDACTED]`, vendor: { you_asked_for: '/echo?api_token=[REDACTED]' } },
    });
    expect(JSON.stringify(steps.leak_vendor_error!.error)).toMatch(/LEAKY_HTTP_401.*invalid credentials in \/denied\?api_token=\[REDACTED\]/);
    expect(JSON.stringify(steps.leak_error!.error)).toMatch(/LEAKY_DENIED.*token \[REDACTED\] refused/);
    expect(JSON.stringify(steps.leak_redirect!.error)).toMatch(/FETCH_HOST_NOT_ALLOWED.*elsewhere\.invalid/);
    expect(JSON.stringify(steps.leak_bad_url!.error)).toMatch(/FETCH_BAD_URL/);
    for (const a of ACTIONS.slice(1)) expect(steps[a]!.status, a).toBe('failed');

    // A webhook caller: the refusal carries the plugin's code, not its text; the text reaches the log redacted.
    const hook = await h.app.inject({ method: 'POST', url: `/v1/hooks/${h.workspaceId}/plugins/leaky/hook`, headers: { 'content-type': 'application/json', 'x-signature': 'nope' }, payload: '{}' });
    expect(hook.statusCode).toBe(400);
    expect(JSON.parse(hook.body).detail).toMatch(/\[LEAKY_BAD_SIGNATURE\]/);
    expect(leaks(hook.body)).toEqual([]);
    expect(hook.body).not.toContain('expected signature');

    // The engine's log: the plugin's lines and the refusal are there, redacted.
    const log = logLines.join('');
    expect(log).toContain('calling with [REDACTED] ([REDACTED])');
    expect(log).toMatch(/expected signature \[REDACTED\]/);
    expect(leaks(log)).toEqual([]);

    // The database: every row of every table, the sealed credentials aside.
    const tables = await h.t.db.raw<{ rows: { schema: string; name: string }[] }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    expect(tables.rows.length).toBeGreaterThan(10);
    let searched = 0;
    for (const { schema, name } of tables.rows) {
      if (schema === 'public' && name === 'plugin_credentials') continue;
      const { rows } = await h.t.db.raw<{ rows: { row: string }[] }>(`SELECT row_to_json(x)::text AS row FROM "${schema}"."${name}" x`);
      for (const { row } of rows) expect(leaks(row), `${schema}.${name}`).toEqual([]);
      searched += rows.length;
    }
    expect(searched).toBeGreaterThan(0);
    // The credentials are there, but only sealed.
    const sealed = await h.t.db('plugin_credentials').where({ workspace_id: h.workspaceId, plugin_id: 'leaky' }).first();
    expect(leaks(JSON.stringify(sealed))).toEqual([]);
  });
});
