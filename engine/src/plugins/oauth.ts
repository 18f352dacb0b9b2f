import { createHash, randomBytes } from 'node:crypto';
import { FetchError, guardedFetch, type CallAuth, type PluginManifest } from '@cairn/plugin-sdk/host';
import type { EngineContext } from '../context.ts';
import type { Db, Tx } from '../db/index.ts';
import { CairnError, StepFailure, invalid, notFound } from '../errors.ts';
import { decryptSecret, encryptSecret, keyId } from '../secrets/seal.ts';
import { loadCredentials } from './credentials.ts';
import { getInstall, getManifest } from './registry.ts';

/**
 * OAuth2 authorization code for plugins whose `authMethod` is `oauth2`, hosted by the engine: the admin asks for
 * an authorize URL (`start`), the provider sends the browser back to `GET /v1/oauth/callback` with a code
 * (`complete`), and the tokens are sealed like credentials in `plugin_oauth_tokens`. Calls get the access token
 * (`accessFor`), refreshed shortly before it expires and once after a 401, under a row lock so that one refresh
 * runs per connection at a time across processes. The client id and secret are the workspace's own credentials
 * (`client_id`, `client_secret`). Token requests go through the sandbox's fetch guard (no private addresses
 * unless the operator allows them), and neither tokens nor the client secret ever reach an answer or a log.
 */

export type OAuth2Method = NonNullable<NonNullable<PluginManifest['authMethod']>['oauth2']>;

/** Token-endpoint fetch options (the plugin runtime's): test hosts, the private-address switch, denied targets. */
export interface OAuthFetchOptions {
  testHosts?: readonly string[];
  allowPrivate?: boolean;
  deniedTargets?: readonly string[];
}

/** Refresh when the token has less than this left. */
const REFRESH_MARGIN_MS = 60_000;
const STATE_TTL_MS = 10 * 60_000;
const STATE_AAD = 'cairn-oauth-state';
const tokenAad = (workspaceId: string, pluginId: string) => `cairn-oauth-tokens/${workspaceId}/${pluginId}`;

interface StatePayload {
  w: string;
  p: string;
  /** PKCE verifier (sealed inside the state: it never reaches the browser in clear). */
  v: string | null;
  /** Expiry, epoch ms. */
  e: number;
}

interface Tokens {
  access_token: string;
  refresh_token: string | null;
}

export const callbackUrl = (ctx: EngineContext) => `${ctx.config.publicUrl}/v1/oauth/callback`;

async function oauthPlugin(db: Db | Tx, workspaceId: string, pluginId: string): Promise<{ manifest: PluginManifest; oauth2: OAuth2Method }> {
  const install = await getInstall(db, workspaceId, pluginId);
  if (!install) throw notFound(`plugin ${pluginId}`);
  const manifest = (await getManifest(db, workspaceId, pluginId, install.currentVersion))!;
  const oauth2 = manifest.authMethod?.kind === 'oauth2' ? manifest.authMethod.oauth2 : null;
  if (!oauth2) throw new CairnError('CAIRN_ERR_UNPROCESSABLE', `plugin ${pluginId} does not use OAuth2 (its manifest's authMethod is not oauth2)`);
  return { manifest, oauth2 };
}

async function client(ctx: EngineContext, workspaceId: string, pluginId: string): Promise<{ id: string; secret: string; secrets: Record<string, string> }> {
  const secrets = await loadCredentials(ctx.db, ctx.secretKey, workspaceId, pluginId);
  if (!secrets.client_id || !secrets.client_secret) {
    throw new CairnError('CAIRN_ERR_UNPROCESSABLE', `store the OAuth client of plugin ${pluginId} first: PUT /v1/plugins/${pluginId}/credentials with client_id and client_secret`);
  }
  return { id: secrets.client_id, secret: secrets.client_secret, secrets };
}

