import { describe, expect, it } from 'vitest';
import { linesOf, ruleOf, type Line } from './rule-lines.ts';

describe('segment rule lines', () => {
  const lines: Line[] = [
    { kind: 'property', property: 'plan', op: 'equal', value: 'pro' },
    { kind: 'property', property: 'employees', op: 'greaterThanInclusive', value: '50' },
    { kind: 'tag', tag: 'vip', has: false },
    { kind: 'did', event: 'order.completed', atLeast: 3, ago: { n: 90, unit: 'D' } },
    { kind: 'spent', event: 'order.completed', atLeast: 500, ago: { n: 12, unit: 'W' } },
    { kind: 'recent', event: 'page.viewed', ago: { n: 7, unit: 'D' } },
    { kind: 'not_since', event: 'order.completed', ago: { n: 30, unit: 'D' } },
  ];

  it('writes the API condition format (CONTRACT.md §Behavioural facts)', () => {
    const rule = ruleOf(lines);
    expect(rule.all[1]).toEqual({ fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 50 });
    expect(rule.all[3]).toEqual({ fact: 'activity', params: { event: 'order.completed', measure: 'count', within: 'P90D' }, operator: 'greaterThanInclusive', value: 3 });
    expect(rule.all[4]).toMatchObject({ params: { measure: 'sum', within: 'P12W' }, value: 500 });
    expect(rule.all[6]).toEqual({ fact: 'activity', params: { event: 'order.completed', measure: 'last_at' }, operator: 'notWithinLast', value: 'P30D' });
  });

  it('reads a rule it wrote back into the same lines', () => {
    expect(linesOf(JSON.parse(JSON.stringify(ruleOf(lines))))).toEqual(lines);
  });

  it('gives up (null) on rules it cannot show, so they are edited as JSON rather than silently changed', () => {
    expect(linesOf({ any: [] })).toBeNull();
    expect(linesOf({ all: [{ fact: 'contact', path: '$.score', operator: 'greaterThan', value: 10 }] })).toBeNull();
    expect(linesOf({ all: [{ fact: 'activity', params: { event: 'x', measure: 'last_at' }, operator: 'withinLast', value: 'P1M' }] })).toBeNull();
    expect(linesOf({ all: [], not: {} })).toBeNull();
  });
});
