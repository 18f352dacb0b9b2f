import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareProps } from '../src/manifest/rules.ts';
import { loadPlugin, type LoadedPlugin } from '../src/testing/index.ts';

/**
 * Props are prepared like the engine prepares a node's config (issue 16, deliverable 6): text coerced to the declared
 * number / integer / boolean, schema defaults applied, validated with a problem naming the prop — in the test
 * harness too, which runs the same `prepareProps` as the engine.
 */

let plugin: LoadedPlugin;
beforeAll(async () => {
  plugin = await loadPlugin({ entry: fileURLToPath(new URL('./fixtures/typed.ts', import.meta.url)) });
});
afterAll(async () => plugin?.dispose());

describe('props', () => {
  it('the harness coerces rendered text to the declared types and applies defaults', async () => {
    expect(await plugin.run('echo_typed', { amount: ' 49.5 ', quantity: '3', paid: 'TRUE', note: '12' })).toEqual({
      props: { amount: 49.5, quantity: 3, paid: true, currency: 'EUR', note: '12' },
      types: { amount: 'number', quantity: 'number', paid: 'boolean', currency: 'string', note: 'string' },
    });
    expect(await plugin.run('echo_typed', { amount: 7 })).toMatchObject({ props: { amount: 7, quantity: 1, paid: false, currency: 'EUR' } });
  });

  it('the harness refuses what the engine refuses, naming the prop, without running the action', async () => {
    await expect(plugin.run('echo_typed', { amount: 'forty' })).rejects.toMatchObject({ code: 'CAIRN_ERR_STEP_FAILED', message: expect.stringContaining('/amount must be a number; the value "forty" cannot be read as one') });
    await expect(plugin.run('echo_typed', { amount: 1, quantity: '2.5' })).rejects.toMatchObject({ message: expect.stringContaining('/quantity must be an integer') });
    await expect(plugin.run('echo_typed', { amount: 1, paid: 'yes' })).rejects.toMatchObject({ message: expect.stringContaining('/paid must be true or false') });
    await expect(plugin.run('echo_typed', { amount: 1, quantity: '0' })).rejects.toMatchObject({ message: expect.stringContaining('/quantity must be >= 1') });
    await expect(plugin.run('echo_typed', { quantity: 2 })).rejects.toMatchObject({ message: expect.stringContaining('/amount') });
    await expect(plugin.run('echo_typed', { amount: 1, extra: true })).rejects.toMatchObject({ message: expect.stringContaining('must NOT have additional properties') });
  });

  it('prepareProps: paths under the base, the input left untouched, strings left for later skipped', () => {
    const schema = plugin.manifest.actions[0]!.props;
    const input = { amount: '5', nested: undefined };
    delete (input as { nested?: unknown }).nested;
    expect(prepareProps(schema, input, '/config')).toEqual({ props: { amount: 5, quantity: 1, paid: false, currency: 'EUR' }, problems: [] });
    expect(input).toEqual({ amount: '5' });
    expect(prepareProps(schema, { amount: 'x' }, '/config').problems).toEqual([{ path: '/config/amount', message: 'must be a number; the value "x" cannot be read as one' }]);
    const later = (s: string) => s.includes('{{');
    expect(prepareProps(schema, { amount: '{{ event.properties.value }}', paid: '{{ x }}' }, '/config', later).problems).toEqual([]);
    expect(prepareProps(schema, { amount: '{{ v }}', quantity: 'many' }, '/config', later).problems.map((p) => p.path)).toEqual(['/config/quantity']);
  });
});
