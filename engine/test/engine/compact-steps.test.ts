import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, leadRoutingFlow, seedEnterprisePool, startHarness, type Harness } from '../engine-harness.ts';

const node = (id: string, type: string, config: Record<string, unknown>, y = 0) => ({ id, type, position: { x: 0, y }, config });
const edge = (source: string, target: string) => ({ id: `${source}-${target}`, source, target });

/**
 * Lean run history (migration 0250, docs/operations.md §Storage and sizing): the steps of an ended run are ONE compact
 * record on its row, and its vars leave out the outputs that record holds. GET /v1/runs/{id} answers exactly what it
 * answered when every step was a run_steps row and vars held every output: compared here byte for byte against the
 * same run turned back into that form.
 */
describe('compact step records of ended runs (test clock starts 2026-03-02T09:00Z)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    await seedEnterprisePool(h);
  });
  afterAll(async () => h?.close());

  const one = async (sql: string, bindings: unknown[]) => (await h.t.db.raw(sql, bindings as never)).rows[0];
  const rowsOf = async (runId: string) => Number((await one(`SELECT count(*) AS n FROM run_steps WHERE run_id = ?`, [runId])).n);
  const runOf = async (email: string, flowId: string) => (await one(
    `SELECT r.id, r.vars, r.steps FROM runs r JOIN contacts c ON c.id = r.contact_id WHERE c.email = ? AND r.flow_id = ?`, [email, flowId],
  )) as { id: string; vars: Record<string, unknown>; steps: unknown[] | null };
  const get = async (runId: string) => {
    const r = await h.call('GET', `/v1/runs/${runId}`);
    expect(r.status).toBe(200);
    return r.body as { steps: { node_id: string; status: string; output: unknown; started_at: string }[]; vars: Record<string, unknown>; status: string };
  };
  /** The run as it was stored before migration 0250: a run_steps row per step, every output in vars. */
  const asRows = async (runId: string) => {
    await h.t.db.raw(
      `INSERT INTO run_steps (workspace_id, run_id, node_id, status, attempt, started_at, finished_at, output, error, logs)
       SELECT workspace_id, run_id, node_id, status, attempt, started_at, finished_at, output, error, logs
         FROM run_step_history WHERE run_id = ? AND ord < 0 ORDER BY ord`, [runId]);
    await h.t.db.raw(`UPDATE runs SET vars = run_vars(vars, steps), steps = NULL WHERE id = ?`, [runId]);
  };

  it('a W1 run that ended in its first batch: no run_steps rows, one record, vars without the outputs, the same answer', async () => {
    const flowId = await createAndPublish(h, leadRoutingFlow());
    const lead = (email: string, country: string) => ({ type: 'lead.created', contact: { email, properties: { country, employees: 500 } } });
    expect((await h.call('POST', '/v1/events/batch', { events: [lead('big@example.com', 'US'), lead('small@example.com', 'FR')] })).status).toBe(202);
    await h.engine.drain();

    for (const [email, action] of [['big@example.com', 'assign'], ['small@example.com', 'nurture']] as const) {
      const run = await runOf(email, flowId);
      expect(await rowsOf(run.id)).toBe(0);
      expect(run.steps).toHaveLength(3);
      expect(run.vars).toEqual({}); // the action's output lives once, in its step

      const compact = await get(run.id);
      expect(compact.status).toBe('completed');
      expect(compact.steps.map((s) => [s.node_id, s.status])).toEqual([['start', 'completed'], ['big', 'completed'], [action, 'completed']]);
      expect(compact.vars[action]).toEqual(compact.steps[2]!.output);
      expect(compact.vars[action]).not.toBeNull();

      await asRows(run.id);
      expect(await rowsOf(run.id)).toBe(3);
      expect(JSON.stringify(await get(run.id))).toBe(JSON.stringify(compact));
    }
  });

  it('a run that waited keeps rows while open, folds them into its record when it ends, and answers the same', async () => {
    const flowId = await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Waits', settings: { reentry: 'after_exit', goal: null, exit_on: [] },
      nodes: [
        node('start', 'trigger.event', { event: 'wait.go' }),
        node('first', 'action.tag', { add: ['first'] }, 100),
        node('pause', 'delay', { mode: 'duration', duration: 'PT1H' }, 200),
        node('second', 'action.tag', { add: ['second'] }, 300),
      ],
      edges: [edge('start', 'first'), edge('first', 'pause'), edge('pause', 'second')],
    });
    expect((await h.call('POST', '/v1/events', { type: 'wait.go', contact: { email: 'waiter@example.com' } })).status).toBe(202);
    await h.engine.drain();
    const waiting = await runOf('waiter@example.com', flowId);
    expect(await rowsOf(waiting.id)).toBe(2);
    expect(waiting.steps).toBeNull();
    const open = await get(waiting.id);
    expect(open.status).toBe('waiting');
    expect(open.steps.map((s) => s.node_id)).toEqual(['start', 'first']);

    await h.call('POST', '/v1/_test/clock/advance', { by: 'PT2H' });
    const ended = await runOf('waiter@example.com', flowId);
    expect(await rowsOf(ended.id)).toBe(0);
    expect(ended.steps).toHaveLength(4);
    // The output recorded before the wait stays in vars (it came from an earlier batch); the last one is in its step only.
    expect(Object.keys(ended.vars)).toEqual(['first']);
    const compact = await get(ended.id);
    expect(compact.status).toBe('completed');
    expect(compact.steps.map((s) => s.node_id)).toEqual(['start', 'first', 'pause', 'second']);
    expect(Object.keys(compact.vars).sort()).toEqual(['first', 'second']);
    expect(compact.steps.slice(0, 2)).toEqual(open.steps);

    await asRows(ended.id);
    expect(JSON.stringify(await get(ended.id))).toBe(JSON.stringify(compact));
  });

  it('step-detail retention prunes compact records too; vars answer the same after', async () => {
    const flowId = await createAndPublish(h, { ...leadRoutingFlow(), name: 'Routing again' });
    expect((await h.call('POST', '/v1/events', { type: 'lead.created', contact: { email: 'old@example.com', properties: { country: 'US', employees: 900 } } })).status).toBe(202);
    await h.engine.drain();
    const run = await runOf('old@example.com', flowId);
    expect(run.steps).toHaveLength(3);
    const before = await get(run.id);

    expect((await h.call('PUT', '/v1/settings/retention', { run_steps_days: 30 })).status).toBe(200);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P31D' });
    const pruned = await runOf('old@example.com', flowId);
    expect(pruned.steps).toBeNull();
    expect(Number((await one(`SELECT count(*) AS n FROM run_step_history WHERE workspace_id = ?`, [h.workspaceId])).n)).toBe(0);
    const after = await get(run.id);
    expect(after.steps).toEqual([]);
    expect(after.vars).toEqual(before.vars);
    expect(after.status).toBe('completed');
  });

  it('a failed run retried goes on with its vars in full, and its record grows by the steps after the retry', async () => {
    const flowId = await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Retried', settings: { reentry: 'after_exit', goal: null, exit_on: [] },
      nodes: [
        node('start', 'trigger.event', { event: 'retry.go' }),
        node('tag', 'action.tag', { add: ['seen'] }, 100),
        node('assign', 'action.assign_owner', { pool: 'later', strategy: 'round_robin' }, 200),
      ],
      edges: [edge('start', 'tag'), edge('tag', 'assign')],
    });
    expect((await h.call('POST', '/v1/events', { type: 'retry.go', contact: { email: 'retry@example.com' } })).status).toBe(202);
    await h.engine.drain();
    const failed = await runOf('retry@example.com', flowId);
    expect(failed.steps).toHaveLength(3);
    expect(failed.vars).toEqual({});
    const before = await get(failed.id);
    expect(before.status).toBe('failed');
    expect(Object.keys(before.vars)).toEqual(['tag']);

    const owners = (await h.call('GET', '/v1/owners')).body.items as { id: string }[];
    expect((await h.call('POST', '/v1/routing-pools', { key: 'later', owner_ids: [owners[0]!.id] })).status).toBe(201);
    expect((await h.call('POST', `/v1/runs/${failed.id}/retry`, {})).status).toBe(200);
    await h.engine.drain();
    const done = await get(failed.id);
    expect(done.status).toBe('completed');
    expect(done.steps.map((s) => [s.node_id, s.status])).toEqual([['start', 'completed'], ['tag', 'completed'], ['assign', 'failed'], ['assign', 'completed']]);
    expect(done.steps.slice(0, 3)).toEqual(before.steps);
    expect(done.vars.tag).toEqual(before.vars.tag);
    expect(done.vars.assign).toEqual(done.steps[3]!.output);
    expect(await rowsOf(failed.id)).toBe(0);
  });

  it('erasure scrubs outputs and errors from compact records, and no output is answered as a var', async () => {
    const flowId = await createAndPublish(h, { ...leadRoutingFlow(), name: 'Routing to erase' });
    expect((await h.call('POST', '/v1/events', { type: 'lead.created', contact: { email: 'gone@example.com', properties: { country: 'FR', employees: 3 } } })).status).toBe(202);
    await h.engine.drain();
    const run = await runOf('gone@example.com', flowId);
    const contactId = (await one(`SELECT contact_id FROM runs WHERE id = ?`, [run.id])).contact_id as string;
    const before = await get(run.id);
    expect(before.vars.nurture).toEqual({ tags: ['nurture'] });
    expect((await h.call('DELETE', `/v1/contacts/${contactId}`)).status).toBe(204);
    const after = await get(run.id);
    expect(after.vars).toEqual({});
    expect(after.steps.map((s) => [s.node_id, s.status, s.output])).toEqual([['start', 'completed', null], ['big', 'completed', null], ['nurture', 'completed', null]]);
    expect(after.steps.map((s) => s.started_at)).toEqual(before.steps.map((s) => s.started_at));
  });
});
