import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Engine } from 'json-rules-engine';
import { describe, expect, it } from 'vitest';
import { compileCondition, type ConditionFacts } from './compile.ts';
import { registerCustomOperators } from './operators.ts';
import { prng } from '../../test/prng.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const clock = { now: () => NOW };

/** The reference: a plain json-rules-engine Engine with our custom operators. undefined = it rejected. */
function referenceEngine(rule: unknown): Engine {
  const engine = new Engine([], { allowUndefinedFacts: false });
  registerCustomOperators(engine, clock);
  engine.addRule({ conditions: structuredClone(rule) as never, event: { type: 'match' } });
  return engine;
}

async function reference(engine: Engine, facts: ConditionFacts): Promise<boolean | 'throws'> {
  try {
    const { results } = await engine.run(facts as unknown as Record<string, unknown>);
    return results.length > 0;
  } catch {
    return 'throws';
  }
}

function ours(rule: unknown, facts: ConditionFacts): boolean | 'throws' {
  const evaluate = compileCondition(rule, { clock });
  try {
    return evaluate(facts);
  } catch {
    return 'throws';
  }
}

/** Paths json-rules-engine reads through jsonpath-plus, where its version and its specials matter (issue 8). */
const SPECIAL_PATHS = [
  "$.properties['utm;source']",
  "$.properties['*']",
  "$.properties['@type']",
  "$.properties['a b']",
  "$.properties['a.b']",
  "$.properties['plan','country']",
  '$.properties.interests[::-1]',
  '$.properties.interests[-1:]',
  '$.properties.obj',
  "$.properties['obj']",
  '$..zip',
];

