import type { Db } from '../db/index.ts';
import { notFound } from '../errors.ts';
import { postgresRunCommands } from '../runner/postgres/index.ts';
import { isIdCursor, page, pageQuery, parseCursor, requireUuid } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';
import { page as pageSchema, ref } from './schemas.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } } as const;
const STATUSES = ['active', 'waiting', 'completed', 'converted', 'exited', 'failed', 'cancelled'];

interface RunRow {
  id: string; flow_id: string; version: number; contact_id: string; status: string; state: string; node_id: string | null;
  wake_at: Date | null; listen_event: string | null; attempt: number; error: unknown; vars: Record<string, unknown>;
  started_at: Date; updated_at: Date; finished_at: Date | null;
}

/** A run's columns as the API reads them (the compact step record, `steps`, is read through run_step_history). */
const RUN_COLUMNS = ['id', 'flow_id', 'version', 'contact_id', 'status', 'state', 'node_id', 'wake_at', 'listen_event', 'attempt', 'error',
  'started_at', 'updated_at', 'finished_at'];

const iso = (d: Date | null) => (d ? d.toISOString() : null);

const runJson = (r: RunRow) => ({
  id: r.id,
  flow_id: r.flow_id,
  version: r.version,
  contact_id: r.contact_id,
  status: r.status,
  current_node_id: r.status === 'active' || r.status === 'waiting' ? r.node_id : null,
  last_node_id: r.node_id,
  waiting: r.status === 'waiting' ? { until: iso(r.wake_at), event: r.listen_event } : null,
  error: r.error ?? null,
  started_at: r.started_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
  finished_at: iso(r.finished_at),
});

/**
 * Names for a page of runs, three queries whatever its size: the flow's name, the contact's email and the label of
 * the node the run is at (from the run's own version).
 */
async function namesOf(db: Db, workspaceId: string, runs: RunRow[]) {
  const flowIds = [...new Set(runs.map((r) => r.flow_id))];
  const contactIds = [...new Set(runs.map((r) => r.contact_id))];
  const versions = [...new Map(runs.map((r) => [`${r.flow_id}:${r.version}`, [r.flow_id, r.version] as [string, number]])).values()];
  const [flows, contacts, docs] = await Promise.all([
    flowIds.length ? db('flows').where({ workspace_id: workspaceId }).whereIn('id', flowIds).select<{ id: string; name: string }[]>('id', 'name') : [],
    contactIds.length ? db('contacts').where({ workspace_id: workspaceId }).whereIn('id', contactIds).select<{ id: string; email: string | null }[]>('id', 'email') : [],
    versions.length
      ? db('flow_versions').where({ workspace_id: workspaceId }).whereIn(['flow_id', 'version'], versions)
        .select<{ flow_id: string; version: number; labels: Record<string, string> | null }[]>('flow_id', 'version', db.raw(`(SELECT jsonb_object_agg(n->>'id', n->>'label') FROM jsonb_array_elements(document->'nodes') n WHERE n->>'label' IS NOT NULL) AS labels`))
      : [],
  ]);
  const flowName = new Map(flows.map((f) => [f.id, f.name]));
  const email = new Map(contacts.map((c) => [c.id, c.email]));
  const labels = new Map(docs.map((d) => [`${d.flow_id}:${d.version}`, d.labels ?? {}]));
  return (r: RunRow) => ({
    flow_name: flowName.get(r.flow_id) ?? null,
    contact_email: email.get(r.contact_id) ?? null,
    node_label: labels.get(`${r.flow_id}:${r.version}`)?.[r.node_id ?? ''] ?? null,
  });
}

