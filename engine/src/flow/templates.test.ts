import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { CairnError } from '../errors.ts';
import { checkTemplate, compileTemplates, RUN_RENDER_BUDGET, runRenderBudget, STEP_RENDER_BUDGET, TEMPLATE_RENDER_MS } from './templates.ts';

const scope = { contact: { email: 'ana@acme.com', properties: { first_name: 'Ana', plan: 'pro' } }, event: { type: 'order.placed', properties: { amount: 42 } }, run: { score: { total: 7 } } };

describe('compileTemplates', () => {
  it('renders every Liquid string of a JSON value and keeps the structure', async () => {
    const render = compileTemplates({
      subject: 'Hi {{ contact.properties.first_name | upcase }}',
      n: 5,
      flag: true,
      list: ['{% if event.properties.amount > 40 %}big{% else %}small{% endif %}', 'plain', null],
      nested: { total: 'score {{ run.score.total }}', missing: '[{{ contact.properties.nope }}]' },
    });
    expect(await render(scope)).toEqual({ subject: 'Hi ANA', n: 5, flag: true, list: ['big', 'plain', null], nested: { total: 'score 7', missing: '[]' } });
  });

  it('returns a value without templates as the very same object (fast path)', async () => {
    const value = { a: 'plain', b: [1, 'two'], c: { d: 'no liquid here' } };
    expect(await compileTemplates(value)(scope)).toBe(value);
    const mixed = { keep: { a: 1 }, t: '{{ contact.email }}' };
    const out = (await compileTemplates(mixed)(scope)) as typeof mixed;
    expect(out.keep).toBe(mixed.keep);
    expect(out.t).toBe('ana@acme.com');
  });

  it('refuses unknown filters and file tags at compile time, naming the path', () => {
    expect(() => compileTemplates({ a: { b: '{{ contact.email | shout }}' } })).toThrow(/\/a\/b is not a valid Liquid template: undefined filter: shout/);
    expect(() => compileTemplates(["{% render 'x' %}"])).toThrow(CairnError);
    expect(checkTemplate('{{ x }')).toMatch(/not a valid Liquid template/);
    expect(checkTemplate('no template')).toBeUndefined();
  });

  it('renders the same way many times (parsed once)', async () => {
    const render = compileTemplates('{{ contact.properties.first_name }} / {{ event.type }}');
    for (let i = 0; i < 100; i++) expect(await render(scope)).toBe('Ana / order.placed');
  });

  const heavy = '{% for i in (1..1000) %}{% for j in (1..2500) %}x{% endfor %}{% endfor %}';

  it('renders a long template in attempts of one slice each, so the step fails on its budget without one long block', async () => {
    const render = compileTemplates(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`p${i}`, heavy])));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const started = performance.now();
    try {
      await expect(render(scope)).rejects.toThrow(new RegExp(`/p0: template rendering exceeded its budget: the templates of one step may render for 100 ms and 500,000 characters, one template for ${TEMPLATE_RENDER_MS} ms at a time`));
    } finally {
      loop.disable();
      clearInterval(ticker);
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(STEP_RENDER_BUDGET.ms - 1);
    expect(ticks).toBeGreaterThan(0); // the event loop ran between attempts
    expect(loop.max / 1e6).toBeLessThan(1_000); // the bound before was seconds; milliseconds are load-dependent
  });

  it('fails the step when its templates together exceed the step budget', async () => {
    // 30 templates of 20,000 characters each: every one fits, together they pass the step's 500,000.
    const wide = { ...scope, contact: { properties: { big: 'x'.repeat(20_000) } } };
    const render = compileTemplates(Array.from({ length: 30 }, () => '{{ contact.properties.big }}'));
    await expect(render(wide)).rejects.toThrow(/\/2\d: template rendering exceeded its budget: the templates of one step may render for 100 ms and 500,000 characters/);
  });

  it('lets the event loop run between the templates of a long step', async () => {
    // Each template loops for a fraction of a millisecond; 500 of them take long enough for a slice to end.
    const render = compileTemplates(Array.from({ length: 500 }, () => '{% for i in (1..500) %}{% endfor %}'));
    let turns = 0;
    let counting = true;
    const count = () => { if (counting) { turns++; setImmediate(count); } };
    setImmediate(count);
    const started = performance.now();
    const outcome = await render(scope).then(() => 'rendered', (err: Error) => err.message);
    counting = false;
    expect(outcome).toMatch(/^rendered$|template rendering exceeded its budget/);
    // Every 5 ms of rendering at least one turn of the event loop (setImmediate runs once per turn).
    expect(turns).toBeGreaterThan(1);
    expect(performance.now() - started).toBeGreaterThan(5);
  });

  it('charges the run budget, so many cheap-enough steps of one run stop at the run budget', async () => {
    // Each step prints a 100,000-character property: instant and inside one step's budget, but the run's runs out.
    const big = { ...scope, contact: { properties: { big: 'x'.repeat(100_000) } } };
    const render = compileTemplates({ text: '{{ contact.properties.big }}' });
    const run = runRenderBudget();
    let steps = 0;
    const all = (async () => { for (;;) { await render(big, run); steps++; } })();
    await expect(all).rejects.toThrow(/the steps of a run between two waits may render for 500 ms and 2,000,000 characters/);
    expect(steps).toBeGreaterThan(STEP_RENDER_BUDGET.chars / 100_000);
    expect(steps).toBeLessThanOrEqual(RUN_RENDER_BUDGET.chars / 100_000);
  });
});
