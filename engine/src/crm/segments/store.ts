import type { Db, Tx } from '../../db/index.ts';
import { PG, pgCode } from '../../db/index.ts';
import { newId } from '../../db/ids.ts';
import { CairnError, invalid, notFound, type ProblemItem } from '../../errors.ts';
import { CONTACT_COLUMNS, type ContactRow } from '../contacts.ts';
import { enqueueSegmentEvaluation } from '../../queue/jobs.ts';
import { loadActivity, trackActivityTypes } from './activity.ts';
import { contactFact } from './membership.ts';
import { checkSegmentRule, compileSegment } from './rule.ts';
import { loadScores } from './scores.ts';

export const MAX_SEGMENTS = 200;
const PREVIEW_SAMPLE = 10;
const SCAN_CHUNK = 2000;

export interface SegmentRow {
  id: string;
  workspace_id: string;
  key: string;
  name: string;
  rule: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  /** Counts rule versions; evaluated_version is the last one evaluated over every contact (the background job). */
  rule_version: number;
  evaluated_version: number;
}

/** The segment object of the API: its rule, and its live member count (from the transition counters). */
export interface Segment {
  key: string;
  name: string;
  rule: Record<string, unknown>;
  member_count: number;
  /** `evaluating` while the background job evaluates the existing contacts against a new rule; then `ready`. */
  status: 'evaluating' | 'ready';
  created_at: string;
  updated_at: string;
}

/** Rule problems as a 400 whose paths point into the request body (`/rule/...`). */
export function refuseRule(rule: unknown): void {
  const problems: ProblemItem[] = checkSegmentRule(rule).map((p) => ({ path: `/rule${p.path}`, message: p.message }));
  if (problems.length > 0) throw invalid(`the segment rule is not valid: ${problems[0]!.path} ${problems[0]!.message}`, problems);
}

export async function memberCounts(q: Db | Tx, workspaceId: string, segmentIds: string[]): Promise<Map<string, number>> {
  if (segmentIds.length === 0) return new Map();
  const { rows } = await q.raw(
    `SELECT segment_id, sum(entered - exited)::int AS n FROM segment_daily WHERE workspace_id = ? AND segment_id = ANY(?::uuid[]) GROUP BY segment_id`,
    [workspaceId, segmentIds],
  );
  return new Map((rows as { segment_id: string; n: number }[]).map((r) => [r.segment_id, r.n]));
}

export function toSegment(row: SegmentRow, count: number): Segment {
  return {
    key: row.key, name: row.name, rule: row.rule, member_count: count,
    status: row.evaluated_version >= row.rule_version ? 'ready' : 'evaluating',
    created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString(),
  };
}

export async function getSegmentRow(q: Db | Tx, workspaceId: string, key: string, lock: 'update' | 'share' | null = null): Promise<SegmentRow> {
  const b = q('segments').where({ workspace_id: workspaceId, key });
  if (lock === 'update') b.forUpdate();
  if (lock === 'share') b.forShare();
  const row = await b.first<SegmentRow | undefined>();
  if (!row) throw notFound('segment');
  return row;
}

export async function createSegment(tx: Tx, workspaceId: string, body: { key: string; name: string; rule: Record<string, unknown> }, now: Date): Promise<SegmentRow> {
  refuseRule(body.rule);
  const { rows } = await tx.raw(`SELECT count(*)::int AS n FROM segments WHERE workspace_id = ?`, [workspaceId]);
  if ((rows[0] as { n: number }).n >= MAX_SEGMENTS) {
    throw invalid(`a workspace has at most ${MAX_SEGMENTS} segments; delete one first`, [{ path: '/key', message: `the workspace already has ${MAX_SEGMENTS} segments` }]);
  }
  try {
    const [row] = await tx('segments').insert({
      workspace_id: workspaceId, id: newId(now.getTime()), key: body.key, name: body.name, rule: JSON.stringify(body.rule), created_at: now, updated_at: now,
      rule_version: 1, evaluated_version: 0,
    }).returning<SegmentRow[]>('*');
    await trackActivityTypes(tx, workspaceId, compileSegment(row!).needs(now).types);
    // Contacts that change from now on are evaluated as they change; the job evaluates the others.
    await enqueueSegmentEvaluation(tx, { w: workspaceId, s: row!.id, v: 1 });
    return row!;
  } catch (err) {
    if (pgCode(err) === PG.uniqueViolation) {
      throw new CairnError('CAIRN_ERR_CONFLICT', `a segment with key "${body.key}" already exists`, { errors: [{ path: '/key', message: 'is taken' }] });
    }
    throw err;
  }
}

export async function patchSegment(tx: Tx, workspaceId: string, key: string, patch: { name?: string; rule?: Record<string, unknown> }, now: Date): Promise<{ row: SegmentRow; ruleChanged: boolean }> {
  const row = await getSegmentRow(tx, workspaceId, key, 'update');
  if (patch.rule !== undefined) refuseRule(patch.rule);
  const ruleChanged = patch.rule !== undefined && JSON.stringify(patch.rule) !== JSON.stringify(row.rule);
  const [updated] = await tx('segments').where({ workspace_id: workspaceId, id: row.id }).update({
    name: patch.name ?? row.name,
    rule: JSON.stringify(patch.rule ?? row.rule),
    // A new updated_at is a new compiled version for every process (the compile cache is keyed by it).
    updated_at: new Date(Math.max(now.getTime(), row.updated_at.getTime() + 1)),
    rule_version: ruleChanged ? row.rule_version + 1 : row.rule_version,
  }).returning<SegmentRow[]>('*');
  if (ruleChanged) {
    await trackActivityTypes(tx, workspaceId, compileSegment(updated!).needs(now).types);
    await enqueueSegmentEvaluation(tx, { w: workspaceId, s: row.id, v: updated!.rule_version });
  }
  return { row: updated!, ruleChanged };
}

