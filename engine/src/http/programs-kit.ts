import type { EngineContext } from '../context.ts';
import { conflict, invalid, notFound, type ProblemItem } from '../errors.ts';
import { parseDuration } from '../time/duration.ts';
import { idempotent } from './kit.ts';
import type { RouteApp } from './route-groups.ts';
import { idempotencyHeaders, page as pageSchema, ref } from './schemas.ts';

/** Each named duration must be a positive ISO 8601 duration; problems point at it. */
export function checkDurations(body: Record<string, unknown>, names: string[]): ProblemItem[] {
  const problems: ProblemItem[] = [];
  for (const name of names) {
    const v = body[name];
    if (typeof v !== 'string') continue;
    const d = parseDuration(v);
    if (!d || d.negative || d.addTo(new Date(0)).getTime() <= 0) problems.push({ path: `/${name}`, message: `must be a positive ISO 8601 duration such as "P30D", got "${v}"` });
  }
  return problems;
}

/** A program key given in the URL or query that names no program of the workspace: 400 pointing at it. */
export const unknownProgram = (kind: string, key: string): ProblemItem => ({ path: '/program', message: `no ${kind} program "${key}" in this workspace` });

/** A stored program: its key, the body it was created with, and when. */
export interface ProgramRow<C> { key: string; config: C; created_at: Date }
const programJson = <C>(r: ProgramRow<C>) => ({ ...(r.config as object), created_at: r.created_at.toISOString() });

/**
 * The routes every program kind shares: `POST /<path>` (idempotent, 409 on a taken key), `GET /<path>` and
 * `GET /<path>/:key`. `check` adds the kind's own rules (problems with JSON Pointers) to the schema's.
 */
export function programRoutes<C extends { key: string }>(app: RouteApp, ctx: EngineContext, spec: {
  kind: string; table: string; path: string; body: object; answer: 'ReferralProgram' | 'LoyaltyProgram'; check: (body: C) => ProblemItem[];
}): void {
  const tag = `${spec.kind} programs`;
  const name = spec.kind[0]!.toUpperCase() + spec.kind.slice(1);
  app.post(`/${spec.path}`, {
    schema: { operationId: `create${name}Program`, tags: [tag], summary: `Create a ${spec.kind} program`, headers: idempotencyHeaders, body: spec.body, response: { 201: ref(spec.answer), 200: ref(spec.answer) } },
  }, async (request, reply) => {
    // The kind's body schema (spec.body) validated it; C is the type its caller states for that schema.
    const b = request.body as C;
    const problems = spec.check(b);
    if (problems.length) throw invalid(`the ${spec.kind} program is not valid: ${problems[0]!.path} ${problems[0]!.message}`, problems);
    const { workspaceId } = request.auth!;
    const outcome = await idempotent(ctx, request, async (tx) => {
      const [row] = await tx(spec.table).insert({ workspace_id: workspaceId, key: b.key, config: JSON.stringify(b), created_at: ctx.clock.now() })
        .onConflict(['workspace_id', 'key']).ignore().returning<ProgramRow<C>[]>('*');
      if (!row) throw conflict(`a ${spec.kind} program with key "${b.key}" already exists`);
      return { status: 201, body: programJson(row) };
    });
    return reply.code(outcome.status as 201).send(outcome.body);
  });

  app.get(`/${spec.path}`, { config: { area: 'contacts' }, schema: { operationId: `list${name}Programs`, tags: [tag], summary: `List ${spec.kind} programs`, response: { 200: pageSchema(spec.answer) } } }, async (request) => {
    const rows = await ctx.db(spec.table).where({ workspace_id: request.auth!.workspaceId }).orderBy('key').select<ProgramRow<C>[]>('*');
    return { items: rows.map(programJson), next_cursor: null };
  });

  app.get(`/${spec.path}/:key`, {
    config: { area: 'contacts' },
    schema: { operationId: `get${name}Program`, tags: [tag], summary: `Get a ${spec.kind} program`, params: { type: 'object', required: ['key'], properties: { key: { type: 'string', maxLength: 100 } } }, response: { 200: ref(spec.answer) } },
  }, async (request) => {
    const row = await ctx.db(spec.table).where({ workspace_id: request.auth!.workspaceId, key: request.params.key }).first<ProgramRow<C>>();
    if (!row) throw notFound(`${spec.kind} program`);
    return programJson(row);
  });
}
