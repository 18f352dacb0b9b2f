import { Engine } from 'json-rules-engine';
import { describe, expect, it } from 'vitest';
import { compileCondition, type ConditionFacts } from './compile.ts';
import { registerCustomOperators } from './operators.ts';

/*
 * json-rules-engine 7.3's own test cases (github.com/CacheControl/json-rules-engine, test/*.test.js), mapped onto
 * Cairn's facts: a fact `age` holding V becomes `contact.properties.age = V` read with `$.properties.age`; a
 * fact that returns a non-object (where json-rules-engine ignores `path`) becomes the `event` fact; a fact
 * returning an array becomes the `run` fact, so the original path (`$.[0].id`) is kept verbatim. Fact priorities
 * become condition `priority`, and a skipped lower-priority condition is made observable by one that would reject.
 * Each case must give the same answer in json-rules-engine itself and in Cairn's compiled evaluator.
 */

const clock = { now: () => new Date('2026-03-01T00:00:00Z') };
type Outcome = boolean | 'throws';

async function reference(rule: unknown, facts: ConditionFacts): Promise<Outcome> {
  const engine = new Engine([], { allowUndefinedFacts: false });
  registerCustomOperators(engine, clock);
  engine.addRule({ conditions: structuredClone(rule) as never, event: { type: 'match' } });
  try {
    return (await engine.run(facts as unknown as Record<string, unknown>)).results.length > 0;
  } catch {
    return 'throws';
  }
}

function ours(rule: unknown, facts: ConditionFacts): Outcome {
  try {
    return compileCondition(rule, { clock })(facts);
  } catch {
    return 'throws';
  }
}

const props = (properties: Record<string, unknown>): ConditionFacts => ({ contact: { properties }, event: null, run: {} });
const age = (operator: string, value: unknown) => ({ all: [{ fact: 'contact', path: '$.properties.age', operator, value }] });
const ageIs = (v: unknown) => props(v === undefined ? {} : { age: v });

type Case = [source: string, rule: unknown, facts: ConditionFacts, expected: Outcome];
const cases: Case[] = [];
const add = (source: string, rule: unknown, facts: ConditionFacts, expected: Outcome) => cases.push([source, rule, facts, expected]);

// condition.test.js › evaluate (fact "age", value 50)
add('evaluates "equal" (50)', age('equal', 50), ageIs(50), true);
add('evaluates "equal" (5)', age('equal', 50), ageIs(5), false);
add('evaluates "equal" to check for undefined', age('equal', undefined), ageIs(undefined), true);
add('evaluates "equal" to check for undefined (1)', age('equal', undefined), ageIs(1), false);
add('evaluates "notEqual" (50)', age('notEqual', 50), ageIs(50), false);
add('evaluates "notEqual" (5)', age('notEqual', 50), ageIs(5), true);
add('evaluates "in" (15)', age('in', [5, 10, 15, 20]), ageIs(15), true);
add('evaluates "in" (99)', age('in', [5, 10, 15, 20]), ageIs(99), false);
add('evaluates "contains"', age('contains', 10), ageIs([5, 10, 15]), true);
add('evaluates "contains" (negative)', age('contains', 10), ageIs([1, 2, 3]), false);
add('evaluates "doesNotContain"', age('doesNotContain', 10), ageIs([5, 10, 15]), false);
add('evaluates "doesNotContain" (negative)', age('doesNotContain', 10), ageIs([1, 2, 3]), true);
add('evaluates "notIn" (15)', age('notIn', [5, 10, 15, 20]), ageIs(15), false);
add('evaluates "notIn" (99)', age('notIn', [5, 10, 15, 20]), ageIs(99), true);
for (const [op, results] of [
  ['lessThan', [true, false, false]],
  ['lessThanInclusive', [true, true, false]],
  ['greaterThan', [false, false, true]],
  ['greaterThanInclusive', [false, true, true]],
] as const) {
  [49, 50, 51].forEach((v, i) => add(`evaluates "${op}" (${v})`, age(op, 50), ageIs(v), results[i]));
}
add('contains with a non-array returns false', age('contains', 50), ageIs(null), false);
add('doesNotContain with a non-array returns false', age('doesNotContain', 50), ageIs(null), false);
for (const op of ['lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive']) add(`${op} with null returns false`, age(op, 50), ageIs(null), false);
for (const v of ['non-number', null, [], {}]) add(`lessThan with non-number ${JSON.stringify(v)} returns false`, age('lessThan', 50), ageIs(v), false);
// condition.test.js › objects › .path / jsonPath
add('extracts the object property values using its "path" property', { all: [{ fact: 'run', path: '$.[0].id', operator: 'equal', value: 50 }] }, { contact: {}, event: null, run: [{ id: 50 }, { id: 60 }] }, true);
add('extracts … "path" (negative)', { all: [{ fact: 'run', path: '$.[0].id', operator: 'equal', value: 100 }] }, { contact: {}, event: null, run: [{ id: 50 }, { id: 60 }] }, false);
add('ignores "path" when non-objects are returned by the fact', { all: [{ fact: 'event', path: '$.[0].id', operator: 'equal', value: 50 }] }, { contact: {}, event: 50, run: {} }, true);
add('ignores "path" … (negative)', { all: [{ fact: 'event', path: '$.[0].id', operator: 'equal', value: 100 }] }, { contact: {}, event: 50, run: {} }, false);
const phones = props({ phoneNumbers: [{ type: 'iPhone', number: '0123-4567-8888' }, { type: 'home', number: '0123-4567-8910' }] });
add('allows json path to extract values from complex facts', { all: [{ fact: 'contact', path: '$.properties.phoneNumbers[*].type', operator: 'contains', value: 'iPhone' }] }, phones, true);
add('allows json path … (negative)', { all: [{ fact: 'contact', path: '$.properties.phoneNumbers[*].type', operator: 'contains', value: 'work' }] }, phones, false);

