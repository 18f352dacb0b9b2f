import { withTx, type Db, type Tx } from '../db/index.ts';
import { parseDuration } from '../time/duration.ts';
import { compileCondition, type CompiledCondition } from '../rules/index.ts';
import type { IngestedEvent } from './event-hooks.ts';
import type { ProgramEvent } from './program-events.ts';

/** The workspace's lead-scoring model, as `PUT /v1/scoring` takes it (CONTRACT.md §Lead scoring). */
export interface ScoringModel {
  rules: { key?: string; event: string; when?: unknown; points: number; max_per_contact?: number }[];
  decay?: { half_life: string };
  qualified_at?: number;
  disqualified_at?: number;
}

interface CompiledRule { key: string; event: string; when: CompiledCondition | null; points: number; max: number | null }

export interface CompiledScoring {
  rules: CompiledRule[];
  halfLifeMs: number | null;
  qualifiedAt: number | null;
  disqualifiedAt: number | null;
  events: Set<string>;
}

/** Points that did not come from a rule (action.score in flows, or a score set before the model): one breakdown line. */
export const OTHER = 'other';
/** Below this a remainder is float noise from decay, not points. */
const EPSILON = 1e-9;

/** A rule's key: its own `key`, else its event type (`#2`, `#3`… for further rules on the same event). */
export function ruleKeys(model: ScoringModel): string[] {
  const seen = new Map<string, number>();
  return model.rules.map((r) => {
    if (r.key) return r.key;
    const n = (seen.get(r.event) ?? 0) + 1;
    seen.set(r.event, n);
    return n === 1 ? r.event : `${r.event}#${n}`;
  });
}

export function compileScoring(model: ScoringModel): CompiledScoring {
  const keys = ruleKeys(model);
  const rules = model.rules.map((r, i) => ({
    key: keys[i]!, event: r.event, when: r.when === undefined ? null : compileCondition(r.when), points: r.points, max: r.max_per_contact ?? null,
  }));
  const halfLife = model.decay ? parseDuration(model.decay.half_life) : null;
  return {
    rules,
    halfLifeMs: halfLife ? halfLife.addTo(new Date(0)).getTime() : null,
    qualifiedAt: model.qualified_at ?? null,
    disqualifiedAt: model.disqualified_at ?? null,
    events: new Set(rules.map((r) => r.event)),
  };
}

interface ScoreState {
  contact_id: string;
  breakdown: Record<string, number>;
  awarded: Record<string, number>;
  decayed_at: Date;
  qualified_at: Date | null;
  disqualified_at: Date | null;
  score: number;
}

/** Rule lines sorted by key, the remainder last: the order the score is summed in, so the lines add up to it exactly. */
export function breakdownLines(breakdown: Record<string, number>, score: number): { rule: string; points: number }[] {
  const lines = Object.keys(breakdown).sort().map((rule) => ({ rule, points: breakdown[rule]! }));
  const ruled = lines.reduce((s, l) => s + l.points, 0);
  if (Math.abs(score - ruled) > EPSILON) lines.push({ rule: OTHER, points: score - ruled });
  return lines;
}

const sumLines = (breakdown: Record<string, number>, other: number) => {
  const ruled = Object.keys(breakdown).sort().reduce((s, k) => s + breakdown[k]!, 0);
  return Math.abs(other) > EPSILON ? ruled + other : ruled;
};

/** A condition that throws (e.g. `in` against a non-array value) does not hold: the event is still accepted. */
function holds(when: CompiledCondition, facts: Parameters<CompiledCondition>[0], now: Date): boolean {
  try {
    return when(facts, { now });
  } catch {
    return false;
  }
}

/** Moves a state to `now`: every line (and the remainder) halves per half-life. */
function decay(state: ScoreState, model: CompiledScoring, now: Date): void {
  const elapsed = now.getTime() - state.decayed_at.getTime();
  if (model.halfLifeMs === null || elapsed <= 0) {
    state.decayed_at = new Date(Math.max(now.getTime(), state.decayed_at.getTime()));
    return;
  }
  const f = 0.5 ** (elapsed / model.halfLifeMs);
  const other = (state.score - sumLines(state.breakdown, 0)) * f;
  for (const k of Object.keys(state.breakdown)) state.breakdown[k] = state.breakdown[k]! * f;
  state.score = sumLines(state.breakdown, other);
  state.decayed_at = now;
}

