import type { Db } from '../../../db/index.ts';
import type { Clock } from '../../../time/clock.ts';
import type { Logger } from '../../../logger.ts';
import { contactsJobSql } from '../../../queue/jobs.ts';
import type { FlowCache } from '../flows/flow-cache.ts';
import { fireDueFlowTimers } from '../flows/flow-timers.ts';
import type { SegmentMaintainer } from '../../../crm/segments/membership.ts';

const BATCH = 2000;

/**
 * Moves runs whose wake time has come into the queue: marks them `due` and enqueues one job per workspace for
 * their contacts, in one statement. SKIP LOCKED lets several engine processes poll side by side. Wake times live in
 * `runs.wake_at` (a partial index), not as future graphile-worker jobs, so a million sleeping runs cost the queue nothing.
 */
export async function fireDue(db: Db, now: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const { rows } = await db.raw(
      `WITH due AS (
         SELECT workspace_id, id FROM runs WHERE wake_at <= ? ORDER BY wake_at LIMIT ? FOR UPDATE SKIP LOCKED
       ), marked AS (
         UPDATE runs r SET state = 'due', wake_at = NULL FROM due WHERE r.workspace_id = due.workspace_id AND r.id = due.id RETURNING r.workspace_id, r.contact_id
       ), jobs AS (
         SELECT ${contactsJobSql('workspace_id::text', 'array_agg(DISTINCT contact_id)')}
           FROM marked GROUP BY workspace_id
       )
       SELECT (SELECT count(*) FROM marked)::int AS n, (SELECT count(*) FROM jobs)::int AS j`,
      [now, BATCH],
    );
    const n = rows[0].n as number;
    total += n;
    if (n < BATCH) return total;
  }
}

/** The earliest segment wake-up, and the earliest run wake-up or clock trigger, at or before `limit`. */
export async function nextWakes(db: Db, limit: Date): Promise<{ segments: Date | null; others: Date | null }> {
  const { rows } = await db.raw(
    `SELECT (SELECT min(wake_at) FROM segment_wakeups WHERE wake_at <= ?) AS s,
            least((SELECT min(wake_at) FROM runs WHERE wake_at IS NOT NULL AND wake_at <= ?),
                  (SELECT min(next_at) FROM flow_timers WHERE next_at <= ?)) AS o`,
    [limit, limit, limit],
  );
  return { segments: (rows[0].s as Date | null) ?? null, others: (rows[0].o as Date | null) ?? null };
}

/**
 * Everything that is due at `now`: segment rules that flip with time (their transitions may start runs), clock
 * triggers (they may start runs), then sleeping runs.
 */
export async function fireAllDue(db: Db, flows: FlowCache, segments: SegmentMaintainer, now: Date): Promise<number> {
  const flips = await segments.fireDue(db, now);
  const timers = await fireDueFlowTimers(db, flows, now);
  return flips + timers + (await fireDue(db, now));
}

/** System clock: poll once a second (an index probe; about zero CPU while nothing is due). */
export function startTimerPoller(deps: {
  db: Db; flows: FlowCache; segments: SegmentMaintainer; clock: Clock; logger: Logger; intervalMs?: number;
  /** More time-driven work on the same tick (lifecycle programs: reward grants, points expiry, score decay). */
  also?: (now: Date) => Promise<unknown>;
}): { stop(): Promise<void> } {
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    if (stopped) return;
    current = fireAllDue(deps.db, deps.flows, deps.segments, deps.clock.now())
      .then(() => deps.also?.(deps.clock.now()))
      .catch((err) => deps.logger.error({ err }, 'timer poll failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, deps.intervalMs ?? 1000);
      });
  };
  let timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
