import { checkCondition, compileCondition, type ConditionProblem } from '../../rules/index.ts';
import { compilePath } from '../../rules/json-path.ts';
import { parseDuration } from '../../time/duration.ts';
import { activityReader, nextWindowExit, windowStartDay, type ActivityNeeds, type ContactActivity } from './activity.ts';

/** Documented limits of a segment rule (docs/segments.md). */
export const SEGMENT_LIMITS = { conditions: 50, depth: 6, activityConditions: 10, bytes: 16_384 } as const;
const TIME_OPERATORS = new Set(['withinLast', 'notWithinLast', 'before', 'after']);
const HOUR_MS = 3_600_000;

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks a segment rule: a condition over `contact` and `activity`, within the documented limits. */
export function checkSegmentRule(rule: unknown): ConditionProblem[] {
  if (JSON.stringify(rule ?? null).length > SEGMENT_LIMITS.bytes) {
    return [{ path: '', message: `is larger than ${SEGMENT_LIMITS.bytes} bytes; split it into several segments` }];
  }
  const problems = checkCondition(rule, { facts: ['contact', 'activity'], maxConditions: SEGMENT_LIMITS.conditions, maxDepth: SEGMENT_LIMITS.depth });
  if (problems.length > 0) return problems;
  const activity = leaves(rule).filter((l) => l.leaf.fact === 'activity');
  if (activity.length > SEGMENT_LIMITS.activityConditions) {
    return [{ path: activity[SEGMENT_LIMITS.activityConditions]!.at, message: `is activity condition ${activity.length}; a segment rule has at most ${SEGMENT_LIMITS.activityConditions}` }];
  }
  return [];
}

/** What a segment's rule sees for one contact. */
export interface SegmentFacts {
  contact: Record<string, unknown>;
  activity: ContactActivity | undefined;
}

export interface CompiledSegment {
  id: string;
  key: string;
  updatedAt: number;
  /** Whether the contact is a member at `now`. */
  matches(facts: SegmentFacts, now: Date): boolean;
  /** The next moment after `now` at which the passing of time alone may change the answer, or null. */
  nextFlip(facts: SegmentFacts, now: Date): Date | null;
  /** Whether the passing of time alone can change the answer (else nextFlip is always null). */
  timeDependent: boolean;
  needs: (now: Date) => ActivityNeeds;
  /** Whether the rule reads `contact.rfm` or `contact.churn_risk` (then they are loaded). */
  readsScores: boolean;
  /** Whether the rule may read the lead score `contact.score` (score decay re-evaluates such segments). */
  readsLeadScore: boolean;
}

interface Leaf { leaf: Raw; at: string }

function leaves(c: unknown, at = ''): Leaf[] {
  if (!isObject(c)) return [];
  for (const k of ['any', 'all'] as const) if (Array.isArray(c[k])) return (c[k] as unknown[]).flatMap((x, i) => leaves(x, `${at}/${k}/${i}`));
  if (isObject(c.not)) return leaves(c.not, `${at}/not`);
  return [{ leaf: c, at }];
}

const readCache = new WeakMap<SegmentFacts, { nowMs: number; facts: { contact: Record<string, unknown>; event: null; run: Record<string, never>; activity: (p: Raw) => unknown } }>();
const exitCache = new WeakMap<SegmentFacts, Map<string, number | null>>();

/** When a window's count/sum next changes for this contact (shared by segments with the same window). */
function windowExit(facts: SegmentFacts, type: string, within: string, now: Date): number | null {
  let m = exitCache.get(facts);
  if (!m) exitCache.set(facts, (m = new Map()));
  const k = `${now.getTime()}\u0000${type}\u0000${within}`;
  if (!m.has(k)) m.set(k, nextWindowExit(facts.activity, type, within, now)?.getTime() ?? null);
  return m.get(k)!;
}

