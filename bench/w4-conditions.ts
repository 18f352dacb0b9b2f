/**
 * W4 conditions (BENCHMARKS.md): 10,000 contacts × a 12-condition rule (nested all/any, paths into properties,
 * `in`, comparisons, custom operators). Evaluations/s of Cairn's compiled evaluator and of a plain
 * json-rules-engine `Engine` in the same run, median of 3 runs with the spread, the ratio, and a check that
 * both give the same answer for every contact.
 *
 * Run alone: `node --import tsx bench/w4-conditions.ts [--scale 0.1]` prints one JSON line.
 */
import { pathToFileURL } from 'node:url';
import { compileCondition, createReferenceEngine, type ConditionFacts } from '../engine/src/rules/index.ts';
import { prng } from '../engine/test/prng.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const clock = { now: () => NOW };

/** Twelve leaf conditions, three levels deep. */
export const W4_RULE = {
  all: [
    { fact: 'contact', path: '$.properties.country', operator: 'in', value: ['US', 'CA', 'GB', 'DE'] },
    { fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 20 },
    {
      any: [
        { fact: 'contact', path: '$.properties.plan', operator: 'in', value: ['pro', 'enterprise'] },
        { fact: 'contact', path: '$.properties.mrr', operator: 'greaterThan', value: 500 },
        { fact: 'contact', path: '$.tags', operator: 'hasTag', value: 'vip' },
      ],
    },
    { not: { fact: 'contact', path: '$.email', operator: 'endsWith', value: '@example.org' } },
    {
      any: [
        { fact: 'contact', path: '$.properties.last_seen_at', operator: 'withinLast', value: 'P30D' },
        {
          all: [
            { fact: 'contact', path: '$.properties.nps', operator: 'greaterThanInclusive', value: 9 },
            { fact: 'contact', path: '$.properties.company', operator: 'startsWith', value: 'A' },
          ],
        },
      ],
    },
    { fact: 'contact', path: '$.properties.industry', operator: 'notIn', value: ['gambling', 'tobacco'] },
    { fact: 'contact', path: '$.owner_id', operator: 'exists', value: true },
    { fact: 'contact', path: '$.properties.address.city', operator: 'matches', value: '^[A-Z]' },
  ],
};

function makeContacts(n: number): ConditionFacts[] {
  const rand = prng(4);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  return Array.from({ length: n }, (_, i) => ({
    contact: {
      id: `c_${i}`,
      email: `user${i}@${pick(['acme.com', 'globex.io', 'example.org', 'initech.net'])}`,
      tags: rand() < 0.2 ? ['vip'] : rand() < 0.5 ? ['nurture'] : [],
      score: Math.floor(rand() * 100),
      owner_id: rand() < 0.85 ? `own_${Math.floor(rand() * 5)}` : null,
      properties: {
        country: pick(['US', 'CA', 'GB', 'DE', 'FR', 'BR', 'IN']),
        employees: Math.floor(rand() * 1000),
        plan: pick(['free', 'starter', 'pro', 'enterprise']),
        mrr: Math.round(rand() * 2000),
        last_seen_at: new Date(NOW.getTime() - Math.floor(rand() * 45) * 86_400_000).toISOString(),
        nps: Math.floor(rand() * 11),
        company: pick(['Acme', 'Apex', 'Globex', 'Initech', 'Umbrella', 'Aperture']),
        industry: pick(['software', 'retail', 'gambling', 'health', 'tobacco', 'finance', 'media', 'education']),
        address: rand() < 0.9 ? { city: pick(['Paris', 'Boston', 'lyon', 'Toronto', 'Berlin']) } : null,
      },
    },
    event: { type: 'lead.created', properties: {} },
    run: {},
  }));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spreadPct = (xs: number[]): number => Math.round(((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 1000) / 10;

/** Our evaluator: passes over all contacts until at least `minMs` elapsed (one pass takes about a millisecond). */
function timeCompiled(evaluate: ReturnType<typeof compileCondition>, contacts: ConditionFacts[], minMs: number): number {
  let evals = 0;
  let sink = 0;
  const started = performance.now();
  do {
    for (const facts of contacts) if (evaluate(facts, { now: NOW })) sink++;
    evals += contacts.length;
  } while (performance.now() - started < minMs);
  const seconds = (performance.now() - started) / 1000;
  if (sink < 0) throw new Error('unreachable');
  return evals / seconds;
}

/** json-rules-engine as an integrator would use it: one `await engine.run(facts)` per contact. */
async function timeEngine(reference: (facts: object) => Promise<boolean>, contacts: ConditionFacts[]): Promise<number> {
  const started = performance.now();
  for (const facts of contacts) await reference(facts);
  return contacts.length / ((performance.now() - started) / 1000);
}

export async function runW4(opts: { scale?: number } = {}): Promise<Record<string, unknown>> {
  const scale = opts.scale ?? 1;
  const contacts = makeContacts(Math.max(100, Math.round(10_000 * scale)));
  const evaluate = compileCondition(W4_RULE, { clock });
  const { evaluate: referenceEvaluate } = createReferenceEngine(W4_RULE, clock);

  // Identical results for every contact (also warms both up).
  let mismatches = 0;
  let matched = 0;
  for (const facts of contacts) {
    const ours = evaluate(facts, { now: NOW });
    if (ours !== (await referenceEvaluate(facts))) mismatches++;
    if (ours) matched++;
  }

  const compiled: number[] = [];
  const reference: number[] = [];
  for (let i = 0; i < 3; i++) {
    compiled.push(timeCompiled(evaluate, contacts, 300));
    reference.push(await timeEngine(referenceEvaluate, contacts));
  }
  const ours = median(compiled);
  const theirs = median(reference);
  return {
    workload: 'w4_conditions',
    scale,
    contacts: contacts.length,
    leaf_conditions: 12,
    runs: 3,
    evaluator_evals_per_s: Math.round(ours),
    evaluator_runs: compiled.map(Math.round),
    evaluator_spread_pct: spreadPct(compiled),
    json_rules_engine_evals_per_s: Math.round(theirs),
    json_rules_engine_runs: reference.map(Math.round),
    json_rules_engine_spread_pct: spreadPct(reference),
    ratio: Math.round((ours / theirs) * 10) / 10,
    matched_contacts: matched,
    identical: mismatches === 0,
    mismatches,
    node: process.version,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--scale');
  const scale = i > 0 ? Number(process.argv[i + 1]) : undefined;
  const line = await runW4({ scale });
  process.stdout.write(`${JSON.stringify(line)}\n`);
  if (line.identical !== true) process.exitCode = 1;
}