/** Threshold crossings: `lead.qualified` the first time the score reaches the threshold, `lead.disqualified` once after. */
function crossings(state: ScoreState, model: CompiledScoring, now: Date, out: ProgramEvent[]): void {
  if (model.qualifiedAt !== null && state.qualified_at === null && state.score >= model.qualifiedAt) {
    state.qualified_at = now;
    out.push({ contactId: state.contact_id, type: 'lead.qualified', key: `lead.qualified:${state.contact_id}`, properties: { score: state.score, threshold: model.qualifiedAt } });
  }
  if (model.disqualifiedAt !== null && state.qualified_at !== null && state.disqualified_at === null && state.score < model.disqualifiedAt) {
    state.disqualified_at = now;
    out.push({ contactId: state.contact_id, type: 'lead.disqualified', key: `lead.disqualified:${state.contact_id}`, properties: { score: state.score, threshold: model.disqualifiedAt } });
  }
}

const STATE_SQL = `SELECT c.id AS contact_id, c.score, s.breakdown, s.awarded, s.decayed_at, s.qualified_at, s.disqualified_at
  FROM contacts c LEFT JOIN contact_scores s ON s.workspace_id = c.workspace_id AND s.contact_id = c.id`;

function toState(r: Omit<ScoreState, 'breakdown' | 'awarded' | 'decayed_at'> & { breakdown: Record<string, number> | null; awarded: Record<string, number> | null; decayed_at: Date | null }, now: Date): ScoreState {
  return { ...r, breakdown: r.breakdown ?? {}, awarded: r.awarded ?? {}, decayed_at: r.decayed_at ?? now, score: Number(r.score) };
}

async function saveStates(tx: Tx, workspaceId: string, states: ScoreState[], now: Date): Promise<void> {
  if (states.length === 0) return;
  const rows = states.map((s) => ({
    contact_id: s.contact_id, score: s.score, breakdown: s.breakdown, awarded: s.awarded,
    decayed_at: s.decayed_at.toISOString(), qualified_at: s.qualified_at?.toISOString() ?? null, disqualified_at: s.disqualified_at?.toISOString() ?? null,
  }));
  await tx.raw(
    `WITH x AS (SELECT * FROM jsonb_to_recordset(?::jsonb) AS x(contact_id uuid, score float8, breakdown jsonb, awarded jsonb,
                decayed_at timestamptz, qualified_at timestamptz, disqualified_at timestamptz)),
     s AS (INSERT INTO contact_scores (workspace_id, contact_id, breakdown, awarded, decayed_at, qualified_at, disqualified_at)
           SELECT ?, contact_id, breakdown, awarded, decayed_at, qualified_at, disqualified_at FROM x
           ON CONFLICT (workspace_id, contact_id) DO UPDATE SET breakdown = EXCLUDED.breakdown, awarded = EXCLUDED.awarded,
             decayed_at = EXCLUDED.decayed_at, qualified_at = EXCLUDED.qualified_at, disqualified_at = EXCLUDED.disqualified_at)
     UPDATE contacts c SET score = x.score, updated_at = ? FROM x WHERE c.workspace_id = ? AND c.id = x.contact_id`,
    [JSON.stringify(rows), workspaceId, now, workspaceId],
  );
}

/**
 * Scores a batch of just-ingested events (their contacts are locked by ingestion): one read of the contacts' states,
 * rules applied in event order in memory, one write. Returns the threshold events to record.
 */
