import { defineAction, PluginError } from '@cairn/plugin-sdk';
import { apiBase, hubspotError, hubspotHeaders } from '../auth.ts';

/**
 * Creates or updates a HubSpot contact in one request with the CRM v3 batch upsert
 * (https://developers.hubspot.com/docs/api/crm/contacts, "Create or update a batch of contacts by unique
 * property values"): `POST /crm/v3/objects/contacts/batch/upsert` with `{ inputs: [{ idProperty: "email", id,
 * properties }] }`. HubSpot matches by email atomically, so two runs upserting the same new email both succeed
 * (an update-then-create pair races: the loser's create gets 409). Bearer auth with the OAuth2 access token.
 * Errors are `{ status: "error", message, category, correlationId }`; a batch with a failed input answers
 * 207 with `errors`.
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
    const headers = hubspotHeaders(ctx.auth.accessToken);
    const email = props.email ?? ctx.contact.email;
    if (!email) throw new PluginError('HUBSPOT_NO_EMAIL', 'the contact has no email and no "email" was given');
    const properties = { ...(props.properties ?? {}), email };
    const res = await ctx.http.fetch(`${apiBase(ctx.secrets)}/crm/v3/objects/contacts/batch/upsert`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ inputs: [{ idProperty: 'email', id: email, properties }] }),
    });
    if (res.status !== 200 && res.status !== 201) throw await hubspotError(res);
    const out = (await res.json()) as { results?: { id: string; new?: boolean }[]; errors?: { category?: string; message?: string }[] };
    const [first] = out.results ?? [];
    if (!first) {
      const e = out.errors?.[0];
      throw new PluginError(`HUBSPOT_${e?.category ?? 'UPSERT_FAILED'}`, `HubSpot did not upsert the contact: ${e?.message ?? 'no result'}`);
    }
    return { id: String(first.id), created: first.new === true };
  },
});
