import { lazy, Suspense, useMemo } from 'react';
import type { FlowSettings, RuleJson } from '../api/types.ts';
import { useCatalogMap } from '../canvas/catalog.ts';
import { useEditor } from '../canvas/store.ts';
import { errorConfigPath, errorNodeId } from '../graph/checks.ts';
import { categoryStyle, Icon } from '../ui/icons.tsx';
import { Spinner } from '../ui/common.tsx';
import { Help } from '../ui/Help.tsx';
import { RuleBuilder } from './RuleBuilder.tsx';
import { pluginIdOf, PluginVersionPicker } from './PluginVersionPicker.tsx';
import { EmailPreview } from '../pages/EmailPreview.tsx';

const loadConfigForm = () => import('./ConfigForm.tsx');
const ConfigForm = lazy(loadConfigForm);

/** Fetches the form chunk (rjsf + ajv) once the canvas is up, so the first node click does not wait for it. */
export function preloadConfigForm(): void {
  setTimeout(() => void loadConfigForm(), 1500);
}

/** Right-hand panel: the selected node's form, or the flow's settings when nothing is selected. */
export function Inspector() {
  // A string, not an array: a fresh array per store update would re-render on every change.
  const selectedIds = useEditor((s) => s.nodes.filter((n) => n.selected).map((n) => n.id).join('\u0000'));
  const selected = selectedIds ? selectedIds.split('\u0000') : [];
  if (selected.length === 1) return <NodeInspector id={selected[0]} />;
  if (selected.length > 1) {
    return (
      <aside className="inspector" aria-label="Inspector">
        <div className="inspector-head"><h2>{selected.length} nodes selected</h2></div>
        <p className="muted pad">Drag to move them together, <kbd>Ctrl</kbd>+<kbd>C</kbd> to copy, <kbd>Delete</kbd> to remove.</p>
        {!useEditor.getState().readOnly ? (
          <div className="pad"><button className="btn danger" onClick={() => useEditor.getState().deleteSelected()}><Icon name="trash" /> Delete selection</button></div>
        ) : null}
      </aside>
    );
  }
  return <FlowSettingsPanel />;
}

function NodeInspector({ id }: { id: string }) {
  const catalog = useCatalogMap();
  // The node's document, not the node: dragging changes the node object every frame but not its document,
  // and re-rendering the generated form per frame would cost the canvas its frame rate.
  const doc = useEditor((s) => s.nodes.find((n) => n.id === id)?.data.doc);
  const readOnly = useEditor((s) => s.readOnly);
  const allErrors = useEditor((s) => s.errors);
  const nodeErrors = useMemo(() => {
    if (!doc) return [];
    const flowDoc = useEditor.getState().document();
    return allErrors.filter((e) => errorNodeId(e, flowDoc) === id).map((e) => ({ ...e, configPath: errorConfigPath(e) }));
  }, [allErrors, doc, id]);
  if (!doc) return null;
  const entry = catalog.get(doc.type);
  const style = categoryStyle(entry?.category, doc.type);
  const fieldErrors = nodeErrors.filter((e): e is typeof e & { configPath: string } => e.configPath !== null && e.configPath !== '');
  return (
    <aside className="inspector" aria-label="Inspector">
      <div className="inspector-head" style={{ ['--cat' as string]: style.color }}>
        <span className="fnode-icon"><Icon name={style.icon} /></span>
        <div>
          <h2>{entry?.title ?? doc.type}</h2>
          <div className="muted small mono">{doc.type} · id {doc.id}</div>
        </div>
      </div>
      {entry?.description ? <p className="inspector-desc"><Help text={entry.description} /></p> : null}
      {nodeErrors.length ? (
        <ul className="problems" aria-live="polite" aria-label="Problems with this node">
          {nodeErrors.map((e, i) => <li key={i}><Icon name="warn" size={14} /> {e.message}</li>)}
        </ul>
      ) : null}
      <div className="inspector-body">
        <label className="field">
          <span>Label</span>
          <input
            value={doc.label ?? ''}
            placeholder={entry?.title ?? doc.type}
            disabled={readOnly}
            onChange={(e) => useEditor.getState().updateNode(id, { label: e.target.value || undefined })}
          />
        </label>
        {pluginIdOf(doc.type) ? (
          <PluginVersionPicker nodeId={id} pluginId={pluginIdOf(doc.type)!} value={typeof doc.plugin_version === 'string' ? doc.plugin_version : undefined} readOnly={readOnly} />
        ) : null}
        {entry ? (
          <Suspense fallback={<Spinner label="Loading form" />}>
            <ConfigForm
              key={id}
              schema={entry.config_schema}
              value={doc.config ?? {}}
              readOnly={readOnly}
              errors={fieldErrors}
              onChange={(config) => useEditor.getState().updateNode(id, { config })}
            />
          </Suspense>
        ) : (
          <p className="error-text">This node type is not in the catalog (a plugin may be disabled). Its config is kept as is.</p>
        )}
        {doc.type === 'action.send_email' ? <EmailPreview config={doc.config ?? {}} /> : null}
        {!readOnly ? (
          <button className="btn btn-ghost danger" onClick={() => useEditor.getState().deleteSelected()}><Icon name="trash" /> Delete node</button>
        ) : null}
      </div>
    </aside>
  );
}

