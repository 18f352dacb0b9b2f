import { useId, useState } from 'react';
import type { RuleJson } from '../api/types.ts';
import { useKnownFields } from '../canvas/fields.ts';
import { formatDuration, parseDuration } from '../graph/plain.ts';
import {
  FACT_LABELS, FACTS, MEASURES, OPERATORS, STANDARD_FIELDS, formatValue, fromRule, newActivityFact, newFact, newGroup, operatorLabel, parseValue, propertyKey, propertyPath, toRule, valueKind,
  type ActivityParams, type RuleNode,
} from '../graph/rules.ts';
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

type FieldMode = 'pick' | 'property' | 'path';

/** Which control shows a condition's path: a picked field, a property typed by name, or a raw JSONPath. */
function modeOf(fact: string, path: string, known: string[]): FieldMode {
  if (fact === 'run') return 'path';
  const key = propertyKey(path);
  if (path === '' || path === '$.properties.' || STANDARD_FIELDS[fact]?.some((f) => f.path === path) || (key !== null && known.includes(key))) return 'pick';
  return key !== null ? 'property' : 'path';
}

function FactView({ node, onChange, onRemove, readOnly }: ViewProps & { node: Extract<RuleNode, { kind: 'fact' }> }) {
  const fields = useKnownFields();
  const operators = OPERATORS.some((o) => o.value === node.operator) ? OPERATORS : [...OPERATORS, { value: node.operator, label: operatorLabel(node.operator), kind: valueKind(node.operator) }];
  const facts = FACTS.includes(node.fact) ? FACTS : [...FACTS, node.fact];
  const known = node.fact === 'event' ? [...new Set(fields.events.flatMap((e) => e.properties))].sort() : node.fact === 'contact' ? fields.contact_properties : [];
  const [mode, setMode] = useState<FieldMode>(() => modeOf(node.fact, node.path, known));
  const kind = valueKind(node.operator);
  const tagsId = useId();
  const setPath = (path: string) => onChange({ ...node, path });
  const standard = STANDARD_FIELDS[node.fact] ?? [];
  // The picker's value: the path when it is one of the options, '' (choose…) for an unfinished property path.
  const picked = mode !== 'pick' ? `mode:${mode}` : node.path === '$.properties.' ? '' : node.path;
  const pickable = [...standard.map((f) => f.path), ...known.map(propertyPath)];
  return (
    <div className="rule-fact" data-testid="rule-fact">
      <select
        aria-label="Fact"
        value={node.fact}
        disabled={readOnly}
        onChange={(e) => {
          const fact = e.target.value;
          setMode(fact === 'run' ? 'path' : 'pick');
          if (fact === 'activity') return onChange(newActivityFact(fields.events[0]?.type ?? ''));
          onChange({ ...node, fact, path: fact === 'run' ? '$.' : '$.properties.', params: undefined, ...(node.fact === 'activity' ? { operator: 'equal', value: '' } : {}) });
        }}
      >
        {facts.map((f) => <option key={f} value={f}>{FACT_LABELS[f] ?? f}</option>)}
      </select>
      {node.fact === 'activity' ? (
        <ActivityParamsView params={node.params ?? { event: '', measure: 'count' }} events={fields.events.map((e) => e.type)} readOnly={readOnly} onChange={(params) => onChange({ ...node, params })} />
      ) : null}
      {node.fact !== 'run' && node.fact !== 'activity' ? (
        <select
          aria-label="Field"
          value={pickable.includes(picked) || picked === '' || picked.startsWith('mode:') ? picked : node.path}
          disabled={readOnly}
          onChange={(e) => {
            const v = e.target.value;
            if (v === 'mode:property' || v === 'mode:path') {
              setMode(v.slice(5) as FieldMode);
              if (v === 'mode:property' && propertyKey(node.path) === null) setPath('$.properties.');
              return;
            }
            setMode('pick');
            setPath(v === '' ? '$.properties.' : v);
          }}
        >
          <option value="">Choose a field…</option>
          {standard.length ? <optgroup label={node.fact === 'event' ? 'Event' : 'Contact'}>{standard.map((f) => <option key={f.path} value={f.path}>{f.label}</option>)}</optgroup> : null}
          {known.length ? <optgroup label="Properties">{known.map((k) => <option key={k} value={propertyPath(k)}>{k}</option>)}</optgroup> : null}
          {!pickable.includes(node.path) && mode === 'pick' && node.path !== '$.properties.' && node.path !== '' ? <option value={node.path}>{node.path}</option> : null}
          <option value="mode:property">Another property…</option>
          <option value="mode:path">Custom path (JSONPath)…</option>
        </select>
      ) : null}
      {mode === 'property' ? (
        <input
          aria-label="Property name"
          className="rule-path"
          value={propertyKey(node.path) ?? ''}
          placeholder="e.g. plan"
          disabled={readOnly}
          onChange={(e) => setPath(e.target.value === '' ? '$.properties.' : propertyPath(e.target.value))}
        />
      ) : null}
      {mode === 'path' ? (
        <input
          aria-label="Path"
          className="rule-path"
          value={node.path}
          placeholder={node.fact === 'run' ? '$.node_id.field' : '$.properties.country'}
          disabled={readOnly}
          onChange={(e) => setPath(e.target.value)}
        />
      ) : null}
      <select
        aria-label="Operator"
        value={node.operator}
        disabled={readOnly}
        onChange={(e) => {
          const operator = e.target.value;
          const next = valueKind(operator);
          // Keep what was typed when it still fits, re-read for the new operator (a list for `in`, a scalar otherwise).
          const value = next === 'none' ? true : next === 'duration' ? (typeof node.value === 'string' && parseDuration(node.value) ? node.value : '') : kind === 'none' || kind === 'duration' ? '' : parseValue(formatValue(node.value, node.operator), operator);
          const path = next === 'tag' && node.fact === 'contact' && modeOf(node.fact, node.path, known) === 'pick' && propertyKey(node.path) === null && node.path !== '$.tags' ? '$.tags' : node.path;
          onChange({ ...node, operator, value, path });
        }}
      >
        {operators.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
      {kind === 'none' ? null : kind === 'duration' ? (
        <DurationValue value={node.value} readOnly={readOnly} onChange={(value) => onChange({ ...node, value })} />
      ) : (
        <>
          <input
            aria-label="Value"
            className="rule-value"
            // Uncontrolled with a key: typing "5," must not be re-formatted under the cursor.
            key={`${node.operator}:${JSON.stringify(node.raw.value)}`}
            defaultValue={formatValue(node.value, node.operator)}
            placeholder={kind === 'list' ? 'US, CA' : kind === 'tag' ? 'tag' : 'value'}
            list={kind === 'tag' ? tagsId : undefined}
            disabled={readOnly}
            onBlur={(e) => onChange({ ...node, value: parseValue(e.target.value, node.operator) })}
            onKeyDown={(e) => {
              if (e.key === 'Enter') (e.target as HTMLInputElement).blur();
            }}
          />
          {kind === 'tag' ? <datalist id={tagsId}>{fields.tags.map((t) => <option key={t} value={t} />)}</datalist> : null}
        </>
      )}
      {onRemove && !readOnly ? <RemoveButton onClick={onRemove} label="Remove condition" /> : null}
    </div>
  );
}

/** "30 days" typed, `P30D` stored; refused words are marked and not stored. */
function DurationValue({ value, onChange, readOnly, label = 'Value' }: { value: unknown; onChange: (v: string) => void; readOnly?: boolean; label?: string }) {
  const [text, setText] = useState(() => (typeof value === 'string' ? formatDuration(value) : ''));
  const bad = text.trim() !== '' && parseDuration(text) === null;
  return (
    <input
      aria-label={label}
      className={`rule-value${bad ? ' is-invalid' : ''}`}
      value={text}
      placeholder="e.g. 30 days"
      title={bad ? 'Type a duration such as "30 days" or "12 hours"' : typeof value === 'string' && value ? `Saved as ${value}` : undefined}
      aria-invalid={bad || undefined}
      disabled={readOnly}
      onChange={(e) => {
        setText(e.target.value);
        const iso = parseDuration(e.target.value);
        if (iso) onChange(iso);
      }}
    />
  );
}

/** The activity fact's measure, event type (picked from the workspace's events) and window ("in the last 90 days"). */
function ActivityParamsView({ params, events, onChange, readOnly }: { params: ActivityParams; events: string[]; onChange: (p: ActivityParams) => void; readOnly?: boolean }) {
  const windowed = MEASURES.find((m) => m.value === params.measure)?.windowed ?? false;
  const choices = params.event && !events.includes(params.event) ? [params.event, ...events] : events;
  return (
    <div className="rule-activity">
      <select aria-label="Measure" value={params.measure} disabled={readOnly}
        onChange={(e) => {
          const measure = e.target.value as ActivityParams['measure'];
          const { within, ...rest } = params;
          onChange(MEASURES.find((m) => m.value === measure)?.windowed ? { ...rest, measure, within: within ?? 'P90D' } : { ...rest, measure });
        }}>
        {MEASURES.map((m) => <option key={m.value} value={m.value}>{m.label}</option>)}
      </select>
      <select aria-label="Event type" value={params.event} disabled={readOnly} onChange={(e) => onChange({ ...params, event: e.target.value })}>
        <option value="">Choose an event…</option>
        {choices.map((t) => <option key={t} value={t}>{t}</option>)}
      </select>
      {windowed ? (
        <label className="rule-window">
          <span className="muted small">in the last</span>
          <DurationValue label="Window" value={params.within} readOnly={readOnly} onChange={(within) => onChange({ ...params, within })} />
        </label>
      ) : null}
    </div>
  );
}
