import { definePollingTrigger } from '@cairn/plugin-sdk';
import { apiBase, hubspotError, hubspotHeaders } from '../auth.ts';

interface Found {
  id: string;
  properties: { email?: string | null; firstname?: string | null; lastname?: string | null; createdate?: string };
}

/**
 * New HubSpot contacts, polled with the CRM search API (https://developers.hubspot.com/docs/api/crm/search):
 * `POST /crm/v3/objects/contacts/search`, contacts whose `createdate` is at or after the cursor (epoch ms), oldest
 * first, 100 at a time. The first poll of a flow only sets the cursor to the newest existing contact: a flow starts
 * on contacts created after it was published, not on the whole CRM. `GTE` rather than `GT` keeps contacts created
 * in the same millisecond as the cursor; the engine drops the ids it has already seen. Contacts without an email
 * are skipped (a Cairn contact needs one here).
 */
export const newContact = definePollingTrigger({
  key: 'new_contact',
  title: 'New contact in HubSpot',
  description: 'Starts the flow for each contact created in HubSpot (polled every 5 minutes)',
  intervalSeconds: 300,
  poll: async (ctx, cursor) => {
    const search = async (body: unknown) => {
      const res = await ctx.http.fetch(`${apiBase(ctx.secrets)}/crm/v3/objects/contacts/search`, { method: 'POST', headers: hubspotHeaders(ctx.auth.accessToken), body: JSON.stringify(body) });
      if (!res.ok) throw await hubspotError(res);
      return ((await res.json()) as { results?: Found[] }).results ?? [];
    };
    const properties = ['email', 'firstname', 'lastname', 'createdate'];
    if (typeof cursor !== 'string') {
      const [newest] = await search({ sorts: [{ propertyName: 'createdate', direction: 'DESCENDING' }], properties, limit: 1 });
      return { items: [], cursor: newest?.properties.createdate ? String(Date.parse(newest.properties.createdate)) : '0' };
    }
    const found = await search({
      filterGroups: [{ filters: [{ propertyName: 'createdate', operator: 'GTE', value: cursor }] }],
      sorts: [{ propertyName: 'createdate', direction: 'ASCENDING' }],
      properties,
      limit: 100,
    });
    const last = found.at(-1)?.properties.createdate;
    return {
      items: found.filter((c) => c.properties.email).map((c) => ({
        id: c.id,
        type: 'hubspot.contact.created',
        contact: { email: c.properties.email! },
        properties: { hubspot_id: c.id, firstname: c.properties.firstname ?? null, lastname: c.properties.lastname ?? null },
        ...(c.properties.createdate ? { occurred_at: c.properties.createdate } : {}),
      })),
      cursor: last ? String(Date.parse(last)) : cursor,
    };
  },
});