export const runsRoutes: RouteGroup = async (app, { ctx }) => {
  const commands = postgresRunCommands(ctx);

  app.get('/runs', {
    config: { area: 'runs' },
    schema: {
      operationId: 'listRuns', tags: ['runs'], summary: 'List runs, newest first',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { ...pageQuery, flow_id: { type: 'string', maxLength: 100 }, contact_id: { type: 'string', maxLength: 100 }, status: { enum: STATUSES } },
      },
      response: { 200: pageSchema('RunListItem') },
    },
  }, async (request) => {
    const q = request.query;
    const after = parseCursor(q.cursor, isIdCursor);
    const rows = await ctx.db('runs')
      .where({ workspace_id: request.auth!.workspaceId })
      .modify((b) => {
        if (q.flow_id) b.where('flow_id', requireUuid(q.flow_id, 'flow'));
        if (q.contact_id) b.where('contact_id', requireUuid(q.contact_id, 'contact'));
        if (q.status) b.where('status', q.status);
        if (after) b.where('id', '<', after);
      })
      .orderBy('id', 'desc').limit(q.limit + 1).select<RunRow[]>(RUN_COLUMNS);
    const names = await namesOf(ctx.db, request.auth!.workspaceId, rows.slice(0, q.limit));
    return page(rows, q.limit, (r) => r.id, (r) => ({ ...runJson(r), ...names(r) }));
  });

  app.get('/runs/:id', { config: { area: 'runs' }, schema: { operationId: 'getRun', tags: ['runs'], summary: 'A run with its steps', params: idParams, response: { 200: ref('RunDetail') } } }, async (request) => {
    const { workspaceId } = request.auth!;
    const id = requireUuid(request.params.id, 'run');
    // vars in full (run_vars: an ended run's compact step record holds the outputs its vars leave out).
    const run = await ctx.db('runs').where({ workspace_id: workspaceId, id }).first<RunRow>(...RUN_COLUMNS, ctx.db.raw('run_vars(vars, steps) AS vars'));
    if (!run) throw notFound('run');
    // Both places a run's steps live (its compact record once ended, rows while it waits), in order: migration 0250.
    const steps = await ctx.db('run_step_history').where({ workspace_id: workspaceId, run_id: id }).orderBy('ord')
      .select<{ node_id: string; status: string; attempt: number; started_at: Date; finished_at: Date; output: unknown; error: unknown; logs: unknown[] | null }[]>('node_id', 'status', 'attempt', 'started_at', 'finished_at', 'output', 'error', 'logs');
    const flow = await ctx.db('flow_versions').where({ workspace_id: workspaceId, flow_id: run.flow_id, version: run.version })
      .first<{ document: { name: string; nodes?: Array<{ id: string; label?: string }> } }>('document');
    const contact = await ctx.db('contacts').where({ workspace_id: workspaceId, id: run.contact_id }).first<{ email: string | null }>('email');
    return {
      ...runJson(run),
      flow_name: flow?.document.name ?? null,
      contact_email: contact?.email ?? null,
      // Node labels of the run's version, for timelines that speak in the flow's own words.
      node_labels: Object.fromEntries((flow?.document.nodes ?? []).filter((n) => typeof n.label === 'string').map((n) => [n.id, n.label])),
      vars: run.vars,
      steps: steps.map((s) => ({ node_id: s.node_id, status: s.status, attempt: s.attempt, started_at: s.started_at.toISOString(), finished_at: s.finished_at.toISOString(), output: s.output, error: s.error, logs: s.logs ?? [] })),
    };
  });

  app.post('/runs/:id/cancel', { config: { area: 'runs' }, schema: { operationId: 'cancelRun', tags: ['runs'], summary: 'Cancel a run that has not ended', params: idParams, response: { 200: ref('Run') } } }, async (request) => {
    const { workspaceId } = request.auth!;
    const id = requireUuid(request.params.id, 'run');
    await commands.cancel(workspaceId, id);
    return runJson(await ctx.db('runs').where({ workspace_id: workspaceId, id }).first<RunRow>(RUN_COLUMNS) as RunRow);
  });

  app.post('/runs/:id/retry', { config: { area: 'runs' }, schema: { operationId: 'retryRun', tags: ['runs'], summary: 'Resume a failed run at its failed step', params: idParams, response: { 200: ref('Run') } } }, async (request) => {
    const { workspaceId } = request.auth!;
    const id = requireUuid(request.params.id, 'run');
    await commands.retry(workspaceId, id);
    return runJson(await ctx.db('runs').where({ workspace_id: workspaceId, id }).first<RunRow>(RUN_COLUMNS) as RunRow);
  });
};