/** Published (active or paused) flows whose trigger names the segment: they keep it from being deleted. */
export async function flowsUsingSegment(q: Db | Tx, workspaceId: string, key: string): Promise<{ id: string; name: string }[]> {
  const { rows } = await q.raw(
    `SELECT f.id, f.name FROM flows f JOIN flow_versions v ON v.workspace_id = f.workspace_id AND v.flow_id = f.id AND v.version = f.published_version
      WHERE f.workspace_id = ? AND f.status IN ('active', 'paused')
        AND EXISTS (SELECT 1 FROM jsonb_array_elements(v.document->'nodes') n
                     WHERE n->>'type' IN ('trigger.segment', 'trigger.schedule') AND n->'config'->>'segment' = ?)
      ORDER BY f.name`,
    [workspaceId, key],
  );
  return rows as { id: string; name: string }[];
}

/** Deletes the segment and its memberships, unless a published flow uses it (409 naming the flows). */
export async function deleteSegment(tx: Tx, workspaceId: string, key: string): Promise<void> {
  const row = await getSegmentRow(tx, workspaceId, key, 'update');
  const users = await flowsUsingSegment(tx, workspaceId, key);
  if (users.length > 0) {
    const names = users.map((f) => `"${f.name}" (${f.id})`).join(', ');
    throw new CairnError('CAIRN_ERR_CONFLICT', `segment "${key}" is used by published flow${users.length === 1 ? '' : 's'} ${names}; archive or change ${users.length === 1 ? 'it' : 'them'} first`, {
      errors: users.map((f) => ({ path: '', message: `used by flow "${f.name}" (${f.id})` })),
    });
  }
  await tx('segment_members').where({ workspace_id: workspaceId, segment_id: row.id }).delete();
  await tx('segment_daily').where({ workspace_id: workspaceId, segment_id: row.id }).delete();
  await tx('segments').where({ workspace_id: workspaceId, id: row.id }).delete();
}

/** Members in contact id order (cursor = last id); `limit + 1` rows, see http/kit.ts `page`. */
export async function listMembers(db: Db, workspaceId: string, segmentId: string, after: string | null, limit: number): Promise<ContactRow[]> {
  const cols = CONTACT_COLUMNS.map((c) => `c.${c}`).join(', ');
  const { rows } = await db.raw(
    `SELECT ${cols} FROM segment_members m JOIN contacts c ON c.workspace_id = m.workspace_id AND c.id = m.contact_id
      WHERE m.workspace_id = ? AND m.segment_id = ? AND m.contact_id > ? ORDER BY m.contact_id LIMIT ?`,
    [workspaceId, segmentId, after ?? '00000000-0000-0000-0000-000000000000', limit + 1],
  );
  return rows as ContactRow[];
}

/** Member count per UTC day over the last `days` days (the size history; a sparkline in the builder). */
export async function sizeHistory(db: Db, workspaceId: string, segmentId: string, today: Date, days = 30): Promise<{ day: string; members: number }[]> {
  const { rows } = await db.raw(
    `WITH per_day AS (
       SELECT day, sum(entered - exited) AS delta FROM segment_daily WHERE workspace_id = ? AND segment_id = ? GROUP BY day
     ), span AS (SELECT generate_series(?::date - (? - 1), ?::date, '1 day')::date AS day)
     SELECT to_char(span.day, 'YYYY-MM-DD') AS day, (SELECT coalesce(sum(delta), 0) FROM per_day WHERE per_day.day <= span.day)::int AS members
       FROM span ORDER BY span.day`,
    [workspaceId, segmentId, today.toISOString().slice(0, 10), days, today.toISOString().slice(0, 10)],
  );
  return rows as { day: string; members: number }[];
}

/**
 * Evaluates a rule being edited over every contact of the workspace, in chunks: `{ count, sample }` (the first
 * contacts that match, in id order). A full pass by design: the rule is not stored yet, so nothing is indexed for it.
 */
export async function previewRule(db: Db, workspaceId: string, rule: Record<string, unknown>, now: Date): Promise<{ count: number; sample: ContactRow[] }> {
  refuseRule(rule);
  const seg = compileSegment({ id: 'preview', key: 'preview', rule, updated_at: now });
  const needs = seg.needs(now);
  let count = 0;
  const sample: ContactRow[] = [];
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await db.raw(
      `SELECT ${CONTACT_COLUMNS.join(', ')} FROM contacts WHERE workspace_id = ? AND id > ? AND erased_at IS NULL ORDER BY id LIMIT ?`,
      [workspaceId, after, SCAN_CHUNK],
    );
    const contacts = rows as ContactRow[];
    if (contacts.length === 0) break;
    const activity = await loadActivity(db, workspaceId, contacts.map((c) => c.id), needs);
    const scores = seg.readsScores ? await loadScores(db, workspaceId, contacts.map((c) => c.id)) : null;
    for (const c of contacts) {
      if (seg.matches({ contact: contactFact(c, scores?.get(c.id)), activity: activity.get(c.id) }, now)) {
        count++;
        if (sample.length < PREVIEW_SAMPLE) sample.push(c);
      }
    }
    if (contacts.length < SCAN_CHUNK) break;
    after = contacts[contacts.length - 1]!.id;
  }
  return { count, sample };
}
