import '../test-dom.ts';
import { useState } from 'react';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { RuleJson } from '../api/types.ts';
import { RuleBuilder } from './RuleBuilder.tsx';
import { FieldsContext } from '../canvas/fields.ts';
import ConfigForm from './ConfigForm.tsx';
import { coreNodeTypes } from '@cairn/engine/contracts';

afterEach(cleanup);

/** Holds the rule like the editor store does, and exposes every value the builder emits. */
function Harness({ initial, onEmit }: { initial: RuleJson | undefined; onEmit: (r: RuleJson) => void }) {
  const [rule, setRule] = useState(initial);
  return (
    <FieldsContext.Provider value={{ contact_properties: ['employees', 'last_order_at', 'plan'], tags: ['vip'], events: [{ type: 'order.placed', properties: ['total'] }] }}>
      <RuleBuilder value={rule} onChange={(r) => { setRule(r); onEmit(r); }} />
    </FieldsContext.Provider>
  );
}

const nested: RuleJson = {
  any: [
    { all: [
      { fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 50 },
      { fact: 'contact', path: '$.properties.country', operator: 'in', value: ['US', 'CA'] },
    ] },
    { not: { fact: 'event', path: '$.properties.plan', operator: 'equal', value: 'free' } },
    { condition: 'isVip' },
  ],
  name: 'routing',
};

describe('RuleBuilder (DOM)', () => {
  it('renders nested groups and writes an edited rule back with every other key intact', () => {
    const emitted: RuleJson[] = [];
    render(<Harness initial={structuredClone(nested)} onEmit={(r) => emitted.push(r)} />);
    const groups = screen.getAllByTestId('rule-group');
    expect(groups).toHaveLength(2);
    expect(screen.getAllByTestId('rule-fact')).toHaveLength(3);
    expect(screen.getByText('{"condition":"isVip"}')).toBeTruthy();

    // Change the top group from ANY to ALL, then the country list.
    fireEvent.change(within(groups[0]).getAllByLabelText('Match all or any')[0], { target: { value: 'all' } });
    const country = screen.getAllByTestId('rule-fact')[1];
    const value = within(country).getByLabelText('Value') as HTMLInputElement;
    expect(value.value).toBe('US, CA');
    fireEvent.change(value, { target: { value: 'US, CA, MX' } });
    fireEvent.blur(value);
    const last = emitted.at(-1)!;
    expect(JSON.stringify(last)).toBe(JSON.stringify({
      all: [
        { all: [
          { fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 50 },
          { fact: 'contact', path: '$.properties.country', operator: 'in', value: ['US', 'CA', 'MX'] },
        ] },
        { not: { fact: 'event', path: '$.properties.plan', operator: 'equal', value: 'free' } },
        { condition: 'isVip' },
      ],
      name: 'routing',
    }));
  });

  it('builds W1 condition from an empty group: a known property picked, a new one named, values typed', () => {
    const emitted: RuleJson[] = [];
    render(<Harness initial={{ all: [] }} onEmit={(r) => emitted.push(r)} />);
    fireEvent.click(screen.getByRole('button', { name: 'Add condition' }));
    fireEvent.click(screen.getByRole('button', { name: 'Add condition' }));
    const [a, b] = screen.getAllByTestId('rule-fact');
    const field = within(a).getByLabelText('Field') as HTMLSelectElement;
    expect([...field.options].map((o) => o.text)).toEqual(expect.arrayContaining(['Email', 'Tags', 'employees', 'plan', 'Another property…']));
    expect(within(a).queryByLabelText('Path')).toBeNull();
    fireEvent.change(field, { target: { value: '$.properties.employees' } });
    fireEvent.change(within(a).getByLabelText('Operator'), { target: { value: 'greaterThanInclusive' } });
    fireEvent.change(within(a).getByLabelText('Value'), { target: { value: '50' } });
    fireEvent.blur(within(a).getByLabelText('Value'));
    fireEvent.change(within(b).getByLabelText('Field'), { target: { value: 'mode:property' } });
    fireEvent.change(within(b).getByLabelText('Property name'), { target: { value: 'country' } });
    fireEvent.change(within(b).getByLabelText('Operator'), { target: { value: 'in' } });
    fireEvent.change(within(b).getByLabelText('Value'), { target: { value: 'US, CA' } });
    fireEvent.blur(within(b).getByLabelText('Value'));
    expect(emitted.at(-1)).toEqual({
      all: [
        { fact: 'contact', path: '$.properties.employees', operator: 'greaterThanInclusive', value: 50 },
        { fact: 'contact', path: '$.properties.country', operator: 'in', value: ['US', 'CA'] },
      ],
    });
    // Removing a condition removes exactly that one.
    fireEvent.click(within(screen.getAllByTestId('rule-fact')[0]).getByRole('button', { name: 'Remove condition' }));
    expect(emitted.at(-1)).toEqual({ all: [{ fact: 'contact', path: '$.properties.country', operator: 'in', value: ['US', 'CA'] }] });
  });

  it('is read-only for viewers', () => {
    render(<RuleBuilder value={structuredClone(nested)} onChange={() => { throw new Error('no edits'); }} readOnly />);
    expect(screen.queryByRole('button', { name: 'Add condition' })).toBeNull();
    for (const input of screen.getAllByLabelText('Value')) expect((input as HTMLInputElement).disabled).toBe(true);
  });
});

