import type { EngineContext } from '../context.ts';
import type { OnEventsIngested } from '../crm/event-hooks.ts';

/**
 * The flow engine as the runtime sees it: the ingestion hook that starts runs, and the workers that advance
 * them. (Filled in by the runner work; this is the seam runtime.ts composes against.)
 */
export interface FlowEngine {
  onEventsIngested: OnEventsIngested;
  /** Starts graphile-worker and the timer poller in this process. */
  start(): Promise<void>;
  /** Stops taking work, lets running jobs finish, releases connections. */
  stop(): Promise<void>;
}

export function createFlowEngine(_ctx: EngineContext): FlowEngine {
  return {
    onEventsIngested: async () => {},
    start: async () => {},
    stop: async () => {},
  };
}
