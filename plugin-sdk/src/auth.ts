import type { PluginAuthState, PluginHttp, PluginLog } from './context.ts';
import type { JsonSchema } from './schema.ts';

/**
 * How a plugin authenticates to its vendor: an API key, HTTP Basic, or OAuth2 authorization code (the engine
 * hosts the whole flow: the authorize redirect, the callback, encrypted tokens, refresh and revocation; the
 * plugin only ever sees `ctx.auth.accessToken`). `defineAuth` derives the credential fields a workspace stores
 * (the manifest's `auth` schema) and declares the method (`authMethod`) and its optional test-connection function.
 */

/**
 * The OAuth2 endpoints and options of an `oauth2` auth.
 *
 * @example
 * const o: OAuth2Settings = { authorizeUrl: 'https://app.hubspot.com/oauth/authorize', tokenUrl: 'https://api.hubapi.com/oauth/v1/token', scopes: ['crm.objects.contacts.write'] };
 */
export interface OAuth2Settings {
  /** Where the admin's browser is sent to grant access. */
  authorizeUrl: string;
  /** Where the engine exchanges the code and refreshes tokens (form-encoded POST). */
  tokenUrl: string;
  /** RFC 7009 revocation endpoint, called when the workspace deletes its credentials. */
  revokeUrl?: string;
  scopes: readonly string[];
  /** Send a PKCE S256 challenge (default true; set false for providers that refuse it). */
  pkce?: boolean;
  /** How the client authenticates at the token endpoint: `client_id`/`client_secret` in the body (default) or HTTP Basic. */
  clientAuth?: 'body' | 'basic';
  /** Separator of scopes in the authorize URL (default a space). */
  scopeSeparator?: string;
  /** More query parameters of the authorize URL, e.g. `{ access_type: 'offline' }`. */
  authorizeParams?: Readonly<Record<string, string>>;
}

/**
 * What a test-connection function is given: HTTP, this workspace's credentials and the access token (OAuth2).
 *
 * @example
 * test: async (ctx) => { const r = await ctx.http.fetch(url, { headers: { authorization: `Bearer ${ctx.auth.accessToken}` } }); return { account: String(r.status) }; }
 */
export interface AuthTestContext {
  http: PluginHttp;
  secrets: Readonly<Record<string, string | undefined>>;
  auth: PluginAuthState;
  log: PluginLog;
}

/**
 * What a test-connection function returns: optionally the account it reached, shown in the credentials form.
 *
 * @example
 * const r: AuthTestResult = { account: 'portal 12345' };
 */
export interface AuthTestResult {
  account?: string;
}

interface AuthCommon {
  /** More credential fields (JSON Schema properties, strings), e.g. `api_base_url` for tests, `region`. */
  fields?: Readonly<Record<string, JsonSchema>>;
  /** Calls a cheap vendor endpoint to prove the credentials work; throw a `PluginError` when they do not. */
  test?(ctx: AuthTestContext): Promise<AuthTestResult | void> | AuthTestResult | void;
}

/**
 * The definition given to {@link defineAuth}.
 *
 * @example
 * const def: AuthDefinition = { kind: 'api_key' };
 */
export type AuthDefinition =
  | (AuthCommon & { kind: 'api_key' })
  | (AuthCommon & { kind: 'basic' })
  | (AuthCommon & { kind: 'oauth2'; oauth2: OAuth2Settings });

/**
 * The method as written to the manifest (`authMethod`).
 *
 * @example
 * const m: AuthMethodManifest = { kind: 'api_key', test: true, oauth2: null };
 */
export interface AuthMethodManifest {
  kind: 'api_key' | 'basic' | 'oauth2';
  /** Whether the plugin has a test-connection function. */
  test: boolean;
  oauth2: {
    authorizeUrl: string;
    tokenUrl: string;
    revokeUrl: string | null;
    scopes: string[];
    pkce: boolean;
    clientAuth: 'body' | 'basic';
    scopeSeparator: string;
    authorizeParams: Record<string, string>;
  } | null;
}

