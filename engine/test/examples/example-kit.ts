import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EXAMPLES_DIR } from '../../src/flow/examples.ts';
import type { Harness } from '../engine-harness.ts';

export interface SampleEvent {
  type: string;
  contact: { email: string; properties?: Record<string, unknown> };
  properties?: Record<string, unknown>;
  occurred_at?: string;
  idempotency_key?: string;
}

export const loadExample = (name: string, file: string) => JSON.parse(readFileSync(path.join(EXAMPLES_DIR, name, file), 'utf8'));
export const samplesOf = (name: string) => (loadExample(name, 'sample-events.json') as { events: SampleEvent[] }).events;

/** Posts one sample event and lets the engine settle (a timeline, one event after the other). */
export async function post(h: Harness, event: SampleEvent): Promise<string> {
  const r = await h.call('POST', '/v1/events', event);
  if (r.status !== 202) throw new Error(`POST /v1/events → ${r.status} ${JSON.stringify(r.body)}`);
  await h.engine.drain();
  return r.body.contact_id as string;
}

export async function contactByEmail(h: Harness, email: string) {
  return (await h.call('GET', `/v1/contacts?email=${encodeURIComponent(email)}`)).body.items[0];
}

/** The statuses of a contact's runs of one flow, oldest first. */
export async function runStatuses(h: Harness, flowId: string, email: string): Promise<string[]> {
  const c = await contactByEmail(h, email);
  const runs = (await h.call('GET', `/v1/runs?flow_id=${flowId}&contact_id=${c.id}`)).body.items as { status: string }[];
  return runs.map((r) => r.status);
}

/** Subjects of the outbox messages sent to `email`, oldest first. */
export async function outboxSubjects(h: Harness, email: string): Promise<string[]> {
  const items = (await h.call('GET', '/v1/outbox?limit=500')).body.items as { to: string; subject: string }[];
  return items.filter((m) => m.to === email).map((m) => m.subject).reverse();
}
