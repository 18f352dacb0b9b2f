import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { edge, flow, node } from '../flow-doc.ts';

/**
 * Hostile: Liquid that would render for seconds. One step's templates share a budget, a run's steps share one
 * until the run waits, and the executor yields between steps, so neither a `/test` call nor a real event holds
 * the event loop (issue 8, item 5: 30 nested 1000×2500 loops blocked it 14.8 s per call before).
 */
const NESTED = '{% for i in (1..1000) %}{% for j in (1..2500) %}{% endfor %}{% endfor %}';
const thirtyLoops = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`p${i}`, NESTED]));

/** The longest the event loop stalled while `work` ran, in milliseconds. */
async function maxStallMs(work: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  try {
    await work();
  } finally {
    h.disable();
  }
  return h.max / 1e6;
}

describe('hostile: Liquid render budget', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ clock: 'manual' }); });
  afterAll(async () => h?.close());

  it('a step with 30 nested 1000×2500 loops fails with the budget error on /test and on a real event, without stalling the loop', async () => {
    const flowId = await createAndPublish(h, flow('Heavy', [
      node('start', 'trigger.event', { event: 'heavy.go' }),
      node('props', 'action.set_property', { properties: thirtyLoops }, 100),
    ], [edge('start', 'props')]));

    let dry!: { status: number; body: any };
    const dryStall = await maxStallMs(async () => {
      dry = await h.call('POST', `/v1/flows/${flowId}/test`, { contact: { email: 'dry@example.com' }, event: { type: 'heavy.go' } });
    });
    expect(dry.status).toBe(200);
    expect(dry.body.status).toBe('failed');
    const failed = dry.body.steps.find((s: any) => s.node_id === 'props');
    expect(failed.status).toBe('failed');
    expect(failed.error.message).toMatch(/template rendering exceeded its budget/);

    const liveStall = await maxStallMs(async () => {
      expect((await h.call('POST', '/v1/events', { type: 'heavy.go', contact: { email: 'live@example.com' } })).status).toBe(202);
      await h.engine.drain();
    });
    const run = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items[0];
    expect(run.status).toBe('failed');
    const detail = (await h.call('GET', `/v1/runs/${run.id}`)).body;
    expect(detail.steps.find((s: any) => s.node_id === 'props').error.message).toMatch(/template rendering exceeded its budget: the templates of one step/);
    const contact = (await h.call('GET', '/v1/contacts?email=live%40example.com')).body.items[0];
    expect(contact.properties).toEqual({});
    // The acceptance bound is seconds; the budget keeps one step to ~100 ms at most.
    expect(Math.max(dryStall, liveStall)).toBeLessThan(1_000);
  });

  it('a PT0S delay loop does not multiply the budget: the run fails on its run budget, not after 500 steps', async () => {
    // Each pass renders a 20,000-iteration loop: inside one step's budget and one slice, so only the run's budget can
    // stop the loop.
    const flowId = await createAndPublish(h, flow('Loop', [
      node('start', 'trigger.event', { event: 'loop.go' }),
      node('props', 'action.set_property', { properties: { n: '{% for i in (1..20000) %}{% endfor %}{{ contact.properties.n | default: 0 | plus: 1 }}' } }, 100),
      node('again', 'delay', { mode: 'duration', duration: 'PT0S' }, 200),
    ], [edge('start', 'props'), edge('props', 'again'), edge('again', 'props')]));

    const stall = await maxStallMs(async () => {
      expect((await h.call('POST', '/v1/events', { type: 'loop.go', contact: { email: 'loop@example.com' } })).status).toBe(202);
      await h.engine.drain();
    });
    const run = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items[0];
    expect(run.status).toBe('failed');
    const detail = (await h.call('GET', `/v1/runs/${run.id}`)).body;
    const failed = detail.steps.filter((s: any) => s.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0].error.message).toMatch(/template rendering exceeded its budget/);
    // Without the run budget the loop went round until the 500-step guard failed the run (no failed step).
    expect(detail.steps.filter((s: any) => s.node_id === 'props' && s.status === 'completed').length).toBeLessThan(250);
    expect(stall).toBeLessThan(1_000);
  });
});
