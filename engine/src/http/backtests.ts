import { withTx } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { CairnError, invalid, notFound } from '../errors.ts';
import type { FlowDocument } from '../contracts/flow.ts';
import { coreOnly, getFlowRow, validateDraft } from '../flow/service.ts';
import { enqueueBacktest } from '../queue/jobs.ts';
import { requireUuid } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';
import { ref } from './schemas.ts';

/** The longest period one backtest replays. */
export const MAX_BACKTEST_DAYS = 366;
const DAY_MS = 86_400_000;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } } as const;
const bidParams = { type: 'object', required: ['id', 'bid'], properties: { id: { type: 'string', maxLength: 100 }, bid: { type: 'string', maxLength: 100 } } } as const;

interface Row {
  id: string;
  flow_id: string;
  version: number | null;
  period_from: Date;
  period_to: Date;
  status: string;
  progress: number;
  processed_events: string;
  total_events: string | null;
  /** The replay's counts (runner/backtest/replay.ts `BacktestResult`), partial while running. */
  result: { nodes: unknown; actions: unknown; runs: unknown; conversion: unknown } | null;
  error: unknown;
  created_at: Date;
  finished_at: Date | null;
}

function view(r: Row) {
  return {
    id: r.id,
    flow_id: r.flow_id,
    version: r.version ?? 'draft',
    from: r.period_from.toISOString(),
    to: r.period_to.toISOString(),
    status: r.status,
    progress: r.progress,
    processed_events: Number(r.processed_events),
    total_events: r.total_events === null ? null : Number(r.total_events),
    nodes: r.result?.nodes ?? {},
    actions: r.result?.actions ?? {},
    runs: r.result?.runs ?? null,
    conversion: r.result?.conversion ?? null,
    error: r.error ?? null,
    created_at: r.created_at.toISOString(),
    finished_at: r.finished_at?.toISOString() ?? null,
  };
}

type NodeCounts = Record<string, unknown>;
const COUNTED = ['entered', 'completed', 'failed', 'waited', 'timed_out', 'converted', 'exited', 'waiting'] as const;

/**
 * b − a for every node either has (a node only one document has counts as 0 in the other) and every action type;
 * conversion rates' difference when both flows have a goal. Only finished backtests are compared as final figures:
 * `a.status`/`b.status` say whether either is still running.
 */
function compare(a: ReturnType<typeof view>, b: ReturnType<typeof view>) {
  const an = a.nodes as Record<string, NodeCounts>;
  const bn = b.nodes as Record<string, NodeCounts>;
  const num = (x: unknown) => (typeof x === 'number' ? x : 0);
  const nodes: Record<string, Record<string, number> & { only_in?: 'a' | 'b' }> = {};
  for (const id of new Set([...Object.keys(an), ...Object.keys(bn)])) {
    const d: Record<string, number> & { only_in?: 'a' | 'b' } = {};
    for (const k of COUNTED) d[k] = num(bn[id]?.[k]) - num(an[id]?.[k]);
    if (!an[id]) d.only_in = 'b';
    else if (!bn[id]) d.only_in = 'a';
    nodes[id] = d;
  }
  const aa = a.actions as Record<string, number>;
  const ba = b.actions as Record<string, number>;
  const actions: Record<string, number> = {};
  for (const t of new Set([...Object.keys(aa), ...Object.keys(ba)])) actions[t] = num(ba[t]) - num(aa[t]);
  const rate = (v: ReturnType<typeof view>) => (v.conversion as { rate?: number | null } | null)?.rate ?? null;
  const ra = rate(a);
  const rb = rate(b);
  return { nodes, actions, conversion_rate: ra === null || rb === null ? null : rb - ra };
}

function instant(value: string, path: string): Date {
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(d.getTime())) throw invalid(`${path.slice(1)} is not an ISO 8601 date-time`, [{ path, message: 'is not an ISO 8601 date-time' }]);
  return d;
}

/**
 * Backtests (docs/api.md#backtests): replay a flow's draft or one of its versions over a period of recorded events.
 * The replay runs as a job (engine/src/runner/backtest); these routes start it, show its progress and result, and cancel it.
 */
