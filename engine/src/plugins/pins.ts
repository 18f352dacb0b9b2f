import type { Db, Tx } from '../db/index.ts';
import type { ProblemItem } from '../errors.ts';
import { compareSemver, parseSemver } from './manifest.ts';

/**
 * Which plugin version a flow runs. A published flow version pins one version per plugin
 * (`flow_versions.plugin_pins`, plugin id → version), chosen at publication:
 * - a plugin node's `plugin_version` when it names one (a pre-release is usable only this way);
 * - else the version the flow's previous publication pinned (republishing never upgrades silently);
 * - else the plugin's latest stable version (the highest without a pre-release tag).
 * Actions, webhook triggers and polling triggers all ask {@link resolvePluginVersion}.
 */

export interface PinChange {
  plugin_id: string;
  /** The version the previous publication pinned (null: the plugin is new in this flow). */
  from: string | null;
  /** The version this publication pins (null: the flow no longer uses the plugin). */
  to: string | null;
}

/** A plugin node of the flow document: its index in `nodes`, id, plugin and the version it names, if any. */
export interface PluginNodeRef {
  index: number;
  nodeId: string;
  pluginId: string;
  version?: string;
}

/** Every published version of the given plugins in a workspace, newest first (semver order). */
export async function publishedVersions(db: Db | Tx, workspaceId: string, pluginIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(pluginIds.map((id) => [id, []]));
  if (!pluginIds.length) return out;
  const rows = await db('plugin_versions').where({ workspace_id: workspaceId }).whereIn('plugin_id', pluginIds).select<{ plugin_id: string; version: string }[]>('plugin_id', 'version');
  for (const r of rows) out.get(r.plugin_id)!.push(r.version);
  for (const list of out.values()) list.sort((a, b) => compareSemver(b, a));
  return out;
}

export const isPrerelease = (version: string) => (parseSemver(version)?.prerelease ?? '') !== '';

/** The highest version without a pre-release tag, or null when there is none. */
export function latestStable(versionsNewestFirst: readonly string[]): string | null {
  return versionsNewestFirst.find((v) => !isPrerelease(v)) ?? null;
}

/**
 * The pins of a publication: one version per plugin its nodes use (see the module comment), with problems for a
 * `plugin_version` that is not published, for nodes of one plugin that name different versions, and for a
 * plugin with only pre-releases and no node naming one. Paths point into the flow document.
 */
export async function choosePins(db: Db | Tx, workspaceId: string, nodes: readonly PluginNodeRef[], previous: Readonly<Record<string, string>>): Promise<{ pins: Record<string, string>; errors: ProblemItem[] }> {
  const errors: ProblemItem[] = [];
  const explicit = new Map<string, PluginNodeRef & { version: string }>();
  const used = [...new Set(nodes.map((n) => n.pluginId))];
  for (const node of nodes) {
    if (node.version === undefined) continue;
    const chosen = explicit.get(node.pluginId);
    if (chosen && chosen.version !== node.version) {
      errors.push({ path: `/nodes/${node.index}/plugin_version`, node_id: node.nodeId, message: `node ${chosen.nodeId} runs ${node.pluginId}@${chosen.version}; every node of one plugin runs the same version in a flow, so choose ${chosen.version} here too (or change both)` });
    } else if (!chosen) explicit.set(node.pluginId, { ...node, version: node.version });
  }
  const versions = await publishedVersions(db, workspaceId, used);
  const pins: Record<string, string> = {};
  for (const pluginId of used) {
    const published = versions.get(pluginId)!;
    const named = explicit.get(pluginId);
    if (named) {
      if (published.includes(named.version)) pins[pluginId] = named.version;
      else errors.push({ path: `/nodes/${named.index}/plugin_version`, node_id: named.nodeId, message: `plugin ${pluginId} has no version ${named.version} in this workspace (published: ${published.join(', ') || 'none'})` });
      continue;
    }
    const kept = previous[pluginId];
    const version = kept && published.includes(kept) ? kept : latestStable(published);
    if (version) pins[pluginId] = version;
    else if (published.length) {
      const first = nodes.find((n) => n.pluginId === pluginId)!;
      errors.push({ path: `/nodes/${first.index}/plugin_version`, node_id: first.nodeId, message: `plugin ${pluginId} has only pre-release versions (${published.join(', ')}); a pre-release runs only when a node names it in plugin_version` });
    }
  }
  return { pins, errors };
}

/** What changed between two publications' pins, by plugin id. */
export function pinChanges(previous: Readonly<Record<string, string>>, next: Readonly<Record<string, string>>): PinChange[] {
  const ids = [...new Set([...Object.keys(previous), ...Object.keys(next)])].sort();
  return ids.filter((id) => previous[id] !== next[id]).map((id) => ({ plugin_id: id, from: previous[id] ?? null, to: next[id] ?? null }));
}

/** The pins of a flow's published version (its newest when `version` is not given); {} when none is published. */
export async function flowPins(db: Db | Tx, workspaceId: string, flowId: string, version?: number): Promise<Record<string, string>> {
  const q = db('flow_versions as v').where({ 'v.workspace_id': workspaceId, 'v.flow_id': flowId });
  if (version !== undefined) q.where('v.version', version);
  else q.join('flows as f', (j) => j.on('f.workspace_id', 'v.workspace_id').andOn('f.id', 'v.flow_id').andOn('f.published_version', 'v.version'));
  const row = await q.first<{ plugin_pins: Record<string, string> } | undefined>('v.plugin_pins');
  return row?.plugin_pins ?? {};
}

/**
 * The plugin version that runs for a flow: the one its (newest, or given) published version pinned; for no flow,
 * or a flow published before it used the plugin, the plugin's latest stable version, else its newest. Null when
 * the workspace has no version of the plugin.
 */
export async function resolvePluginVersion(db: Db | Tx, workspaceId: string, flow: { flowId: string; version?: number } | null, pluginId: string): Promise<string | null> {
  const pinned = flow ? (await flowPins(db, workspaceId, flow.flowId, flow.version))[pluginId] : undefined;
  if (pinned) return pinned;
  const published = (await publishedVersions(db, workspaceId, [pluginId])).get(pluginId)!;
  return latestStable(published) ?? published[0] ?? null;
}
