import { itemsOf, usePlugins } from '../api/hooks.ts';
import { useEditor } from '../canvas/store.ts';

/** `plugin:<id>/<action>` → `<id>`; null for other node types. */
export function pluginIdOf(type: string): string | null {
  const m = /^plugin:([^/]+)\//.exec(type);
  return m ? m[1]! : null;
}

const isPrerelease = (v: string) => v.includes('-');

/** Highest first: numeric major.minor.patch, a pre-release before its release. */
function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split('-')[0]!.split('.').map((x) => Number(x) || 0);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pb[i] ?? 0) - (pa[i] ?? 0);
  if (isPrerelease(a) !== isPrerelease(b)) return isPrerelease(a) ? 1 : -1;
  return b.localeCompare(a);
}

/**
 * The plugin version a plugin node runs (docs/plugins.md "Versions and pins"): "Latest stable" leaves the node's
 * `plugin_version` out (publishing then keeps the flow's previous pin, else takes the latest stable version);
 * choosing a version writes it into the draft. Pre-releases are listed, marked, and run only where chosen.
 */
export function PluginVersionPicker({ nodeId, pluginId, value, readOnly }: { nodeId: string; pluginId: string; value: string | undefined; readOnly: boolean }) {
  const plugins = usePlugins();
  const plugin = itemsOf(plugins.data).find((p) => p.id === pluginId);
  const versions = (plugin?.versions.map((v) => v.version) ?? []).sort(compareVersions);
  const stable = versions.find((v) => !isPrerelease(v));
  // A pinned version no longer listed (or the list still loading) stays selectable as is.
  const options = value && !versions.includes(value) ? [value, ...versions] : versions;
  return (
    <label className="field">
      <span>Plugin version</span>
      <select
        value={value ?? ''}
        disabled={readOnly}
        onChange={(e) => useEditor.getState().updateNode(nodeId, { plugin_version: e.target.value || undefined })}
      >
        <option value="">{stable ? `Latest stable (${stable} now)` : 'Latest stable'}</option>
        {options.map((v) => <option key={v} value={v}>{isPrerelease(v) ? `${v} (pre-release)` : v}</option>)}
      </select>
    </label>
  );
}
