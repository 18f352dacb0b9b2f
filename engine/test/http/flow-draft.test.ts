import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadRoutingFlow, startHarness, type Harness } from '../engine-harness.ts';

/** The draft save route as the builder uses it: entity tags so that two editors never overwrite each other. */
describe('flow drafts over HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  const put = async (id: string, doc: unknown, ifMatch?: string) => {
    const res = await h.app.inject({
      method: 'PUT', url: `/v1/flows/${id}/draft`, payload: JSON.stringify(doc),
      headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json', ...(ifMatch ? { 'if-match': ifMatch } : {}) },
    });
    return { status: res.statusCode, etag: res.headers.etag, body: JSON.parse(res.body) };
  };

  it('GET and PUT answer the draft\'s entity tag; a save with a stale If-Match is refused with 409 and changes nothing', async () => {
    const doc = leadRoutingFlow() as { name: string };
    const created = await h.call('POST', '/v1/flows', doc);
    const id = created.body.id as string;
    const got = await h.app.inject({ method: 'GET', url: `/v1/flows/${id}`, headers: { authorization: `Bearer ${h.key}` } });
    const loaded = JSON.parse(got.body).draft_etag as string;
    expect(got.headers.etag).toBe(loaded);
    expect(loaded).toBe(created.body.draft_etag);

    // Tab one saves from the loaded copy: accepted, with a new tag.
    const first = await put(id, { ...doc, name: 'Saved by tab one' }, loaded);
    expect(first.status).toBe(200);
    expect(first.etag).toBe(first.body.draft_etag);
    expect(first.etag).not.toBe(loaded);

    // Tab two still holds the loaded copy: refused, the draft stays tab one's.
    const second = await put(id, { ...doc, name: 'Saved by tab two' }, loaded);
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'CAIRN_ERR_CONFLICT', errors: [{ path: '/headers/if-match' }] });
    expect((await h.call('GET', `/v1/flows/${id}`)).body.draft.name).toBe('Saved by tab one');

    // With the current tag (also as a weak tag or in a list) it goes through; without If-Match saves are unconditional.
    expect((await put(id, { ...doc, name: 'Tab two after reload' }, `"nope", W/${first.etag}`)).status).toBe(200);
    expect((await put(id, { ...doc, name: 'An API client' })).status).toBe(200);
    expect((await h.call('GET', `/v1/flows/${id}`)).body.draft.name).toBe('An API client');
  });

  it('the tag follows the content, not the key order', async () => {
    const doc = leadRoutingFlow() as Record<string, unknown>;
    const id = (await h.call('POST', '/v1/flows', doc)).body.id as string;
    const reordered = Object.fromEntries(Object.entries(doc).reverse());
    const saved = await put(id, reordered);
    const again = await put(id, doc, saved.etag);
    expect(again.status).toBe(200);
    expect(again.etag).toBe(saved.etag);
  });
});

describe('unarchive', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('brings an archived flow back paused (draft if never published); only archived flows; resume starts it again', async () => {
    const published = (await h.call('POST', '/v1/flows', leadRoutingFlow())).body.id as string;
    expect((await h.call('POST', `/v1/flows/${published}/publish`, {})).status).toBe(200);
    const never = (await h.call('POST', '/v1/flows', leadRoutingFlow())).body.id as string;
    expect((await h.call('POST', `/v1/flows/${published}/unarchive`, {})).status).toBe(409);
    for (const id of [published, never]) expect((await h.call('POST', `/v1/flows/${id}/archive`, {})).body.status).toBe('archived');
    expect((await h.call('PUT', `/v1/flows/${never}/draft`, leadRoutingFlow())).status).toBe(409);

    const back = await h.call('POST', `/v1/flows/${published}/unarchive`, {});
    expect(back.body).toMatchObject({ status: 'paused', published_version: 1 });
    expect((await h.call('POST', `/v1/flows/${never}/unarchive`, {})).body.status).toBe('draft');
    expect((await h.call('PUT', `/v1/flows/${never}/draft`, leadRoutingFlow())).status).toBe(200);
    expect((await h.call('POST', `/v1/flows/${published}/resume`, {})).body.status).toBe('active');
    const other = await h.call('POST', '/v1/flows/0190a3c0-0000-7000-8000-000000000000/unarchive', {});
    expect(other.status).toBe(404);
  });
});
