/**
 * All engine time flows through a Clock. `system` is wall time; `manual` (CAIRN_CLOCK=manual) stands still
 * until advanced, and advancing fires every timer that falls due, in order, before it returns.
 */
export interface Clock {
  readonly kind: 'system' | 'manual';
  now(): Date;
}

export interface ManualClock extends Clock {
  readonly kind: 'manual';
  /** Moves time forward (never backwards) and awaits every listener (the timer poller drains due work). */
  advanceTo(to: Date): Promise<void>;
  onAdvance(listener: (now: Date) => Promise<void>): () => void;
}

export function createSystemClock(): Clock {
  return { kind: 'system', now: () => new Date() };
}

export function createManualClock(start: Date = new Date()): ManualClock {
  let current = new Date(Math.floor(start.getTime() / 1000) * 1000);
  const listeners = new Set<(now: Date) => Promise<void>>();
  return {
    kind: 'manual',
    now: () => new Date(current.getTime()),
    async advanceTo(to: Date) {
      if (to.getTime() < current.getTime()) throw new RangeError('the test clock never moves backwards');
      current = new Date(to.getTime());
      for (const l of listeners) await l(new Date(current.getTime()));
    },
    onAdvance(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
