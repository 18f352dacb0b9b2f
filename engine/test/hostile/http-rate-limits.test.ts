import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/auth/users.ts';
import { AUTH_FAILURES_PER_MINUTE, LOGIN_ATTEMPTS_PER_MINUTE, LOGIN_FAILURES_PER_ACCOUNT } from '../../src/http/rate-limits.ts';
import { bearer, createHarness, json, type Harness } from '../http/harness.ts';

/**
 * Issue 8, item 6: rate-limit buckets are keyed by the authenticated principal or the IP, never by what the
 * caller sends. Before, each made-up Authorization header or cookie was a fresh bucket (80 login guesses, no
 * 429), header spellings of one key were different buckets, and bogus keys were never limited at all.
 */

const random = () => randomBytes(12).toString('base64url');
const problem = 'application/problem+json';

describe('login guessing', () => {
  let h: Harness;
  let slug: string;
  beforeAll(async () => {
    h = await createHarness();
    slug = (await h.t.db('workspaces').where({ id: h.ws.a.id }).first()).slug as string;
    await createUser(h.t.db, { workspaceId: h.ws.a.id, email: 'ops@example.com', password: 'correct horse battery', role: 'editor' });
  });
  afterAll(async () => { await h.close(); });

  const login = (email: string, password: string, over: { headers?: Record<string, string>; remoteAddress?: string } = {}) =>
    h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { workspace: slug, email, password }, ...over });

  it('80 login guesses with random Authorization headers and cookies: 429 after the documented per-IP limit', async () => {
    const statuses: number[] = [];
    let limited;
    for (let i = 0; i < 80; i++) {
      const res = await login(`guess-${i}@example.com`, random(), {
        remoteAddress: '203.0.113.7',
        headers: { authorization: `Bearer cairn_${random()}`, cookie: `cairn_session=${random()}; other=${random()}` },
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) limited ??= res;
    }
    expect(statuses.slice(0, LOGIN_ATTEMPTS_PER_MINUTE).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(LOGIN_ATTEMPTS_PER_MINUTE).every((s) => s === 429)).toBe(true);
    expect(limited!.headers['content-type']).toContain(problem);
    expect(json(limited!).code).toBe('CAIRN_ERR_RATE_LIMITED');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await login('ops@example.com', 'correct horse battery', { remoteAddress: '198.51.100.1' })).statusCode).toBe(200);
  });

  it('failed logins for one account from many addresses: 429 after the per-account limit, even with the right password', async () => {
    for (let i = 0; i < LOGIN_FAILURES_PER_ACCOUNT; i++) {
      expect((await login(i % 2 ? 'OPS@example.com' : 'ops@example.com ', random(), { remoteAddress: `192.0.2.${i + 1}` })).statusCode).toBe(401);
    }
    const refused = await login('ops@example.com', 'correct horse battery', { remoteAddress: '192.0.2.200' });
    expect(refused.statusCode).toBe(429);
    expect(json(refused).detail).toMatch(/too many failed logins for this account; retry after \d+ s/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('API requests', () => {
  let h: Harness;
  beforeAll(async () => { h = await createHarness({ rateLimit: { max: 20, timeWindowMs: 60_000 } }); });
  afterAll(async () => { await h.close(); });

  it('`Bearer KEY`, `bearer  KEY` and `BEARER KEY ` count against one bucket (the key id)', async () => {
    const key = h.ws.a.keys.viewer;
    const spellings = [`Bearer ${key}`, `bearer  ${key}`, `BEARER ${key} `];
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await h.app.inject({ method: 'GET', url: '/v1/contacts', headers: { authorization: spellings[i % 3]! } });
      statuses.push(res.statusCode);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // Another key of the same workspace, from the same address, has its own bucket.
    expect((await h.app.inject({ method: 'GET', url: '/v1/contacts', headers: bearer(h.ws.a.keys.admin) })).statusCode).toBe(200);
  });

  it('made-up keys and cookies are limited per address before authentication', async () => {
    const max = Math.min(20, AUTH_FAILURES_PER_MINUTE);
    const statuses: number[] = [];
    for (let i = 0; i < max + 10; i++) {
      const headers: Record<string, string> = i % 2
        ? { authorization: `Bearer cairn_${randomBytes(6).toString('hex')}_${random()}` }
        : { cookie: `cairn_session=${random()}` };
      statuses.push((await h.app.inject({ method: 'GET', url: '/v1/flows', headers, remoteAddress: '203.0.113.9' })).statusCode);
    }
    expect(statuses.slice(0, max).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(max).every((s) => s === 429)).toBe(true);
    // The refused address gets 429 even with a valid key until the window ends; other addresses do not.
    expect((await h.app.inject({ method: 'GET', url: '/v1/flows', headers: bearer(h.ws.b.keys.viewer), remoteAddress: '203.0.113.9' })).statusCode).toBe(429);
    expect((await h.app.inject({ method: 'GET', url: '/v1/flows', headers: bearer(h.ws.b.keys.viewer), remoteAddress: '203.0.113.10' })).statusCode).toBe(200);
  });
});
