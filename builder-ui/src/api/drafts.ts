/**
 * Draft saves still in flight, per flow. Leaving the editor flushes its last edit; opening the flow again (or
 * anywhere that reads it) waits for that save first, so it never shows the draft from before it.
 */
const inFlight = new Map<string, Promise<unknown>>();

export function trackDraftSave(flowId: string, save: Promise<unknown>): void {
  const settled = save.then(() => undefined, () => undefined);
  inFlight.set(flowId, settled);
  void settled.then(() => {
    if (inFlight.get(flowId) === settled) inFlight.delete(flowId);
  });
}

export function draftSaved(flowId: string): Promise<unknown> {
  return inFlight.get(flowId) ?? Promise.resolve();
}
