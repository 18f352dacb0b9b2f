import { describe, expect, it } from 'vitest';
import { CairnError } from '../errors.ts';
import { checkTemplate, compileTemplates, RUN_RENDER_BUDGET, runRenderBudget, STEP_RENDER_BUDGET } from './templates.ts';

const scope = { contact: { email: 'ana@acme.com', properties: { first_name: 'Ana', plan: 'pro' } }, event: { type: 'order.placed', properties: { amount: 42 } }, run: { score: { total: 7 } } };

describe('compileTemplates', () => {
  it('renders every Liquid string of a JSON value and keeps the structure', () => {
    const render = compileTemplates({
      subject: 'Hi {{ contact.properties.first_name | upcase }}',
      n: 5,
      flag: true,
      list: ['{% if event.properties.amount > 40 %}big{% else %}small{% endif %}', 'plain', null],
      nested: { total: 'score {{ run.score.total }}', missing: '[{{ contact.properties.nope }}]' },
    });
    expect(render(scope)).toEqual({ subject: 'Hi ANA', n: 5, flag: true, list: ['big', 'plain', null], nested: { total: 'score 7', missing: '[]' } });
  });

  it('returns a value without templates as the very same object (fast path)', () => {
    const value = { a: 'plain', b: [1, 'two'], c: { d: 'no liquid here' } };
    expect(compileTemplates(value)(scope)).toBe(value);
    const mixed = { keep: { a: 1 }, t: '{{ contact.email }}' };
    const out = compileTemplates(mixed)(scope) as typeof mixed;
    expect(out.keep).toBe(mixed.keep);
    expect(out.t).toBe('ana@acme.com');
  });

  it('refuses unknown filters and file tags at compile time, naming the path', () => {
    expect(() => compileTemplates({ a: { b: '{{ contact.email | shout }}' } })).toThrow(/\/a\/b is not a valid Liquid template: undefined filter: shout/);
    expect(() => compileTemplates(["{% render 'x' %}"])).toThrow(CairnError);
    expect(checkTemplate('{{ x }')).toMatch(/not a valid Liquid template/);
    expect(checkTemplate('no template')).toBeUndefined();
  });

  it('renders synchronously the same way many times (parsed once)', () => {
    const render = compileTemplates('{{ contact.properties.first_name }} / {{ event.type }}');
    for (let i = 0; i < 100; i++) expect(render(scope)).toBe('Ana / order.placed');
  });

  const heavy = '{% for i in (1..1000) %}{% for j in (1..2500) %}x{% endfor %}{% endfor %}';

  it('fails the step with a budget error when its templates together exceed the step budget', () => {
    const render = compileTemplates(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`p${i}`, heavy])));
    expect(() => render(scope)).toThrow(/\/p0: template rendering exceeded its budget: the templates of one step may render for 100 ms/);
  });

  it('charges the run budget, so many cheap-enough steps of one run stop at the run budget', () => {
    // Each step prints a 100,000-character property: instant and inside one step's budget, but the run's runs out.
    const big = { ...scope, contact: { properties: { big: 'x'.repeat(100_000) } } };
    const render = compileTemplates({ text: '{{ contact.properties.big }}' });
    const run = runRenderBudget();
    let steps = 0;
    expect(() => { for (;;) { render(big, run); steps++; } }).toThrow(/the steps of a run between two waits may render for 500 ms and 2,000,000 characters/);
    expect(steps).toBeGreaterThan(STEP_RENDER_BUDGET.chars / 100_000);
    expect(steps).toBeLessThanOrEqual(RUN_RENDER_BUDGET.chars / 100_000);
  });
});
