import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { createUser } from '../../src/auth/users.ts';
import { compileConfig } from '../../src/config/index.ts';
import type { EngineContext } from '../../src/context.ts';
import { createWorkspace } from '../../src/crm/workspaces.ts';
import { createDb } from '../../src/db/index.ts';
import { createApp } from '../../src/http/app.ts';
import { BUILDER_CSP } from '../../src/http/ui.ts';
import { createLogger } from '../../src/logger.ts';
import { createSystemClock } from '../../src/time/clock.ts';
import { createTestDatabase, type TestDatabase } from '../db.ts';
import { bearer, createHarness, json, type Harness } from '../http/harness.ts';

/**
 * Issue 8, item 9 (the low items at the HTTP edge): each answered problem+json with a path, never a 500, raw
 * SQL in `detail`, fastify's own body or a silently changed value.
 */

const problemType = 'application/problem+json';
const noSql = (detail: string) => expect(detail).not.toMatch(/\b(insert into|select|update|values|returning)\b/i);

describe('bad values the database cannot store', () => {
  let h: Harness;
  beforeAll(async () => { h = await createHarness(); });
  afterAll(async () => { await h.close(); });

  const post = (url: string, raw: string) => h.app.inject({ method: 'POST', url, headers: { ...bearer(h.ws.a.keys.admin), 'content-type': 'application/json' }, payload: raw });

  it('a lone surrogate "\\ud800" in external_id (or a property, or a key) → 400 naming its path, no SQL', async () => {
    for (const [raw, path] of [
      ['{"external_id":"\\ud800"}', '/external_id'],
      ['{"external_id":"x-1","properties":{"name":"a\\udc00b"}}', '/properties/name'],
      ['{"external_id":"x-2","properties":{"\\ud83d":1}}', '/properties/\ud83d'],
    ] as const) {
      const res = await post('/v1/contacts', raw);
      expect(res.statusCode, raw).toBe(400);
      expect(res.headers['content-type']).toContain(problemType);
      expect(json(res).errors).toEqual([{ path, message: 'contains an unpaired surrogate' }]);
      noSql(json(res).detail);
    }
    // A well-formed pair (an emoji) is fine.
    expect((await post('/v1/contacts', '{"external_id":"\\ud83d\\ude00"}')).statusCode).toBe(201);
  });

  it('1e400 (overflows a double) → 400 naming its path, not stored as null', async () => {
    const res = await post('/v1/contacts', '{"external_id":"big","properties":{"score":1e400}}');
    expect(res.statusCode).toBe(400);
    expect(json(res)).toMatchObject({ code: 'CAIRN_ERR_VALIDATION', errors: [{ path: '/properties/score', message: 'number out of range' }] });
    const batch = await post('/v1/events/batch', '{"events":[{"type":"t","contact":{"external_id":"e1"},"properties":{"n":[1,-2e999]}}]}');
    expect(batch.statusCode).toBe(400);
    expect(json(batch).errors[0].path).toBe('/events/0/properties/n/1');
    expect(await h.t.db('contacts').where({ workspace_id: h.ws.a.id, external_id: 'big' }).first()).toBeUndefined();
  });

  it('stats?version=99999999999 and versions/99999999999 → 400 with a path, no SQL', async () => {
    const id = '0190f1e2-0000-7000-8000-000000000001';
    const stats = await h.app.inject({ url: `/v1/flows/${id}/stats?version=99999999999`, headers: bearer(h.ws.a.keys.viewer) });
    expect(stats.statusCode).toBe(400);
    expect(json(stats).errors[0].path).toBe('/version');
    noSql(json(stats).detail);
    const version = await h.app.inject({ url: `/v1/flows/${id}/versions/99999999999`, headers: bearer(h.ws.a.keys.viewer) });
    expect(version.statusCode).toBe(400);
    expect(json(version).errors[0].path).toBe('/n');
  });

  it('/v1/contacts/%E0%A4%A (a malformed escape) → problem+json', async () => {
    const res = await h.app.inject({ url: '/v1/contacts/%E0%A4%A', headers: bearer(h.ws.a.keys.viewer) });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain(problemType);
    expect(json(res)).toMatchObject({ status: 400, code: 'CAIRN_ERR_VALIDATION' });
  });

  it('GET /v1/settings/email (and the email policy and outbox) is for admins only', async () => {
    for (const url of ['/v1/settings/email', '/v1/settings/email-policy', '/v1/outbox']) {
      for (const role of ['editor', 'viewer'] as const) {
        const res = await h.app.inject({ url, headers: bearer(h.ws.a.keys[role]) });
        expect(res.statusCode, `${role} ${url}`).toBe(403);
        expect(json(res).code).toBe('CAIRN_ERR_FORBIDDEN');
      }
      expect((await h.app.inject({ url, headers: bearer(h.ws.a.keys.admin) })).statusCode, url).toBe(200);
    }
  });

  it('the builder is served with a Content-Security-Policy and X-Frame-Options; the API is not', async () => {
    const page = await h.app.inject({ url: '/' });
    expect(page.headers['x-frame-options']).toBe('DENY');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(BUILDER_CSP.scriptSrc).toEqual(["'self'"]);
    const api = await h.app.inject({ url: '/v1/contacts', headers: bearer(h.ws.a.keys.viewer) });
    expect(api.headers['content-security-policy']).toBeUndefined();
  });
});

