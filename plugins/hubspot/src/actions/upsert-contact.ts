import { defineAction, PluginError } from '@cairn/plugin-sdk';

/**
 * Creates or updates a HubSpot contact with the CRM v3 objects API
 * (https://developers.hubspot.com/docs/api/crm/contacts): first `PATCH /crm/v3/objects/contacts/{email}?idProperty=email`
 * (update by email), and on 404 `POST /crm/v3/objects/contacts` (create). Bearer auth with a private app
 * token. Errors are `{ status: "error", message, category, correlationId }`.
 */
export const upsertContact = defineAction({
  key: 'upsert_contact',
  title: 'Create or update a contact',
  description: 'Creates the contact in HubSpot, or updates it when one with the same email exists',
  props: {
    type: 'object',
    properties: {
      email: { type: 'string', title: 'Email', description: "Defaults to the contact's email" },
      properties: {
        type: 'object',
        title: 'HubSpot properties',
        description: 'Internal property names → values, e.g. { "firstname": "Ana", "lifecyclestage": "lead" }',
        additionalProperties: { type: 'string' },
      },
    },
    additionalProperties: false,
  },
  output: { type: 'object', properties: { id: { type: 'string' }, created: { type: 'boolean' } } },
  run: async (ctx, props) => {
    const token = ctx.secrets.access_token;
    if (!token) throw new PluginError('HUBSPOT_NOT_CONFIGURED', 'set the access_token credential (a private app token)');
    const email = props.email ?? ctx.contact.email;
    if (!email) throw new PluginError('HUBSPOT_NO_EMAIL', 'the contact has no email and no "email" was given');
    const base = ctx.secrets.api_base_url ?? 'https://api.hubapi.com';
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const properties = { ...(props.properties ?? {}), email };
    const fail = async (res: { status: number; json(): Promise<unknown> }) => {
      const body = (await res.json().catch(() => ({}))) as { message?: string; category?: string };
      return new PluginError(`HUBSPOT_${body.category ?? `HTTP_${res.status}`}`, `HubSpot answered HTTP ${res.status}: ${body.message ?? ''}`, { retryable: res.status === 429 || res.status >= 500 });
    };
    const update = await ctx.http.fetch(`${base}/crm/v3/objects/contacts/${encodeURIComponent(email)}?idProperty=email`, { method: 'PATCH', headers, body: JSON.stringify({ properties }) });
    if (update.status === 200) return { id: String(((await update.json()) as { id: string }).id), created: false };
    if (update.status !== 404) throw await fail(update);
    const create = await ctx.http.fetch(`${base}/crm/v3/objects/contacts`, { method: 'POST', headers, body: JSON.stringify({ properties }) });
    if (create.status === 201) return { id: String(((await create.json()) as { id: string }).id), created: true };
    throw await fail(create);
  },
});
