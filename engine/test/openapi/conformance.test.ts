import { randomUUID } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { createGenerator } from 'json-schema-faker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createHarness, json, type Harness } from '../http/harness.ts';

/**
 * Issue 18 acceptance: the engine answers as its own OpenAPI document says. Every operation of the document
 * (as served at /docs/json) is called against a real engine (real PostgreSQL) with seeded ids:
 * - a valid request: body and required query parameters generated from the schemas by json-schema-faker
 *   (seeded, so a failure replays), with the admin key;
 * - invalid requests: a body of the wrong type, no credentials;
 * and every answer must have a documented status, a documented content type and a body that validates (ajv,
 * JSON Schema 2020-12 as OpenAPI 3.1 says) against the documented schema. A 5XX is always a mismatch.
 */

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;
const SEED = 18;

type Schema = Record<string, unknown>;
interface Parameter { name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema: Schema }
interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
  security?: unknown[];
}
interface Call { op: Operation; method: string; path: string; pointer: string }

const pointerOf = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

describe('conformance: every operation answers as the OpenAPI document says', () => {
  let h: Harness;
  let doc: { paths: Record<string, Record<string, Operation>>; components: Schema };
  let ajv: Ajv2020;
  let calls: Call[];
  const seeded: Record<string, string> = {};
  let anonymous = 1;

  beforeAll(async () => {
    h = await createHarness();
    doc = json(await h.app.inject({ method: 'GET', url: '/docs/json' }));
    ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats(ajv);
    ajv.addSchema({ ...doc, $id: 'openapi.json' });
    calls = Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => ({ op: item[m]!, method: m.toUpperCase(), path, pointer: pointerOf('paths', path, m) })));
    // DELETEs last, so the seeded objects exist for everything else.
    calls.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));

    const admin = bearer(h.ws.a.keys.admin);
    const post = async (url: string, payload: object) => {
      const res = await h.app.inject({ method: 'POST', url, headers: admin, payload });
      if (res.statusCode >= 300) throw new Error(`seeding ${url}: ${res.statusCode} ${res.body}`);
      return json(res);
    };
    seeded.contacts = (await post('/v1/contacts', { external_id: 'seed', email: 'seed@example.com' })).id;
    seeded.owners = (await post('/v1/owners', { name: 'Seed Owner', email: 'owner@example.com' })).id;
    const flow = await post('/v1/flows', {
      schema: 'cairn.flow/v1', name: 'Seed', settings: { reentry: 'always', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'seed.event' } },
        { id: 'tag', type: 'action.tag', position: { x: 0, y: 120 }, config: { add: ['seeded'] } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'tag' }],
    });
    seeded.flows = flow.id;
    await post(`/v1/flows/${flow.id}/publish`, {});
    seeded.segments = (await post('/v1/segments', { key: 'seed', name: 'Seed', rule: { all: [{ fact: 'contact', path: '$.score', operator: 'greaterThanInclusive', value: 0 }] } })).key;
    await post('/v1/loyalty-programs', { key: 'seed', earn: [{ event: 'order.completed', points_per_unit: 1 }] });
    await post('/v1/referral-programs', { key: 'seed', qualifying_event: 'order.completed', referrer_reward: 10, referee_reward: 5 });
  }, 120_000);
  afterAll(async () => h?.close());

  /** A path parameter: the seeded object of the collection it names, else a value that names nothing. */
  function pathValue(path: string, name: string): string {
    const collection = path.split('/')[2]!;
    if (name === 'id' && seeded[collection]) return seeded[collection]!;
    if (name === 'key') return collection === 'segments' ? seeded.segments! : 'seed';
    if (name === 'n') return '1';
    if (name === 'workspace') return h.ws.a.id;
    return name === 'token' || name === 'trigger' ? 'unknown' : randomUUID();
  }

  function queryValue(name: string, generated: unknown): unknown {
    if (name === 'program') return 'seed';
    if (name === 'contact_id') return seeded.contacts;
    return generated;
  }

  /** Mismatches between an answer and the document (empty: it conforms). */
  function check(call: Call, res: { statusCode: number; headers: Record<string, unknown>; body: string }, what: string): string[] {
    const where = `${call.method} ${call.path} (${what}) → ${res.statusCode}`;
    const codes = Object.keys(call.op.responses);
    const code = codes.find((c) => c === String(res.statusCode)) ?? codes.find((c) => c === `${String(res.statusCode)[0]}XX`) ?? (codes.includes('default') ? 'default' : undefined);
    if (res.statusCode >= 500) return [`${where}: the engine failed: ${res.body.slice(0, 300)}`];
    if (!code) return [`${where}: status not in the document (documented: ${codes.join(', ')})`];
    const content = call.op.responses[code]!.content;
    if (!content) return res.body.length === 0 ? [] : [`${where}: the document declares no body, the engine sent ${res.body.length} bytes`];
    const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (!(type in content)) return [`${where}: content type "${type}" not documented (${Object.keys(content).join(', ')})`];
    const schema = content[type]!.schema;
    if (!schema || !type.endsWith('json')) return [];
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      return [`${where}: the body is not JSON`];
    }
    const ref = `openapi.json#/${call.pointer}/responses/${pointerOf(code)}/content/${pointerOf(type)}/schema`;
    const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
    if (!validate(body)) return [`${where}: the body does not match the documented schema: ${ajv.errorsText(validate.errors, { separator: '; ' }).slice(0, 500)}`];
    return [];
  }

  async function send(call: Call, opts: { body?: unknown; query?: Record<string, unknown>; auth: boolean }) {
    const url = call.path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(pathValue(call.path, name)));
    const query = Object.entries(opts.query ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
    const headers: Record<string, string> = opts.auth ? bearer(h.ws.a.keys.admin) : {};
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    // Calls without a key come from addresses of their own: 60 failed authentications a minute from one address
    // would (rightly) be answered 429 before authenticating.
    const remoteAddress = opts.auth ? '127.0.0.1' : `10.18.${(anonymous >> 8) & 255}.${anonymous++ & 255}`;
    return h.app.inject({ method: call.method as 'GET', url: query ? `${url}?${query}` : url, headers, remoteAddress, ...(opts.body !== undefined ? { payload: JSON.stringify(opts.body) } : {}) });
  }

  it('valid requests generated from the schemas, bodies of the wrong type and calls without a key all answer as documented', async () => {
    const options = { seed: SEED, optionalsProbability: 0.3, maxDepth: 4, maxDefaultItems: 2, refDepthMax: 2 };
    const some = createGenerator(options);
    // json-schema-faker cannot meet minProperties from optional properties alone; then every optional one is made.
    const all = createGenerator({ ...options, alwaysFakeOptionals: true });
    const gen = { generate: async (schema: Schema) => some.generate(schema).catch(() => all.generate(schema)) };
    const resolveRefs = (schema: Schema) => ({ ...schema, components: doc.components });
    const mismatches: string[] = [];
    const statuses = new Map<string, number[]>();
    for (const call of calls) {
      const query: Record<string, unknown> = {};
      for (const p of call.op.parameters ?? []) {
        if (p.in === 'query' && p.required) query[p.name] = queryValue(p.name, await gen.generate(resolveRefs(p.schema)));
      }
      const bodySchema = call.op.requestBody?.content['application/json']?.schema;
      const body = bodySchema ? await gen.generate(resolveRefs(bodySchema)) : undefined;
      const valid = await send(call, { body, query, auth: true });
      mismatches.push(...check(call, valid, 'valid input'));
      const seen = [valid.statusCode];
      if (bodySchema) {
        const wrong = await send(call, { body: [42], query, auth: true });
        if (wrong.statusCode !== 400) mismatches.push(`${call.method} ${call.path} (body of the wrong type) → ${wrong.statusCode}, expected 400`);
        mismatches.push(...check(call, wrong, 'body of the wrong type'));
        seen.push(wrong.statusCode);
      }
      if (call.op.security?.length) {
        const anonymous = await send(call, { body, query, auth: false });
        if (anonymous.statusCode !== 401) mismatches.push(`${call.method} ${call.path} (no key) → ${anonymous.statusCode}, expected 401`);
        mismatches.push(...check(call, anonymous, 'no key'));
        seen.push(anonymous.statusCode);
      }
      statuses.set(`${call.method} ${call.path}`, seen);
    }
    expect(calls.length).toBeGreaterThan(80);
    expect(mismatches).toEqual([]);
    // Seeded ids reach the handlers: most generated valid requests succeed (a 2xx/3xx), not just 4xx.
    const succeeded = [...statuses.values()].filter(([first]) => first! < 400).length;
    expect(succeeded).toBeGreaterThan(calls.length / 2);
  }, 300_000);
});
