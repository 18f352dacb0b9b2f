import { checkCondition, compileCondition, type ConditionProblem } from '../../rules/index.ts';
import { compilePath } from '../../rules/json-path.ts';
import { parseDuration } from '../../time/duration.ts';
import { activityReader, nextWindowExit, windowStartDay, type ActivityNeeds, type ContactActivity } from './activity.ts';

/** Documented limits of a segment rule (docs/segments.md). */
export const SEGMENT_LIMITS = { conditions: 50, depth: 6, activityConditions: 10, bytes: 16_384 } as const;
const TIME_OPERATORS = new Set(['withinLast', 'notWithinLast']);
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
  needs: (now: Date) => ActivityNeeds;
  /** Whether the rule reads `contact.rfm` or `contact.churn_risk` (then they are loaded). */
  readsScores: boolean;
}

interface Leaf { leaf: Raw; at: string }

function leaves(c: unknown, at = ''): Leaf[] {
  if (!isObject(c)) return [];
  for (const k of ['any', 'all'] as const) if (Array.isArray(c[k])) return (c[k] as unknown[]).flatMap((x, i) => leaves(x, `${at}/${k}/${i}`));
  if (isObject(c.not)) return leaves(c.not, `${at}/not`);
  return [{ leaf: c, at }];
}

/** Compiles a checked rule once: the evaluator, the activity it reads, and how its time-relative parts move. */
export function compileSegment(row: { id: string; key: string; rule: unknown; updated_at: Date }): CompiledSegment {
  const evaluate = compileCondition(row.rule);
  const all = leaves(row.rule);
  const activityParams = all.filter((l) => l.leaf.fact === 'activity').map((l) => l.leaf.params as Raw);
  const types = [...new Set(activityParams.map((p) => String(p.event)))];
  const windows = activityParams.filter((p) => typeof p.within === 'string').map((p) => ({ type: String(p.event), within: p.within as string }));
  // Leaves whose truth moves with the clock: a time compared with withinLast/notWithinLast (possibly decorated).
  const timed = all.filter((l) => TIME_OPERATORS.has(String(l.leaf.operator).split(':').pop()!) && typeof l.leaf.value === 'string').map((l) => {
    const path = typeof l.leaf.path === 'string' && l.leaf.path !== '' ? compilePath(l.leaf.path) : null;
    return { leaf: l.leaf, path, duration: parseDuration(l.leaf.value as string)! };
  });
  const read = (facts: SegmentFacts, now: Date) => ({ contact: facts.contact, event: null, run: {}, activity: activityReader(facts.activity, now) });
  return {
    id: row.id,
    key: row.key,
    updatedAt: row.updated_at.getTime(),
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
      const reader = activityReader(facts.activity, now);
      for (const t of timed) {
        let v: unknown = t.leaf.fact === 'activity' ? reader(t.leaf.params as Raw) : facts.contact;
        if (t.path && v !== null && typeof v === 'object') v = t.path(v);
        const at = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : v instanceof Date ? v.getTime() : Number.NaN;
        if (Number.isNaN(at)) continue;
        // withinLast holds while at >= now - d, i.e. until at + d; a date in the future enters the window at `at`.
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
        const exit = nextWindowExit(facts.activity, w.type, w.within, now);
        if (exit) consider(exit.getTime());
      }
      return next === null ? null : new Date(next);
    },
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
