import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';
import { startReceiver } from '../receiver.ts';
import { contactByEmail, loadExample, outboxSubjects, post, runStatuses, samplesOf } from './example-kit.ts';

/** examples/nurture as its README tells it, out of the box: no SMTP, so the emails land in the outbox. */
describe('nurture example', () => {
  let h: Harness;
  let crm: Awaited<ReturnType<typeof startReceiver>>;
  let flowId: string;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual' });
    crm = await startReceiver();
    const flow = loadExample('nurture', 'flow.json');
    flow.nodes.find((n: { id: string }) => n.id === 'notify_crm').config.url = `${crm.url}/hooks/nurture-finished`;
    flowId = await createAndPublish(h, flow);
  });
  afterAll(async () => {
    await h?.close();
    await crm?.close();
  });

  it('sample events: Sam clicks and books (converted), Alex unsubscribes (exited), Noor takes the timeout branch', async () => {
    const [samSignup, noorSignup, alexSignup, samClick, samBooks, alexUnsub] = samplesOf('nurture');
    for (const e of [samSignup!, noorSignup!, alexSignup!]) await post(h, e);
    expect(await outboxSubjects(h, 'sam@brightpath.example')).toEqual(['Welcome to Acme, Sam']);
    expect(await outboxSubjects(h, 'alex@orbit.example')).toEqual(['Welcome to Acme, there']);

    await post(h, samClick!);
    expect((await contactByEmail(h, 'sam@brightpath.example')).score).toBe(10);
    expect(await outboxSubjects(h, 'sam@brightpath.example')).toEqual(['Welcome to Acme, Sam', 'Sam, want a 20-minute tour?']);
    await post(h, samBooks!);
    expect(await runStatuses(h, flowId, 'sam@brightpath.example')).toEqual(['converted']);

    await post(h, alexUnsub!);
    expect(await runStatuses(h, flowId, 'alex@orbit.example')).toEqual(['exited']);

    // Noor never clicks: 3 days, then the next weekday at 10:00, the tips email; 4 days later the CRM hears of it.
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P3D' });
    expect(await outboxSubjects(h, 'noor@quill.example')).toEqual(['Welcome to Acme, Noor']);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'PT2H' });
    expect(await outboxSubjects(h, 'noor@quill.example')).toEqual(['Welcome to Acme, Noor', '3 things teams like Quill do in week one']);
    expect(crm.received).toHaveLength(0);
    await h.call('POST', '/v1/_test/clock/advance', { by: 'P4D' });
    expect(crm.received.map((r) => JSON.parse(r.body))).toEqual([{ email: 'noor@quill.example', flow: 'welcome-nurture', clicked: false }]);
    expect(await runStatuses(h, flowId, 'noor@quill.example')).toEqual(['completed']);
    // Alex's later steps never ran, and nobody got a second welcome.
    expect(await outboxSubjects(h, 'alex@orbit.example')).toEqual(['Welcome to Acme, there']);
  });

  it('a real click on the tracked welcome link moves the run on like the sample click', async () => {
    await post(h, { type: 'signup.completed', contact: { email: 'ivy@tern.example', properties: { first_name: 'Ivy' } } });
    const welcome = (await h.call('GET', '/v1/outbox?limit=500')).body.items.find((m: { to: string }) => m.to === 'ivy@tern.example');
    const tracked = /href="(http:\/\/[^"]+\/v1\/email\/click\/[^"]+)"/.exec(welcome.html)![1]!;
    const res = await h.app.inject({ method: 'GET', url: new URL(tracked).pathname });
    expect(res.headers.location).toBe('https://acme.example/start?c=welcome');
    await h.engine.drain();
    expect(await outboxSubjects(h, 'ivy@tern.example')).toEqual(['Welcome to Acme, Ivy', 'Ivy, want a 20-minute tour?']);
    expect(await runStatuses(h, flowId, 'ivy@tern.example')).toEqual(['waiting']);
  });
});