// engine-all / engine-any / engine-not (factChild 10, factAdult 30, factSenior 65 in the originals)
const [child, adult, senior] = [10, 30, 65];
const allOf = (...cs: unknown[]) => ({ all: cs });
const anyOf = (...cs: unknown[]) => ({ any: cs });
const leaf = (operator: string, value: unknown) => ({ fact: 'contact', path: '$.properties.age', operator, value });
add('all: emits when the condition is met', allOf(leaf('lessThan', 50)), ageIs(child), true);
add('all: does not emit when the condition fails', allOf(leaf('lessThan', 50)), ageIs(senior), false);
add('all: emits an event when every condition is met', allOf(leaf('lessThan', 50), leaf('greaterThan', 21)), ageIs(adult), true);
add('all: does not emit when the first condition fails', allOf(leaf('lessThan', 50), leaf('greaterThan', 21)), ageIs(child), false);
add('all: does not emit when the second condition fails', allOf(leaf('lessThan', 50), leaf('greaterThan', 21)), ageIs(senior), false);
add('any: emits when the condition is met', anyOf(leaf('lessThan', 50)), ageIs(child), true);
add('any: does not emit when the condition fails', anyOf(leaf('lessThan', 50)), ageIs(senior), false);
add('any: emits an event when any condition is met (first)', anyOf(leaf('lessThan', 21), leaf('greaterThan', 50)), ageIs(child), true);
add('any: emits an event when any condition is met (second)', anyOf(leaf('lessThan', 21), leaf('greaterThan', 50)), ageIs(senior), true);
add('any: does not emit when all conditions fail', anyOf(leaf('lessThan', 21), leaf('greaterThan', 50)), ageIs(adult), false);
add('not: emits when the condition is met', { not: leaf('lessThan', 50) }, ageIs(senior), true);
add('not: does not emit when the condition fails', { not: leaf('lessThan', 50) }, ageIs(child), false);

// engine-fact-comparison: fact-to-fact values (constant facts → properties of the contact)
const hw = (height: number, width: number) => props({ height, width });
const cmp = { all: [{ fact: 'contact', path: '$.properties.height', operator: 'lessThanInclusive', value: { fact: 'contact', path: '$.properties.width' } }] };
add('allows a fact to retrieve other fact values', cmp, hw(1, 2), true);
add('allows a fact to retrieve other fact values (negative)', cmp, hw(2, 1), false);
const paths = { all: [{ fact: 'contact', path: '$.properties.feet', operator: 'equal', value: { fact: 'event', path: '$.meters' } }] };
add('honors the path', paths, { contact: { properties: { feet: 20 } }, event: { meters: 20 }, run: {} }, true);
add('honors the path (negative)', paths, { contact: { properties: { feet: 18 } }, event: { meters: 20 }, run: {} }, false);

