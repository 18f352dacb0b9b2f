import { describe, expect, it } from 'vitest';
import { BUILTIN_OPERATOR_NAMES, CUSTOM_OPERATOR_NAMES } from '../../../engine/src/rules/operators.ts';
import { checkCondition } from '../../../engine/src/rules/check.ts';
import { describeRule, fromRule, newActivityFact, OPERATORS, operatorLabel, toRule, type RuleNode } from '../../src/graph/rules.ts';

// Issue 15: the rule builder offers every operator the engine knows, in words, and the activity fact.
describe('the rule builder’s operators and the engine’s', () => {
  it('labels every operator the engine registers, none by its raw name', () => {
    const engine = [...BUILTIN_OPERATOR_NAMES, ...CUSTOM_OPERATOR_NAMES];
    const offered = new Map(OPERATORS.map((o) => [o.value, o.label]));
    expect(engine.filter((op) => !offered.has(op))).toEqual([]);
    for (const [op, label] of offered) {
      expect(engine, op).toContain(op);
      expect(label, op).not.toBe(op);
    }
  });

  it('reads decorated operators in words', () => {
    expect(operatorLabel('not:startsWith')).toBe('not (starts with)');
    expect(operatorLabel('someFact:equal')).toBe('has an item that is');
  });

  it('builds "3 or more order.completed in the last 90 days" as the engine checks it, and says it in words', () => {
    const node = newActivityFact('order.completed') as Extract<RuleNode, { kind: 'fact' }>;
    const rule = toRule({ kind: 'group', op: 'all', children: [{ ...node, value: 3 }], raw: { all: [] } });
    expect(rule).toEqual({ all: [{ fact: 'activity', params: { event: 'order.completed', measure: 'count', within: 'P90D' }, operator: 'greaterThanInclusive', value: 3 }] });
    expect(checkCondition(rule)).toEqual([]);
    expect(describeRule(rule)).toBe('number of order.completed in the last 90 days is at least 3');
    expect(toRule(fromRule(rule))).toEqual(rule);
    const last = { all: [{ fact: 'activity', params: { event: 'order.completed', measure: 'last_at' }, operator: 'notWithinLast', value: 'P30D' }] };
    expect(checkCondition(last)).toEqual([]);
    expect(describeRule(last)).toBe('last time of order.completed is not within the last (or never) 30 days');
  });
});