/** The authorize URL to send the admin's browser to, with a sealed, expiring `state` (and a PKCE challenge). */
export async function startOAuth(ctx: EngineContext, workspaceId: string, pluginId: string): Promise<{ authorize_url: string; expires_at: string }> {
  const { oauth2 } = await oauthPlugin(ctx.db, workspaceId, pluginId);
  const c = await client(ctx, workspaceId, pluginId);
  const verifier = oauth2.pkce ? randomBytes(32).toString('base64url') : null;
  const expires = ctx.clock.now().getTime() + STATE_TTL_MS;
  const state = encryptSecret(ctx.secretKey, JSON.stringify({ w: workspaceId, p: pluginId, v: verifier, e: expires } satisfies StatePayload), STATE_AAD);
  const url = new URL(oauth2.authorizeUrl);
  for (const [k, v] of Object.entries(oauth2.authorizeParams ?? {})) url.searchParams.set(k, v);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', c.id);
  url.searchParams.set('redirect_uri', callbackUrl(ctx));
  if (oauth2.scopes.length) url.searchParams.set('scope', oauth2.scopes.join(oauth2.scopeSeparator ?? ' '));
  url.searchParams.set('state', state);
  if (verifier) {
    url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  return { authorize_url: url.toString(), expires_at: new Date(expires).toISOString() };
}

function readState(ctx: EngineContext, state: string): StatePayload {
  let p: StatePayload;
  try {
    p = JSON.parse(decryptSecret(ctx.secretKey, state, STATE_AAD)) as StatePayload;
  } catch {
    throw invalid('the OAuth state is not one this engine issued; start the connection again', [{ path: '/state', message: 'is not valid' }]);
  }
  if (p.e < ctx.clock.now().getTime()) throw invalid('the OAuth state has expired (10 minutes); start the connection again', [{ path: '/state', message: 'has expired' }]);
  return p;
}

/**
 * The callback: checks the state, exchanges the code and stores the tokens. Returns the plugin (for the redirect
 * back to the builder). A provider error (`error=access_denied`) or a failed exchange throws a StepFailure with
 * an `OAUTH_*` code, which the route turns into a redirect with that code.
 */
export async function completeOAuth(ctx: EngineContext, fetchOpts: OAuthFetchOptions, q: { state: string; code?: string; error?: string }): Promise<{ workspaceId: string; pluginId: string }> {
  const s = readState(ctx, q.state);
  const ids = { workspaceId: s.w, pluginId: s.p };
  if (q.error || !q.code) throw Object.assign(new StepFailure('OAUTH_DENIED', `the provider did not grant access (${(q.error ?? 'no code').slice(0, 100)})`), ids);
  const { oauth2 } = await oauthPlugin(ctx.db, s.w, s.p);
  const c = await client(ctx, s.w, s.p);
  const body: Record<string, string> = { grant_type: 'authorization_code', code: q.code, redirect_uri: callbackUrl(ctx) };
  if (s.v) body.code_verifier = s.v;
  const answer = await tokenRequest(oauth2, c, body, fetchOpts, 'exchange').catch((err: unknown) => { throw Object.assign(err as Error, ids); });
  await saveTokens(ctx.db, ctx, s.w, s.p, answer, null);
  return ids;
}

interface TokenAnswer {
  tokens: Tokens;
  /** `expires_in` of the answer, in ms (null: not given). */
  expiresInMs: number | null;
  scopes: string[];
}

async function tokenRequest(oauth2: OAuth2Method, c: { id: string; secret: string }, fields: Record<string, string>, fetchOpts: OAuthFetchOptions, what: string): Promise<TokenAnswer> {
  const res = await postForm(oauth2.tokenUrl, oauth2, c, fields, fetchOpts, what);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    json = {};
  }
  if (res.status !== 200 || typeof json.access_token !== 'string' || !json.access_token) {
    // The provider's error code (`invalid_grant`) only: its description may quote what we sent.
    const code = typeof json.error === 'string' ? json.error.replace(/[^a-z0-9_]/gi, '').slice(0, 60) : `HTTP ${res.status}`;
    throw new StepFailure(what === 'refresh' ? 'OAUTH_REFRESH_FAILED' : 'OAUTH_EXCHANGE_FAILED', `the token endpoint refused the ${what} (${code})`, { retryable: res.status === 429 || res.status >= 500 });
  }
  const expiresIn = Number(json.expires_in);
  return {
    tokens: { access_token: json.access_token, refresh_token: typeof json.refresh_token === 'string' && json.refresh_token ? json.refresh_token : (fields.refresh_token ?? null) },
    expiresInMs: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn * 1000 : null,
    scopes: typeof json.scope === 'string' ? json.scope.split(/[\s,]+/).filter(Boolean) : [],
  };
}