function FlowSettingsPanel() {
  const meta = useEditor((s) => s.meta);
  const readOnly = useEditor((s) => s.readOnly);
  const nodeCount = useEditor((s) => s.nodes.length);
  const settings = (meta.settings ?? {}) as FlowSettings;
  const update = (patch: Partial<FlowSettings>) => useEditor.getState().updateMeta({ settings: { ...settings, ...patch } });
  const goal = settings.goal ?? null;
  const exits = settings.exit_on ?? [];
  return (
    <aside className="inspector" aria-label="Flow settings">
      <div className="inspector-head"><h2>Flow settings</h2></div>
      <div className="inspector-body">
        {nodeCount === 0 ? <p className="hint">Drag a trigger from the left onto the canvas to start.</p> : <p className="muted small">Select a node to configure it.</p>}
        <label className="field">
          <span>Name</span>
          <input value={meta.name} disabled={readOnly} onChange={(e) => useEditor.getState().updateMeta({ name: e.target.value })} />
        </label>
        <label className="field">
          <span>Re-entry</span>
          <select value={settings.reentry ?? 'after_exit'} disabled={readOnly} onChange={(e) => update({ reentry: e.target.value as FlowSettings['reentry'] })}>
            <option value="never">Never — a contact enters once ever</option>
            <option value="after_exit">After exit — again once the previous run ended</option>
            <option value="always">Always</option>
          </select>
        </label>
        <fieldset className="fieldset">
          <legend>Goal</legend>
          <p className="muted small">When met, the contact's run ends as converted.</p>
          <label className="field">
            <span>Goal event</span>
            <input
              value={goal?.event ?? ''}
              placeholder="e.g. demo.booked"
              disabled={readOnly}
              onChange={(e) => {
                const event = e.target.value;
                const next = { ...(goal ?? {}), event: event || undefined };
                update({ goal: next.event || next.rule ? next : null });
              }}
            />
          </label>
          {goal?.rule ? (
            <RuleBuilder label="Goal rule" value={goal.rule as RuleJson} readOnly={readOnly} onChange={(rule) => update({ goal: { ...goal, rule } })} />
          ) : !readOnly ? (
            <button className="btn btn-sm btn-ghost" onClick={() => update({ goal: { ...(goal ?? {}), rule: { all: [] } } })}><Icon name="plus" size={12} /> Goal condition</button>
          ) : null}
        </fieldset>
        <fieldset className="fieldset">
          <legend>Exit when</legend>
          {exits.length === 0 ? <p className="muted small">No exit criteria.</p> : null}
          {exits.map((x, i) => (
            <div key={i} className="exit-row">
              <input
                aria-label={`Exit event ${i + 1}`}
                value={x.event}
                disabled={readOnly}
                onChange={(e) => update({ exit_on: exits.map((y, j) => (j === i ? { ...y, event: e.target.value } : y)) })}
              />
              {!readOnly ? <button className="icon-btn" aria-label={`Remove exit ${i + 1}`} onClick={() => update({ exit_on: exits.filter((_, j) => j !== i) })}><Icon name="close" size={14} /></button> : null}
            </div>
          ))}
          {!readOnly ? <button className="btn btn-sm btn-ghost" onClick={() => update({ exit_on: [...exits, { event: 'contact.unsubscribed' }] })}><Icon name="plus" size={12} /> Exit event</button> : null}
        </fieldset>
      </div>
    </aside>
  );
}