function generators(rand: () => number, opts: { specialPaths?: number } = {}) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const maybe = <T>(p: number, v: () => T): T | undefined => (rand() < p ? v() : undefined);
  const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000).toISOString();
  const scalar = (): unknown =>
    pick([() => Math.floor(rand() * 200) - 20, () => rand() * 100, () => pick(['US', 'CA', 'FR', 'us', '', 'acme corp', '50', 'abc', '12px']), () => null, () => true, () => false, () => pick([['US'], [1, 2], [], ['vip', 'beta']])])();

  const contact = () => {
    const properties: Record<string, unknown> = {};
    const set = (k: string, v: () => unknown, p = 0.85) => {
      if (rand() < p) properties[k] = v();
    };
    set('employees', () => (rand() < 0.8 ? Math.floor(rand() * 500) : pick(['120', 'many', null, [60], { n: 1 }])));
    set('country', () => (rand() < 0.85 ? pick(['US', 'CA', 'FR', 'DE', 'GB']) : pick([null, 1, ['US'], ''])));
    set('plan', () => pick(['free', 'pro', 'enterprise', 'Pro', null]));
    set('mrr', () => (rand() < 0.8 ? Math.round(rand() * 5000) / 10 : pick(['100', null, 'n/a'])));
    set('last_seen_at', () => (rand() < 0.8 ? daysAgo(Math.floor(rand() * 90) - 5) : pick(['yesterday', null, 0, ''])));
    set('company', () => pick(['Acme Corp', 'acme', 'Globex', 'Initech Inc', '', null]));
    set('nps', () => Math.floor(rand() * 11));
    set('address', () => (rand() < 0.8 ? { city: pick(['Paris', 'Boston', 'Lyon']), zip: pick(['75001', '02101', null]) } : pick([null, 'n/a', []])));
    set('interests', () => (rand() < 0.8 ? Array.from({ length: Math.floor(rand() * 4) }, () => pick(['golf', 'ski', 'chess', 'US'])) : pick([null, 'golf'])));
    // Keys with JSONPath specials in them, and values that throw when converted to a primitive.
    set('utm;source', () => pick(['google', 'news', null]), 0.3);
    set('*', () => pick(['star', 5]), 0.3);
    set('@type', () => pick(['Person', 'Org']), 0.3);
    set('a b', () => pick([1, 'x']), 0.3);
    set('a.b', () => pick([2, 'y']), 0.3);
    set('obj', () => pick<unknown>([{ toString: 1 }, [{ toString: 'x' }], { n: 1 }, [60], { valueOf: 5 }]), 0.3);
    return {
      id: `c_${Math.floor(rand() * 1e6)}`,
      email: maybe(0.9, () => `${pick(['ana', 'ben', 'chi'])}@${pick(['acme.com', 'example.org', 'globex.io'])}`) ?? null,
      tags: rand() < 0.9 ? Array.from({ length: Math.floor(rand() * 3) }, () => pick(['vip', 'nurture', 'beta', 'churn-risk'])) : null,
      score: rand() < 0.9 ? Math.floor(rand() * 100) : null,
      properties,
    };
  };
  const event = () => (rand() < 0.3 ? null : { type: pick(['lead.created', 'nps.submitted', 'order.placed']), properties: { amount: pick([10, 99.5, 250, '30', null]), score: Math.floor(rand() * 11), plan: pick(['pro', 'free']) } });
  const run = () => (rand() < 0.3 ? {} : { check: { ok: rand() < 0.5, total: Math.floor(rand() * 10) }, count: Math.floor(rand() * 5) });

  const contactPaths = ['$.properties.employees', '$.properties.country', '$.properties.plan', '$.properties.mrr', '$.properties.last_seen_at', '$.properties.company', '$.properties.nps', '$.properties.address.city', '$.properties.address.zip', '$.properties.interests', '$.properties.interests[0]', '$.tags', '$.score', '$.email', '$.properties.missing.deep', "$['properties']['country']", '$.properties.company.length', '$.properties.interests.length', '$.properties.*', '$..city', '$.tags[*]', ...SPECIAL_PATHS];
  const eventPaths = ['$.type', '$.properties.amount', '$.properties.score', '$.properties.plan', '$.properties'];
  const runPaths = ['$.check.ok', '$.check.total', '$.count', '$.missing'];
  const operators = ['equal', 'notEqual', 'in', 'notIn', 'contains', 'doesNotContain', 'lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive', 'startsWith', 'endsWith', 'matches', 'exists', 'notExists', 'isEmpty', 'isNotEmpty', 'withinLast', 'notWithinLast', 'before', 'after', 'hasTag', 'notHasTag', 'not:equal', 'not:in', 'someFact:equal', 'everyFact:greaterThan', 'someValue:equal', 'swap:contains', 'not:startsWith'];

  const valueFor = (op: string): unknown => {
    if (rand() < 0.05) return pick([{ fact: 'contact', path: '$.properties.country' }, { fact: 'event', path: '$.properties.score' }, { fact: 'run', path: '$.count' }]);
    if (rand() < 0.04) return scalar(); // anything, including values json-rules-engine chokes on
    switch (op) {
      case 'in':
      case 'notIn':
      case 'not:in':
      case 'someValue:equal':
        return pick([['US', 'CA'], ['pro', 'enterprise'], [50, 100, 120], ['golf'], 'USCA', []]);
      case 'matches':
      case 'not:startsWith':
      case 'startsWith':
      case 'endsWith':
        return pick(['^acme', '/acme/i', 'Corp$', 'A', '@acme.com', 'US', '']);
      case 'withinLast':
      case 'notWithinLast':
      case 'before':
      case 'after':
        return pick(['P7D', 'P30D', 'PT12H', 'P1M']);
      case 'hasTag':
      case 'notHasTag':
        return pick(['vip', 'beta', 'golf']);
      default:
        return scalar();
    }
  };

  const leaf = (): Record<string, unknown> => {
    const fact = pick(['contact', 'contact', 'contact', 'event', 'run']);
    const paths = fact === 'contact' ? (rand() < (opts.specialPaths ?? 0) ? SPECIAL_PATHS : contactPaths) : fact === 'event' ? eventPaths : runPaths;
    const op = pick(operators);
    const c: Record<string, unknown> = { fact, operator: op, value: valueFor(op) };
    if (rand() < 0.95) c.path = pick(paths);
    if (rand() < 0.1) c.priority = pick([1, 2, 5]);
    return c;
  };
  const condition = (depth: number): Record<string, unknown> => {
    if (depth >= 3 || (depth > 0 && rand() < 0.45)) return leaf();
    const kind = pick(['all', 'all', 'any', 'any', 'not']);
    const node: Record<string, unknown> =
      kind === 'not' ? { not: condition(depth + 1) } : { [kind]: Array.from({ length: Math.floor(rand() * 5) }, () => condition(depth + 1)) };
    if (rand() < 0.15) node.priority = pick([1, 3, 10]);
    return node;
  };
  const rule = () => {
    const kind = pick(['all', 'any', 'not']);
    return kind === 'not' ? { not: condition(1) } : { [kind]: Array.from({ length: 1 + Math.floor(rand() * 4) }, () => condition(1)) };
  };
  return { contact, event, run, rule };
}

