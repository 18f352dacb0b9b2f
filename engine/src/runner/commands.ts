import { CairnError, notFound } from '../errors.ts';
import { cancelRun } from './executor.ts';
import type { Run } from './model.ts';
import type { Clock, JobQueue, RunStore, Transact, Tx } from './ports.ts';
import { StatsDelta } from './stats.ts';

export interface RunCommandDeps {
  transact: Transact;
  clock: Clock;
  runs: RunStore;
  jobs: JobQueue;
}

/** Commands on one run from outside the executor (the runs API). Each is one transaction. */
export interface RunCommands {
  /** Cancels an active or waiting run; 409 when it has already ended. */
  cancel(workspaceId: string, runId: string): Promise<void>;
  /** Resumes a failed run at its failed step with a fresh attempt count; 409 when it did not fail. */
  retry(workspaceId: string, runId: string): Promise<void>;
}

export function createRunCommands(deps: RunCommandDeps): RunCommands {
  const locked = async (tx: Tx, workspaceId: string, runId: string): Promise<Run> => {
    const run = await deps.runs.lock(tx, workspaceId, runId);
    if (!run) throw notFound('run');
    return run;
  };
  return {
    cancel: (workspaceId, runId) =>
      deps.transact(async (tx) => {
        const run = await locked(tx, workspaceId, runId);
        if (run.status !== 'active' && run.status !== 'waiting') throw new CairnError('CAIRN_ERR_CONFLICT', `the run is already ${run.status}`);
        const stats = new StatsDelta();
        const now = deps.clock.now();
        cancelRun(run, now, stats);
        await deps.runs.write(tx, [run], now);
        await deps.runs.writeStats(tx, stats);
      }),
    retry: (workspaceId, runId) =>
      deps.transact(async (tx) => {
        const run = await locked(tx, workspaceId, runId);
        if (run.status !== 'failed') throw new CairnError('CAIRN_ERR_CONFLICT', `only a failed run can be retried; this one is ${run.status}`);
        const now = deps.clock.now();
        // Resume at the failed step with a fresh attempt count; it re-enters the node's counters.
        run.status = 'active';
        run.state = 'ready';
        run.attempt = 1;
        run.error = null;
        run.finishedAt = null;
        run.nodeEnteredAt = now;
        run.dirty = true;
        // An exclusive flow keeps one open run per contact (runner/postgres/runs/exclusive.ts): the contact's row lock,
        // taken by lock(), keeps another from starting meanwhile.
        if (await deps.runs.otherOpenRun(tx, run)) {
          throw new CairnError('CAIRN_ERR_CONFLICT', 'the contact already has an open run of this flow');
        }
        await deps.runs.write(tx, [run], now);
        const stats = new StatsDelta();
        stats.flow(workspaceId, run.flowId, run.version, 'failed', -1);
        stats.node(workspaceId, run.flowId, run.version, run.nodeId!, 'failed', -1);
        await deps.runs.writeStats(tx, stats);
        await deps.jobs.enqueueContacts(tx, workspaceId, [run.contactId]);
      }),
  };
}