describe('ConfigForm (rjsf from the catalog schema)', () => {
  const schemaOf = (type: string) => coreNodeTypes.find((t) => t.type === type)!.config_schema;

  it('renders a condition node with the rule builder and does not rewrite an untouched config', async () => {
    const changes: unknown[] = [];
    const config = { rule: structuredClone(nested) };
    await act(async () => {
      render(<ConfigForm schema={schemaOf('condition')} value={config} readOnly={false} errors={[]} onChange={(v) => changes.push(v)} />);
    });
    expect(screen.getAllByTestId('rule-group')).toHaveLength(2);
    expect(changes).toEqual([]);
  });

  it('emits the edited config and shows engine errors on their fields', async () => {
    const changes: Array<Record<string, unknown>> = [];
    await act(async () => {
      render(
        <ConfigForm
          schema={schemaOf('action.assign_owner')}
          value={{ pool: 'enterprise', strategy: 'round_robin' }}
          readOnly={false}
          errors={[{ path: '/nodes/2/config/pool', message: 'no routing pool "enterprise" in this workspace', configPath: '/pool' }]}
          onChange={(v) => changes.push(v)}
        />,
      );
    });
    expect(screen.getByText('no routing pool "enterprise" in this workspace')).toBeTruthy();
    const pool = document.getElementById('root_pool') as HTMLInputElement;
    await act(async () => fireEvent.change(pool, { target: { value: 'smb' } }));
    expect(changes.at(-1)).toMatchObject({ pool: 'smb', strategy: 'round_robin' });
    expect(changes.at(-1)).not.toHaveProperty('retry');
  });
});

describe('ConfigForm optional sections', () => {
  const schemaOf = (type: string) => coreNodeTypes.find((t) => t.type === type)!.config_schema;

  it('keeps an absent retry folded and starts it from the schema defaults when asked', async () => {
    const changes: Array<Record<string, unknown>> = [];
    await act(async () => {
      render(<ConfigForm schema={schemaOf('action.tag')} value={{ add: ['vip'] }} readOnly={false} errors={[]} onChange={(v) => changes.push(v)} />);
    });
    expect(document.getElementById('root_retry_max_attempts')).toBeNull();
    expect(changes).toEqual([]);
    await act(async () => fireEvent.click(screen.getByRole('button', { name: '+ Set retry' })));
    expect(changes.at(-1)).toEqual({ add: ['vip'], retry: { max_attempts: 3, backoff: 'PT10S', factor: 2 } });
  });
});

describe('plain language in forms and rules', () => {
  const schemaOf = (type: string) => coreNodeTypes.find((t) => t.type === type)!.config_schema;

  it('offers every engine operator in words; "is within the last" takes "30 days" and stores P30D; "is set" takes no value', () => {
    const emitted: RuleJson[] = [];
    render(<Harness initial={{ all: [{ fact: 'contact', path: '$.properties.last_order_at', operator: 'equal', value: '' }] }} onEmit={(r) => emitted.push(r)} />);
    const fact = screen.getByTestId('rule-fact');
    const operator = within(fact).getByLabelText('Operator') as HTMLSelectElement;
    expect([...operator.options].map((o) => o.value)).toEqual(expect.arrayContaining(['exists', 'withinLast', 'notWithinLast', 'hasTag', 'startsWith', 'matches', 'isEmpty']));
    expect((within(fact).getByLabelText('Field') as HTMLSelectElement).selectedOptions[0]!.text).toBe('last_order_at');
    fireEvent.change(operator, { target: { value: 'notWithinLast' } });
    fireEvent.change(within(fact).getByLabelText('Value'), { target: { value: '30 days' } });
    expect(emitted.at(-1)).toEqual({ all: [{ fact: 'contact', path: '$.properties.last_order_at', operator: 'notWithinLast', value: 'P30D' }] });
    fireEvent.change(operator, { target: { value: 'exists' } });
    expect(within(fact).queryByLabelText('Value')).toBeNull();
    expect(emitted.at(-1)).toEqual({ all: [{ fact: 'contact', path: '$.properties.last_order_at', operator: 'exists', value: true }] });
  });

  it('a wait\'s timeout is typed as "30 days" and stored as P30D; help text shows code, not backticks', async () => {
    const changes: Array<Record<string, unknown>> = [];
    await act(async () => {
      render(<ConfigForm schema={schemaOf('wait_for_event')} value={{ event: 'order.placed', timeout: 'P3D' }} readOnly={false} errors={[]} onChange={(v) => changes.push(v)} />);
    });
    const timeout = document.getElementById('root_timeout') as HTMLInputElement;
    expect(timeout.value).toBe('3 days');
    await act(async () => fireEvent.change(timeout, { target: { value: '30 days' } }));
    expect(changes.at(-1)).toMatchObject({ event: 'order.placed', timeout: 'P30D' });
    await act(async () => fireEvent.change(timeout, { target: { value: 'a month or so' } }));
    expect(changes.at(-1)).toMatchObject({ timeout: 'P30D' });
    expect(screen.getByText(/Type a duration such as/)).toBeTruthy();
    expect(document.body.textContent).not.toContain('`');
    expect(document.querySelector('.field-description code')?.textContent).toBe('lead.created');
  });
});
