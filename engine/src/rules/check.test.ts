import { JSONPath } from 'jsonpath-plus';
import { describe, expect, it } from 'vitest';
import { checkCondition } from './check.ts';

const leaf = (extra: Record<string, unknown> = {}) => ({ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: 'pro', ...extra });

describe('checkCondition', () => {
  it('accepts json-rules-engine conditions, decorated operators, fact references and custom operators', () => {
    expect(
      checkCondition({
        any: [
          leaf(),
          { not: leaf({ operator: 'not:in', value: ['a'] }) },
          { all: [leaf({ operator: 'someFact:equal', path: '$.tags' }), leaf({ value: { fact: 'event', path: '$.properties.plan' } })], priority: 2 },
          leaf({ operator: 'withinLast', value: 'P7D', path: '$.properties.seen' }),
          leaf({ operator: 'matches', value: '/^pro/i' }),
          { all: [] },
        ],
      }),
    ).toEqual([]);
  });

  it('reports every problem with a pointer relative to the condition', () => {
    const problems = checkCondition({
      all: [
        { fact: 'contact', path: '$.a', operator: 'equal' },
        { all: [], any: [] },
        leaf({ operater: 'x' }),
        leaf({ operator: 'in', value: 'US' }),
        leaf({ operator: 'matches', value: '([' }),
        leaf({ operator: 'matches', value: '(a)\\1' }),
        leaf({ operator: 'withinLast', value: '30 days' }),
        leaf({ value: { fact: 'session' } }),
        leaf({ priority: 0 }),
        { not: [leaf()] },
        { condition: 'shared' },
      ],
    });
    expect(problems.map((p) => p.path)).toEqual([
      '/all/0',
      '/all/1',
      '/all/2/operater',
      '/all/3/value',
      '/all/4/value',
      '/all/5/value',
      '/all/6/value',
      '/all/7/value/fact',
      '/all/8/priority',
      '/all/9/not',
      '/all/10/condition',
    ]);
    expect(problems[0].message).toMatch(/needs "value"/);
    expect(problems[3].message).toMatch(/must be a list for "in"/);
  });

  it('before / after take an ISO 8601 duration (a duration ago), as withinLast does', () => {
    expect(checkCondition({ all: [leaf({ operator: 'before', value: 'P30D' }), leaf({ operator: 'not:after', value: 'PT2H' })] })).toEqual([]);
    const problems = checkCondition({ all: [leaf({ operator: 'before', value: '2026-01-01' }), leaf({ operator: 'after', value: 30 })] });
    expect(problems.map((p) => p.path)).toEqual(['/all/0/value', '/all/1/value']);
    expect(problems[0]!.message).toMatch(/ISO 8601 duration such as "P30D" for "before"/);
  });

  it('refuses JSONPath filters and script expressions, and params on a fact that takes none', () => {
    const problems = checkCondition({
      any: [
        leaf({ path: '$..[?(@.x)]' }),
        leaf({ path: "$.properties['?(@.x)']" }),
        leaf({ path: '$.properties.items[(@.length-1)]' }),
        leaf({ params: { unit: 'lbs' } }),
        leaf({ value: { fact: 'event', path: '$.properties.plan', params: {} } }),
        leaf({ path: "$.properties['utm;source']" }),
        leaf({ path: '$.properties.items[*].sku' }),
      ],
    });
    expect(problems.map((p) => p.path)).toEqual(['/any/0/path', '/any/1/path', '/any/2/path', '/any/3/params', '/any/4/value/params']);
    expect(problems[0].message).toMatch(/filter or script expression/);
    expect(problems[3].message).toMatch(/"contact" fact takes no params/);
  });

  it("validating many distinct paths does not grow jsonpath-plus's parse cache without bound", () => {
    for (let i = 0; i < 12_000; i++) expect(checkCondition({ all: [leaf({ path: `$.properties.items[${i}:]` })] })).toEqual([]);
    expect(Object.keys(JSONPath.cache as object).length).toBeLessThan(10_000);
  });

  it('refuses a root that is not all/any/not, and absurd nesting or size', () => {
    expect(checkCondition(leaf())[0].message).toMatch(/root is "all", "any" or "not"/);
    let deep: Record<string, unknown> = leaf();
    for (let i = 0; i < 30; i++) deep = { not: deep };
    expect(checkCondition(deep).some((p) => /deeper than 20/.test(p.message))).toBe(true);
    const wide = { any: Array.from({ length: 600 }, () => leaf()) };
    expect(checkCondition(wide).map((p) => p.message)).toEqual([expect.stringMatching(/more than 500 conditions/)]);
  });
});