/**
 * An auth after {@link defineAuth}: pass it as `definePlugin({ auth })`.
 *
 * @example
 * const auth: PluginAuth = defineAuth({ kind: 'basic' });
 */
export interface PluginAuth {
  readonly kind: 'auth';
  /** The credential fields a workspace stores (JSON Schema): the manifest's `auth`. */
  readonly schema: JsonSchema;
  readonly method: AuthMethodManifest;
  readonly test: AuthCommon['test'] | null;
}

const FIELDS: Record<AuthDefinition['kind'], Record<string, JsonSchema>> = {
  api_key: { api_key: { type: 'string', title: 'API key', minLength: 1 } },
  basic: { username: { type: 'string', title: 'Username', minLength: 1 }, password: { type: 'string', title: 'Password', minLength: 1 } },
  oauth2: { client_id: { type: 'string', title: 'OAuth client id', minLength: 1 }, client_secret: { type: 'string', title: 'OAuth client secret', minLength: 1 } },
};

const URL_RE = /^https?:\/\/[^\s/?#]+[^\s]*$/;

/**
 * Declares how the plugin authenticates. The fields a workspace stores follow from the kind: `api_key` →
 * `api_key`; `basic` → `username`, `password`; `oauth2` → `client_id`, `client_secret` (the workspace's own OAuth
 * app), plus `fields`. For OAuth2 the engine runs the authorization-code flow and hands the plugin
 * `ctx.auth.accessToken`, refreshed before it expires.
 *
 * @example
 * export const auth = defineAuth({
 *   kind: 'oauth2',
 *   oauth2: { authorizeUrl: 'https://app.hubspot.com/oauth/authorize', tokenUrl: 'https://api.hubapi.com/oauth/v1/token', scopes: ['crm.objects.contacts.read'] },
 *   test: async (ctx) => {
 *     const res = await ctx.http.fetch('https://api.hubapi.com/account-info/v3/details', { headers: { authorization: `Bearer ${ctx.auth.accessToken}` } });
 *     if (!res.ok) throw httpError('HUBSPOT', res.status, await res.text());
 *     return { account: String(((await res.json()) as { portalId: number }).portalId) };
 *   },
 * });
 */
export function defineAuth(def: AuthDefinition): PluginAuth {
  if (!(def.kind in FIELDS)) throw new TypeError(`auth kind must be api_key, basic or oauth2, not "${String(def.kind)}"`);
  if (def.test !== undefined && typeof def.test !== 'function') throw new TypeError('auth test must be a function (ctx) => …');
  const own = FIELDS[def.kind];
  for (const k of Object.keys(def.fields ?? {})) {
    if (k in own || k.startsWith('oauth_')) throw new TypeError(`auth field "${k}" is reserved for the ${def.kind} auth`);
  }
  let oauth2: AuthMethodManifest['oauth2'] = null;
  if (def.kind === 'oauth2') {
    const o = def.oauth2;
    for (const k of ['authorizeUrl', 'tokenUrl', 'revokeUrl'] as const) {
      if ((k !== 'revokeUrl' || o[k] !== undefined) && !URL_RE.test(String(o[k]))) throw new TypeError(`oauth2.${k} must be an http(s) URL`);
    }
    if (!Array.isArray(o.scopes)) throw new TypeError('oauth2.scopes must be a list of scope names');
    oauth2 = {
      authorizeUrl: o.authorizeUrl,
      tokenUrl: o.tokenUrl,
      revokeUrl: o.revokeUrl ?? null,
      scopes: [...o.scopes],
      pkce: o.pkce ?? true,
      clientAuth: o.clientAuth ?? 'body',
      scopeSeparator: o.scopeSeparator ?? ' ',
      authorizeParams: { ...(o.authorizeParams ?? {}) },
    };
  }
  const properties = { ...own, ...(def.fields ?? {}) };
  return Object.freeze({
    kind: 'auth' as const,
    schema: { type: 'object', properties, required: Object.keys(own) } as JsonSchema,
    method: { kind: def.kind, test: typeof def.test === 'function', oauth2 },
    test: def.test ?? null,
  });
}
