import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCondition, compileCondition, createReferenceEngine } from '../../src/rules/index.ts';
import { createAndPublish, startHarness, type Harness } from '../engine-harness.ts';

/*
 * Issue 8, item 4: `matches` runs on RE2 (linear time). Patterns that backtrack exponentially on JavaScript's
 * engine (`^((a+))+$`, `^(a|a)*$`: 9.2 s for a 31-character input, doubling per character) are decided at once.
 * The bounds below are the measured acceptance ("must not block"), generous for a shared CI machine: the
 * backtracking engine needs seconds at 31 characters and longer than the universe at 5,000.
 */
const HOSTILE = ['^((a+))+$', '^(a|a)*$', '^(a+)+$', '(x+x+)+y'];
const inputs = ['a'.repeat(30) + '!', 'x'.repeat(30), 'a'.repeat(5_000) + '!'];
const clock = { now: () => new Date('2026-03-01T00:00:00Z') };
const rule = (pattern: string) => ({ all: [{ fact: 'contact', path: '$.properties.name', operator: 'matches', value: pattern }] });

describe('matches cannot block the event loop', () => {
  it('accepts the classic catastrophic patterns and decides them in linear time, in Cairn and in json-rules-engine', async () => {
    for (const pattern of HOSTILE) {
      expect(checkCondition(rule(pattern))).toEqual([]);
      const evaluate = compileCondition(rule(pattern), { clock });
      const reference = createReferenceEngine(rule(pattern), clock);
      for (const name of inputs) {
        const facts = { contact: { properties: { name } }, event: null, run: {} };
        const started = performance.now();
        const ours = evaluate(facts);
        const theirs = await reference.evaluate(facts);
        expect(performance.now() - started, `${pattern} over ${name.length} characters`).toBeLessThan(1_000);
        expect(ours).toBe(false);
        expect(theirs).toBe(false);
      }
      const ok = { contact: { properties: { name: pattern === '(x+x+)+y' ? 'xxy' : 'aaaa' } }, event: null, run: {} };
      expect(evaluate(ok)).toBe(true);
    }
  });

  it('refuses, with its path, what RE2 cannot run: backreferences, lookaround, the v flag, runaway repeats', () => {
    const problems = checkCondition({
      any: ['(a)\\1', 'a(?=b)', '(?<!a)b', '/a/v', '(a{100}){100}', '^acme', '/^acme/i', '\\u00e9(?<n>x)'].map((value) => ({
        fact: 'contact',
        path: '$.properties.name',
        operator: 'matches',
        value,
      })),
    });
    expect(problems.map((p) => p.path)).toEqual(['/any/0/value', '/any/1/value', '/any/2/value', '/any/3/value', '/any/4/value']);
    expect(problems[0].message).toMatch(/RE2 syntax/);
  });

  it('keeps JavaScript spellings and flags: /i, \\u escapes, named groups', () => {
    const evaluate = (pattern: string, name: string) => compileCondition(rule(pattern), { clock })({ contact: { properties: { name } }, event: null, run: {} });
    expect(evaluate('/^acme/i', 'ACME corp')).toBe(true);
    expect(evaluate('^acme', 'ACME corp')).toBe(false);
    expect(evaluate('caf\\u00e9$', 'café')).toBe(true);
    expect(evaluate('^(?<first>\\w+) (?<last>\\w+)$', 'Ana Lima')).toBe(true);
    expect(evaluate('/^b$/m', 'a\nb')).toBe(true);
    expect(evaluate('/a.b/s', 'a\nb')).toBe(true);
  });
});

describe('an ingested event with a hostile property against a hostile `when`', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock: 'manual', workers: false });
  });
  afterAll(async () => h?.close());

  it('is accepted at once (31 characters took 9.2 s on the backtracking engine)', async () => {
    const node = (id: string, type: string, config: Record<string, unknown>, y = 0) => ({ id, type, position: { x: 0, y }, config });
    const when = { any: HOSTILE.map((value) => ({ fact: 'event', path: '$.properties.name', operator: 'matches', value })) };
    const flowId = await createAndPublish(h, {
      schema: 'cairn.flow/v1',
      name: 'redos',
      settings: { reentry: 'always', goal: null, exit_on: [], },
      nodes: [node('start', 'trigger.event', { event: 'redos.probe', when }), node('tag', 'action.tag', { add: ['hit'] }, 100)],
      edges: [{ id: 'e1', source: 'start', target: 'tag' }],
    });
    const started = performance.now();
    const res = await h.call('POST', '/v1/events', { type: 'redos.probe', contact: { email: 'redos@example.com' }, properties: { name: 'a'.repeat(30) + '!' } });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(res.status).toBe(202);
    const hit = await h.call('POST', '/v1/events', { type: 'redos.probe', contact: { email: 'redos@example.com' }, properties: { name: 'aaaa' } });
    expect(hit.status).toBe(202);
    const { rows } = await h.t.db.raw(`SELECT count(*)::int AS n FROM runs WHERE workspace_id = ? AND flow_id = ?`, [h.workspaceId, flowId]);
    expect(rows[0].n).toBe(1);
  });
});