// engine-fact.test.js › path (eligibilityData for id 1: age 14 and an address)
const address = {
  street: '123 Fake Street',
  state: { abbreviation: 'CO', name: 'Colorado' },
  zip: '80403',
  'dot.property': 'dot-property-value',
  occupantHistory: [{ name: 'Joe', year: 2011 }, { name: 'Jane', year: 2013 }],
  currentOccupants: [{ name: 'Larry', year: 2020 }],
};
const eligibility = (a: number) => props({ age: a, address });
const on = (path: string, operator: string, value: unknown) => ({ any: [{ fact: 'contact', path: `$.properties${path}`, operator, value }] });
add('path: emits when the condition is met', on('.age', 'lessThan', 50), eligibility(14), true);
add('path: does not emit when the condition fails', on('.age', 'lessThan', 50), eligibility(75), false);
add('can extract an array, allowing it to be used in concert with array operators', on('.address.occupantHistory[*].year', 'contains', 2011), eligibility(14), true);
add('can extract an array with a single element', on('.address.currentOccupants[*].year', 'contains', 2020), eligibility(14), true);
add('correctly interprets "path" when dynamic facts return objects', on('.address.occupantHistory[0].year', 'equal', 2011), eligibility(14), true);
add('correctly interprets "path" when target object properties have dots', on(".address.['dot.property']", 'equal', 'dot-property-value'), eligibility(14), true);
add('correctly interprets "path" with runtime fact objects', { all: [{ fact: 'event', path: '$.y', operator: 'equal', value: 1 }] }, { contact: {}, event: { y: 1 }, run: {} }, true);
add('does not emit when complex object paths fail the condition', on('.address.occupantHistory[0].year', 'equal', 2010), eligibility(14), false);
add('treats invalid object paths as undefined', on('.invalid.object[99].path', 'equal', undefined), eligibility(14), true);
add('ignores "path" when facts return non-objects', { any: [{ fact: 'event', path: '$.age', operator: 'lessThan', value: 50 }] }, { contact: {}, event: 14, run: {} }, true);

// engine-fact-priority: higher priority first; a decided set stops the lower ones (made visible: the lower
// condition would reject, `in` against a number).
const rejecting = (priority?: number) => ({ fact: 'contact', path: '$.properties.segment', operator: 'in', value: 5, ...(priority ? { priority } : {}) });
const p = (operator: string, path: string, value: unknown, priority: number) => ({ fact: 'contact', path, operator, value, priority });
const human = (a: number) => props({ age: a, segment: 'human', accountType: 'admin' });
add('stops on the first fact to fail, part 1', allOf(p('greaterThanInclusive', '$.properties.age', 18, 100), rejecting(25)), human(10), false);
add('stops on the first fact to fail, part 2', allOf(p('greaterThanInclusive', '$.properties.age', 18, 100), p('equal', '$.properties.segment', 'robot', 50), rejecting(25)), human(20), false);
add('stops after the first sub-condition fact fails', allOf(p('greaterThanInclusive', '$.properties.age', 18, 100), { any: [p('equal', '$.properties.segment', 'robot', 50), rejecting(25)] }), human(10), false);
add('complete on the first fact to succeed, part 1', anyOf(p('greaterThanInclusive', '$.properties.age', 18, 100), rejecting(25)), human(20), true);
add('short circuits on the first fact to fail, part 2', anyOf(p('greaterThanInclusive', '$.properties.age', 18, 100), p('equal', '$.properties.segment', 'human', 50), rejecting(25)), human(10), true);
add('a same-priority sibling is not short-circuited (Promise.all)', allOf(p('greaterThanInclusive', '$.properties.age', 18, 1), rejecting()), human(10), 'throws');

// engine-operator-map › combinatorics, swap; operator-decorator defaults
const dec = (path: string, operator: string, value: unknown) => ({ all: [{ fact: 'contact', path, operator, value }] });
const nums = props({ odds: [1, 3, 5, 7], one: 1, word: 'test' });
add('combines every, some, not, and greaterThanInclusive operators', dec('$.properties.odds', 'everyFact:someValue:not:greaterThanInclusive', [2, 4, 6, 8]), nums, true);
add('the swap decorator', dec('$.properties.one', 'swap:contains', [1, 2, 3]), nums, true);
add('someFact', dec('$.properties.odds', 'someFact:equal', 5), nums, true);
add('everyFact', dec('$.properties.odds', 'everyFact:lessThan', 7), nums, false);
add('someValue', dec('$.properties.one', 'someValue:equal', [0, 1]), nums, true);
add('everyValue', dec('$.properties.one', 'everyValue:lessThan', [2, 3]), nums, true);
add('not', dec('$.properties.word', 'not:equal', 'test'), nums, false);
add('someFact on a non-array is false (validator)', dec('$.properties.one', 'someFact:equal', 1), nums, false);

// engine.test.js › run: an undefined fact rejects unless allowUndefinedFacts (never set by Cairn)
add('throws when fact is undefined by default', { all: [{ fact: 'run', path: '$.x', operator: 'equal', value: 1 }] }, { contact: {}, event: null } as unknown as ConditionFacts, 'throws');

describe("json-rules-engine's own test cases, mapped onto Cairn's facts", () => {
  it('has them all', () => expect(cases.length).toBeGreaterThan(80));
  for (const [source, rule, facts, expected] of cases) {
    it(`${source} → ${String(expected)} in both`, async () => {
      expect(await reference(rule, facts)).toBe(expected);
      expect(ours(rule, facts)).toBe(expected);
    });
  }
});
