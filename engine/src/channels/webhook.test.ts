import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnError } from '../errors.ts';
import type { ActionInput } from '../runner/ports.ts';
import { createWebhookAction, signWebhook, webhookKey } from './webhook.ts';
import { startReceiver } from '../../test/receiver.ts';

const secret = Buffer.alloc(32, 7);
const input = (url: string, extra: Record<string, unknown> = {}): ActionInput => ({
  workspaceId: 'ws-1', flowId: 'f', version: 1, runId: 'run-1', nodeId: 'hook', idempotencyKey: 'run-1:hook', attempt: 1,
  config: { url, body: { hello: 'world' }, ...extra }, contact: {}, event: null, vars: {}, signal: new AbortController().signal,
});
const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return err as CairnError;
  }
  throw new Error('expected the webhook to fail');
};

describe('action.webhook', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver((r) => (r.url === '/busy' ? { status: 503 } : r.url === '/bad' ? { status: 400 } : { status: 200, body: { got: JSON.parse(r.body) } }));
  });
  afterAll(() => receiver.close());
  const allowed = () => createWebhookAction({ secret, now: () => new Date('2026-03-02T09:00:00Z'), allowPrivate: true, deniedTargets: [] });

  it('sends a signed body with the idempotency key and records the answer', async () => {
    const { output } = await allowed().run(input(`${receiver.url}/ok`));
    expect(output).toEqual({ status: 200, body: { got: { hello: 'world' } } });
    const r = receiver.received.at(-1)!;
    expect(r.headers['idempotency-key']).toBe('run-1:hook');
    expect(r.headers['x-cairn-signature']).toBe(signWebhook(webhookKey(secret, 'ws-1'), Number(r.headers['x-cairn-timestamp']), r.body));
  });

  it('classifies answers: 5xx is retried, other 4xx is not', async () => {
    expect((await failure(allowed().run(input(`${receiver.url}/busy`)))).retryable).toBe(true);
    expect((await failure(allowed().run(input(`${receiver.url}/bad`)))).retryable).toBe(false);
  });

  it('refuses private addresses unless allowed, and never reaches link-local or the database', async () => {
    const strict = createWebhookAction({ secret, now: () => new Date(), allowPrivate: false, deniedTargets: [] });
    const before = receiver.received.length;
    expect((await failure(strict.run(input(`${receiver.url}/ok`)))).message).toMatch(/private|loopback|refused/i);
    expect((await failure(allowed().run(input('http://169.254.169.254/latest/meta-data')))).message).toMatch(/refused|link-local/i);
    const port = new URL(receiver.url).port;
    const guarded = createWebhookAction({ secret, now: () => new Date(), allowPrivate: true, deniedTargets: [`127.0.0.1:${port}`] });
    expect((await failure(guarded.run(input(`${receiver.url}/ok`)))).code).toBe('CAIRN_ERR_STEP_FAILED');
    expect(receiver.received.length).toBe(before);
  });
});
