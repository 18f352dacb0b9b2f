import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';

describe('action.send_email through the workspace SMTP server', () => {
  let h: Harness;
  let smtp: SMTPServer;
  let port = 0;
  const mails: ParsedMail[] = [];
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onAuth: (auth, _s, cb) => (auth.username === 'cairn' && auth.password === 's3cret-pw' ? cb(null, { user: 'cairn' }) : cb(new Error('bad credentials'))),
      onData: (stream, _s, cb) => { simpleParser(stream).then((m) => { mails.push(m); cb(); }, cb); },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    port = (smtp.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await h?.close();
    await new Promise<void>((r) => smtp?.close(() => r()));
  });

  it('sends the rendered email once per run, skips unsubscribed contacts, and never returns or stores the password in clear', async () => {
    const flowId = await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Welcome', settings: { reentry: 'after_exit', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'signed_up' } },
        { id: 'mail', type: 'action.send_email', position: { x: 0, y: 120 }, config: { subject: 'Welcome, {{ contact.properties.first_name | default: "friend" }}', text: 'Plan: {{ event.properties.plan }}' } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'mail' }],
    });
    // Without settings the message goes to the development outbox (engine/test/email/outbox.test.ts), not to SMTP.
    await h.call('POST', '/v1/events', { type: 'signed_up', contact: { email: 'early@example.com' }, properties: { plan: 'pro' } });
    await h.engine.drain();
    const early = (await h.call('GET', `/v1/runs?flow_id=${flowId}`)).body.items[0];
    expect(early.status).toBe('completed');
    expect(mails).toHaveLength(0);

    const put = await h.call('PUT', '/v1/settings/email', { smtp_url: `smtp://cairn:s3cret-pw@127.0.0.1:${port}`, from: 'Acme <hello@acme.test>' });
    expect(put.status).toBe(200);
    expect(JSON.stringify(put.body)).not.toContain('s3cret-pw');
    expect(JSON.stringify((await h.call('GET', '/v1/settings/email')).body)).not.toContain('s3cret-pw');
    const leaked = await h.t.db.raw(`SELECT count(*)::int AS n FROM email_settings WHERE smtp_url_sealed LIKE '%s3cret-pw%'`);
    expect(leaked.rows[0].n).toBe(0);

    await h.call('POST', '/v1/events', { type: 'signed_up', contact: { email: 'ada@example.com', properties: { first_name: 'Ada' } }, properties: { plan: 'team' } });
    await h.call('POST', '/v1/contacts', { email: 'gone@example.com', properties: { unsubscribed: true } });
    await h.call('POST', '/v1/events', { type: 'signed_up', contact: { email: 'gone@example.com' }, properties: { plan: 'free' } });
    await h.engine.drain();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Welcome, Ada');
    expect(mails[0]!.text).toMatch(/^Plan: team\n\n--\nUnsubscribe or change your email preferences: http:\/\/\S+\/v1\/email\/preferences\//);
    expect(mails[0]!.from?.value[0]).toMatchObject({ name: 'Acme', address: 'hello@acme.test' });
    expect((mails[0]!.to as { text: string }).text).toBe('ada@example.com');
    expect(String(mails[0]!.headers.get('x-cairn-idempotency-key'))).toMatch(/^[0-9a-f-]{36}:mail$/);
    const runs = (await h.call('GET', `/v1/runs?flow_id=${flowId}&status=completed`)).body.items as { id: string }[];
    expect(runs).toHaveLength(3);
    const steps = await Promise.all(runs.map(async (r) => (await h.call('GET', `/v1/runs/${r.id}`)).body.steps.find((s: { node_id: string }) => s.node_id === 'mail').output));
    expect(steps).toContainEqual(expect.objectContaining({ suppressed: true }));
    expect(steps).toContainEqual(expect.objectContaining({ to: 'early@example.com', transport: 'outbox' }));
    expect(steps).toContainEqual(expect.objectContaining({ to: 'ada@example.com', accepted: true }));
  });
});
