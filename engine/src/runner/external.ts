import type { Clock } from '../time/clock.ts';
import type { Logger } from '../logger.ts';
import { CairnError, StepFailure } from '../errors.ts';
import { jsonDepth, MAX_OUTPUT_DEPTH } from '../json-depth.ts';
import type { ActionRegistry, CallStore, ExternalAction, Json } from './ports.ts';
import type { ActionResult, StoredEvent } from './model.ts';
import type { ContactRequest } from './batch.ts';
import type { ActionJob } from '../queue/jobs.ts';


/**
 * Runs one external action outside any transaction, then hands the result to the executor (which records the
 * step and moves the run on in one commit). A crash between the call and that commit re-runs the job: the
 * receiver sees the same `Idempotency-Key` again, and the run still moves on exactly once.
 */
export function createActionRunner(deps: {
  calls: CallStore;
  clock: Clock;
  builtins: Record<string, ExternalAction>;
  registry?: ActionRegistry;
  submit: (workspaceId: string, requests: ContactRequest[]) => Promise<void>;
  logger: Logger;
  wallTimeMs: number;
}) {
  return async function runActionJob(job: ActionJob): Promise<void> {
    const call = await deps.calls.load(job.w, job.r, { nodeId: job.n, attempt: job.a });
    if (!call) return; // stale: nothing to do
    const { flow, contact } = call;
    const node = flow.nodes.get(job.n)!;
    const event = call.event ? { id: call.event.id, type: call.event.type, properties: call.event.properties, occurred_at: call.event.occurred_at } : null;
    const log = deps.logger.child({ workspaceId: job.w, flowId: flow.flowId, runId: job.r, nodeId: job.n });
    const started = Date.now();
    let result: ActionResult;
    try {
      const action = deps.builtins[node.type] ?? (await deps.registry?.resolve(node.type, { workspaceId: job.w, pluginPins: flow.pluginPins }));
      if (!action) throw new CairnError('CAIRN_ERR_STEP_FAILED', `no implementation for node type ${node.type} (is the plugin installed and enabled?)`);
      const config = (await node.render({ contact: contact as unknown as Record<string, unknown>, event, run: call.vars })) as Record<string, unknown>;
      const outcome = await action.run({
        workspaceId: job.w,
        flowId: flow.flowId,
        version: flow.version,
        runId: job.r,
        nodeId: job.n,
        idempotencyKey: `${job.r}:${job.n}`,
        attempt: job.a,
        config,
        contact: contact as unknown as Record<string, unknown>,
        event,
        vars: call.vars,
        signal: AbortSignal.timeout(deps.wallTimeMs),
      });
      // Plugins (and any action) hand back JSON that becomes the run's vars: bound its depth like a webhook answer's.
      if (jsonDepth(outcome.output, MAX_OUTPUT_DEPTH) > MAX_OUTPUT_DEPTH) {
        throw new CairnError('CAIRN_ERR_STEP_FAILED', `${node.type} returned output nested deeper than ${MAX_OUTPUT_DEPTH} levels; it was not kept`);
      }
      result = {
        runId: job.r, nodeId: job.n, attempt: job.a, ok: true, output: outcome.output,
        ...(outcome.logs?.length ? { logs: outcome.logs } : {}),
        ...(outcome.skipped ? { skipped: true } : {}),
        ...(outcome.deferUntil ? { deferUntil: outcome.deferUntil.toISOString() } : {}),
      };
      log.info({ durationMs: Date.now() - started, attempt: job.a }, 'action completed');
    } catch (err) {
      const e = err instanceof CairnError || err instanceof StepFailure ? err : null;
      const error = e
        ? {
          code: e.code, message: e.message, retryable: e.retryable,
          ...(e instanceof StepFailure && e.retryable && e.retryAfterMs ? { retry_after_ms: e.retryAfterMs } : {}),
          ...(e instanceof StepFailure && e.pluginStack ? { stack: e.pluginStack } : {}),
        }
        : { code: 'CAIRN_ERR_STEP_FAILED', message: err instanceof Error ? err.message : String(err), retryable: true };
      const logs = err instanceof StepFailure && err.logs.length ? { logs: err.logs as Json[] } : {};
      result = { runId: job.r, nodeId: job.n, attempt: job.a, ok: false, error, ...logs };
      log.warn({ durationMs: Date.now() - started, err: error }, `action failed, attempt ${job.a} of ${node.retry.maxAttempts}`);
    }
    await deps.submit(job.w, [{ contactId: job.c, actionResult: result }]);
  };
}

export type { StoredEvent };
