import { FetchError } from './net-guard.ts';

/**
 * Caps on what plugin fetches may hold at once. Each response is buffered in full before the plugin sees it,
 * so without caps one call running 100 fetches of 5 MiB in parallel holds half a gigabyte (and several times
 * that in copies while it is decoded and handed over). Two levels share one shape:
 * - per call: at most `maxConcurrent` fetches run at once (more wait their turn, within the call's wall time),
 *   their responses together hold at most `maxInFlightBytes`, and all of them bring at most `maxTotalBytes`;
 * - per engine: one `FetchBudget` shared by every isolate of the host, the same two caps across all calls.
 * Bytes are counted as they arrive and held until the response has been handed to the plugin.
 */
export interface FetchCaps {
  maxConcurrent: number;
  maxInFlightBytes: number;
  /** Response bytes over the whole call, in flight or not (per call only): every byte costs the engine's loop work. */
  maxTotalBytes?: number;
}

export const DEFAULT_CALL_FETCH_CAPS: Readonly<FetchCaps> = Object.freeze({ maxConcurrent: 4, maxInFlightBytes: 16 * 1024 * 1024, maxTotalBytes: 32 * 1024 * 1024 });
export const DEFAULT_ENGINE_FETCH_CAPS: Readonly<FetchCaps> = Object.freeze({ maxConcurrent: 32, maxInFlightBytes: 64 * 1024 * 1024 });

/** A counting semaphore for fetch slots plus a byte meter; `scope` names it in errors ("this call", "the engine"). */
export class FetchBudget {
  private active = 0;
  private bytes = 0;
  private total = 0;
  private readonly waiting: { resolve: () => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void }[] = [];

  constructor(
    readonly caps: Readonly<FetchCaps>,
    private readonly scope: 'call' | 'engine',
  ) {}

  /** Waits for a fetch slot (FIFO). Rejects when `signal` aborts first (the call ended or hit its deadline). */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(aborted());
    if (this.active < this.caps.maxConcurrent) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: (typeof this.waiting)[number] = { resolve, reject, signal };
      waiter.onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(aborted());
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) {
      next.signal?.removeEventListener('abort', next.onAbort!);
      next.resolve(); // the slot passes straight to the next waiter
    } else this.active--;
  }

  /** Counts `n` more response bytes, or returns the error that fails the fetch when they do not fit. */
  take(n: number): FetchError | null {
    const max = this.caps.maxTotalBytes;
    if (max !== undefined && this.total + n > max) {
      return new FetchError('FETCH_CALL_BUDGET_EXCEEDED', `this call's fetch responses would exceed ${max} bytes in total; fetch less in one call`);
    }
    if (this.bytes + n <= this.caps.maxInFlightBytes) {
      this.bytes += n;
      this.total += n;
      return null;
    }
    return this.scope === 'call'
      ? new FetchError('FETCH_CALL_BUDGET_EXCEEDED', `this call's fetch responses would hold more than ${this.caps.maxInFlightBytes} bytes at once (at most ${this.caps.maxConcurrent} fetches run in parallel); fetch fewer or smaller responses at a time`)
      : new FetchError('FETCH_ENGINE_BUSY', `plugin fetches across the engine hold ${this.caps.maxInFlightBytes} bytes of responses already; try again later`, true);
  }

  give(n: number): void {
    this.bytes -= n;
  }

  stats(): { active: number; waiting: number; bytes: number } {
    return { active: this.active, waiting: this.waiting.length, bytes: this.bytes };
  }
}

const aborted = () => new FetchError('FETCH_ABORTED', 'the fetch was waiting for a slot when the call ended');
