import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TYPES_PATH, generate } from '../../src/openapi/generate.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

type Operation = { operationId?: string; summary?: string; tags?: string[]; security?: unknown[]; responses: Record<string, { content?: Record<string, { schema?: unknown }> }> };

/** The OpenAPI document as a contract (issue 18): complete, linted, and the source of the typed client. */
describe('OpenAPI document', () => {
  let generated: Awaited<ReturnType<typeof generate>>;
  let operations: Array<{ where: string; op: Operation }>;
  beforeAll(async () => {
    generated = await generate();
    const paths = generated.document.paths as Record<string, Record<string, Operation>>;
    operations = Object.entries(paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => ({ where: `${m.toUpperCase()} ${path}`, op: item[m]! })));
  }, 120_000);

  it('every operation has an operationId, a summary, tags and a success response with its schema', () => {
    expect(operations.length).toBeGreaterThan(80);
    const missing = operations.filter(({ op }) => !op.operationId || !op.summary || !op.tags?.length).map((o) => o.where);
    expect(missing, 'declare schema.operationId, summary and tags on these routes').toEqual([]);
    const ids = operations.map(({ op }) => op.operationId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i), 'operationIds must be unique').toEqual([]);
    const noSuccess = operations.filter(({ op }) => {
      const codes = Object.keys(op.responses).filter((c) => /^2/.test(c));
      // A 204 has no body; a redirect (the click tracker) has its Location header instead.
      if (codes.includes('204') || (codes.length === 0 && op.responses['302'])) return false;
      return !codes.some((c) => Object.values(op.responses[c]!.content ?? {}).some((media) => media.schema));
    }).map((o) => o.where);
    expect(noSuccess, 'declare the 2xx response schema of these routes').toEqual([]);
  });

  it('errors are problem+json with the shared Problem schema; 401 names its challenge; 429 its Retry-After', () => {
    for (const { where, op } of operations) {
      expect(op.responses['4XX']?.content?.['application/problem+json']?.schema, where).toEqual({ $ref: '#/components/schemas/Problem' });
      expect((op.responses['429'] as { headers?: object }).headers, where).toHaveProperty('Retry-After');
      if (op.security?.length) expect((op.responses['401'] as { headers?: object }).headers, where).toHaveProperty('WWW-Authenticate');
    }
    const doc = generated.document as { components: { schemas: Record<string, { properties: Record<string, unknown> }>; securitySchemes: object } };
    expect(doc.components.schemas.Problem!.properties.errors).toEqual({ type: 'array', items: { $ref: '#/components/schemas/ProblemItem' } });
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'csrf', 'session']);
  });

  it('public routes need no credentials; the others an API key or the session cookie (+ CSRF header on writes)', () => {
    const byWhere = new Map(operations.map((o) => [o.where, o.op]));
    for (const where of ['POST /v1/auth/login', 'POST /v1/hooks/{workspace}/plugins/{id}/{trigger}', 'POST /v1/email/unsubscribe/{token}', 'GET /v1/email/open/{token}']) {
      expect(byWhere.get(where)?.security, where).toEqual([]);
    }
    expect(byWhere.get('GET /v1/contacts')?.security).toEqual([{ apiKey: [] }, { session: [] }]);
    expect(byWhere.get('POST /v1/contacts')?.security).toEqual([{ apiKey: [] }, { session: [], csrf: [] }]);
    expect(JSON.stringify(byWhere.get('POST /v1/contacts'))).toContain('"in":"header","name":"idempotency-key"');
  });

  it(`${CLIENT_TYPES_PATH} is generated from the current document (run pnpm openapi when this fails)`, () => {
    expect(readFileSync(join(ROOT, CLIENT_TYPES_PATH), 'utf8') === generated.clientTypes, `${CLIENT_TYPES_PATH} is out of date: run pnpm openapi and commit it`).toBe(true);
  });

  describe('Redocly', () => {
    let dir: string;
    beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'cairn-openapi-')); });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('`redocly lint` (recommended rules) exits 0', async () => {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(generated.document));
      const run = promisify(execFile)(join(ROOT, 'node_modules/.bin/redocly'), ['lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format', 'json'], {
        cwd: ROOT, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' }, maxBuffer: 16 * 1024 * 1024,
      });
      const { stdout } = await run.catch((err: { stdout: string; code: number }) => {
        throw new Error(`redocly lint exited ${err.code}:\n${err.stdout.slice(0, 4000)}`);
      });
      const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number } };
      expect(report.totals.errors).toBe(0);
    }, 120_000);
  });
});
