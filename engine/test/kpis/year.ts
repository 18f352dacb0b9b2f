import { createAndPublish, eventually, type Harness } from '../engine-harness.ts';
import { prng } from '../prng.ts';
import { node } from '../flow-doc.ts';

/**
 * The generated year the KPI tests (engine/test/kpis/kpis.test.ts) and the dashboard e2e test
 * (builder-ui/test/e2e/dashboard.test.ts) both read: purchases, churn, NPS, CSAT and spend events of contacts
 * `c0@example.com`…, and the trial nurture flow (10% holdout, two branches) every contact enters at signup.
 */
export const DAY = 86_400_000;


/** Trigger → 10% holdout + two branches, each sleeping 30 days; converts on trial.converted. */
export const nurtureFlow = {
  schema: 'cairn.flow/v1', name: 'Trial nurture',
  settings: { reentry: 'never', goal: { event: 'trial.converted' }, exit_on: [] },
  nodes: [
    node('start', 'trigger.event', { event: 'signup.completed' }),
    node('ab', 'split', { branches: [{ key: 'a', weight: 50 }, { key: 'b', weight: 50 }], holdout: 10 }, 100),
    node('wait_a', 'delay', { mode: 'duration', duration: 'P30D' }, 200),
    node('wait_b', 'delay', { mode: 'duration', duration: 'P30D' }, 200),
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'ab' },
    { id: 'e2', source: 'ab', sourceHandle: 'a', target: 'wait_a' },
    { id: 'e3', source: 'ab', sourceHandle: 'b', target: 'wait_b' },
  ],
};

/** Tags every signup; no goal, so no conversion figures. */
export const welcomeFlow = {
  schema: 'cairn.flow/v1', name: 'Welcome (no goal)',
  settings: { reentry: 'never', goal: null, exit_on: [] },
  nodes: [node('start', 'trigger.event', { event: 'signup.completed' }), node('tag', 'action.tag', { add: ['welcomed'] }, 100)],
  edges: [{ id: 'e1', source: 'start', target: 'tag' }],
};

export interface YearOptions {
  contacts: number;
  seed: number;
  /** The end of the year (epoch ms). */
  now: number;
  /** Contacts' `plan` property on their orders: `pro` for every third contact, else `free`. */
  plans?: boolean;
  /** `channel` property of the monthly marketing spend. */
  spendChannel?: string;
}

/** The year's events: 70% of contacts order every 15–120 days until they stop (10% of them churn), 30% answer NPS, 20% CSAT; monthly spend. */
export function yearOfEvents(o: YearOptions): Record<string, unknown>[] {
  const rand = prng(o.seed);
  const at = (t: number) => new Date(t).toISOString();
  const { now } = o;
  const events: Record<string, unknown>[] = [];
  for (let i = 0; i < o.contacts; i++) {
    const email = `c${i}@example.com`;
    if (rand() < 0.7) {
      // A customer: first order somewhere in the year, then every 15-120 days until they stop.
      let t = now - 365 * DAY + rand() * 360 * DAY;
      const every = (15 + rand() * 105) * DAY;
      const stop = t + rand() * 365 * DAY;
      const contact = o.plans ? { email, properties: { plan: i % 3 === 0 ? 'pro' : 'free' } } : { email };
      while (t < now - DAY && t <= stop) {
        events.push({ type: 'order.completed', contact, properties: { amount: Math.round(500 + rand() * 19_500) / 100 }, occurred_at: at(t) });
        t += every * (0.5 + rand());
      }
      if (rand() < 0.1) events.push({ type: 'customer.churned', contact: { email }, occurred_at: at(Math.min(stop + 10 * DAY, now - DAY)) });
    }
    if (rand() < 0.3) events.push({ type: 'nps.responded', contact: { email }, properties: { score: Math.floor(rand() * 11) }, occurred_at: at(now - rand() * 365 * DAY) });
    if (rand() < 0.2) events.push({ type: 'csat.responded', contact: { email }, properties: { score: 1 + Math.floor(rand() * 5) }, occurred_at: at(now - rand() * 365 * DAY) });
  }
  for (let m = 0; m < 12; m++) {
    const properties = { amount: 1000 + m * 250, ...(o.spendChannel ? { channel: o.spendChannel } : {}) };
    events.push({ type: 'marketing.spend', contact: { email: 'ads@example.com' }, properties, occurred_at: at(now - 365 * DAY + m * 30 * DAY + DAY) });
  }
  return events;
}

/** POST /v1/events/batch in batches of 1,000; each must answer 202. */
export async function postBatches(h: Harness, events: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < events.length; i += 1000) {
    const res = await h.call('POST', '/v1/events/batch', { events: events.slice(i, i + 1000) });
    if (res.status !== 202) throw new Error(`events/batch: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/**
 * Publishes the nurture and welcome flows, signs up contacts c0…c(n-1) and waits until every nurture run has passed
 * the split (holdout runs have ended, the others sleep in their delay).
 */
export async function enrolSignups(h: Harness, contacts: number, timeoutMs: number): Promise<{ nurtureId: string; welcomeId: string }> {
  const nurtureId = await createAndPublish(h, nurtureFlow);
  const welcomeId = await createAndPublish(h, welcomeFlow);
  await postBatches(h, Array.from({ length: contacts }, (_, i) => ({ type: 'signup.completed', contact: { email: `c${i}@example.com` } })));
  await eventually(async () => {
    const { rows } = await h.t.db.raw<{ rows: { settled: number }[] }>(
      `SELECT count(*)::int AS settled FROM runs WHERE workspace_id = ? AND flow_id = ? AND (state = 'sleeping' OR status = 'completed')`, [h.workspaceId, nurtureId]);
    return rows[0]!.settled === contacts;
  }, timeoutMs, 500);
  return { nurtureId, welcomeId };
}

