import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { PLUGIN_TRIGGER_TASK, pendingJobs } from '../src/queue/jobs.ts';
import { eventually, startPluginHarness, type PluginHarness } from './engine-harness.ts';
import { startFakeProvider, type FakeProvider } from './oauth-provider.ts';

/**
 * OAuth2 against a local fake provider (issue 16): connect (engine-hosted authorization code with PKCE, sealed
 * state, the public callback), use (the action sees only ctx.auth.accessToken), refresh on expiry (test clock; one
 * refresh for many concurrent runs), refresh once after a 401, test connection, revoke (DELETE credentials calls the
 * provider's revocation endpoint). No token or client secret in any answer, step, log line or table but the sealed one.
 */

let h: PluginHarness;
let provider: FakeProvider;
const answers: string[] = [];
const logLines: string[] = [];

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const res = await h.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${h.key}` }, ...(body === undefined ? {} : { payload: body as object }) });
  answers.push(res.body);
  return { status: res.statusCode, body: res.body && res.headers['content-type']?.toString().includes('json') ? JSON.parse(res.body) : res.body, headers: res.headers };
}

async function finished(flowId: string): Promise<{ id: string; status: string }[]> {
  return ((await api('GET', `/v1/runs?flow_id=${flowId}&limit=500`)).body.items as { id: string; status: string }[]).filter((x) => ['completed', 'failed'].includes(x.status));
}

/** Sends one event for `email` and waits until one more run of the flow has finished. */
async function runOnce(flowId: string, email: string) {
  const before = (await finished(flowId)).length;
  expect((await api('POST', '/v1/events', { type: 'whoami.asked', contact: { email } })).status).toBe(202);
  return eventually(async () => {
    const done = await finished(flowId);
    return done.length > before && done;
  }, 60_000, 100);
}

async function stepsOf(flowId: string) {
  const runs = (await api('GET', `/v1/runs?flow_id=${flowId}&limit=500`)).body.items as { id: string; status: string }[];
  return Promise.all(runs.map(async (r) => (await api('GET', `/v1/runs/${r.id}`)).body));
}

async function connect(): Promise<string> {
  const start = await api('POST', '/v1/plugins/oauth_vendor/oauth/start');
  expect(start.status, JSON.stringify(start.body)).toBe(200);
  // The admin's browser: to the provider, which sends it back to the engine's callback with a code.
  const atProvider = await fetch(start.body.authorize_url, { redirect: 'manual' });
  expect(atProvider.status).toBe(302);
  const back = new URL(atProvider.headers.get('location')!);
  const cb = await h.app.inject({ method: 'GET', url: `${back.pathname}${back.search}` });
  expect(cb.statusCode, cb.body).toBe(302);
  return String(cb.headers.location);
}

beforeAll(async () => {
  provider = await startFakeProvider();
  h = await startPluginHarness({
    startAt: new Date('2026-05-04T09:00:00Z'),
    env: { CAIRN_PUBLIC_URL: 'http://cairn.test:3000' },
    // Every engine log line is kept, to check that no token reaches the log.
    logTo: new Writable({ write(chunk, _enc, done) { logLines.push(String(chunk)); done(); } }),
    fetch: { testHosts: [new URL(provider.url).host] },
  });
  const built = await buildPlugin(fileURLToPath(new URL('./fixtures/oauth-vendor.ts', import.meta.url)));
  const local = (s: string) => s.split('http://vendor.invalid').join(provider.url);
  const upload = await api('POST', '/v1/plugins', { manifest: JSON.parse(local(JSON.stringify(built.manifest))), bundle: local(built.bundle) });
  expect(upload.status, JSON.stringify(upload.body)).toBe(201);
});

afterAll(async () => {
  await h?.close();
  await provider?.close();
});

describe('OAuth2 against a local fake provider', () => {
  let flowId: string;

  it('connect: start answers the authorize URL (PKCE, sealed state); the callback exchanges the code and redirects to the builder', async () => {
    const listed = (await api('GET', '/v1/plugins')).body.items.find((p: { id: string }) => p.id === 'oauth_vendor');
    expect(listed.credentials).toMatchObject({ method: 'oauth2', test: true, connected: false });
    expect(Object.keys(listed.credentials.schema.properties).sort()).toEqual(['client_id', 'client_secret', 'region']);
    // Without the workspace's OAuth client there is nothing to start.
    expect((await api('POST', '/v1/plugins/oauth_vendor/oauth/start')).status).toBe(422);
    expect((await api('PUT', '/v1/plugins/oauth_vendor/credentials', { client_id: provider.clientId, client_secret: provider.clientSecret, region: 'eu' })).status).toBe(200);

    const start = await api('POST', '/v1/plugins/oauth_vendor/oauth/start');
    const u = new URL(start.body.authorize_url);
    expect(u.origin + u.pathname).toBe(`${provider.url}/authorize`);
    expect(Object.fromEntries(u.searchParams)).toMatchObject({
      response_type: 'code', client_id: provider.clientId, redirect_uri: 'http://cairn.test:3000/v1/oauth/callback', scope: 'contacts.read hooks.write', code_challenge_method: 'S256',
    });
    expect(u.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(u.searchParams.has('client_secret')).toBe(false);

    expect(await connect()).toBe('http://cairn.test:3000/plugins?connected=oauth_vendor');
    const exchange = provider.log.find((r) => r.path === '/token' && r.fields.grant_type === 'authorization_code')!;
    expect(exchange.fields.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const status = await api('GET', '/v1/plugins/oauth_vendor/oauth');
    expect(status.body).toMatchObject({ connected: true, scopes: ['contacts.read', 'hooks.write'], expires_at: '2026-05-04T10:00:00.000Z' });
    const row = (await h.t.db('plugin_oauth_tokens').where({ workspace_id: h.workspaceId, plugin_id: 'oauth_vendor' }).first())!;
    for (const token of provider.issued) expect(JSON.stringify(row)).not.toContain(token);
  });

  it('a forged or expired state is a 400; a provider refusal redirects back with the error code', async () => {
    const forged = await h.app.inject({ method: 'GET', url: '/v1/oauth/callback?code=x&state=v1.AAAA.BBBB.CCCC' });
    expect(forged.statusCode).toBe(400);
    expect(JSON.parse(forged.body).errors[0].path).toBe('/state');
    const start = await api('POST', '/v1/plugins/oauth_vendor/oauth/start');
    const state = new URL(start.body.authorize_url).searchParams.get('state')!;
    const denied = await h.app.inject({ method: 'GET', url: `/v1/oauth/callback?error=access_denied&state=${encodeURIComponent(state)}` });
    expect(denied.statusCode).toBe(302);
    expect(denied.headers.location).toBe('http://cairn.test:3000/plugins?plugin=oauth_vendor&oauth_error=OAUTH_DENIED');
    const badCode = await h.app.inject({ method: 'GET', url: `/v1/oauth/callback?code=nope&state=${encodeURIComponent(state)}` });
    expect(badCode.headers.location).toBe('http://cairn.test:3000/plugins?plugin=oauth_vendor&oauth_error=OAUTH_EXCHANGE_FAILED');
    expect((await api('POST', '/v1/_test/clock/advance', { by: 'PT11M' })).status).toBe(200);
    const late = await h.app.inject({ method: 'GET', url: `/v1/oauth/callback?code=x&state=${encodeURIComponent(state)}` });
    expect(late.statusCode).toBe(400);
  });

  it('use: the action sees ctx.auth.accessToken (never the refresh token or client secret); test connection reaches the account', async () => {
    const flow = await api('POST', '/v1/flows', {
      schema: 'cairn.flow/v1', name: 'Who am I', settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'whoami.asked' } },
        { id: 'me', type: 'plugin:oauth_vendor/whoami', position: { x: 0, y: 120 }, config: {} },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'me' }],
    });
    flowId = flow.body.id;
    expect((await api('POST', `/v1/flows/${flowId}/publish`, {})).status).toBe(200);
    const [run] = await runOnce(flowId, 'a@example.com');
    const detail = (await api('GET', `/v1/runs/${run.id}`)).body;
    const step = detail.steps.find((s: { node_id: string }) => s.node_id === 'me');
    expect(step.output).toEqual({ account: 'acct-42', token_seen: '[REDACTED]', secret_keys: ['client_id', 'region'] });
    expect(step.logs[0].message).toBe('called with [REDACTED]');
    const firstToken = provider.issued[0]!;
    expect(provider.log.filter((r) => r.path === '/api/me').at(-1)!.authorization).toBe(`Bearer ${firstToken}`);

    expect((await api('POST', '/v1/plugins/oauth_vendor/credentials/test')).body).toEqual({ ok: true, account: 'acct-42' });
  });

  it('refresh on expiry: past the token lifetime (test clock) the next calls refresh first, once for many concurrent runs', async () => {
    expect((await api('POST', '/v1/_test/clock/advance', { by: 'PT2H' })).status).toBe(200);
    const before = provider.refreshes;
    const emails = Array.from({ length: 6 }, (_, i) => `c${i}@example.com`);
    expect((await api('POST', '/v1/events/batch', { events: emails.map((email) => ({ type: 'whoami.asked', contact: { email } })) })).status).toBe(202);
    await eventually(async () => (await stepsOf(flowId)).filter((r) => r.status === 'completed').length === 7, 60_000, 200);
    expect(provider.refreshes).toBe(before + 1);
    const refresh = provider.log.findIndex((r) => r.path === '/token' && r.fields.grant_type === 'refresh_token');
    const newToken = provider.issued.at(-2)!;
    // The refresh came before the first call with the new token, and every call after it used the new token.
    const calls = provider.log.slice(refresh + 1).filter((r) => r.path === '/api/me');
    expect(calls).toHaveLength(6);
    expect(calls.every((c) => c.authorization === `Bearer ${newToken}`)).toBe(true);
    expect((await api('GET', '/v1/plugins/oauth_vendor/oauth')).body.refreshed_at).toBe('2026-05-04T11:11:00.000Z');
  });

  it('a 401 from the vendor refreshes once and repeats the request with the new token', async () => {
    provider.validAccess.clear(); // the provider revoked the access token on its side
    const before = provider.refreshes;
    await runOnce(flowId, 'after401@example.com');
    const runs = await stepsOf(flowId);
    expect(runs.filter((r) => r.status === 'completed')).toHaveLength(8);
    expect(provider.refreshes).toBe(before + 1);
    const [unauthorized, refresh, again] = provider.log.slice(-3);
    expect([unauthorized!.path, refresh!.fields.grant_type, again!.path]).toEqual(['/api/me', 'refresh_token', '/api/me']);
    expect(again!.authorization).toBe(`Bearer ${provider.issued.at(-2)}`);
  });

  it('webhook triggers: subscribe on publish with the workspace webhook URL, challenge handshakes (GET and POST echo), unsubscribe on archive', async () => {
    const hookFlow = await api('POST', '/v1/flows', {
      schema: 'cairn.flow/v1', name: 'Vendor items', settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'vendor.item', source: 'plugin:oauth_vendor/item_hook' } },
        { id: 'tag', type: 'action.tag', position: { x: 0, y: 120 }, config: { add: ['hooked'] } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'tag' }],
    });
    const id = hookFlow.body.id;
    expect((await api('POST', `/v1/flows/${id}/publish`, {})).status).toBe(200);
    const url = `http://cairn.test:3000/v1/hooks/${h.workspaceId}/plugins/oauth_vendor/item_hook?cairn_flow=${id}`;
    await eventually(async () => provider.hooks.size === 1, 30_000, 100);
    expect([...provider.hooks.values()]).toEqual([url]);
    const state = await eventually(async () => (await h.t.db('plugin_trigger_states').where({ flow_id: id }).first())?.subscription, 30_000, 100);
    expect(state).toEqual({ id: 'hook_1' });
    // Republishing keeps the one subscription.
    expect((await api('POST', `/v1/flows/${id}/publish`, {})).status).toBe(200);
    await eventually(async () => (await pendingJobs(h.t.db, [PLUGIN_TRIGGER_TASK])) === 0, 30_000, 100);
    expect(provider.hooks.size).toBe(1);

    const get = await h.app.inject({ method: 'GET', url: `/v1/hooks/${h.workspaceId}/plugins/oauth_vendor/item_hook?challenge=c-123` });
    expect([get.statusCode, get.headers['content-type'], get.body]).toEqual([200, 'text/plain; charset=utf-8', 'c-123']);
    expect((await h.app.inject({ method: 'GET', url: `/v1/hooks/${h.workspaceId}/plugins/oauth_vendor/item_hook` })).statusCode).toBe(404);
    const post = await h.app.inject({
      method: 'POST', url: `/v1/hooks/${h.workspaceId}/plugins/oauth_vendor/slack_like`, headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ type: 'url_verification', challenge: 'slack-xyz' }),
    });
    expect([post.statusCode, post.body]).toEqual([200, 'slack-xyz']);
    const event = await h.app.inject({
      method: 'POST', url: `/v1/hooks/${h.workspaceId}/plugins/oauth_vendor/item_hook`, headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ id: 'i-1', email: 'hooked@example.com' }),
    });
    expect(event.statusCode).toBe(202);

    expect((await api('POST', `/v1/flows/${id}/archive`)).status).toBe(200);
    await eventually(async () => provider.hooks.size === 0, 30_000, 100);
    expect(provider.log.filter((r) => r.method === 'DELETE').map((r) => r.path)).toEqual(['/api/hooks/hook_1']);
    await eventually(async () => !(await h.t.db('plugin_trigger_states').where({ flow_id: id }).first()), 30_000, 100);
  });

  it('revoke: DELETE credentials revokes the refresh token at the provider, then runs fail with OAUTH_NOT_CONNECTED', async () => {
    const refreshToken = provider.issued.at(-1)!;
    const del = await api('DELETE', '/v1/plugins/oauth_vendor/credentials');
    expect(del.body).toEqual({ deleted: true, revoked: true });
    const revoke = provider.log.find((r) => r.path === '/revoke')!;
    expect(revoke.fields).toMatchObject({ token: refreshToken, token_type_hint: 'refresh_token', client_id: provider.clientId });
    expect(provider.revoked).toEqual([refreshToken]);
    expect(await h.t.db('plugin_oauth_tokens').where({ workspace_id: h.workspaceId }).count({ n: '*' }).first()).toEqual({ n: 0 });
    expect((await api('GET', '/v1/plugins/oauth_vendor/oauth')).body.connected).toBe(false);
    expect((await api('POST', '/v1/events', { type: 'whoami.asked', contact: { email: 'late@example.com' } })).status).toBe(202);
    const failed = await eventually(async () => (await stepsOf(flowId)).find((r) => r.status === 'failed'), 60_000, 200);
    expect(failed.steps.find((s: { node_id: string }) => s.node_id === 'me').error.code).toBe('OAUTH_NOT_CONNECTED');
  });

  it('no token, refresh token or client secret in any answer, step, engine log line or table but the sealed ones', async () => {
    const secrets = [...provider.issued, provider.clientSecret];
    const everything = [...answers, ...logLines].join('\n');
    for (const s of secrets) expect(everything).not.toContain(s);
    const { rows } = await h.t.db.raw(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT IN ('plugin_credentials', 'plugin_oauth_tokens', 'plugin_versions')`);
    for (const { table_name: table } of rows as { table_name: string }[]) {
      const dump = JSON.stringify((await h.t.db.raw(`SELECT to_jsonb(x) AS j FROM "${table}" x`)).rows);
      for (const s of secrets) expect(dump, table).not.toContain(s);
    }
    expect(logLines.some((l) => l.includes('plugin OAuth token refreshed'))).toBe(true);
  });
});
