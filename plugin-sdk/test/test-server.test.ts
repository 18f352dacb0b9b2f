import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../src/testing/index.ts';

/** The vendor stand-in of the test harness: what it records of a request, and how a failing handler answers. */
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('startTestServer', () => {
  it('records method, path, query, media type, body parsed by media type and Authorization', async () => {
    server = await startTestServer((_req, res, body) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`got ${body}`));
    const json = await fetch(`${server.url}/v1/items?limit=2`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer t' }, body: '{"a":[1]}' });
    expect(await json.text()).toBe('got {"a":[1]}');
    await fetch(`${server.url}/form`, { method: 'POST', body: new URLSearchParams({ To: '+1555', Body: 'hi' }) });
    await fetch(`${server.url}/empty`);
    await fetch(`${server.url}/text`, { method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'a,b' });
    expect(server.requests).toEqual([
      { method: 'POST', path: '/v1/items', query: { limit: '2' }, contentType: 'application/json', body: { a: [1] }, authorization: 'Bearer t' },
      { method: 'POST', path: '/form', query: {}, contentType: 'application/x-www-form-urlencoded', body: { To: '+1555', Body: 'hi' }, authorization: undefined },
      { method: 'GET', path: '/empty', query: {}, contentType: '', body: null, authorization: undefined },
      { method: 'PUT', path: '/text', query: {}, contentType: 'text/csv', body: 'a,b', authorization: undefined },
    ]);
    expect(server.host).toBe(new URL(server.url).host);
  });

  it('answers 500 with the message when the handler throws', async () => {
    server = await startTestServer(async () => {
      throw new Error('no route for this');
    });
    const res = await fetch(`${server.url}/x`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('no route for this');
    expect(server.requests).toHaveLength(1);
  });
});
