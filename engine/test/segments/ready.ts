import type { Harness } from '../engine-harness.ts';

/** Waits until the segment's background evaluation is done (`status: "ready"`) and returns the segment. */
export async function segmentReady(h: Harness, key: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await h.call('GET', `/v1/segments/${key}`);
    if (res.body.status === 'ready') return res.body as Record<string, unknown>;
    if (Date.now() > deadline) throw new Error(`segment ${key} still ${String(res.body.status)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