async function postForm(url: string, oauth2: OAuth2Method, c: { id: string; secret: string }, fields: Record<string, string>, fetchOpts: OAuthFetchOptions, what: string) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const form = new URLSearchParams(fields);
  if (oauth2.clientAuth === 'basic') headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString('base64')}`;
  else {
    form.set('client_id', c.id);
    form.set('client_secret', c.secret);
  }
  const testHosts = fetchOpts.testHosts ?? [];
  try {
    return await guardedFetch(url, { method: 'POST', headers, body: form.toString() }, {
      allowedHosts: [new URL(url).host, ...testHosts], privateHosts: testHosts, allowPrivate: fetchOpts.allowPrivate ?? false,
      deniedTargets: fetchOpts.deniedTargets ?? [], timeoutMs: 10_000, maxResponseBytes: 256 * 1024, maxRedirects: 0,
    });
  } catch (err) {
    const e = err as FetchError;
    throw new StepFailure(`OAUTH_${e.code ?? 'FETCH_FAILED'}`, `the ${what} request to ${new URL(url).host} failed: ${e.message}`, { retryable: e.retryable === true || e.code === 'FETCH_TIMEOUT' || e.code === 'FETCH_FAILED', cause: err });
  }
}

async function saveTokens(db: Db | Tx, ctx: EngineContext, workspaceId: string, pluginId: string, a: TokenAnswer, refreshedAt: Date | null): Promise<void> {
  const now = ctx.clock.now();
  const expiresAt = a.expiresInMs === null ? null : new Date(now.getTime() + a.expiresInMs);
  const sealed = encryptSecret(ctx.secretKey, JSON.stringify(a.tokens), tokenAad(workspaceId, pluginId));
  await db.raw(
    `INSERT INTO plugin_oauth_tokens (workspace_id, plugin_id, key_id, ciphertext, expires_at, scopes, connected_at, refreshed_at, refreshes)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (workspace_id, plugin_id) DO UPDATE SET key_id = EXCLUDED.key_id, ciphertext = EXCLUDED.ciphertext, expires_at = EXCLUDED.expires_at,
       scopes = CASE WHEN cardinality(EXCLUDED.scopes) > 0 THEN EXCLUDED.scopes ELSE plugin_oauth_tokens.scopes END,
       connected_at = CASE WHEN EXCLUDED.refreshed_at IS NULL THEN EXCLUDED.connected_at ELSE plugin_oauth_tokens.connected_at END,
       refreshed_at = EXCLUDED.refreshed_at,
       refreshes = CASE WHEN EXCLUDED.refreshed_at IS NULL THEN 0 ELSE plugin_oauth_tokens.refreshes + 1 END`,
    [workspaceId, pluginId, keyId(ctx.secretKey), sealed, expiresAt, a.scopes, now, refreshedAt, 0],
  );
}

interface TokenRow {
  key_id: string;
  ciphertext: string;
  expires_at: Date | null;
}

function openTokens(ctx: EngineContext, workspaceId: string, pluginId: string, row: TokenRow): Tokens {
  if (row.key_id !== keyId(ctx.secretKey)) throw new StepFailure('OAUTH_KEY_MISMATCH', `the OAuth tokens of plugin ${pluginId} were sealed with another key; connect again`);
  return JSON.parse(decryptSecret(ctx.secretKey, row.ciphertext, tokenAad(workspaceId, pluginId))) as Tokens;
}

const expiring = (ctx: EngineContext, row: TokenRow) => row.expires_at !== null && row.expires_at.getTime() - ctx.clock.now().getTime() < REFRESH_MARGIN_MS;

/**
 * Refreshes under the connection's row lock: whoever holds it refreshes; the others wait, then find a token that
 * is no longer `stale` (or no longer expiring) and use it. `stale` null: refresh only if it is expiring.
 */
async function refreshLocked(ctx: EngineContext, fetchOpts: OAuthFetchOptions, workspaceId: string, pluginId: string, stale: string | null): Promise<string> {
  return ctx.db.transaction(async (tx) => {
    const row = await tx('plugin_oauth_tokens').where({ workspace_id: workspaceId, plugin_id: pluginId }).forUpdate().first<TokenRow | undefined>('key_id', 'ciphertext', 'expires_at');
    if (!row) throw new StepFailure('OAUTH_NOT_CONNECTED', `plugin ${pluginId} is not connected in this workspace (connect it from the Plugins page)`);
    const tokens = openTokens(ctx, workspaceId, pluginId, row);
    const needed = stale === null ? expiring(ctx, row) : tokens.access_token === stale;
    if (!needed) return tokens.access_token;
    if (!tokens.refresh_token) throw new StepFailure('OAUTH_REFRESH_FAILED', `the OAuth connection of plugin ${pluginId} has no refresh token; connect again`);
    const { oauth2 } = await oauthPlugin(tx, workspaceId, pluginId);
    const c = await client(ctx, workspaceId, pluginId);
    const answer = await tokenRequest(oauth2, c, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, fetchOpts, 'refresh');
    await saveTokens(tx, ctx, workspaceId, pluginId, answer, ctx.clock.now());
    ctx.logger.info({ workspaceId, pluginId }, 'plugin OAuth token refreshed');
    return answer.tokens.access_token;
  });
}

/**
 * The access token a call of an `oauth2` plugin gets (undefined for other plugins), refreshed first if it expires
 * within a minute, with the refresh the sandbox calls after a 401.
 */
export async function accessFor(ctx: EngineContext, fetchOpts: OAuthFetchOptions, workspaceId: string, manifest: PluginManifest): Promise<CallAuth | undefined> {
  if (manifest.authMethod?.kind !== 'oauth2') return undefined;
  const pluginId = manifest.id;
  const row = await ctx.db('plugin_oauth_tokens').where({ workspace_id: workspaceId, plugin_id: pluginId }).first<TokenRow | undefined>('key_id', 'ciphertext', 'expires_at');
  if (!row) throw new StepFailure('OAUTH_NOT_CONNECTED', `plugin ${pluginId} is not connected in this workspace (connect it from the Plugins page)`);
  const accessToken = expiring(ctx, row) ? await refreshLocked(ctx, fetchOpts, workspaceId, pluginId, null) : openTokens(ctx, workspaceId, pluginId, row).access_token;
  return { accessToken, refresh: (stale) => refreshLocked(ctx, fetchOpts, workspaceId, pluginId, stale) };
}

/** What the credentials endpoints say about the connection (never a token). */
export async function oauthStatus(db: Db, workspaceId: string, pluginId: string): Promise<{ connected: boolean; expires_at: string | null; scopes: string[]; connected_at: string | null; refreshed_at: string | null }> {
  const row = await db('plugin_oauth_tokens').where({ workspace_id: workspaceId, plugin_id: pluginId })
    .first<{ expires_at: Date | null; scopes: string[]; connected_at: Date; refreshed_at: Date | null } | undefined>('expires_at', 'scopes', 'connected_at', 'refreshed_at');
  return {
    connected: !!row,
    expires_at: row?.expires_at?.toISOString() ?? null,
    scopes: row?.scopes ?? [],
    connected_at: row?.connected_at.toISOString() ?? null,
    refreshed_at: row?.refreshed_at?.toISOString() ?? null,
  };
}

/**
 * Disconnects: revokes the refresh token (else the access token) at the provider's revocation endpoint when the
 * manifest declares one (RFC 7009), then deletes the tokens. `revoked` says whether the provider confirmed it.
 */
export async function revokeOAuth(ctx: EngineContext, fetchOpts: OAuthFetchOptions, workspaceId: string, pluginId: string): Promise<{ revoked: boolean; connected: boolean }> {
  const install = await getInstall(ctx.db, workspaceId, pluginId);
  const manifest = install && (await getManifest(ctx.db, workspaceId, pluginId, install.currentVersion));
  const oauth2 = manifest?.authMethod?.kind === 'oauth2' ? manifest.authMethod.oauth2 : null;
  const row = await ctx.db('plugin_oauth_tokens').where({ workspace_id: workspaceId, plugin_id: pluginId }).first<TokenRow | undefined>('key_id', 'ciphertext', 'expires_at');
  let revoked = false;
  if (row && oauth2?.revokeUrl) {
    try {
      const tokens = openTokens(ctx, workspaceId, pluginId, row);
      const c = await client(ctx, workspaceId, pluginId);
      const token = tokens.refresh_token ?? tokens.access_token;
      const res = await postForm(oauth2.revokeUrl, oauth2, c, { token, token_type_hint: tokens.refresh_token ? 'refresh_token' : 'access_token' }, fetchOpts, 'revocation');
      revoked = res.status === 200;
      if (!revoked) ctx.logger.warn({ workspaceId, pluginId, status: res.status }, 'plugin OAuth revocation refused by the provider');
    } catch (err) {
      ctx.logger.warn({ workspaceId, pluginId, code: (err as { code?: string }).code }, 'plugin OAuth revocation failed');
    }
  }
  await ctx.db('plugin_oauth_tokens').where({ workspace_id: workspaceId, plugin_id: pluginId }).delete();
  return { revoked, connected: !!row };
}
