import { createHmac } from 'node:crypto';
import { FetchError, guardedFetch, type FetchPolicy } from '@cairn/plugin-sdk/host';
import { CairnError } from '../errors.ts';
import { jsonTextDepth, MAX_OUTPUT_DEPTH } from '../json-depth.ts';
import type { ActionInput, ExternalAction, Json } from '../runner/ports.ts';

/** The receiver's answer is a record, not data: the step keeps at most this much of it. */
const MAX_OUTPUT_CHARS = 16 * 1024;

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

/**
 * `action.webhook`: an HTTP request with a signed body and the step's `Idempotency-Key`. It goes through the same
 * guard as plugin fetch: any public host, but never link-local (cloud metadata) or the engine's own database, and
 * private/loopback addresses only when the operator allows them (CAIRN_WEBHOOK_ALLOW_PRIVATE_HOSTS).
 */
export function createWebhookAction(deps: { secret: Buffer; now: () => Date; allowPrivate: boolean; deniedTargets: string[] }): ExternalAction {
  return {
    async run(input: ActionInput): Promise<{ output: Json }> {
      const c = input.config as { url: string; method?: string; headers?: Record<string, string>; body?: unknown; timeout_ms?: number };
      const method = c.method ?? 'POST';
      const payload = c.body !== undefined ? c.body : { run_id: input.runId, node_id: input.nodeId, contact: input.contact, event: input.event };
      const body = method === 'GET' || method === 'DELETE' ? null : JSON.stringify(payload);
      const ts = Math.floor(deps.now().getTime() / 1000);
      const headers: Record<string, string> = {
        'user-agent': 'Cairn-Webhook/1',
        ...(body !== null ? { 'content-type': 'application/json' } : {}),
        ...c.headers,
        'idempotency-key': input.idempotencyKey,
        'x-cairn-timestamp': String(ts),
        'x-cairn-signature': signWebhook(webhookKey(deps.secret, input.workspaceId), ts, body ?? ''),
      };
      const policy: FetchPolicy = {
        allowedHosts: ['*'],
        privateHosts: [],
        allowPrivate: deps.allowPrivate,
        deniedTargets: deps.deniedTargets,
        timeoutMs: c.timeout_ms ?? 10_000,
        maxResponseBytes: 1024 * 1024,
        maxRedirects: 0,
      };
      let res;
      try {
        res = await guardedFetch(c.url, { method, headers, body }, policy, input.signal);
      } catch (err) {
        const retry = err instanceof FetchError ? err.retryable : true;
        throw new CairnError('CAIRN_ERR_STEP_FAILED', `webhook ${method} ${c.url} failed: ${(err as Error).message}`, { cause: err, retryable: retry });
      }
      if (res.status < 200 || res.status >= 300) {
        throw new CairnError('CAIRN_ERR_STEP_FAILED', `webhook ${method} ${c.url} answered ${res.status}`, { retryable: retryable(res.status) });
      }
      // Depth before parsing: an answer nested thousands deep would parse, then overflow the stack wherever the
      // run's vars are serialised. The call happened, so the step fails without a retry (no second call).
      if (jsonTextDepth(res.body, MAX_OUTPUT_DEPTH) > MAX_OUTPUT_DEPTH) {
        throw new CairnError('CAIRN_ERR_STEP_FAILED', `webhook ${method} ${c.url} answered ${res.status} with JSON nested deeper than ${MAX_OUTPUT_DEPTH} levels; the answer was not kept`);
      }
      let parsed: Json = res.body.slice(0, MAX_OUTPUT_CHARS);
      try {
        parsed = res.body ? (JSON.parse(res.body) as Json) : null;
        if (JSON.stringify(parsed).length > MAX_OUTPUT_CHARS) parsed = { truncated: true, text: res.body.slice(0, MAX_OUTPUT_CHARS) };
      } catch {
        /* not JSON: keep the (cut) text */
      }
      return { output: { status: res.status, body: parsed } };
    },
  };
}
