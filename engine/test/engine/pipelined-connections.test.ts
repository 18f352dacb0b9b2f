import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../engine-harness.ts';
import { edge, flow as flowDoc, node } from '../flow-doc.ts';

/**
 * Ingestion and the executor's batches run on pipelined connections of their own (db/index.ts pipelinedConnection):
 * they are used, named, and closed when the engine and its app stop, so none outlives the engine.
 */
describe('pipelined connections of ingestion and the executor', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ clock: 'manual' }); });
  afterAll(async () => h?.close());

  const connections = async () => {
    const { rows } = await h.t.db.raw(
      `SELECT application_name AS app, count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('cairn-ingest', 'cairn-executor') GROUP BY 1 ORDER BY 1`,
    );
    return Object.fromEntries((rows as { app: string; n: number }[]).map((r) => [r.app, r.n]));
  };

  it('a single event goes through both, and stopping the engine and app closes them', async () => {
    const flow = await h.call('POST', '/v1/flows', flowDoc('Tag on ping',
      [node('start', 'trigger.event', { event: 'pipe.ping' }), node('tag', 'action.tag', { add: ['pinged'] }, 100)], [edge('start', 'tag')]));
    expect(flow.status).toBe(201);
    expect((await h.call('POST', `/v1/flows/${flow.body.id}/publish`, {})).status).toBe(200);
    const posted = await h.call('POST', '/v1/events', { type: 'pipe.ping', contact: { email: 'pipe@example.com' } });
    expect(posted.status).toBe(202);
    await h.engine.drain();
    const contact = await h.call('GET', `/v1/contacts/${posted.body.contact_id}`);
    expect(contact.body.tags).toEqual(['pinged']);
    const open = await connections();
    expect(open['cairn-ingest']).toBe(1);
    expect(open['cairn-executor']).toBeGreaterThanOrEqual(1);
    await h.engine.stop();
    await h.app.close();
    expect(await connections()).toEqual({});
  });
});
