import type { Db, SqlPart, Tx } from '../db/index.ts';

/**
 * The engine's jobs: task names, payload shapes, and the only SQL that names graphile_worker's job functions.
 * Jobs are enqueued inside the caller's transaction, so a job exists exactly when the state it acts on committed.
 */

/** Advance these contacts' runs (one job per workspace and batch of contacts). */
export const CONTACTS_TASK = 'cairn_contacts';
/** Call one external action (webhook, email, plugin) outside any transaction. */
export const ACTION_TASK = 'cairn_action';

/** Replay a flow over recorded events (engine/src/backtest): read-only, one job per backtest. */
export const BACKTEST_TASK = 'cairn_backtest';

/** Evaluate a new or changed segment over every contact of its workspace, in chunks (crm/segments). */
export const SEGMENT_TASK = 'cairn_segment';

export interface SegmentJob {
  /** workspace id */
  w: string;
  /** segment id */
  s: string;
  /** the segment's rule_version this job evaluates */
  v: number;
}

export interface BacktestJob {
  /** workspace id */
  w: string;
  /** backtest id */
  b: string;
}

export interface ContactsJob {
  /** workspace id */
  w: string;
  /** contact ids */
  c: string[];
}

export interface ActionJob {
  /** workspace id */
  w: string;
  /** contact id */
  c: string;
  /** run id */
  r: string;
  /** node id */
  n: string;
  /** attempt, from 1 */
  a: number;
}

/** graphile-worker's own retries: the executor records failures itself, this only covers crashes mid-job. */
const MAX_ATTEMPTS = 25;

/**
 * The SQL expression that enqueues one contacts job, for use inside a larger statement (a CTE that marks runs
 * due, an enrollment insert). `workspace` and `contacts` are SQL expressions yielding text and uuid[].
 */
export function contactsJobSql(workspace: string, contacts: string): string {
  return `graphile_worker.add_job('${CONTACTS_TASK}', json_build_object('w', ${workspace}, 'c', ${contacts}), max_attempts := ${MAX_ATTEMPTS})`;
}

export async function enqueueContacts(tx: Tx, workspaceId: string, contactIds: readonly string[]): Promise<void> {
  if (contactIds.length === 0) return;
  await tx.raw(`SELECT ${contactsJobSql('?::text', '?::uuid[]')}`, [workspaceId, contactIds as string[]]);
}

/** Enqueues external actions' jobs as a part of a larger statement (db/index.ts runTogether); null when there are none. */
export function actionJobsPart(jobs: readonly ActionJob[]): SqlPart | null {
  if (jobs.length === 0) return null;
  return {
    sql: `SELECT graphile_worker.add_job(?, p, max_attempts := ${MAX_ATTEMPTS}) FROM unnest(?::json[]) AS p`,
    bindings: [ACTION_TASK, jobs.map((j) => JSON.stringify(j))],
  };
}

/** A backtest's job; no retries: a backtest that fails is recorded as failed and can be asked for again. */
export async function enqueueBacktest(tx: Tx, job: BacktestJob): Promise<void> {
  await tx.raw(`SELECT graphile_worker.add_job(?, ?::json, max_attempts := 1)`, [BACKTEST_TASK, JSON.stringify(job)]);
}

/**
 * A segment's evaluation job. One job per segment (`job_key`): a rule changed again before the job started replaces
 * it, so only the newest rule is evaluated.
 */
export async function enqueueSegmentEvaluation(tx: Tx, job: SegmentJob): Promise<void> {
  // One named queue per workspace: its evaluations run one after the other, and one full pass serves every segment
  // that was waiting when it started (see crm/segments/membership.ts evaluate).
  await tx.raw(`SELECT graphile_worker.add_job(?, ?::json, queue_name := ?, job_key := ?, job_key_mode := 'replace', max_attempts := ${MAX_ATTEMPTS})`, [
    SEGMENT_TASK, JSON.stringify(job), `${SEGMENT_TASK}:${job.w}`, `${SEGMENT_TASK}:${job.w}:${job.s}`,
  ]);
}

/** Jobs of our tasks that are runnable or running now (not those waiting out a retry backoff). */
export async function pendingJobs(db: Db, identifiers: readonly string[] = [CONTACTS_TASK, ACTION_TASK, SEGMENT_TASK]): Promise<number> {
  const { rows } = await db.raw(
    `SELECT count(*)::int AS n FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks t ON t.id = j.task_id
      WHERE t.identifier = ANY(?::text[]) AND j.attempts < j.max_attempts AND (j.locked_at IS NOT NULL OR j.run_at <= now())`,
    [identifiers as string[]],
  );
  return rows[0].n as number;
}

/** Bring a flow's plugin trigger in line with the flow's state: subscribe/unsubscribe, start polling (plugins/triggers.ts). */
export const PLUGIN_TRIGGER_TASK = 'cairn_plugin_trigger';
/** One poll of a flow's polling trigger (plugins/polling.ts); each poll schedules the next. */
export const PLUGIN_POLL_TASK = 'cairn_plugin_poll';

export interface PluginTriggerJob {
  /** workspace id */
  w: string;
  /** flow id */
  f: string;
}

/**
 * A flow's trigger sync, after a publish or a status change commits. One queue per flow, so syncs of one flow run in
 * order (a publish then an archive: subscribe, then unsubscribe).
 */
export async function enqueuePluginTriggerSync(tx: Tx, job: PluginTriggerJob): Promise<void> {
  await tx.raw(`SELECT graphile_worker.add_job(?, ?::json, queue_name := ?, max_attempts := 10)`, [PLUGIN_TRIGGER_TASK, JSON.stringify(job), `${PLUGIN_TRIGGER_TASK}:${job.f}`]);
}

/**
 * The next poll of a flow's polling trigger, `delaySeconds` from now. One job per flow (`job_key`): scheduling
 * again replaces a waiting poll, so a flow never has two polls pending, whichever process schedules it.
 */
export async function schedulePluginPoll(db: Db | Tx, job: PluginTriggerJob, delaySeconds: number): Promise<void> {
  await db.raw(
    `SELECT graphile_worker.add_job(?, ?::json, run_at := now() + make_interval(secs => ?), job_key := ?, job_key_mode := 'replace', max_attempts := 3)`,
    [PLUGIN_POLL_TASK, JSON.stringify(job), delaySeconds, `${PLUGIN_POLL_TASK}:${job.f}`],
  );
}
