import { defineAuth, PluginError, retryAfterMs } from '@cairn/plugin-sdk';

/** The API origin: api.hubapi.com, or the `api_base_url` credential (tests against a local stand-in). */
export const apiBase = (secrets: Readonly<Record<string, string | undefined>>) => secrets.api_base_url ?? 'https://api.hubapi.com';

/** The bearer headers of a HubSpot call with the OAuth2 access token. */
export function hubspotHeaders(token: string | undefined): Record<string, string> {
  if (!token) throw new PluginError('HUBSPOT_NOT_CONNECTED', 'connect HubSpot first (Plugins page: Connect with HubSpot)');
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
}

/** A HubSpot error answer (`{ status: "error", message, category }`) as a PluginError; 429 and 5xx retryable. */
export async function hubspotError(res: { status: number; headers: Readonly<Record<string, string>>; json(): Promise<unknown> }): Promise<PluginError> {
  const body = (await res.json().catch(() => ({}))) as { message?: string; category?: string };
  return new PluginError(`HUBSPOT_${body.category ?? `HTTP_${res.status}`}`, `HubSpot answered HTTP ${res.status}: ${body.message ?? ''}`, { retryable: res.status === 429 || res.status >= 500, retryAfterMs: retryAfterMs(res.headers) });
}

/**
 * OAuth2 with a HubSpot public app (https://developers.hubspot.com/docs/api/oauth-quickstart-guide): the workspace
 * stores its app's client id and secret; the engine runs the authorization-code flow (HubSpot takes no PKCE and
 * has no RFC 7009 revocation endpoint: deleting the credentials forgets the tokens, uninstalling the app in HubSpot
 * revokes them). Test connection reads the account's portal id.
 */
export const hubspotAuth = defineAuth({
  kind: 'oauth2',
  oauth2: {
    authorizeUrl: 'https://app.hubspot.com/oauth/authorize',
    tokenUrl: 'https://api.hubapi.com/oauth/v1/token',
    scopes: ['crm.objects.contacts.read', 'crm.objects.contacts.write'],
    pkce: false,
  },
  fields: { api_base_url: { type: 'string', title: 'API base URL (testing only)', pattern: '^https?://' } },
  test: async (ctx) => {
    const res = await ctx.http.fetch(`${apiBase(ctx.secrets)}/account-info/v3/details`, { headers: hubspotHeaders(ctx.auth.accessToken) });
    if (!res.ok) throw await hubspotError(res);
    const body = (await res.json()) as { portalId?: number };
    return { account: `HubSpot portal ${body.portalId ?? '?'}` };
  },
});
