import { coreNodeTypes } from '../contracts/node-catalog.ts';
import type { JsonSchema, NodeTypeSpec } from '../contracts/flow.ts';
import type { Db, Tx } from '../db/index.ts';
import type { ProblemItem } from '../errors.ts';
import type { PluginManifest } from './manifest.ts';
import { checkProps, propsOf } from './manifest.ts';
import { hasLiquid } from '../flow/templates.ts';
import { getManifest } from './registry.ts';
import { choosePins, type PluginNodeRef } from './pins.ts';

/**
 * How flows meet plugins: the catalog entries of enabled plugin actions, the version pins a flow
 * publication records (`flow_versions.plugin_pins`), and the check of plugin nodes' config against the
 * pinned version's props schema at publish time.
 */

export const PLUGIN_TYPE_RE = /^plugin:([a-z][a-z0-9_]{0,62})\/([a-z][a-z0-9_]{0,62})$/;

export function parsePluginType(type: string): { pluginId: string; key: string } | null {
  const m = PLUGIN_TYPE_RE.exec(type);
  return m ? { pluginId: m[1]!, key: m[2]! } : null;
}

// Every action node takes the engine's own `retry` setting next to its props; reuse the core schema of it.
const retrySchema = ((coreNodeTypes.find((t) => t.type === 'action.webhook')?.config_schema as { properties?: Record<string, JsonSchema> })?.properties?.retry) ?? { type: 'object' };

export function actionNodeSpec(manifest: PluginManifest, key: string): NodeTypeSpec | undefined {
  const a = manifest.actions.find((x) => x.key === key);
  if (!a) return undefined;
  const props = a.props as { properties?: Record<string, JsonSchema> };
  return {
    type: `plugin:${manifest.id}/${a.key}`,
    title: `${manifest.name}: ${a.title}`,
    description: a.description,
    category: 'action',
    handles: { in: true, out: ['default', 'error'] },
    config_schema: { ...a.props, properties: { ...(props.properties ?? {}), retry: retrySchema } } as JsonSchema,
    external: true,
  };
}

interface InstalledManifest {
  manifest: PluginManifest;
}

async function enabledManifests(db: Db | Tx, workspaceId: string): Promise<InstalledManifest[]> {
  const rows = await db('plugin_installs as i')
    .join('plugin_versions as v', (j) => j.on('v.workspace_id', 'i.workspace_id').andOn('v.plugin_id', 'i.plugin_id').andOn('v.version', 'i.current_version'))
    .where({ 'i.workspace_id': workspaceId, 'i.enabled': true })
    .orderBy('i.plugin_id')
    .select<{ manifest: PluginManifest }[]>('v.manifest');
  return rows.map((r) => ({ manifest: r.manifest }));
}

/** Catalog node entries (`plugin:<id>/<key>`) of every enabled plugin's current version. */
export async function pluginCatalogEntries(db: Db | Tx, workspaceId: string): Promise<NodeTypeSpec[]> {
  return (await enabledManifests(db, workspaceId)).flatMap(({ manifest }) => manifest.actions.map((a) => actionNodeSpec(manifest, a.key)!));
}

interface NodeLike {
  id: string;
  type: string;
  config?: Record<string, unknown>;
  plugin_version?: string;
}

/**
 * At flow publication: the plugin version each plugin node will run (pinned in `flow_versions.plugin_pins` so
 * later uploads do not change a published flow; chosen as `pins.ts` says, keeping `previous` pins unless a node
 * names another version), and problems for nodes whose plugin is missing or disabled, whose version is not
 * published, whose action does not exist in that version, or whose config fails its props schema.
 * `nodes[i]` paths point into the flow document.
 */
