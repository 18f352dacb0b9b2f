import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { createAndPublish } from '../engine-harness.ts';
import { quietUntil } from '../../src/channels/email-policy.ts';
import { startMailHarness, type MailHarness, type MailServer } from './mail-server.ts';

const NY = 'America/New_York';

/** Trigger → wait until 22:30 on the contact's clock → email. */
const lateFlow = (name: string, event: string, settings: Record<string, unknown> = {}, category?: string) => ({
  schema: 'cairn.flow/v1', name, settings: { reentry: 'always', goal: null, exit_on: [], ...settings },
  nodes: [
    { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event } },
    { id: 'late', type: 'delay', position: { x: 0, y: 100 }, config: { mode: 'time_of_day', time: '22:30' } },
    { id: 'mail', type: 'action.send_email', position: { x: 0, y: 200 }, config: { subject: name, text: 'hello', ...(category ? { category } : {}) } },
  ],
  edges: [{ id: 'e1', source: 'start', target: 'late' }, { id: 'e2', source: 'late', target: 'mail' }],
});

describe('quiet hours on the contact\'s clock', () => {
  let h: MailHarness;
  let smtp: MailServer;
  beforeAll(async () => {
    h = await startMailHarness();
    smtp = h.smtp;
  });
  afterAll(() => h?.close());

  it('21:00–08:00: a send due at 22:30 arrives at 08:00 the next morning contact time, across the DST change', async () => {
    await h.call('PUT', '/v1/settings/email-policy', { quiet_hours: { start: '21:00', end: '08:00' } });
    const flowId = await createAndPublish(h, lateFlow('Evening news', 'joined'));
    await h.call('POST', '/v1/contacts', { email: 'ny@example.com', timezone: NY });
    // Saturday 31 October 2026, noon in New York (EDT, UTC−4); clocks fall back to EST (UTC−5) at 02:00 on Sunday.
    await h.call('POST', '/v1/_test/clock/advance', { to: '2026-10-31T16:00:00Z' });
    await h.call('POST', '/v1/events', { type: 'joined', contact: { email: 'ny@example.com' } });
    await h.engine.drain();

    // 22:30 EDT = 02:30Z: the email step is deferred, recorded on the step, and the run sleeps on it.
    await h.call('POST', '/v1/_test/clock/advance', { to: '2026-11-01T02:31:00Z' });
    expect(smtp.mails).toHaveLength(0);
    const [run] = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items;
    expect(run.status).toBe('waiting');
    const detail = (await h.call('GET', `/v1/runs/${run.id}`)).body;
    const deferred = detail.steps.find((s: { node_id: string; status: string }) => s.node_id === 'mail' && s.status === 'deferred');
    expect(deferred.started_at).toBe('2026-11-01T02:30:00.000Z');
    expect(deferred.output).toMatchObject({ deferred_until: '2026-11-01T13:00:00.000Z', reason: 'quiet hours 21:00–08:00 on the contact\'s clock' });
    expect(detail.waiting.until).toBe('2026-11-01T13:00:00.000Z');

    // 07:59 EST: still nothing (a fixed 9h30 later would have been 07:00 EST, 12:00Z).
    await h.call('POST', '/v1/_test/clock/advance', { to: '2026-11-01T12:59:00Z' });
    expect(smtp.mails).toHaveLength(0);
    await h.call('POST', '/v1/_test/clock/advance', { to: '2026-11-01T13:05:00Z' });
    expect(smtp.mails).toHaveLength(1);
    const arrived = DateTime.fromJSDate(smtp.mails[0]!.date!, { zone: NY });
    expect(arrived.toISO()).toBe('2026-11-01T08:00:00.000-05:00');
    expect(arrived.offset).toBe(-300);
    const done = (await h.call('GET', `/v1/runs/${run.id}`)).body;
    expect(done.status).toBe('completed');
    expect(done.steps.filter((s: { node_id: string }) => s.node_id === 'mail').map((s: { status: string }) => s.status)).toEqual(['deferred', 'completed']);
  });

  it('a flow overrides the workspace quiet hours (null = none), and transactional mail ignores them', async () => {
    await createAndPublish(h, lateFlow('Night owl', 'owl', { quiet_hours: null }));
    await createAndPublish(h, lateFlow('Receipt', 'owl', {}, 'transactional'));
    await createAndPublish(h, lateFlow('Late digest', 'owl', { quiet_hours: { start: '22:00', end: '23:00' } }));
    await h.call('POST', '/v1/contacts', { email: 'owl@example.com', timezone: NY });
    await h.call('POST', '/v1/events', { type: 'owl', contact: { email: 'owl@example.com' } });
    await h.engine.drain();
    const before = smtp.mails.length;
    // 22:30 EST on 1 November = 03:30Z on 2 November.
    await h.call('POST', '/v1/_test/clock/advance', { to: '2026-11-02T03:31:00Z' });
    expect(smtp.mails.slice(before).map((m) => m.subject).sort()).toEqual(['Night owl', 'Receipt']);
    await h.call('POST', '/v1/_test/clock/advance', { to: '2026-11-02T04:01:00Z' });
    expect(smtp.mails.at(-1)!.subject).toBe('Late digest');
    expect(DateTime.fromJSDate(smtp.mails.at(-1)!.date!, { zone: NY }).toFormat('HH:mm')).toBe('23:00');
  });

  it('quietUntil: windows within a day, across midnight, edges and a spring-forward night', () => {
    const q = { start: '21:00', end: '08:00' };
    expect(quietUntil(new Date('2026-06-01T12:00:00Z'), q, 'UTC')).toBeNull();
    expect(quietUntil(new Date('2026-06-01T21:00:00Z'), q, 'UTC')!.toISOString()).toBe('2026-06-02T08:00:00.000Z');
    expect(quietUntil(new Date('2026-06-01T07:59:59Z'), q, 'UTC')!.toISOString()).toBe('2026-06-01T08:00:00.000Z');
    expect(quietUntil(new Date('2026-06-01T08:00:00Z'), q, 'UTC')).toBeNull();
    expect(quietUntil(new Date('2026-06-01T20:59:00Z'), q, 'UTC')).toBeNull();
    expect(quietUntil(new Date('2026-06-01T13:00:00Z'), { start: '12:00', end: '14:00' }, 'UTC')!.toISOString()).toBe('2026-06-01T14:00:00.000Z');
    expect(quietUntil(new Date('2026-06-01T13:00:00Z'), { start: '09:00', end: '09:00' }, 'UTC')).toBeNull();
    // 7 March 2026, 23:00 in New York (EST); DST starts at 02:00 on the 8th: 08:00 EDT is 12:00Z.
    expect(quietUntil(new Date('2026-03-08T04:00:00Z'), q, NY)!.toISOString()).toBe('2026-03-08T12:00:00.000Z');
  });
});
