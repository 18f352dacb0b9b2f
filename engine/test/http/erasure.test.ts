import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/db/ids.ts';
import { bearer, createHarness, json, type Harness } from './harness.ts';

const EMAIL = 'erin.secret@example.org';
const EXTERNAL = 'ext-erin-777';
const NAME = 'Erinys Quarterfield';
const VALUE = 'prop-value-zz91';
const NEEDLES = [EMAIL, EXTERNAL, NAME, VALUE, 'erin.secret'];

/** Every (table, column) of the public schema whose type can hold text: text, varchar, jsonb, json, text[]. */
async function textColumns(h: Harness): Promise<{ table: string; column: string }[]> {
  const res = await h.t.db.raw(`
    SELECT c.table_name AS table, c.column_name AS column FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
    WHERE c.table_schema = 'public'
      AND (c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'character') OR (c.data_type = 'ARRAY' AND c.udt_name IN ('_text', '_varchar')))`);
  return res.rows;
}

async function findNeedles(h: Harness): Promise<string[]> {
  const hits: string[] = [];
  for (const { table, column } of await textColumns(h)) {
    for (const needle of NEEDLES) {
      const res = await h.t.db.raw(`SELECT count(*)::int AS n FROM "${table}" WHERE "${column}"::text ILIKE ?`, [`%${needle}%`]);
      if (res.rows[0].n > 0) hits.push(`${table}.${column} contains ${needle}`);
    }
  }
  return hits;
}

describe('erasure (DELETE /v1/contacts/{id})', () => {
  let h: Harness;
  let contactId: string;
  let otherId: string;
  let runId: string;
  beforeAll(async () => {
    h = await createHarness();
    const key = bearer(h.ws.a.keys.editor);
    const created = await h.app.inject({ method: 'POST', url: '/v1/contacts', headers: { ...key, 'idempotency-key': `create-${EMAIL}` }, payload: { email: EMAIL, external_id: EXTERNAL, properties: { name: NAME, note: VALUE, nested: { deep: [VALUE] } }, timezone: 'Europe/Oslo' } });
    contactId = json(created).id;
    await h.app.inject({ method: 'PATCH', url: `/v1/contacts/${contactId}`, headers: key, payload: { tags: [`tag-${VALUE}`], lifecycle_stage: 'lead' } });
    const batch = await h.app.inject({ method: 'POST', url: '/v1/events/batch', headers: key, payload: { events: [
      { type: 'signup', contact: { email: EMAIL }, properties: { full_name: NAME }, idempotency_key: `signup-${EMAIL}` },
      { type: 'page.view', contact: { external_id: EXTERNAL }, properties: { url: `/u/${VALUE}` } },
      { type: 'page.view', contact: { external_id: EXTERNAL } },
      { type: 'page.view', contact: { email: 'someone.else@example.org' }, properties: { kept: 'yes' } },
    ] } });
    expect(batch.statusCode).toBe(202);
    otherId = json(batch).items[3].contact_id;
    const flowId = newId();
    runId = newId();
    await h.t.db('flows').insert({ id: flowId, workspace_id: h.ws.a.id, name: 'Nurture', draft: {} });
    await h.t.db('runs').insert({ id: runId, workspace_id: h.ws.a.id, flow_id: flowId, version: 1, contact_id: contactId, status: 'waiting', state: 'sleeping',
      node_id: 'wait', exclusive: true, wake_at: new Date(Date.now() + 86400_000), vars: JSON.stringify({ greeting: `Hi ${NAME}` }),
      started_at: new Date(), updated_at: new Date() });
    await h.t.db('run_steps').insert({ workspace_id: h.ws.a.id, run_id: runId, node_id: 'email', status: 'failed', started_at: new Date(), finished_at: new Date(),
      output: JSON.stringify({ to: EMAIL }), error: JSON.stringify({ message: `bounce for ${EMAIL}` }) });
    await h.t.db('tasks').insert({ id: newId(), workspace_id: h.ws.a.id, contact_id: contactId, title: `Call ${NAME}`, body: `at ${EMAIL}` });
  });
  afterAll(async () => { await h.close(); });

  it('before erasure the personal data is present (the scan can find it)', async () => {
    const hits = await findNeedles(h);
    expect(hits).toEqual(expect.arrayContaining(['contacts.email contains ' + EMAIL, 'events.properties contains ' + NAME, 'runs.vars contains ' + NAME, 'idempotency_requests.response contains ' + EMAIL]));
  });

  it('after DELETE no email, name or property value of the contact remains in any text/jsonb/text[] column of any public table; event counts by type are unchanged; open runs are cancelled', async () => {
    const countsBefore = await h.t.db('events').where({ workspace_id: h.ws.a.id }).groupBy('type').select('type').count<{ type: string; count: number }[]>('* as count').orderBy('type');
    const res = await h.app.inject({ method: 'DELETE', url: `/v1/contacts/${contactId}`, headers: bearer(h.ws.a.keys.editor) });
    expect(res.statusCode).toBe(204);

    expect(await findNeedles(h)).toEqual([]);
    const countsAfter = await h.t.db('events').where({ workspace_id: h.ws.a.id }).groupBy('type').select('type').count<{ type: string; count: number }[]>('* as count').orderBy('type');
    expect(countsAfter).toEqual(countsBefore);

    const run = await h.t.db('runs').where({ id: runId }).first();
    expect(run).toMatchObject({ status: 'cancelled', state: 'done', wake_at: null, vars: {} });
    expect(run.finished_at).not.toBeNull();
    const cancelled = await h.t.db('flow_stats').where({ flow_id: run.flow_id }).sum<{ n: number }[]>('cancelled as n');
    expect(Number(cancelled[0]!.n)).toBe(1);
    const other = await h.t.db('events').where({ contact_id: otherId }).first();
    expect(other.properties).toEqual({ kept: 'yes' });
  });

  it('the erased contact is gone from the API: GET/PATCH/DELETE 404, lists skip it, a replayed Idempotency-Key does not return it', async () => {
    const key = bearer(h.ws.a.keys.editor);
    expect((await h.app.inject({ method: 'GET', url: `/v1/contacts/${contactId}`, headers: key })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'PATCH', url: `/v1/contacts/${contactId}`, headers: key, payload: { tags: [] } })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'DELETE', url: `/v1/contacts/${contactId}`, headers: key })).statusCode).toBe(404);
    const list = json(await h.app.inject({ method: 'GET', url: '/v1/contacts', headers: key }));
    expect(list.items.map((c: { id: string }) => c.id)).not.toContain(contactId);
    const again = await h.app.inject({ method: 'POST', url: '/v1/contacts', headers: { ...key, 'idempotency-key': `create-${EMAIL}` }, payload: { email: EMAIL, external_id: EXTERNAL, properties: { name: NAME, note: VALUE, nested: { deep: [VALUE] } }, timezone: 'Europe/Oslo' } });
    expect(again.statusCode).toBe(201);
    expect(json(again).id).not.toBe(contactId);
  });
});
