/**
 * Cooperative time slicing for synchronous work on the process's one event loop (the engine's steps and Liquid
 * renders, the sandbox host's handing over of large fetch answers). Work calls `breathe()` before each unit:
 * once the current slice has run `afterMs`, it waits for the next turn of the event loop (setImmediate, so
 * pending I/O such as a health check is served first). One clock for every caller in the process, so kinds of
 * work interleaved cannot each take a full slice back to back.
 *
 * Fair to many waiters: all the callbacks queued with setImmediate in one turn run in that turn's check phase,
 * so a waiter that wakes after another has already started a new slice checks the clock again and, if that slice
 * is spent, waits one more turn; only the first waker of a turn starts a slice unconditionally.
 */
export const SLICE_MS = 20;

let sliceStart = performance.now();
/** Bumped whenever a slice starts after a wait: tells a waiter whether someone else started one while it slept. */
let epoch = 0;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves at once while the slice has run less than `afterMs`; else after the event loop has turned. */
export async function breathe(afterMs = SLICE_MS): Promise<void> {
  while (performance.now() - sliceStart >= afterMs) {
    const slept = epoch;
    await nextTurn();
    if (epoch === slept) {
      epoch++;
      sliceStart = performance.now();
      return;
    }
  }
}