export const backtestsRoutes: RouteGroup = async (app, { ctx, nodeTypes = coreOnly }) => {
  const load = async (workspaceId: string, flowId: string, bid: string) => {
    const row = await ctx.db('backtests').where({ workspace_id: workspaceId, flow_id: flowId, id: requireUuid(bid, 'backtest') }).first<Row>();
    if (!row) throw notFound('backtest');
    return row;
  };

  app.post('/flows/:id/backtest', {
    config: { area: 'flows' },
    schema: {
      operationId: 'startBacktest', tags: ['backtests'], summary: 'Replay recorded events of a period against the draft or a version (202; Location: the backtest)',
      params: idParams,
      response: { 202: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } },
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['from', 'to'],
        properties: {
          from: { type: 'string', maxLength: 64, pattern: '^\\d{4}-\\d{2}-\\d{2}T', description: 'ISO 8601 date-time' },
          to: { type: 'string', maxLength: 64, pattern: '^\\d{4}-\\d{2}-\\d{2}T', description: 'ISO 8601 date-time' },
          version: { anyOf: [{ const: 'draft' }, { type: 'integer', minimum: 1 }] },
          sample: { type: 'integer', minimum: 0, maximum: 50 },
        },
      },
    },
  }, async (request, reply) => {
    const { workspaceId } = request.auth!;
    const flowId = requireUuid(request.params.id, 'flow');
    const body = request.body;
    const from = instant(body.from, '/from');
    const to = instant(body.to, '/to');
    if (from >= to) throw invalid('from must be before to', [{ path: '/from', message: 'is not before to' }]);
    if (to.getTime() - from.getTime() > MAX_BACKTEST_DAYS * DAY_MS) {
      throw invalid(`the period is longer than ${MAX_BACKTEST_DAYS} days`, [{ path: '/to', message: `is more than ${MAX_BACKTEST_DAYS} days after from` }]);
    }
    const flow = await getFlowRow(ctx.db, workspaceId, flowId);
    const version = body.version === undefined || body.version === 'draft' ? null : body.version;
    let document: FlowDocument;
    if (version === null) {
      const result = validateDraft(flow.draft, await nodeTypes(workspaceId));
      if (!result.valid) throw new CairnError('CAIRN_ERR_INVALID_FLOW', `the draft has ${result.errors.length} problem(s); fix them before a backtest`, { errors: result.errors });
      document = flow.draft;
    } else {
      const v = await ctx.db('flow_versions').where({ workspace_id: workspaceId, flow_id: flowId, version }).first<{ document: FlowDocument }>();
      if (!v) throw notFound('flow version');
      document = v.document;
    }
    const trigger = document.nodes.findIndex((n) => n.type === 'trigger.schedule' || n.type === 'trigger.date');
    if (trigger >= 0) {
      throw new CairnError('CAIRN_ERR_INVALID_FLOW', 'backtests replay event- and segment-triggered flows; clock triggers are not replayed yet', {
        errors: [{ path: `/nodes/${trigger}/type`, message: 'a clock trigger cannot be backtested yet' }],
      });
    }
    const id = newId(ctx.clock.now().getTime());
    await withTx(ctx.db, async (tx) => {
      await tx('backtests').insert({
        workspace_id: workspaceId, id, flow_id: flowId, version, document: JSON.stringify(document), period_from: from, period_to: to,
        sample: body.sample ?? 5, status: 'running', created_at: ctx.clock.now(),
      });
      await enqueueBacktest(tx, { w: workspaceId, b: id });
    });
    return reply.code(202).header('location', `/v1/flows/${flowId}/backtests/${id}`).send({ id });
  });

  app.get('/flows/:id/backtests', {
    config: { area: 'flows' },
    schema: { operationId: 'listBacktests', tags: ['backtests'], summary: "A flow's 50 newest backtests", params: idParams, response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Backtest') } } } } },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const flowId = requireUuid(request.params.id, 'flow');
    await getFlowRow(ctx.db, workspaceId, flowId);
    const rows = await ctx.db('backtests').where({ workspace_id: workspaceId, flow_id: flowId }).orderBy('created_at', 'desc').limit(50).select<Row[]>('*');
    return { items: rows.map(view) };
  });

  // Compare two backtests of the same flow (two drafts saved in turn, a draft against a version): both results whole,
  // plus per-node and per-action differences b − a, so the builder can show them side by side.
  app.get('/flows/:id/backtests/compare', {
    config: { area: 'flows' },
    schema: {
      operationId: 'compareBacktests', tags: ['backtests'], summary: 'Two backtests of a flow side by side, with per-node and per-action differences b − a',
      params: idParams,
      querystring: { type: 'object', required: ['a', 'b'], additionalProperties: false, properties: { a: { type: 'string', maxLength: 100 }, b: { type: 'string', maxLength: 100 } } },
      response: { 200: ref('BacktestComparison') },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const flowId = requireUuid(request.params.id, 'flow');
    const q = request.query;
    const a = view(await load(workspaceId, flowId, q.a));
    const b = view(await load(workspaceId, flowId, q.b));
    return { a, b, same_period: a.from === b.from && a.to === b.to, diff: compare(a, b) };
  });

  app.get('/flows/:id/backtests/:bid', { config: { area: 'flows' }, schema: { operationId: 'getBacktest', tags: ['backtests'], summary: 'A backtest: progress, per-node counts, actions', params: bidParams, response: { 200: ref('Backtest') } } }, async (request) => {
    const { id, bid } = request.params;
    return view(await load(request.auth!.workspaceId, requireUuid(id, 'flow'), bid));
  });

  // Cancel: the job notices within 250 ms and stops; the counts reached so far are kept. DELETE is the same.
  const cancel = async (request: { auth: { workspaceId: string } | null; params: { id: string; bid: string } }) => {
    const { id, bid } = request.params;
    const workspaceId = request.auth!.workspaceId;
    const row = await load(workspaceId, requireUuid(id, 'flow'), bid);
    await ctx.db('backtests').where({ workspace_id: workspaceId, id: row.id, status: 'running' }).update({ status: 'cancelled', finished_at: ctx.clock.now() });
    return view(await load(workspaceId, row.flow_id, row.id));
  };
  app.post('/flows/:id/backtests/:bid/cancel', { config: { area: 'flows' }, schema: { operationId: 'cancelBacktest', tags: ['backtests'], summary: 'Stop a running backtest (counts so far are kept)', params: bidParams, response: { 200: ref('Backtest') } } }, (request) => cancel(request));
  app.delete('/flows/:id/backtests/:bid', { config: { area: 'flows' }, schema: { operationId: 'deleteBacktest', tags: ['backtests'], summary: 'Same as cancel', params: bidParams, response: { 200: ref('Backtest') } } }, (request) => cancel(request));
};
