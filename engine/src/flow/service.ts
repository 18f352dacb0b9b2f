import { pgCode, PG, type Db, type Tx } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { CairnError, notFound } from '../errors.ts';
import type { FlowDocument, FlowValidationError, NodeTypeSpec } from '../contracts/flow.ts';
import { validateFlowDocument } from './validate.ts';
import { coreNodeType } from './node-types.ts';
import { initialTimer } from '../time/schedule.ts';
import { activityReads } from './compile.ts';
import { trackActivityTypes } from '../crm/segments/activity.ts';
import { draftEtag } from './etag.ts';

export { draftEtag };

export type FlowStatus = 'draft' | 'active' | 'paused' | 'archived';

export interface FlowRow {
  id: string;
  workspace_id: string;
  name: string;
  /** Names the flow in a directory of flow files (`cairn flows`); unique in the workspace, null until given. */
  key: string | null;
  status: FlowStatus;
  draft: FlowDocument;
  published_version: number | null;
  created_at: Date;
  updated_at: Date;
}

/** Node types a flow may use: the core catalog plus what the plugin platform resolves for the workspace. */
export type NodeTypeResolver = (workspaceId: string) => Promise<(type: string) => NodeTypeSpec | undefined>;
export const coreOnly: NodeTypeResolver = async () => coreNodeType;

/**
 * The structure a draft must have to be stored at all. A draft may be semantically incomplete (the canvas saves
 * as the admin works); `validate` and `publish` report everything else.
 */
export function checkDraftShape(doc: unknown): FlowValidationError[] {
  const d = doc as Partial<FlowDocument> | null;
  const errors: FlowValidationError[] = [];
  if (!d || typeof d !== 'object' || Array.isArray(d)) return [{ path: '', message: 'a flow document must be a JSON object' }];
  if (d.schema !== 'cairn.flow/v1') errors.push({ path: '/schema', message: 'must be "cairn.flow/v1"' });
  if (typeof d.name !== 'string' || d.name.trim() === '' || d.name.length > 200) errors.push({ path: '/name', message: 'must be a non-empty string of at most 200 characters' });
  if (!Array.isArray(d.nodes)) errors.push({ path: '/nodes', message: 'must be an array of nodes' });
  if (!Array.isArray(d.edges)) errors.push({ path: '/edges', message: 'must be an array of edges' });
  if (d.settings !== undefined && (typeof d.settings !== 'object' || d.settings === null || Array.isArray(d.settings))) errors.push({ path: '/settings', message: 'must be an object' });
  return errors;
}

