import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateApiKey, createApiKey, revokeApiKey } from '../../src/auth/api-keys.ts';
import { createUser } from '../../src/auth/users.ts';
import { LOGIN_ATTEMPTS_PER_MINUTE } from '../../src/http/rate-limits.ts';
import { bearer, createHarness, json, type Harness } from './harness.ts';

describe('auth: API keys, login sessions and CSRF', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
    await createUser(h.t.db, { workspaceId: h.ws.a.id, email: 'Ops@Example.com', password: 'correct horse battery', role: 'editor', name: 'Ops' });
    await createUser(h.t.db, { workspaceId: h.ws.b.id, email: 'viewer@example.com', password: 'viewer password', role: 'viewer' });
  });
  afterAll(async () => { await h.close(); });

  const slugOf = async (id: string) => (await h.t.db('workspaces').where({ id }).first()).slug as string;
  const login = async (workspace: string, email: string, password: string) =>
    h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { workspace, email, password } });
  const cookieOf = (res: Awaited<ReturnType<typeof login>>) => {
    const c = res.cookies.find((x) => x.name === 'cairn_session')!;
    return { cookie: `cairn_session=${c.value}`, raw: c };
  };

  it('API keys are stored as sha256 + prefix, never in clear; revoked keys stop working', async () => {
    const { id, key } = await createApiKey(h.t.db, { workspaceId: h.ws.a.id, role: 'viewer', name: 'ci' });
    expect(key).toMatch(/^cairn_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const row = await h.t.db('api_keys').where({ id }).first();
    expect(JSON.stringify(row)).not.toContain(key.split('_').slice(2).join('_'));
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(key).toContain(row.prefix);
    expect(await authenticateApiKey(h.t.db, key)).toEqual({ workspaceId: h.ws.a.id, role: 'viewer', keyId: id });
    expect((await h.app.inject({ method: 'GET', url: '/v1/contacts', headers: bearer(key) })).statusCode).toBe(200);
    expect(await revokeApiKey(h.t.db, h.ws.a.id, id, new Date())).toBe(true);
    expect(await authenticateApiKey(h.t.db, key)).toBeNull();
    expect((await h.app.inject({ method: 'GET', url: '/v1/contacts', headers: bearer(key) })).statusCode).toBe(401);
  });

  it('login: wrong password, unknown user or unknown workspace → 401 with the same detail', async () => {
    const slug = await slugOf(h.ws.a.id);
    const answers = await Promise.all([
      login(slug, 'ops@example.com', 'wrong password'), login(slug, 'nobody@example.com', 'correct horse battery'),
      login('no-such-workspace', 'ops@example.com', 'correct horse battery'), login(await slugOf(h.ws.b.id), 'ops@example.com', 'correct horse battery'),
    ]);
    for (const a of answers) {
      expect(a.statusCode).toBe(401);
      expect(json(a).detail).toBe('workspace, email or password is wrong');
      expect(a.cookies).toHaveLength(0);
    }
  });

  it('login sets an HttpOnly SameSite=Lax cookie; /auth/me returns user, workspace, role and csrf_token; the token is stored hashed', async () => {
    const slug = await slugOf(h.ws.a.id);
    const res = await login(slug, 'OPS@example.com', 'correct horse battery');
    expect(res.statusCode).toBe(200);
    const { raw, cookie } = cookieOf(res);
    expect(raw.httpOnly).toBe(true);
    expect(raw.sameSite).toBe('Lax');
    expect(raw.path).toBe('/');
    const me = await h.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } });
    expect(me.statusCode).toBe(200);
    const body = json(me);
    expect(body).toMatchObject({ user: { email: 'Ops@Example.com', name: 'Ops' }, workspace: { id: h.ws.a.id, slug }, role: 'editor' });
    expect(body.csrf_token).toBe(json(res).csrf_token);
    const stored = await h.t.db('sessions').where({ workspace_id: h.ws.a.id });
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(raw.value);
  });

  it('cookie sessions: reads need no CSRF header; unsafe requests without (or with a wrong) x-cairn-csrf → 403; with it → allowed', async () => {
    const res = await login(await slugOf(h.ws.a.id), 'ops@example.com', 'correct horse battery');
    const { cookie } = cookieOf(res);
    const csrf = json(res).csrf_token as string;
    expect((await h.app.inject({ method: 'GET', url: '/v1/contacts', headers: { cookie } })).statusCode).toBe(200);
    const payload = { email: 'from-ui@x.co' };
    const none = await h.app.inject({ method: 'POST', url: '/v1/contacts', headers: { cookie }, payload });
    expect(none.statusCode).toBe(403);
    expect(json(none).detail).toMatch(/x-cairn-csrf/);
    const wrong = await h.app.inject({ method: 'POST', url: '/v1/contacts', headers: { cookie, 'x-cairn-csrf': csrf.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) }, payload });
    expect(wrong.statusCode).toBe(403);
    expect(await h.t.db('contacts').where({ email: 'from-ui@x.co' }).first()).toBeUndefined();
    const ok = await h.app.inject({ method: 'POST', url: '/v1/contacts', headers: { cookie, 'x-cairn-csrf': csrf }, payload });
    expect(ok.statusCode).toBe(201);
  });

  it("a session carries its user's role and workspace: a viewer session cannot write, and sees only its workspace", async () => {
    const res = await login(await slugOf(h.ws.b.id), 'viewer@example.com', 'viewer password');
    const { cookie } = cookieOf(res);
    const csrf = json(res).csrf_token;
    const write = await h.app.inject({ method: 'POST', url: '/v1/contacts', headers: { cookie, 'x-cairn-csrf': csrf }, payload: { email: 'v@x.co' } });
    expect(write.statusCode).toBe(403);
    const aContact = json(await h.app.inject({ method: 'POST', url: '/v1/contacts', headers: bearer(h.ws.a.keys.admin), payload: { email: 'a-only@x.co' } })).id;
    expect((await h.app.inject({ method: 'GET', url: `/v1/contacts/${aContact}`, headers: { cookie } })).statusCode).toBe(404);
  });

  it('Bearer requests need no CSRF header, even with a cookie present', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/contacts', headers: { ...bearer(h.ws.a.keys.editor), cookie: 'cairn_session=whatever' }, payload: { email: 'bearer@x.co' } });
    expect(res.statusCode).toBe(201);
  });

  it('logout ends the session: the cookie stops working', async () => {
    const res = await login(await slugOf(h.ws.a.id), 'ops@example.com', 'correct horse battery');
    const { cookie } = cookieOf(res);
    const csrf = json(res).csrf_token;
    const noCsrf = await h.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie } });
    expect(noCsrf.statusCode).toBe(403);
    const out = await h.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie, 'x-cairn-csrf': csrf } });
    expect(out.statusCode).toBe(204);
    const after = await h.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } });
    expect(after.statusCode).toBe(401);
  });

  it('an unknown or garbage session cookie → 401', async () => {
    for (const cookie of ['cairn_session=abc', `cairn_session=${'x'.repeat(43)}`]) {
      expect((await h.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } })).statusCode).toBe(401);
    }
  });

  it('login attempts are rate limited per IP → 429 with Retry-After', async () => {
    const slug = await slugOf(h.ws.b.id);
    let limited = null;
    for (let i = 0; i < LOGIN_ATTEMPTS_PER_MINUTE + 1 && !limited; i++) {
      const res = await login(slug, `guess-${i}@example.com`, `guess-${i}`);
      if (res.statusCode === 429) limited = res;
      else expect(res.statusCode).toBe(401);
    }
    expect(limited).not.toBeNull();
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    expect((await h.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(h.ws.a.keys.viewer) })).statusCode).toBe(200);
  });

  it('GET /v1/auth/me with an API key names the role and no user', async () => {
    const me = json(await h.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(h.ws.a.keys.ingest) }));
    expect(me).toMatchObject({ user: null, role: 'ingest', workspace: { id: h.ws.a.id }, csrf_token: null });
  });
});
