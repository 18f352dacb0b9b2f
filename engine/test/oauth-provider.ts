import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local fake OAuth2 provider (authorization code + PKCE S256, refresh tokens with rotation, RFC 7009 revocation)
 * with a tiny API behind it (`GET /api/me`, webhook subscriptions under `/api/hooks`). Real HTTP on 127.0.0.1; it
 * records every request so tests can check what the engine sent.
 */
export interface FakeProvider {
  url: string;
  clientId: string;
  clientSecret: string;
  /** Every request, in order (method, path, form or JSON fields, authorization header). */
  log: { method: string; path: string; fields: Record<string, string>; authorization: string | undefined }[];
  /** Access tokens the API accepts now. */
  validAccess: Set<string>;
  refreshes: number;
  revoked: string[];
  hooks: Map<string, string>;
  /** Every token ever issued (to search for leaks). */
  issued: string[];
  close(): Promise<void>;
}

export async function startFakeProvider(opts: { account?: string; expiresIn?: number } = {}): Promise<FakeProvider> {
  const clientId = 'client-7a1f';
  const clientSecret = `cs_${randomBytes(12).toString('hex')}`;
  const codes = new Map<string, { challenge: string | null; redirect: string }>();
  const refreshTokens = new Set<string>();
  let n = 0;
  const p: FakeProvider = {
    url: '', clientId, clientSecret, log: [], validAccess: new Set(), refreshes: 0, revoked: [], hooks: new Map(), issued: [],
    close: async () => undefined,
  };
  const issue = () => {
    n++;
    const access = `at_${n}_${randomBytes(10).toString('hex')}`;
    const refresh = `rt_${n}_${randomBytes(10).toString('hex')}`;
    p.validAccess.add(access);
    refreshTokens.add(refresh);
    p.issued.push(access, refresh);
    return { access_token: access, refresh_token: refresh, token_type: 'bearer', expires_in: opts.expiresIn ?? 3600, scope: 'contacts.read hooks.write' };
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url!, 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const fields = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(text || '{}') as Record<string, string>) : Object.fromEntries(new URLSearchParams(text));
      p.log.push({ method: req.method!, path: u.pathname, fields, authorization: req.headers.authorization });
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const clientOk = fields.client_id === clientId && fields.client_secret === clientSecret;
      if (u.pathname === '/authorize') {
        // The "user" grants at once: back to redirect_uri with a code bound to the PKCE challenge.
        const code = `code_${randomBytes(8).toString('hex')}`;
        codes.set(code, { challenge: u.searchParams.get('code_challenge'), redirect: u.searchParams.get('redirect_uri')! });
        const back = new URL(u.searchParams.get('redirect_uri')!);
        back.searchParams.set('code', code);
        back.searchParams.set('state', u.searchParams.get('state')!);
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      if (u.pathname === '/token') {
        if (!clientOk) return json(401, { error: 'invalid_client' });
        if (fields.grant_type === 'authorization_code') {
          const c = codes.get(fields.code ?? '');
          codes.delete(fields.code ?? '');
          const verified = c && (c.challenge === null || createHash('sha256').update(fields.code_verifier ?? '').digest('base64url') === c.challenge);
          if (!c || !verified || c.redirect !== fields.redirect_uri) return json(400, { error: 'invalid_grant', error_description: `bad code ${fields.code}` });
          return json(200, issue());
        }
        if (fields.grant_type === 'refresh_token') {
          if (!refreshTokens.delete(fields.refresh_token ?? '')) return json(400, { error: 'invalid_grant' });
          p.refreshes++;
          return json(200, issue());
        }
        return json(400, { error: 'unsupported_grant_type' });
      }
      if (u.pathname === '/revoke') {
        if (!clientOk) return json(401, { error: 'invalid_client' });
        refreshTokens.delete(fields.token ?? '');
        p.validAccess.delete(fields.token ?? '');
        p.revoked.push(fields.token ?? '');
        return json(200, {});
      }
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!p.validAccess.has(token)) return json(401, { error: 'invalid_token' });
      if (u.pathname === '/api/me') return json(200, { account: opts.account ?? 'acct-42' });
      if (u.pathname === '/api/hooks' && req.method === 'POST') {
        const id = `hook_${p.hooks.size + 1}`;
        p.hooks.set(id, fields.url!);
        return json(201, { id });
      }
      const hook = /^\/api\/hooks\/(.+)$/.exec(u.pathname);
      if (hook && req.method === 'DELETE') return p.hooks.delete(hook[1]!) ? json(200, {}) : json(404, {});
      json(404, { error: 'not_found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  p.close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return p;
}
