import { describe, expect, it } from 'vitest';
import { CairnError } from '../errors.ts';
import { checkTemplate, compileTemplates } from './templates.ts';

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
});
