import { useId } from 'react';
import type { RuleJson } from '../api/types.ts';
import { FACTS, OPERATORS, formatValue, fromRule, newFact, newGroup, parseValue, toRule, type RuleNode } from '../graph/rules.ts';
import { Icon } from '../ui/icons.tsx';

/**
 * Visual editor for json-rules-engine conditions: nested AND/OR groups of fact · path · operator · value.
 * It edits the rule through `graph/rules.ts`, which keeps every key it does not show, so an untouched rule
 * is written back exactly as it was read.
 */
export function RuleBuilder({ value, onChange, readOnly, label = 'Rule' }: { value: RuleJson | undefined; onChange: (v: RuleJson) => void; readOnly?: boolean; label?: string }) {
  const root = fromRule(value);
  const update = (next: RuleNode) => onChange(toRule(next));
  return (
    <div className="rule-builder" role="group" aria-label={label}>
      <RuleNodeView node={root} onChange={update} readOnly={readOnly} depth={0} />
    </div>
  );
}

interface ViewProps {
  node: RuleNode;
  onChange: (n: RuleNode) => void;
  onRemove?: () => void;
  readOnly?: boolean;
  depth: number;
}

function RuleNodeView(props: ViewProps) {
  const { node } = props;
  if (node.kind === 'group') return <GroupView {...props} node={node} />;
  if (node.kind === 'fact') return <FactView {...props} node={node} />;
  if (node.kind === 'not') {
    return (
      <div className="rule-not">
        <div className="rule-not-head">
          <span className="rule-chip">NOT</span>
          {props.onRemove && !props.readOnly ? <RemoveButton onClick={props.onRemove} label="Remove NOT condition" /> : null}
        </div>
        <RuleNodeView node={node.child} onChange={(child) => props.onChange({ ...node, child })} readOnly={props.readOnly} depth={props.depth + 1} />
      </div>
    );
  }
  return (
    <div className="rule-opaque">
      <code>{JSON.stringify(node.raw)}</code>
      {props.onRemove && !props.readOnly ? <RemoveButton onClick={props.onRemove} label="Remove condition" /> : null}
    </div>
  );
}

function RemoveButton({ onClick, label }: { onClick: () => void; label: string }) {
  return (
    <button type="button" className="icon-btn" onClick={onClick} aria-label={label} title={label}>
      <Icon name="close" size={14} />
    </button>
  );
}

function GroupView({ node, onChange, onRemove, readOnly, depth }: ViewProps & { node: Extract<RuleNode, { kind: 'group' }> }) {
  const id = useId();
  const setChild = (i: number, child: RuleNode) => onChange({ ...node, children: node.children.map((c, j) => (j === i ? child : c)) });
  const removeChild = (i: number) => onChange({ ...node, children: node.children.filter((_, j) => j !== i) });
  return (
    <div className={`rule-group depth-${depth % 3}`} data-testid="rule-group">
      <div className="rule-group-head">
        <label htmlFor={id} className="rule-match">Match</label>
        <select id={id} aria-label="Match all or any" value={node.op} disabled={readOnly} onChange={(e) => onChange({ ...node, op: e.target.value as 'all' | 'any' })}>
          <option value="all">ALL (and)</option>
          <option value="any">ANY (or)</option>
        </select>
        <span className="muted small">of these conditions</span>
        {onRemove && !readOnly ? <RemoveButton onClick={onRemove} label="Remove group" /> : null}
      </div>
      <div className="rule-children">
        {node.children.length === 0 ? <div className="muted small rule-empty">No conditions yet — this group always matches.</div> : null}
        {node.children.map((child, i) => (
          <div className="rule-child" key={i}>
            {i > 0 ? <span className="rule-joiner">{node.op === 'all' ? 'AND' : 'OR'}</span> : null}
            <RuleNodeView node={child} onChange={(c) => setChild(i, c)} onRemove={() => removeChild(i)} readOnly={readOnly} depth={depth + 1} />
          </div>
        ))}
      </div>
      {!readOnly ? (
        <div className="rule-group-actions">
          <button type="button" className="btn btn-sm" onClick={() => onChange({ ...node, children: [...node.children, newFact()] })}>
            <Icon name="plus" size={12} /> Add condition
          </button>
          <button type="button" className="btn btn-sm btn-ghost" onClick={() => onChange({ ...node, children: [...node.children, newGroup(node.op === 'all' ? 'any' : 'all')] })}>
            <Icon name="plus" size={12} /> Add group
          </button>
        </div>
      ) : null}
    </div>
  );
}

function FactView({ node, onChange, onRemove, readOnly }: ViewProps & { node: Extract<RuleNode, { kind: 'fact' }> }) {
  const operators = OPERATORS.some((o) => o.value === node.operator) ? OPERATORS : [...OPERATORS, { value: node.operator, label: node.operator }];
  const facts = FACTS.includes(node.fact) ? FACTS : [...FACTS, node.fact];
  return (
    <div className="rule-fact" data-testid="rule-fact">
      <select aria-label="Fact" value={node.fact} disabled={readOnly} onChange={(e) => onChange({ ...node, fact: e.target.value })}>
        {facts.map((f) => <option key={f} value={f}>{f}</option>)}
      </select>
      <input
        aria-label="Path"
        className="rule-path"
        value={node.path}
        placeholder="$.properties.country"
        disabled={readOnly}
        onChange={(e) => onChange({ ...node, path: e.target.value })}
      />
      <select
        aria-label="Operator"
        value={node.operator}
        disabled={readOnly}
        onChange={(e) => {
          const operator = e.target.value;
          // Keep what was typed, re-read for the new operator (a list for `in`, a scalar otherwise).
          onChange({ ...node, operator, value: parseValue(formatValue(node.value, node.operator), operator) });
        }}
      >
        {operators.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
      <input
        aria-label="Value"
        className="rule-value"
        // Uncontrolled with a key: typing "5," must not be re-formatted under the cursor.
        key={`${node.operator}:${JSON.stringify(node.raw.value)}`}
        defaultValue={formatValue(node.value, node.operator)}
        placeholder={node.operator === 'in' || node.operator === 'notIn' ? 'US, CA' : 'value'}
        disabled={readOnly}
        onBlur={(e) => onChange({ ...node, value: parseValue(e.target.value, node.operator) })}
        onKeyDown={(e) => {
          if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
        }}
      />
      {onRemove && !readOnly ? <RemoveButton onClick={onRemove} label="Remove condition" /> : null}
    </div>
  );
}