describe('compileCondition is identical to json-rules-engine 7', () => {
  it('agrees on 400 generated rules × 60 generated contacts (seeded), including when it rejects', async () => {
    const rand = prng(20260301);
    const gen = generators(rand);
    let compared = 0;
    let matched = 0;
    let threw = 0;
    for (let r = 0; r < 400; r++) {
      const rule = gen.rule();
      const engine = referenceEngine(rule);
      const evaluate = compileCondition(rule, { clock });
      for (let i = 0; i < 60; i++) {
        const facts = { contact: gen.contact(), event: gen.event(), run: gen.run() };
        const expected = await reference(engine, facts);
        let actual: boolean | 'throws';
        try {
          actual = evaluate(facts);
        } catch {
          actual = 'throws';
        }
        if (actual !== expected) {
          throw new Error(`mismatch: ours ${String(actual)}, json-rules-engine ${String(expected)}\nrule ${JSON.stringify(rule)}\nfacts ${JSON.stringify(facts)}`);
        }
        compared++;
        if (expected === true) matched++;
        if (expected === 'throws') threw++;
      }
    }
    expect(compared).toBe(24_000);
    // The generator must exercise both outcomes (and rejections), or the agreement means little.
    expect(matched).toBeGreaterThan(2_000);
    expect(compared - matched - threw).toBeGreaterThan(2_000);
    expect(threw).toBeGreaterThan(50);
  }, 120_000);
});

describe('compileCondition is identical to json-rules-engine 7 on special paths and values', () => {
  it('agrees on 20,000 generated rules (seeded) × 3 contacts, with quoted special keys, unions, slices and unconvertible objects', async () => {
    const rand = prng(20261126);
    const gen = generators(rand, { specialPaths: 0.5 });
    let compared = 0;
    let threw = 0;
    for (let r = 0; r < 20_000; r++) {
      const rule = gen.rule();
      const engine = referenceEngine(rule);
      const evaluate = compileCondition(rule, { clock });
      for (let i = 0; i < 3; i++) {
        const facts = { contact: gen.contact(), event: gen.event(), run: gen.run() };
        const expected = await reference(engine, facts);
        let actual: boolean | 'throws';
        try {
          actual = evaluate(facts);
        } catch {
          actual = 'throws';
        }
        if (actual !== expected) {
          throw new Error(`mismatch: ours ${String(actual)}, json-rules-engine ${String(expected)}\nrule ${JSON.stringify(rule)}\nfacts ${JSON.stringify(facts)}`);
        }
        compared++;
        if (expected === 'throws') threw++;
      }
    }
    expect(compared).toBe(60_000);
    expect(threw).toBeGreaterThan(500);
  }, 300_000);
});

