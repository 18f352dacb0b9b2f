import { describe, expect, it } from 'vitest';
import { describeRule, formatValue, fromRule, parseValue, toRule, type RuleNode } from './rules.ts';

const nested = {
  any: [
    { all: [
      { fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 50 },
      { fact: 'contact', path: '$.properties.country', operator: 'in', value: ['US', 'CA'] },
    ] },
    { not: { fact: 'event', path: '$.properties.plan', operator: 'equal', value: 'free', params: { note: 1 } } },
    { condition: 'isVip' },
    { fact: 'run', operator: 'custom_op', value: { a: [1, null] } },
  ],
  name: 'kept',
  priority: 2,
};

describe('rule builder model', () => {
  it('round-trips nested json-rules-engine JSON exactly', () => {
    const text = JSON.stringify(nested);
    expect(JSON.stringify(toRule(fromRule(JSON.parse(text))))).toBe(text);
  });

  it('switches AND/OR in place and edits a leaf without touching its other keys', () => {
    const tree = fromRule(structuredClone(nested)) as Extract<RuleNode, { kind: 'group' }>;
    tree.op = 'all';
    const not = tree.children[1] as Extract<RuleNode, { kind: 'not' }>;
    const leaf = not.child as Extract<RuleNode, { kind: 'fact' }>;
    not.child = { ...leaf, value: 'pro' };
    const out = toRule(tree);
    expect(Object.keys(out)).toEqual(['all', 'name', 'priority']);
    expect((out.all as unknown[])[1]).toEqual({ not: { fact: 'event', path: '$.properties.plan', operator: 'equal', value: 'pro', params: { note: 1 } } });
  });

  it('parses typed values as an ops admin types them', () => {
    expect(parseValue('50', 'greaterThan')).toBe(50);
    expect(parseValue('US, CA', 'in')).toEqual(['US', 'CA']);
    expect(parseValue('true', 'equal')).toBe(true);
    expect(parseValue('hello', 'equal')).toBe('hello');
    expect(formatValue(['US', 'CA'], 'in')).toBe('US, CA');
    expect(parseValue(formatValue([1, 2], 'in'), 'in')).toEqual([1, 2]);
  });

  it('describes a rule in one line', () => {
    expect(describeRule(nested.any[0] as Record<string, unknown>)).toBe('employees is at least 50 AND country is one of US, CA');
  });
});
