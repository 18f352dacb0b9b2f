import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, type Harness } from '../engine-harness.ts';
import { reserveSend } from '../../src/channels/email-ledger.ts';
import { newId } from '../../src/db/ids.ts';
import { emailFlow, recipients, startMailHarness, type MailHarness, type MailServer } from './mail-server.ts';

const stepOf = async (h: Harness, runId: string, node = 'mail') =>
  (await h.call('GET', `/v1/runs/${runId}`)).body.steps.filter((s: { node_id: string }) => s.node_id === node).at(-1);

describe('frequency caps across flows', () => {
  let h: MailHarness;
  let smtp: MailServer;
  beforeAll(async () => {
    h = await startMailHarness();
    smtp = h.smtp;
  });
  afterAll(() => h?.close());

  it('3 marketing emails per 7 days across two flows: the 4th is skipped with a reason and the flow continues; transactional still goes', async () => {
    const policy = await h.call('PUT', '/v1/settings/email-policy', { frequency_caps: [{ category: 'marketing', max: 3, within: 'P7D' }] });
    expect(policy.body).toMatchObject({ frequency_caps: [{ category: 'marketing', max: 3, within: 'P7D' }], tracking: true, quiet_hours: null });
    const a = await createAndPublish(h, emailFlow('news', 'news', { subject: 'News {{ event.properties.n }}', text: 'n' }));
    const b = await createAndPublish(h, emailFlow('promo', 'promo', { subject: 'Promo {{ event.properties.n }}', text: 'p', category: 'marketing' }));
    const t = await createAndPublish(h, emailFlow('receipt', 'paid', { subject: 'Receipt', text: 'thanks', category: 'transactional' }));
    const contact = { email: 'cap@example.com' };
    for (const [type, n] of [['news', 1], ['promo', 2], ['news', 3], ['promo', 4]] as const) {
      await h.call('POST', '/v1/events', { type, contact, properties: { n } });
      await h.engine.drain();
      await h.call('POST', '/v1/_test/clock/advance', { by: 'PT1H' });
    }
    expect(smtp.mails.map((m) => m.subject)).toEqual(['News 1', 'Promo 2', 'News 3']);
    const promoRuns = (await h.call('GET', `/v1/runs?flow_id=${b}`)).body.items as { id: string; status: string }[];
    expect(promoRuns.map((r) => r.status)).toEqual(['completed', 'completed']);
    const capped = await Promise.all(promoRuns.map((r) => stepOf(h, r.id)));
    const skipped = capped.find((s) => s.status === 'skipped');
    expect(skipped.output).toMatchObject({ skipped: true, capped: true });
    expect(skipped.output.reason).toMatch(/frequency cap: 3 marketing email\(s\) already sent to this contact within P7D \(at most 3\)/);
    // The flow went on past the capped email.
    const after = await stepOf(h, promoRuns.find((r) => capped[promoRuns.indexOf(r)].status === 'skipped')!.id, 'after');
    expect(after.status).toBe('completed');

    await h.call('POST', '/v1/events', { type: 'paid', contact });
    await h.engine.drain();
    expect(smtp.mails.at(-1)!.subject).toBe('Receipt');
    expect((await h.call('GET', `/v1/runs?flow_id=${t}`)).body.items[0].status).toBe('completed');

    // The window rolls: 7 days after the first message, one slot is free again.
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P7D' });
    await h.call('POST', '/v1/events', { type: 'news', contact, properties: { n: 5 } });
    await h.engine.drain();
    expect(smtp.mails.at(-1)!.subject).toBe('News 5');
    expect(a).toBeTruthy();
  });

  it('two flows sending to one contact at once under a cap of one deliver exactly one', async () => {
    await h.call('PUT', '/v1/settings/email-policy', { frequency_caps: [{ category: 'flash', max: 1, within: 'P1D' }] });
    await createAndPublish(h, emailFlow('flash-a', 'flash', { subject: 'Flash A', text: 'a', category: 'flash' }));
    await createAndPublish(h, emailFlow('flash-b', 'flash', { subject: 'Flash B', text: 'b', category: 'flash' }));
    const before = smtp.mails.length;
    await h.call('POST', '/v1/events', { type: 'flash', contact: { email: 'race@example.com' } });
    await h.engine.drain();
    const got = smtp.mails.slice(before);
    expect(recipients(got)).toEqual(['race@example.com']);
    expect(['Flash A', 'Flash B']).toContain(got[0]!.subject);
  });

  it('the cap check is serialised per contact: 20 concurrent reservations under a cap of one → exactly one', async () => {
    const contactId = (await h.call('POST', '/v1/contacts', { email: 'burst@example.com' })).body.id;
    const now = new Date('2026-04-01T10:00:00Z');
    const results = await Promise.all(Array.from({ length: 20 }, () => reserveSend(h.t.db, {
      workspaceId: h.workspaceId, runId: newId(), nodeId: 'mail', contactId, category: 'burst', caps: [{ category: 'burst', max: 1, within: 'P1D' }], now,
    })));
    expect(results.filter((r) => r.kind === 'send')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'capped')).toHaveLength(19);
  });

  it('refuses a cap on transactional mail and a bad duration, naming the path', async () => {
    const t = await h.call('PUT', '/v1/settings/email-policy', { frequency_caps: [{ category: 'transactional', max: 1, within: 'P1D' }] });
    expect(t.status).toBe(400);
    expect(t.body.errors[0].path).toMatch(/^\/frequency_caps\/0\/category/);
    const d = await h.call('PUT', '/v1/settings/email-policy', { frequency_caps: [{ category: 'news', max: 1, within: '7 days' }] });
    expect(d.status).toBe(400);
    expect(d.body.errors[0].path).toBe('/frequency_caps/0/within');
  });
});
