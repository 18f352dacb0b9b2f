import type { Db } from '../db/index.ts';

/** Keyset position in a timeline: the last item's time, kind and id (the order is at DESC, kind DESC, key DESC). */
export type TimelineCursor = [at: string, kind: 'event' | 'step', key: string];

export const isTimelineCursor = (v: unknown): v is TimelineCursor =>
  Array.isArray(v) && v.length === 3 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0]))
  && (v[1] === 'event' || v[1] === 'step') && typeof v[2] === 'string' && v[2].length <= 40;

export type TimelineItem =
  | { kind: 'event'; at: string; id: string; type: string; properties: Record<string, unknown>; occurred_at: string; source: string }
  | { kind: 'step'; at: string; run_id: string; flow_id: string; version: number; node_id: string; status: string; attempt: number;
      started_at: string; finished_at: string; output: unknown; error: unknown };

interface Row {
  kind: 'event' | 'step';
  at: Date;
  key: string;
  event_id: string | null;
  type: string | null;
  properties: Record<string, unknown> | null;
  source: string | null;
  run_id: string | null;
  flow_id: string | null;
  version: number | null;
  node_id: string | null;
  status: string | null;
  attempt: number | null;
  started_at: Date | null;
  output: unknown;
  error: unknown;
}

/**
 * A contact's events (at occurred_at) and the steps of its runs (at finished_at), newest first, one keyset page.
 * Step keys are zero-padded so text order is numeric order: a row's id, or for a step in its run's compact record
 * (migration 0250) the run id and the step's position.
 */
export async function contactTimeline(db: Db, workspaceId: string, contactId: string, opts: { before: TimelineCursor | null; limit: number }):
Promise<{ items: TimelineItem[]; next_cursor: string | null }> {
  const res = await db.raw(
    `SELECT * FROM (
       SELECT 'event' AS kind, e.occurred_at AS at, e.id::text AS key, e.id AS event_id, e.type, e.properties, e.source,
              NULL::uuid AS run_id, NULL::uuid AS flow_id, NULL::int AS version, NULL AS node_id, NULL AS status, NULL::int AS attempt,
              NULL::timestamptz AS started_at, NULL::jsonb AS output, NULL::jsonb AS error
       FROM events e WHERE e.workspace_id = :ws AND e.contact_id = :contact
       UNION ALL
       SELECT 'step', s.finished_at,
              CASE WHEN s.ord > 0 THEN lpad(s.ord::text, 20, '0') ELSE r.id::text || lpad((s.ord + 1000000000)::text, 4, '0') END,
              NULL, NULL, NULL, NULL, r.id, r.flow_id, r.version, s.node_id, s.status, s.attempt, s.started_at, s.output, s.error
       FROM runs r CROSS JOIN LATERAL run_steps_of(r.workspace_id, r.id, r.steps, r.started_at) s
       WHERE r.workspace_id = :ws AND r.contact_id = :contact
     ) t
     WHERE (:at::timestamptz IS NULL OR (t.at, t.kind, t.key) < (:at::timestamptz, :kind::text, :key::text))
     ORDER BY t.at DESC, t.kind DESC, t.key DESC
     LIMIT :n`,
    { ws: workspaceId, contact: contactId, at: opts.before?.[0] ?? null, kind: opts.before?.[1] ?? null, key: opts.before?.[2] ?? null, n: opts.limit + 1 },
  );
  const rows = res.rows as Row[];
  const more = rows.length > opts.limit;
  const kept = more ? rows.slice(0, opts.limit) : rows;
  const last = kept[kept.length - 1];
  return {
    items: kept.map(toItem),
    next_cursor: more && last ? Buffer.from(JSON.stringify([new Date(last.at).toISOString(), last.kind, last.key])).toString('base64url') : null,
  };
}

function toItem(r: Row): TimelineItem {
  const at = new Date(r.at).toISOString();
  if (r.kind === 'event') {
    return { kind: 'event', at, id: r.event_id!, type: r.type!, properties: r.properties ?? {}, occurred_at: at, source: r.source! };
  }
  return {
    kind: 'step', at, run_id: r.run_id!, flow_id: r.flow_id!, version: r.version!, node_id: r.node_id!, status: r.status!,
    attempt: r.attempt!, started_at: new Date(r.started_at!).toISOString(), finished_at: at, output: r.output, error: r.error,
  };
}
