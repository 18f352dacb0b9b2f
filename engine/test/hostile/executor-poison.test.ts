import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { startReceiver } from '../receiver.ts';
import { edge, flow, node } from '../flow-doc.ts';

/**
 * Hostile: one contact's data or one receiver's answer must not fail the batch it shares with other contacts
 * (issue 8, item 1). Before, the executor ran up to 1,000 contacts in one transaction and one job; one throw
 * failed the job, which retried 25 times while every run in it stayed active and external calls were repeated.
 */
/** Before the fix these batches retried with backoff and never settled: a bounded drain turns that into a failure. */
const DRAIN_MS = 30_000;

describe('hostile: a poison contact fails alone', () => {
  let h: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  const runsOf = async (flowId: string) => {
    const { rows } = await h.t.db.raw(
      `SELECT c.email, r.id, r.status, r.error FROM runs r JOIN contacts c ON c.id = r.contact_id WHERE r.workspace_id = ? AND r.flow_id = ?`,
      [h.workspaceId, flowId],
    );
    return rows as { email: string; id: string; status: string; error: { code: string; message: string; node_id: string } | null }[];
  };
  const stepsOf = async (runId: string) => (await h.call('GET', `/v1/runs/${runId}`)).body.steps as { node_id: string; status: string; error: { code: string; message: string } | null }[];
  const calls = (path: string) => {
    const byEmail = new Map<string, number>();
    for (const r of receiver.received.filter((x) => x.url === path)) {
      const email = JSON.parse(r.body).contact.email as string;
      byEmail.set(email, (byEmail.get(email) ?? 0) + 1);
    }
    return byEmail;
  };

  it('a batch of 1,000 contacts with one poisoned: 999 runs complete, the poisoned one fails alone with its reason, the receiver sees each other call exactly once', async () => {
    const flowId = await createAndPublish(h, flow('Renewal', [
      node('start', 'trigger.event', { event: 'renewal.check' }),
      node('wait_renewal', 'delay', { mode: 'date_property', property: 'renewal_date', offset: '-P30D' }, 100),
      node('notify', 'action.webhook', { url: `${receiver.url}/renewal` }, 200),
    ], [edge('start', 'wait_renewal'), edge('wait_renewal', 'notify')]));
    // 999 renewals already past (the delay does not wait) and one renewal_date at luxon's last millisecond (8.64e15).
    const events = Array.from({ length: 1000 }, (_, i) => ({
      type: 'renewal.check',
      contact: { email: `r${i}@example.com`, properties: { renewal_date: i === 500 ? 8.64e15 : '2026-01-15' } },
    }));
    expect((await h.call('POST', '/v1/events/batch', { events })).status).toBe(202);
    await h.engine.drain(DRAIN_MS);

    const runs = await runsOf(flowId);
    expect(runs).toHaveLength(1000);
    const poisoned = runs.find((r) => r.email === 'r500@example.com')!;
    expect(runs.filter((r) => r.status === 'completed')).toHaveLength(999);
    expect(poisoned.status).toBe('failed');
    expect(poisoned.error).toMatchObject({ code: 'CAIRN_ERR_STEP_FAILED', node_id: 'wait_renewal' });
    expect(poisoned.error!.message).toMatch(/date property renewal_date \(8640000000000000\) with offset -P30D gives \+275760-08-14T00:00:00\.000Z, more than 100 years ahead/);
    const failed = (await stepsOf(poisoned.id)).filter((s) => s.status === 'failed');
    expect(failed).toEqual([expect.objectContaining({ node_id: 'wait_renewal', error: expect.objectContaining({ message: poisoned.error!.message }) })]);

    const seen = calls('/renewal');
    expect(seen.size).toBe(999);
    expect(seen.has('r500@example.com')).toBe(false);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it.each([
    ['an ISO date in 9999 shifted past the year 9999', { renewal_date: '9999-12-31T23:59:59Z' }, 'P1D'],
    ['the largest ISO date', { renewal_date: '+275760-09-13T00:00:00Z' }, undefined],
    ['a millisecond timestamp at the end of time', { renewal_date: 8.64e15 }, undefined],
  ])('a date_property delay over %s fails that run at the delay with a USER error; its batch mate goes on', async (_what, properties, offset) => {
    const tag = Math.random().toString(36).slice(2, 8);
    const flowId = await createAndPublish(h, flow(`Dates ${tag}`, [
      node('start', 'trigger.event', { event: `dates.${tag}` }),
      node('wait_renewal', 'delay', { mode: 'date_property', property: 'renewal_date', ...(offset ? { offset } : {}) }, 100),
      node('done', 'action.tag', { add: ['renewed'] }, 200),
    ], [edge('start', 'wait_renewal'), edge('wait_renewal', 'done')]));
    const events = [
      { type: `dates.${tag}`, contact: { email: `bad-${tag}@example.com`, properties } },
      { type: `dates.${tag}`, contact: { email: `good-${tag}@example.com`, properties: { renewal_date: '2026-03-01' } } },
    ];
    expect((await h.call('POST', '/v1/events/batch', { events })).status).toBe(202);
    await h.engine.drain(DRAIN_MS);
    const runs = await runsOf(flowId);
    expect(runs.find((r) => r.email.startsWith('good'))!.status).toBe('completed');
    const bad = runs.find((r) => r.email.startsWith('bad'))!;
    expect(bad.status).toBe('failed');
    expect(bad.error).toMatchObject({ code: 'CAIRN_ERR_STEP_FAILED', node_id: 'wait_renewal' });
    expect(bad.error!.message).toMatch(/^date property renewal_date .* more than 100 years ahead/);
  });

  it('a delay of P999999Y (or any duration over 100 years) is refused at publish with its JSON Pointer', async () => {
    const created = await h.call('POST', '/v1/flows', flow('Forever', [
      node('start', 'trigger.event', { event: 'forever.go' }),
      node('sleep', 'delay', { mode: 'duration', duration: 'P999999Y' }, 100),
      node('wait', 'wait_for_event', { event: 'never', timeout: 'PT876001H' }, 200),
      node('ok', 'delay', { mode: 'duration', duration: 'P100Y' }, 300),
    ], [edge('start', 'sleep'), edge('sleep', 'wait'), edge('wait', 'ok', 'timeout'), edge('wait', 'ok', 'event')]));
    expect(created.status).toBe(201);
    const pub = await h.call('POST', `/v1/flows/${created.body.id}/publish`, {});
    expect(pub.status).toBe(422);
    expect(pub.body.code).toBe('CAIRN_ERR_INVALID_FLOW');
    expect(pub.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/nodes/1/config/duration', '/nodes/2/config/timeout']);
    expect(pub.body.errors.find((e: { path: string }) => e.path === '/nodes/1/config/duration').message).toMatch(/longer than 100 years/);
  });

  it('a webhook answer nested 5,000 deep fails that step once (no repeated call); the batch mate completes', async () => {
    // The shared receiver answers with JSON.stringify, which cannot write 5,000 levels: this one sends raw text.
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const received: string[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const email = JSON.parse(Buffer.concat(chunks).toString('utf8')).contact.email as string;
        received.push(email);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(email.startsWith('deep') ? deep : '{"ok":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const flowId = await createAndPublish(h, flow('Deep', [
        node('start', 'trigger.event', { event: 'deep.go' }),
        node('hook', 'action.webhook', { url: `${url}/deep`, retry: { max_attempts: 5, backoff: 'PT1S' } }, 100),
        node('after', 'action.tag', { add: ['called'] }, 200),
      ], [edge('start', 'hook'), edge('hook', 'after')]));
      const events = [{ type: 'deep.go', contact: { email: 'deep@example.com' } }, { type: 'deep.go', contact: { email: 'flat@example.com' } }];
      expect((await h.call('POST', '/v1/events/batch', { events })).status).toBe(202);
      await h.engine.drain(DRAIN_MS);
      await h.engine.advanceClock(new Date(h.ctx.clock.now().getTime() + 60_000)); // any retry backoff would be over
      const runs = await runsOf(flowId);
      expect(runs.find((r) => r.email === 'flat@example.com')!.status).toBe('completed');
      const bad = runs.find((r) => r.email === 'deep@example.com')!;
      expect(bad.status).toBe('failed');
      expect(bad.error!.message).toMatch(/answered 200 with JSON nested deeper than 64 levels/);
      expect(received.sort()).toEqual(['deep@example.com', 'flat@example.com']);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('an emit_event whose rendered properties break the event limits fails that step alone; its batch mate goes on', async () => {
    const flowId = await createAndPublish(h, flow('Echo', [
      node('start', 'trigger.event', { event: 'echo.go' }),
      node('emit', 'action.emit_event', { event: 'echo.done', properties: { note: '{{ contact.properties.note }}{{ contact.properties.note }}' } }, 100),
    ], [edge('start', 'emit')]));
    const events = [
      { type: 'echo.go', contact: { email: 'loud@example.com', properties: { note: 'x'.repeat(40_000) } } }, // 80,000 characters rendered
      { type: 'echo.go', contact: { email: 'quiet@example.com', properties: { note: 'hi' } } },
    ];
    expect((await h.call('POST', '/v1/events/batch', { events })).status).toBe(202);
    await h.engine.drain(DRAIN_MS);
    const runs = await runsOf(flowId);
    expect(runs.find((r) => r.email === 'quiet@example.com')!.status).toBe('completed');
    const loud = runs.find((r) => r.email === 'loud@example.com')!;
    expect(loud.status).toBe('failed');
    expect(loud.error).toMatchObject({ code: 'CAIRN_ERR_STEP_FAILED', node_id: 'emit' });
    expect(loud.error!.message).toMatch(/the event to emit is not valid: \/config\/properties\/note is a string of 80000 characters; the limit is 65536/);
    const emitted = (await h.t.db.raw(`SELECT e.properties FROM events e WHERE e.workspace_id = ? AND e.type = 'echo.done'`, [h.workspaceId])).rows;
    expect(emitted).toEqual([{ properties: { note: 'hihi' } }]);
  });

  it('20 retries growing tenfold (waits past the year 9999) end in a failed run with every call made once', async () => {
    const failing = await startReceiver(() => ({ status: 503 }));
    try {
      const flowId = await createAndPublish(h, flow('Stubborn', [
        node('start', 'trigger.event', { event: 'stubborn.go' }),
        node('hook', 'action.webhook', { url: `${failing.url}/down`, retry: { max_attempts: 20, backoff: 'PT10S', factor: 10 } }, 100),
      ], [edge('start', 'hook')]));
      expect((await h.call('POST', '/v1/events', { type: 'stubborn.go', contact: { email: 'stubborn@example.com' } })).status).toBe(202);
      await h.engine.drain(DRAIN_MS);
      // Follow the run's own wake-ups: attempt 12 waits 10^15 ms (year ~33,700) uncapped.
      for (let i = 0; i < 25; i++) {
        const [run] = await runsOf(flowId);
        if (run!.status !== 'active' && run!.status !== 'waiting') break;
        const { rows } = await h.t.db.raw(`SELECT wake_at FROM runs WHERE id = ?`, [run!.id]);
        const wake = rows[0].wake_at as Date | null;
        if (wake) await h.engine.advanceClock(new Date(wake.getTime() + 1000));
        await h.engine.drain(DRAIN_MS);
      }
      const [run] = await runsOf(flowId);
      expect(run!.status).toBe('failed');
      expect(run!.error!.message).toMatch(/answered 503/);
      expect(failing.received).toHaveLength(20);
      const attempts = failing.received.map((r) => r.headers['idempotency-key']);
      expect(new Set(attempts).size).toBe(1); // one step, called once per attempt: none repeated by a failing batch
    } finally {
      await failing.close();
    }
  });
});