export async function scoreEvents(tx: Tx, workspaceId: string, model: CompiledScoring, events: IngestedEvent[], now: Date): Promise<ProgramEvent[]> {
  const relevant = events.filter((e) => model.events.has(e.type));
  if (relevant.length === 0) return [];
  const ids = [...new Set(relevant.map((e) => e.contactId))];
  const { rows } = await tx.raw(`${STATE_SQL} WHERE c.workspace_id = ? AND c.id = ANY(?::uuid[])`, [workspaceId, ids]);
  const needsContact = model.rules.some((r) => r.when);
  const contacts = needsContact
    ? new Map(((await tx.raw(`SELECT id, external_id, email, properties, tags, score, owner_id, lifecycle_stage, timezone FROM contacts WHERE workspace_id = ? AND id = ANY(?::uuid[])`, [workspaceId, ids])).rows as { id: string }[]).map((c) => [c.id, c]))
    : new Map();
  const states = new Map((rows as Parameters<typeof toState>[0][]).map((r) => [r.contact_id, toState(r, now)]));
  const out: ProgramEvent[] = [];
  const changed = new Set<ScoreState>();
  for (const ev of relevant) {
    const state = states.get(ev.contactId);
    if (!state) continue;
    decay(state, model, now);
    const facts = { contact: { ...(contacts.get(ev.contactId) ?? {}), score: state.score }, event: { id: ev.id, type: ev.type, properties: ev.properties, occurred_at: ev.occurredAt.toISOString() }, run: {} };
    for (const rule of model.rules) {
      if (rule.event !== ev.type || (rule.when && !holds(rule.when, facts, now))) continue;
      let points = rule.points;
      if (rule.max !== null) {
        const given = state.awarded[rule.key] ?? 0;
        points = points >= 0 ? Math.min(points, Math.max(0, rule.max - given)) : Math.max(points, Math.min(0, -rule.max - given));
      }
      if (points === 0) continue;
      const other = state.score - sumLines(state.breakdown, 0);
      state.awarded[rule.key] = (state.awarded[rule.key] ?? 0) + points;
      state.breakdown[rule.key] = (state.breakdown[rule.key] ?? 0) + points;
      state.score = sumLines(state.breakdown, other);
      changed.add(state);
    }
    crossings(state, model, now, out);
  }
  await saveStates(tx, workspaceId, [...changed], now);
  return out;
}

/**
 * Applies decay up to `now` to every scored contact of the workspace whose state is older than `minAgeMs`, in pages,
 * and returns the threshold events that follow (`lead.disqualified` when a score fades below the lower threshold).
 */
export async function decayScores(
  db: Db, workspaceId: string, model: CompiledScoring, now: Date, minAgeMs: number, record: (tx: Tx, events: ProgramEvent[]) => Promise<void>,
  /** Called in the page's transaction with the contacts whose score changed (segments reading `$.score`). */
  changed?: (tx: Tx, contactIds: string[]) => Promise<void>,
): Promise<number> {
  if (model.halfLifeMs === null) return 0;
  let after = '00000000-0000-0000-0000-000000000000';
  let recorded = 0;
  for (;;) {
    const page = await withTx(db, async (tx) => {
      const { rows } = await tx.raw(
        `${STATE_SQL} WHERE s.workspace_id = ? AND s.contact_id > ? AND s.decayed_at < ? ORDER BY s.contact_id LIMIT 500 FOR UPDATE OF c`,
        [workspaceId, after, new Date(now.getTime() - minAgeMs)],
      );
      const states = (rows as Parameters<typeof toState>[0][]).map((r) => toState(r, now));
      const out: ProgramEvent[] = [];
      const moved: string[] = [];
      for (const s of states) {
        const before = s.score;
        decay(s, model, now);
        if (s.score !== before) moved.push(s.contact_id);
        crossings(s, model, now, out);
      }
      await saveStates(tx, workspaceId, states, now);
      if (changed && moved.length > 0) await changed(tx, moved);
      if (out.length) await record(tx, out);
      recorded += out.length;
      return states;
    });
    if (page.length < 500) return recorded;
    after = page[page.length - 1]!.contact_id;
  }
}

/** The contact's score and its breakdown (lines add up to the score), for `GET /v1/contacts/{id}/score`. */
export async function contactScore(db: Db, workspaceId: string, contactId: string): Promise<{ score: number; breakdown: { rule: string; points: number }[]; qualified_at: string | null; disqualified_at: string | null } | null> {
  const { rows } = await db.raw(`${STATE_SQL} WHERE c.workspace_id = ? AND c.id = ? AND c.erased_at IS NULL`, [workspaceId, contactId]);
  const r = rows[0] as Parameters<typeof toState>[0] | undefined;
  if (!r) return null;
  const s = toState(r, new Date(0));
  return { score: s.score, breakdown: breakdownLines(s.breakdown, s.score), qualified_at: s.qualified_at?.toISOString() ?? null, disqualified_at: s.disqualified_at?.toISOString() ?? null };
}