describe('json-rules-engine semantics, case by case', () => {
  it("reads paths with json-rules-engine's own jsonpath-plus (one package, not a second version)", () => {
    const ours = createRequire(import.meta.url);
    const theirs = createRequire(ours.resolve('json-rules-engine'));
    const dir = (req: NodeJS.Require) => realpathSync(dirname(req.resolve('jsonpath-plus/package.json')));
    expect(dir(ours)).toBe(dir(theirs));
  });

  const contact = {
    email: 'ana@acme.com',
    tags: ['vip'],
    properties: { employees: 60, country: 'US', plan: 'pro', name: '', list: [1, 2], n: null, 'utm;source': 'g', obj: { toString: 1 } },
  };
  const facts: ConditionFacts = { contact, event: null, run: { step: { ok: true } } };
  const cases: [string, unknown, boolean | 'throws'][] = [
    ['missing path with lessThan', { all: [{ fact: 'contact', path: '$.properties.nope', operator: 'lessThan', value: 5 }] }, false],
    ['missing path with notEqual', { all: [{ fact: 'contact', path: '$.properties.nope', operator: 'notEqual', value: 5 }] }, true],
    ['numeric string vs number', { all: [{ fact: 'contact', path: '$.properties.country', operator: 'greaterThan', value: 5 }] }, false],
    ['contains on a string is false (arrays only)', { all: [{ fact: 'contact', path: '$.email', operator: 'contains', value: 'acme' }] }, false],
    ['in against a string is a substring test', { all: [{ fact: 'contact', path: '$.properties.country', operator: 'in', value: 'USA' }] }, true],
    ['in against a number rejects', { all: [{ fact: 'contact', path: '$.properties.country', operator: 'in', value: 5 }] }, 'throws'],
    ['empty any is true', { any: [] }, true],
    ['empty all is true', { all: [] }, true],
    ['not of a missing path equal', { not: { fact: 'contact', path: '$.x', operator: 'equal', value: 1 } }, true],
    ["''.length is undefined (falsy holder)", { all: [{ fact: 'contact', path: '$.properties.name.length', operator: 'equal', value: 0 }] }, false],
    ['array length', { all: [{ fact: 'contact', path: '$.properties.list.length', operator: 'equal', value: 2 }] }, true],
    ['path on a null fact returns the fact', { all: [{ fact: 'event', path: '$.type', operator: 'equal', value: null }] }, true],
    ['fact reference value', { all: [{ fact: 'run', path: '$.step.ok', operator: 'equal', value: { fact: 'run', path: '$.step.ok' } }] }, true],
    ['decorated someFact', { all: [{ fact: 'contact', path: '$.properties.list', operator: 'someFact:greaterThan', value: 1 }] }, true],
    [
      'a higher-priority false short-circuits a lower-priority rejection',
      { all: [{ fact: 'contact', path: '$.properties.country', operator: 'equal', value: 'FR', priority: 5 }, { fact: 'contact', path: '$.properties.country', operator: 'in', value: 5 }] },
      false,
    ],
    [
      'a rejection in the same priority group surfaces even after a false',
      { all: [{ fact: 'contact', path: '$.properties.country', operator: 'equal', value: 'FR' }, { fact: 'contact', path: '$.properties.country', operator: 'in', value: 5 }] },
      'throws',
    ],
    ["a quoted key with ';' is jsonpath-plus's, not a plain key", { all: [{ fact: 'contact', path: "$.properties['utm;source']", operator: 'equal', value: 'g' }] }, false],
    ["a union is not a list in jsonpath-plus 10 (json-rules-engine's)", { all: [{ fact: 'contact', path: "$.properties['plan','country']", operator: 'contains', value: 'pro' }] }, false],
    ['a comparison on an unconvertible object rejects', { all: [{ fact: 'contact', path: '$.properties.obj', operator: 'lessThan', value: 5 }] }, 'throws'],
    [
      "an all's false does not hide a same-priority comparison's rejection",
      { all: [{ fact: 'contact', path: '$.properties.country', operator: 'equal', value: 'FR' }, { fact: 'contact', path: '$.properties.obj', operator: 'greaterThan', value: 5 }] },
      'throws',
    ],
    [
      "an any's true does not hide a same-priority rejection of in over a string",
      { any: [{ fact: 'contact', path: '$.properties.country', operator: 'equal', value: 'US' }, { fact: 'contact', path: '$.properties.obj', operator: 'in', value: 'abc' }] },
      'throws',
    ],
  ];
  for (const [name, rule, expected] of cases) {
    it(`${name} → ${String(expected)}, as json-rules-engine`, async () => {
      expect(ours(rule, facts)).toBe(expected);
      expect(await reference(referenceEngine(rule), facts)).toBe(expected);
    });
  }
});