export async function resolvePluginNodes(db: Db | Tx, workspaceId: string, nodes: NodeLike[], previous: Readonly<Record<string, string>> = {}): Promise<{ pins: Record<string, string>; errors: ProblemItem[] }> {
  const errors: ProblemItem[] = [];
  const installed = new Map<string, { enabled: boolean }>();
  const sourceOf = (n: NodeLike) => (n.type === 'trigger.event' && typeof n.config?.source === 'string' ? n.config.source : n.type);
  const ids = [...new Set(nodes.map((n) => parsePluginType(sourceOf(n))?.pluginId).filter((x): x is string => !!x))];
  if (ids.length) {
    const rows = await db('plugin_installs').where({ workspace_id: workspaceId }).whereIn('plugin_id', ids).select<{ plugin_id: string; enabled: boolean }[]>('plugin_id', 'enabled');
    for (const r of rows) installed.set(r.plugin_id, r);
  }
  const refs: (PluginNodeRef & { key: string; config: Record<string, unknown>; trigger?: true })[] = [];
  for (const [i, node] of nodes.entries()) {
    if (!node.type.startsWith('plugin:')) {
      // A trigger.event fed by a plugin trigger (`config.source`) runs a version of that plugin too; the source
      // itself is checked by the trigger code (plugins/triggers.ts).
      const source = node.type === 'trigger.event' && typeof node.config?.source === 'string' ? parsePluginType(node.config.source) : null;
      if (source && installed.get(source.pluginId)?.enabled) {
        refs.push({ index: i, nodeId: node.id, pluginId: source.pluginId, key: source.key, config: {}, trigger: true, ...(node.plugin_version !== undefined ? { version: node.plugin_version } : {}) });
      } else if (node.plugin_version !== undefined && !source) {
        errors.push({ path: `/nodes/${i}/plugin_version`, node_id: node.id, message: 'only plugin nodes (plugin:<plugin id>/<action key>, or a trigger.event with a plugin source) take a plugin_version' });
      }
      continue;
    }
    const ref = parsePluginType(node.type);
    const path = `/nodes/${i}/type`;
    if (!ref) {
      errors.push({ path, node_id: node.id, message: `"${node.type}" is not a plugin action type; write plugin:<plugin id>/<action key>` });
      continue;
    }
    const install = installed.get(ref.pluginId);
    if (!install || !install.enabled) {
      errors.push({ path, node_id: node.id, message: `plugin ${ref.pluginId} is ${install ? 'disabled' : 'not installed'} in this workspace` });
      continue;
    }
    refs.push({ index: i, nodeId: node.id, pluginId: ref.pluginId, key: ref.key, config: node.config ?? {}, ...(node.plugin_version !== undefined ? { version: node.plugin_version } : {}) });
  }
  const chosen = await choosePins(db, workspaceId, refs, previous);
  errors.push(...chosen.errors);
  const manifests = new Map<string, PluginManifest>();
  for (const ref of refs) {
    const version = chosen.pins[ref.pluginId];
    if (!version || ref.trigger) continue;
    let manifest = manifests.get(ref.pluginId);
    if (!manifest) {
      manifest = (await getManifest(db, workspaceId, ref.pluginId, version))!;
      manifests.set(ref.pluginId, manifest);
    }
    errors.push(...checkProps(manifest, ref.key, propsOf(ref.config), `/nodes/${ref.index}/config`, hasLiquid).map((e) => ({ ...e, node_id: ref.nodeId })));
  }
  return { pins: chosen.pins, errors };
}

/**
 * The node types a workspace's flows may use: the core catalog plus its enabled plugins' actions (config
 * schema = props + retry), for the flow validator at validate/publish time (`NodeTypeResolver`).
 */
export function createPluginNodeTypes(db: Db, core: (type: string) => NodeTypeSpec | undefined) {
  return async (workspaceId: string): Promise<(type: string) => NodeTypeSpec | undefined> => {
    const specs = new Map((await pluginCatalogEntries(db, workspaceId)).map((s) => [s.type, s]));
    return (type: string) => core(type) ?? specs.get(type);
  };
}
