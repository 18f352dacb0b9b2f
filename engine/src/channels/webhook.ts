import { createHmac } from 'node:crypto';
import { CairnError } from '../errors.ts';
import type { ActionInput, ExternalAction, Json } from '../runner/actions.ts';

/** Largest response body kept in the step output; the rest is cut (the receiver's answer is a record, not data). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Signs `<timestamp>.<body>` with HMAC-SHA256 under the workspace's webhook key. Receivers recompute it and
 * compare, and refuse old timestamps (replay).
 */
export function signWebhook(key: Buffer, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Each workspace signs with its own key, derived from the engine secret so nothing extra is stored. */
export function webhookKey(secret: Buffer, workspaceId: string): Buffer {
  return createHmac('sha256', secret).update(`cairn-webhook:${workspaceId}`).digest();
}

const retryable = (status: number) => status === 408 || status === 425 || status === 429 || status >= 500;

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      chunks.push(value.subarray(0, value.byteLength - (size - MAX_RESPONSE_BYTES)));
      await reader.cancel();
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `action.webhook`: an HTTP request with a signed body and the step's `Idempotency-Key`. */
export function createWebhookAction(deps: { secret: Buffer; now: () => Date }): ExternalAction {
  return {
    async run(input: ActionInput): Promise<{ output: Json }> {
      const c = input.config as { url: string; method?: string; headers?: Record<string, string>; body?: unknown; timeout_ms?: number };
      const method = c.method ?? 'POST';
      const payload = c.body !== undefined ? c.body : { run_id: input.runId, node_id: input.nodeId, contact: input.contact, event: input.event };
      const body = method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify(payload);
      const ts = Math.floor(deps.now().getTime() / 1000);
      const headers: Record<string, string> = {
        'user-agent': 'Cairn-Webhook/1',
        'idempotency-key': input.idempotencyKey,
        'x-cairn-timestamp': String(ts),
        'x-cairn-signature': signWebhook(webhookKey(deps.secret, input.workspaceId), ts, body ?? ''),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...c.headers,
      };
      let res: Response;
      try {
        res = await fetch(c.url, {
          method,
          headers,
          body,
          redirect: 'manual',
          signal: AbortSignal.any([input.signal, AbortSignal.timeout(c.timeout_ms ?? 10_000)]),
        });
      } catch (err) {
        const reason = err instanceof Error && err.name === 'TimeoutError' ? `timed out after ${c.timeout_ms ?? 10_000} ms` : (err as Error).message;
        throw new CairnError('CAIRN_ERR_STEP_FAILED', `webhook ${method} ${c.url} failed: ${reason}`, { cause: err, retryable: true });
      }
      const text = await readCapped(res);
      let parsed: Json = text;
      try {
        parsed = text ? (JSON.parse(text) as Json) : null;
      } catch {
        /* not JSON: keep the text */
      }
      if (!res.ok) {
        throw new CairnError('CAIRN_ERR_STEP_FAILED', `webhook ${method} ${c.url} answered ${res.status}`, { retryable: retryable(res.status) });
      }
      return { output: { status: res.status, body: parsed } };
    },
  };
}
