import type { EngineContext } from '../context.ts';

/** Loads and publishes the example flows of `examples/` into a workspace (seed). Returns how many it loaded. */
export async function loadExamples(_ctx: EngineContext, _workspaceId: string): Promise<number> {
  return 0;
}
