/**
 * All engine time flows through a Clock. `system` is wall time; `manual` (CAIRN_CLOCK=manual) stands still
 * until the flow engine advances it (POST /v1/_test/clock/advance), firing every timer that falls due on the way.
 */
export interface Clock {
  readonly kind: 'system' | 'manual';
  now(): Date;
}

export interface ManualClock extends Clock {
  readonly kind: 'manual';
  /** Sets the time; never backwards. Use the flow engine's `advanceClock`, which fires due timers on the way. */
  set(to: Date): void;
}

export function createSystemClock(): Clock {
  return { kind: 'system', now: () => new Date() };
}

export function createManualClock(start: Date = new Date()): ManualClock {
  let current = Math.floor(start.getTime() / 1000) * 1000;
  return {
    kind: 'manual',
    now: () => new Date(current),
    set(to: Date) {
      if (to.getTime() < current) throw new RangeError('the test clock never moves backwards');
      current = to.getTime();
    },
  };
}

export const isManual = (clock: Clock): clock is ManualClock => clock.kind === 'manual';
