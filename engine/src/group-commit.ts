/**
 * Group commit: requests that arrive while a flush is running wait and go together in the next one. Under load
 * batches grow by themselves (one transaction for hundreds of requests); when idle a request flushes at once, or
 * rather once the current turn of the event loop is over, so that requests made in the same turn go together even
 * when a flush could start for each: the jobs one queue fetch hands over, the HTTP requests one poll reads.
 * `flush` returns one result per item, in order; each caller gets the results of its own items.
 */
export class GroupCommit<T, R = void> {
  private queue: { key: string; items: T[]; resolve: (r: R[]) => void; reject: (e: unknown) => void }[] = [];
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  private kickScheduled = false;

  constructor(
    private readonly flush: (key: string, items: T[]) => Promise<R[] | void>,
    private readonly opts: { maxBatch: number; maxConcurrent: number },
  ) {}

  /** Resolves with the items' results once they are committed (or rejects with the flush's error). */
  submit(key: string, items: T[]): Promise<R[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ key, items, resolve, reject });
      if (!this.kickScheduled) {
        this.kickScheduled = true;
        setImmediate(() => {
          this.kickScheduled = false;
          this.kick();
        });
      }
    });
  }

  get idle(): boolean {
    return this.running === 0 && this.queue.length === 0;
  }

  whenIdle(): Promise<void> {
    return this.idle ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  private kick(): void {
    while (this.running < this.opts.maxConcurrent && this.queue.length > 0) {
      const key = this.queue[0]!.key;
      const taken: typeof this.queue = [];
      const rest: typeof this.queue = [];
      let size = 0;
      for (const q of this.queue) {
        if (q.key === key && (size === 0 || size + q.items.length <= this.opts.maxBatch)) {
          taken.push(q);
          size += q.items.length;
        } else rest.push(q);
      }
      this.queue = rest;
      this.running++;
      this.flush(key, taken.flatMap((q) => q.items))
        .then((results) => {
          let at = 0;
          for (const q of taken) {
            q.resolve(results ? results.slice(at, at + q.items.length) : []);
            at += q.items.length;
          }
        }, (err) => taken.forEach((q) => q.reject(err)))
        .finally(() => {
          this.running--;
          this.kick();
          if (this.idle) this.idleWaiters.splice(0).forEach((r) => r());
        });
    }
  }
}