/** Compiles a checked rule once: the evaluator, the activity it reads, and how its time-relative parts move. */
export function compileSegment(row: { id: string; key: string; rule: unknown; updated_at: Date }): CompiledSegment {
  const evaluate = compileCondition(row.rule);
  const all = leaves(row.rule);
  const activityParams = all.filter((l) => l.leaf.fact === 'activity').map((l) => l.leaf.params as Raw);
  const types = [...new Set(activityParams.map((p) => String(p.event)))];
  const windows = activityParams.filter((p) => typeof p.within === 'string').map((p) => ({ type: String(p.event), within: p.within as string }));
  // Leaves whose truth moves with the clock: a time compared with withinLast/notWithinLast/before/after (possibly decorated).
  const timed = all.filter((l) => TIME_OPERATORS.has(String(l.leaf.operator).split(':').pop()!) && typeof l.leaf.value === 'string').map((l) => {
    const path = typeof l.leaf.path === 'string' && l.leaf.path !== '' ? compilePath(l.leaf.path) : null;
    const params = (l.leaf.params ?? {}) as Raw;
    const activityTime = l.leaf.fact === 'activity' && (params.measure === 'first_at' || params.measure === 'last_at') && path === null
      ? { type: String(params.event), measure: params.measure } : null;
    return { leaf: l.leaf, path, duration: parseDuration(l.leaf.value as string)!, activityTime };
  });
  // The evaluator's facts are built once per contact and time, and shared by every segment evaluating that contact.
  const read = (facts: SegmentFacts, now: Date) => {
    let r = readCache.get(facts);
    if (!r || r.nowMs !== now.getTime()) {
      r = { nowMs: now.getTime(), facts: { contact: facts.contact, event: null, run: {}, activity: activityReader(facts.activity, now) } };
      readCache.set(facts, r);
    }
    return r.facts;
  };
  return {
    id: row.id,
    key: row.key,
    updatedAt: row.updated_at.getTime(),
    timeDependent: timed.length > 0 || windows.length > 0,
    // A rule json-rules-engine rejects on this contact's data (a number comparison on {"toString": 1}) does not
    // hold, as in scoring: the event or change that reached it is still accepted, the other segments go on.
    matches: (facts, now) => {
      try {
        return evaluate(read(facts, now), { now });
      } catch {
        return false;
      }
    },
    nextFlip(facts, now) {
      let next: number | null = null;
      const consider = (t: number) => {
        if (next === null || t < next) next = t;
      };
      for (const t of timed) {
        let at: number;
        if (t.activityTime) {
          // first_at / last_at straight from the attributes, without the RFC 3339 round trip of the fact.
          const tot = facts.activity?.totals.get(t.activityTime.type);
          at = tot ? (t.activityTime.measure === 'first_at' ? tot.firstAt : tot.lastAt).getTime() : Number.NaN;
        } else {
          let v: unknown = t.leaf.fact === 'activity' ? read(facts, now).activity(t.leaf.params as Raw) : facts.contact;
          if (t.path && v !== null && typeof v === 'object') v = t.path(v);
          at = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : v instanceof Date ? v.getTime() : Number.NaN;
        }
        if (Number.isNaN(at)) continue;
        // Each compares `at` with now - d, so each flips once now passes at + d (withinLast, after: true until then;
        // notWithinLast, before: true from then); a date in the future enters withinLast's window at `at`.
        if (at > now.getTime()) {
          consider(at);
          continue;
        }
        const until = t.duration.addTo(new Date(at)).getTime() + 1;
        if (until > now.getTime()) consider(until);
        // Month arithmetic does not invert exactly (31 March + P1M): still inside the window, look again within the hour.
        else if (at >= t.duration.subtractFrom(now).getTime()) consider(now.getTime() + HOUR_MS);
      }
      for (const w of windows) {
        const exit = windowExit(facts, w.type, w.within, now);
        if (exit !== null) consider(exit);
      }
      return next === null ? null : new Date(next);
    },
    readsLeadScore: all.some((l) => l.leaf.fact === 'contact' && /\bscore\b|\.\.|\*/.test(String(l.leaf.path ?? ''))),
    readsScores: /rfm|churn_risk/.test(JSON.stringify(all.filter((l) => l.leaf.fact === 'contact').map((l) => [l.leaf.path, l.leaf.value]))),
    needs(now) {
      let fromDay: string | null = null;
      for (const w of windows) {
        const d = windowStartDay(now, w.within);
        if (fromDay === null || d < fromDay) fromDay = d;
      }
      return { types, fromDay };
    },
  };
}

/** The union of what several segments need. */
export function mergeNeeds(segments: CompiledSegment[], now: Date): ActivityNeeds {
  const types = new Set<string>();
  let fromDay: string | null = null;
  for (const s of segments) {
    const n = s.needs(now);
    n.types.forEach((t) => types.add(t));
    if (n.fromDay !== null && (fromDay === null || n.fromDay < fromDay)) fromDay = n.fromDay;
  }
  return { types: [...types], fromDay };
}