describe('custom operators', () => {
  const facts = (props: Record<string, unknown>, tags: string[] = []): ConditionFacts => ({ contact: { tags, properties: props }, event: null, run: {} });
  const one = (operator: string, path: string, value: unknown) => ({ all: [{ fact: 'contact', path, operator, value }] });

  it('startsWith / endsWith / matches (with /flags/) on strings only', () => {
    const f = facts({ company: 'Acme Corp', n: 5 });
    expect(ours(one('startsWith', '$.properties.company', 'Acme'), f)).toBe(true);
    expect(ours(one('endsWith', '$.properties.company', 'Corp'), f)).toBe(true);
    expect(ours(one('matches', '$.properties.company', '/^acme/i'), f)).toBe(true);
    expect(ours(one('matches', '$.properties.company', '^acme'), f)).toBe(false);
    expect(ours(one('startsWith', '$.properties.n', '5'), f)).toBe(false);
  });

  it('exists / notExists / isEmpty treat null and missing alike', () => {
    const f = facts({ a: null, b: '', c: [], d: 0 });
    expect(ours(one('exists', '$.properties.a', true), f)).toBe(false);
    expect(ours(one('notExists', '$.properties.zzz', true), f)).toBe(true);
    expect(ours(one('exists', '$.properties.d', true), f)).toBe(true);
    for (const k of ['a', 'b', 'c', 'zzz']) expect(ours(one('isEmpty', `$.properties.${k}`, true), f)).toBe(true);
    expect(ours(one('isEmpty', '$.properties.d', true), f)).toBe(false);
  });

  it('withinLast / notWithinLast read the time given at evaluation, not the wall clock', () => {
    const rule = one('withinLast', '$.properties.seen', 'P30D');
    const evaluate = compileCondition(rule, { clock });
    const f = facts({ seen: '2026-02-10T00:00:00Z' });
    expect(evaluate(f, { now: new Date('2026-03-01T00:00:00Z') })).toBe(true);
    expect(evaluate(f, { now: new Date('2026-03-20T00:00:00Z') })).toBe(false);
    const stale = compileCondition(one('notWithinLast', '$.properties.seen', 'P30D'), { clock });
    expect(stale(f, { now: new Date('2026-03-20T00:00:00Z') })).toBe(true);
    expect(stale(facts({}), { now: new Date('2026-03-20T00:00:00Z') })).toBe(true);
    expect(stale(facts({ seen: 'yesterday' }), { now: new Date('2026-03-20T00:00:00Z') })).toBe(false);
  });

  it('before / after a duration ago: the time is earlier / later than now − value; a missing or unreadable time matches neither', () => {
    const now = new Date('2026-03-20T00:00:00Z');
    const before = compileCondition(one('before', '$.properties.seen', 'P30D'), { clock });
    const after = compileCondition(one('after', '$.properties.seen', 'P30D'), { clock });
    const old = facts({ seen: '2026-02-10T00:00:00Z' });
    const recent = facts({ seen: '2026-03-01T00:00:00Z' });
    const future = facts({ seen: '2026-04-01T00:00:00Z' });
    expect([before(old, { now }), after(old, { now })]).toEqual([true, false]);
    expect([before(recent, { now }), after(recent, { now })]).toEqual([false, true]);
    expect([before(future, { now }), after(future, { now })]).toEqual([false, true]);
    for (const f of [facts({}), facts({ seen: null }), facts({ seen: 'yesterday' })]) expect([before(f, { now }), after(f, { now })]).toEqual([false, false]);
    // Exactly now − 30 days is neither before nor after it.
    const edge = facts({ seen: '2026-02-18T00:00:00Z' });
    expect([before(edge, { now }), after(edge, { now })]).toEqual([false, false]);
  });

  it('hasTag reads the contact tags (with or without a path)', () => {
    const f = facts({}, ['vip']);
    expect(ours({ all: [{ fact: 'contact', operator: 'hasTag', value: 'vip' }] }, f)).toBe(true);
    expect(ours(one('hasTag', '$.tags', 'beta'), f)).toBe(false);
    expect(ours(one('notHasTag', '$.tags', 'beta'), f)).toBe(true);
  });

  it('refuses at compile time what json-rules-engine would not construct', () => {
    expect(() => compileCondition({ fact: 'contact', operator: 'equal', value: 1 })).toThrow(/root/);
    expect(() => compileCondition({ all: [{ fact: 'contact', operator: 'nope', value: 1 }] })).toThrow(/unknown operator/);
    expect(() => compileCondition({ all: [{ fact: 'account', operator: 'equal', value: 1 }] })).toThrow(/unknown fact/);
  });
});