describe('the session cookie behind a TLS-terminating proxy', () => {
  const login = async (h: Harness, headers: Record<string, string>) => {
    const slug = (await h.t.db('workspaces').where({ id: h.ws.a.id }).first()).slug as string;
    const email = `u-${Math.random().toString(36).slice(2)}@example.com`;
    await createUser(h.t.db, { workspaceId: h.ws.a.id, email, password: 'long enough password', role: 'editor' });
    const res = await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { workspace: slug, email, password: 'long enough password' }, headers });
    expect(res.statusCode).toBe(200);
    return res.cookies.find((c) => c.name === 'cairn_session')!;
  };

  it('is Secure when a trusted proxy (CAIRN_TRUST_PROXY) says https, and not when an untrusted peer says so', async () => {
    const trusted = await createHarness({ env: { CAIRN_TRUST_PROXY: '127.0.0.1' } });
    const untrusted = await createHarness();
    try {
      expect((await login(trusted, { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.4' })).secure).toBe(true);
      expect((await login(trusted, {})).secure).toBeFalsy();
      expect((await login(untrusted, { 'x-forwarded-proto': 'https' })).secure).toBeFalsy();
    } finally {
      await trusted.close();
      await untrusted.close();
    }
  });
});

describe('a lost database', () => {
  let t: TestDatabase;
  let proxy: Server;
  let proxyPort: number;
  const sockets = new Set<Socket>();

  /** A TCP forwarder to PostgreSQL: stopping it is the database going away (connections reset, new ones refused). */
  const startProxy = (port = 0) => new Promise<void>((resolve) => {
    const target = new URL(t.url);
    proxy = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); }
      client.pipe(upstream).pipe(client);
    });
    proxy.listen(port, '127.0.0.1', () => { proxyPort = (proxy.address() as AddressInfo).port; resolve(); });
  });
  const stopProxy = () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); proxy.close(() => resolve()); });

  beforeAll(async () => { t = await createTestDatabase(); await startProxy(); });
  afterAll(async () => { await t.drop(); });

  it('answers 503 CAIRN_ERR_UNAVAILABLE with Retry-After (not 500), and recovers when it is back', async () => {
    const url = new URL(t.url);
    url.port = String(proxyPort);
    const db = createDb(url.href);
    const ctx: EngineContext = { config: compileConfig({ DATABASE_URL: url.href, LOG_LEVEL: 'silent' }), db, databaseUrl: url.href, logger: createLogger('silent'), clock: createSystemClock(), secretKey: Buffer.alloc(32, 7) };
    const ws = await createWorkspace(t.db, { slug: `lost-${process.pid}` });
    const { key } = await createApiKey(t.db, { workspaceId: ws.id, role: 'admin' });
    const app = await createApp(ctx);
    try {
      expect((await app.inject({ url: '/v1/contacts', headers: bearer(key) })).statusCode).toBe(200);
      await stopProxy();
      for (const req of [{ url: '/v1/contacts' }, { url: '/v1/contacts', method: 'POST' as const, payload: { external_id: 'a' } }]) {
        const res = await app.inject({ ...req, headers: bearer(key) });
        expect(res.statusCode).toBe(503);
        expect(res.headers['content-type']).toContain(problemType);
        expect(json(res)).toMatchObject({ code: 'CAIRN_ERR_UNAVAILABLE', status: 503 });
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
      await startProxy(proxyPort);
      expect((await app.inject({ url: '/v1/contacts', headers: bearer(key) })).statusCode).toBe(200);
    } finally {
      await app.close();
      await db.destroy();
      await stopProxy();
    }
  });
});
