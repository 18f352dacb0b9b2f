import { describe, expect, it } from 'vitest';
import { jsonDepth, jsonTextDepth } from './json-depth.ts';

describe('JSON depth', () => {
  it('counts nesting in text without parsing, skipping brackets inside strings and escapes', () => {
    expect(jsonTextDepth('1')).toBe(0);
    expect(jsonTextDepth('"[[["')).toBe(0);
    expect(jsonTextDepth('{"a":[1,{"b":"}]\\"[["}]}')).toBe(3);
    expect(jsonTextDepth('[[],[[]],[]]')).toBe(3);
  });

  it('stops counting past the limit, so 5,000 levels cost a few bytes of reading', () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    expect(jsonTextDepth(deep)).toBe(5000);
    expect(jsonTextDepth(deep, 64)).toBe(65);
  });

  it('measures a value without recursion, however deep', () => {
    expect(jsonDepth(null)).toBe(0);
    expect(jsonDepth({ a: [1, { b: 2 }], c: {} })).toBe(3);
    let v: unknown = 1;
    for (let i = 0; i < 100_000; i++) v = { a: v };
    expect(jsonDepth(v, 64)).toBe(65);
    expect(jsonDepth(v)).toBe(100_000);
  });
});