export function toFlowJson(row: FlowRow, versions: { version: number; published_at: Date; note: string | null }[]) {
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    status: row.status,
    draft: row.draft,
    draft_etag: draftEtag(row.draft),
    published_version: row.published_version,
    versions: versions.map((v) => ({ version: v.version, published_at: v.published_at.toISOString(), note: v.note })),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export async function getFlowRow(q: Db | Tx, workspaceId: string, id: string, lock = false): Promise<FlowRow> {
  const row = await q('flows').where({ workspace_id: workspaceId, id }).modify((b) => (lock ? b.forUpdate() : b)).first<FlowRow>();
  if (!row) throw notFound('flow');
  return row;
}

export async function listVersions(q: Db | Tx, workspaceId: string, flowId: string) {
  return q('flow_versions').where({ workspace_id: workspaceId, flow_id: flowId }).orderBy('version').select<{ version: number; published_at: Date; note: string | null }[]>('version', 'published_at', 'note');
}

const keyTaken = (key: string, err: unknown) => new CairnError('CAIRN_ERR_CONFLICT', `another flow of this workspace already has the key "${key}"`, {
  cause: err, errors: [{ path: '/key', message: 'already used by another flow' }],
});

export async function createFlow(tx: Tx, workspaceId: string, doc: FlowDocument, now: Date, key: string | null = null): Promise<FlowRow> {
  try {
    const [row] = await tx('flows')
      .insert({ id: newId(now.getTime()), workspace_id: workspaceId, key, name: doc.name, status: 'draft', draft: JSON.stringify(doc), created_at: now, updated_at: now })
      .returning<FlowRow[]>('*');
    return row!;
  } catch (err) {
    if (key !== null && pgCode(err) === PG.uniqueViolation) throw keyTaken(key, err);
    throw err;
  }
}

/** Gives a flow its key (or another one): the draft and versions are untouched. */
export async function setFlowKey(tx: Tx, workspaceId: string, id: string, key: string, now: Date): Promise<FlowRow> {
  await getFlowRow(tx, workspaceId, id, true);
  try {
    const [row] = await tx('flows').where({ workspace_id: workspaceId, id }).update({ key, updated_at: now }).returning<FlowRow[]>('*');
    return row!;
  } catch (err) {
    if (pgCode(err) === PG.uniqueViolation) throw keyTaken(key, err);
    throw err;
  }
}

/** `ifMatch`: the draft's entity tag as the caller last saw it; a different current draft is a 409. */
export async function updateDraft(tx: Tx, workspaceId: string, id: string, doc: FlowDocument, now: Date, ifMatch?: string): Promise<FlowRow> {
  const flow = await getFlowRow(tx, workspaceId, id, true);
  if (flow.status === 'archived') throw new CairnError('CAIRN_ERR_CONFLICT', 'the flow is archived; its draft can no longer change');
  if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.split(',').map((t) => t.trim().replace(/^W\//, '')).includes(draftEtag(flow.draft))) {
    throw new CairnError('CAIRN_ERR_CONFLICT', 'the draft changed since this copy was loaded (another tab or person saved it); reload it and edit again', {
      errors: [{ path: '/headers/if-match', message: 'the draft changed since it was loaded' }],
    });
  }
  const [row] = await tx('flows').where({ workspace_id: workspaceId, id }).update({ draft: JSON.stringify(doc), name: doc.name, updated_at: now }).returning<FlowRow[]>('*');
  return row!;
}

export function validateDraft(doc: unknown, resolve: (type: string) => NodeTypeSpec | undefined) {
  return validateFlowDocument(doc, { resolveNodeType: resolve });
}

/**
 * Freezes the draft as the next version and makes it the one new runs use. Runs in flight keep their version.
 * `pins` are the plugin versions the flow's plugin nodes resolve to now (kept with the version).
 */
export async function publishFlow(
  tx: Tx,
  workspaceId: string,
  id: string,
  opts: { note?: string | null; now: Date; resolve: (type: string) => NodeTypeSpec | undefined; pins?: Record<string, string>; problems?: FlowValidationError[] },
): Promise<{ version: number }> {
  const flow = await getFlowRow(tx, workspaceId, id, true);
  if (flow.status === 'archived') throw new CairnError('CAIRN_ERR_CONFLICT', 'the flow is archived; unarchive it first (POST /v1/flows/{id}/unarchive)');
  const result = validateFlowDocument(flow.draft, { resolveNodeType: opts.resolve });
  result.errors.push(...(await missingSegments(tx, workspaceId, flow.draft)));
  // Problems found by the caller (plugin versions and the pinned versions' props), each reported once.
  const seen = new Set(result.errors.map((e) => `${e.path} ${e.message}`));
  result.errors.push(...(opts.problems ?? []).filter((e) => !seen.has(`${e.path} ${e.message}`)));
  if (result.errors.length > 0) {
    throw new CairnError('CAIRN_ERR_INVALID_FLOW', `the flow has ${result.errors.length} problem${result.errors.length === 1 ? '' : 's'}: ${result.errors[0]!.message}`, { errors: result.errors });
  }
  const version = (flow.published_version ?? 0) + 1;
  await tx('flow_versions').insert({
    workspace_id: workspaceId,
    flow_id: id,
    version,
    document: JSON.stringify(flow.draft),
    note: opts.note ?? null,
    plugin_pins: JSON.stringify(opts.pins ?? {}),
    published_at: opts.now,
  });
  // The behavioural attributes its conditions read are kept from now on (built from stored events the first time).
  await trackActivityTypes(tx, workspaceId, activityReads([flow.draft.nodes.map((n) => n.config), flow.draft.settings]).types);
  const status: FlowStatus = flow.status === 'paused' ? 'paused' : 'active';
  await tx('flows').where({ workspace_id: workspaceId, id }).update({ published_version: version, status, updated_at: opts.now });
  if (status === 'active') await setTrigger(tx, workspaceId, id, version, flow.draft, opts.now);
  return { version };
}

/**
 * A segment trigger (or a schedule over a segment) must name an existing segment. The segment row is share-locked
 * until the publish commits, so a concurrent DELETE /v1/segments/{key} either sees this flow or comes first.
 */
async function missingSegments(tx: Tx, workspaceId: string, doc: FlowDocument): Promise<FlowValidationError[]> {
  const errors: FlowValidationError[] = [];
  for (const [i, n] of doc.nodes.entries()) {
    const key = (n.config as { segment?: unknown } | undefined)?.segment;
    if ((n.type !== 'trigger.segment' && n.type !== 'trigger.schedule') || typeof key !== 'string') continue;
    const found = await tx('segments').where({ workspace_id: workspaceId, key }).forShare().first('id');
    if (!found) errors.push({ path: `/nodes/${i}/config/segment`, node_id: n.id, message: `there is no segment "${key}"; create it first (POST /v1/segments) or pick an existing one` });
  }
  return errors;
}

/** The live trigger rows are what ingestion and the timer poller consult: present exactly while the flow is active. */
async function setTrigger(tx: Tx, workspaceId: string, flowId: string, version: number, doc: FlowDocument, now: Date): Promise<void> {
  const trigger = doc.nodes.find((n) => n.type.startsWith('trigger.'))!;
  const timer = initialTimer(trigger as { type: string; config: Record<string, unknown> }, now);
  if (timer) {
    await tx.raw(
      `INSERT INTO flow_timers (workspace_id, flow_id, version, kind, next_at, scanned_until) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_id, flow_id) DO UPDATE SET version = EXCLUDED.version, kind = EXCLUDED.kind, next_at = EXCLUDED.next_at,
         scanned_until = coalesce(flow_timers.scanned_until, EXCLUDED.scanned_until)`,
      [workspaceId, flowId, version, trigger.type, timer.next_at, timer.scanned_until],
    );
  } else {
    await tx('flow_timers').where({ workspace_id: workspaceId, flow_id: flowId }).delete();
  }
  const eventType = trigger.type === 'trigger.event'
    ? String((trigger.config as { event: string }).event)
    // A segment trigger is an event trigger on the transition event, filtered by segment key (flow/compile.ts).
    : trigger.type === 'trigger.segment'
      ? ((trigger.config as { on?: string }).on === 'exit' ? 'segment.exited' : 'segment.entered')
      : null;
  await tx.raw(
    `INSERT INTO flow_triggers (workspace_id, flow_id, version, kind, event_type) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (workspace_id, flow_id) DO UPDATE SET version = EXCLUDED.version, kind = EXCLUDED.kind, event_type = EXCLUDED.event_type`,
    [workspaceId, flowId, version, trigger.type, eventType],
  );
}

/** pause: no new runs (runs in flight go on); resume: new runs again; archive: no new runs, draft frozen. */
export async function setFlowStatus(tx: Tx, workspaceId: string, id: string, action: 'pause' | 'resume' | 'archive', now: Date): Promise<FlowRow> {
  const flow = await getFlowRow(tx, workspaceId, id, true);
  let status: FlowStatus;
  if (action === 'resume') {
    if (flow.status === 'archived') throw new CairnError('CAIRN_ERR_CONFLICT', 'an archived flow cannot be resumed');
    if (flow.published_version === null) throw new CairnError('CAIRN_ERR_CONFLICT', 'the flow has never been published; publish it first');
    status = 'active';
    const v = await tx('flow_versions').where({ workspace_id: workspaceId, flow_id: id, version: flow.published_version }).first<{ document: FlowDocument }>('document');
    await setTrigger(tx, workspaceId, id, flow.published_version, v!.document, now);
  } else {
    if (action === 'pause' && flow.status !== 'active') throw new CairnError('CAIRN_ERR_CONFLICT', `only an active flow can be paused; this one is ${flow.status}`);
    status = action === 'pause' ? 'paused' : 'archived';
    await tx('flow_triggers').where({ workspace_id: workspaceId, flow_id: id }).delete();
    await tx('flow_timers').where({ workspace_id: workspaceId, flow_id: id }).delete();
  }
  const [row] = await tx('flows').where({ workspace_id: workspaceId, id }).update({ status, updated_at: now }).returning<FlowRow[]>('*');
  return row!;
}

/**
 * Brings an archived flow back: its draft can be edited again, and it is `paused` (or `draft` if it was never
 * published) so that nothing starts until someone resumes it.
 */
export async function unarchiveFlow(tx: Tx, workspaceId: string, id: string, now: Date): Promise<FlowRow> {
  const flow = await getFlowRow(tx, workspaceId, id, true);
  if (flow.status !== 'archived') throw new CairnError('CAIRN_ERR_CONFLICT', `only an archived flow can be unarchived; this one is ${flow.status}`);
  const status: FlowStatus = flow.published_version === null ? 'draft' : 'paused';
  const [row] = await tx('flows').where({ workspace_id: workspaceId, id }).update({ status, updated_at: now }).returning<FlowRow[]>('*');
  return row!;
}

/** Per-node and per-flow counters of one version, summed over their shards: a few rows, never a scan of steps. */
export async function flowStats(db: Db, workspaceId: string, flowId: string, version: number | null) {
  const versionFilter = version === null ? '' : 'AND version = ?';
  const params = version === null ? [workspaceId, flowId] : [workspaceId, flowId, version];
  const nodes = await db.raw(
    `SELECT node_id, sum(entered)::int AS entered, sum(completed)::int AS completed, sum(failed)::int AS failed, sum(waiting)::int AS waiting
       FROM node_stats WHERE workspace_id = ? AND flow_id = ? ${versionFilter} GROUP BY node_id ORDER BY node_id`,
    params,
  );
  const runs = await db.raw(
    `SELECT coalesce(sum(started), 0)::int AS started, coalesce(sum(completed), 0)::int AS completed, coalesce(sum(converted), 0)::int AS converted,
            coalesce(sum(exited), 0)::int AS exited, coalesce(sum(failed), 0)::int AS failed, coalesce(sum(cancelled), 0)::int AS cancelled
       FROM flow_stats WHERE workspace_id = ? AND flow_id = ? ${versionFilter}`,
    params,
  );
  const r = runs.rows[0] as Record<string, number>;
  const ended = r.completed! + r.converted! + r.exited! + r.failed! + r.cancelled!;
  return {
    version,
    nodes: Object.fromEntries((nodes.rows as { node_id: string; entered: number; completed: number; failed: number; waiting: number }[]).map((n) => [
      n.node_id,
      { entered: n.entered, completed: n.completed, failed: n.failed, waiting: n.waiting },
    ])),
    runs: { active: r.started! - ended, completed: r.completed!, converted: r.converted!, exited: r.exited!, failed: r.failed!, cancelled: r.cancelled! },
  };
}
