import type { JsonValue } from '@cairn/plugin-sdk';
import type { PluginManifest, TriggerManifest } from '@cairn/plugin-sdk/host';
import type { Db, Tx } from '../db/index.ts';
import type { ProblemItem } from '../errors.ts';
import { enqueuePluginTriggerSync, schedulePluginPoll, type PluginTriggerJob } from '../queue/jobs.ts';
import { runPluginHook, type PluginDeps } from './hook-call.ts';
import { parsePluginType } from './flow-plugins.ts';
import { getInstall, getManifest } from './registry.ts';

/**
 * Plugin triggers that belong to flows: a flow whose `trigger.event` names `source: "plugin:<id>/<key>"` keeps
 * that trigger running while it is published. A polling trigger is polled for it (plugins/polling.ts); a webhook
 * trigger with `subscribe` is registered with the vendor (the workspace's webhook URL handed to the plugin, what
 * `subscribe` returns kept) and unregistered when the flow is archived or starts on something else. The sync runs
 * as a job after the publish or status change commits (vendor calls never run inside a transaction), one flow
 * at a time (`enqueuePluginTriggerSync`), and converges: running it again changes nothing.
 */

interface NodeLike {
  type: string;
  config?: Record<string, unknown>;
}

/** The plugin trigger a flow document starts on (`trigger.event` with `source`), or null. */
export function triggerSource(doc: { nodes: NodeLike[] }): { pluginId: string; key: string; index: number } | null {
  const index = doc.nodes.findIndex((n) => n.type === 'trigger.event');
  const source = index >= 0 ? doc.nodes[index]!.config?.source : undefined;
  const ref = typeof source === 'string' ? parsePluginType(source) : null;
  return ref ? { ...ref, index } : null;
}

/** The trigger as declared (bundles from before trigger types declared webhook triggers only). */
export const triggerKind = (t: TriggerManifest) => t.type ?? 'webhook';

/**
 * At publish: the source must be a trigger of an installed, enabled plugin; the flow pins that plugin's version
 * like its actions do. Returns the problems (paths into the flow document) and the pin.
 */
export async function checkTriggerSource(db: Db | Tx, workspaceId: string, doc: { nodes: NodeLike[] }, pins: Record<string, string>): Promise<ProblemItem[]> {
  const src = triggerSource(doc);
  if (!src) return [];
  const path = `/nodes/${src.index}/config/source`;
  const install = await getInstall(db, workspaceId, src.pluginId);
  if (!install?.enabled) return [{ path, message: `plugin ${src.pluginId} is ${install ? 'disabled' : 'not installed'} in this workspace` }];
  const version = pins[src.pluginId] ?? install.currentVersion;
  const manifest = await getManifest(db, workspaceId, src.pluginId, version);
  if (!manifest?.triggers?.some((t) => t.key === src.key)) return [{ path, message: `plugin ${src.pluginId}@${version} has no trigger "${src.key}"` }];
  pins[src.pluginId] = version;
  return [];
}

// `cairn_flow`: the webhook runs the plugin version this flow pinned (docs/plugins.md, Versions and pins).
export const webhookUrl = (publicUrl: string, workspaceId: string, pluginId: string, key: string, flowId: string) => `${publicUrl}/v1/hooks/${workspaceId}/plugins/${pluginId}/${key}?cairn_flow=${flowId}`;

interface StateRow {
  plugin_id: string;
  trigger_key: string;
  kind: 'polling' | 'webhook';
  plugin_version: string;
  interval_seconds: number | null;
  subscription: JsonValue | null;
  webhook_url: string | null;
  polled_at: Date | null;
}

interface Desired {
  manifest: PluginManifest;
  trigger: TriggerManifest;
  active: boolean;
}

async function desiredTrigger(db: Db, job: PluginTriggerJob): Promise<Desired | null> {
  const flow = await db('flows').where({ workspace_id: job.w, id: job.f }).first<{ status: string; published_version: number | null } | undefined>('status', 'published_version');
  if (!flow || flow.published_version === null || flow.status === 'archived') return null;
  const v = await db('flow_versions').where({ workspace_id: job.w, flow_id: job.f, version: flow.published_version })
    .first<{ document: { nodes: NodeLike[] }; plugin_pins: Record<string, string> }>('document', 'plugin_pins');
  const src = v && triggerSource(v.document);
  if (!src) return null;
  const version = v.plugin_pins[src.pluginId] ?? (await getInstall(db, job.w, src.pluginId))?.currentVersion;
  const manifest = version ? await getManifest(db, job.w, src.pluginId, version) : null;
  const trigger = manifest?.triggers?.find((t) => t.key === src.key);
  return manifest && trigger ? { manifest, trigger, active: flow.status === 'active' } : null;
}

const stateOf = (db: Db | Tx, job: PluginTriggerJob) => db('plugin_trigger_states').where({ workspace_id: job.w, flow_id: job.f });

/** The sync job (`PLUGIN_TRIGGER_TASK`). Throws when a vendor hook fails, so the job is retried. */
export function createTriggerSync(deps: PluginDeps) {
  const { db, logger } = deps.ctx;
  const hook = async (job: PluginTriggerJob, manifest: PluginManifest, name: 'subscribe' | 'unsubscribe', key: string, arg: JsonValue) => {
    const r = await runPluginHook(deps, job.w, manifest, name, key, arg, { flowId: job.f, trigger: key });
    if (r.ok) return r.value;
    await stateOf(db, job).update({ last_error: `[${r.error.code}] ${r.error.message}`.slice(0, 1000), updated_at: deps.ctx.clock.now() });
    logger.warn({ workspaceId: job.w, flowId: job.f, pluginId: manifest.id, trigger: key, code: r.error.code }, `plugin trigger ${name} failed`);
    throw new Error(`${name} of trigger ${key} of plugin ${manifest.id} failed: [${r.error.code}]`);
  };

  const teardown = async (job: PluginTriggerJob, state: StateRow) => {
    if (state.kind === 'webhook' && state.subscription !== null) {
      const manifest = await getManifest(db, job.w, state.plugin_id, state.plugin_version);
      if (manifest) await hook(job, manifest, 'unsubscribe', state.trigger_key, { webhookUrl: state.webhook_url ?? '', subscription: state.subscription });
      logger.info({ workspaceId: job.w, flowId: job.f, pluginId: state.plugin_id, trigger: state.trigger_key }, 'plugin trigger unsubscribed');
    }
    await stateOf(db, job).delete();
    await db('plugin_poll_seen').where({ workspace_id: job.w, flow_id: job.f }).delete();
  };

  return async function syncFlowTrigger(job: PluginTriggerJob): Promise<void> {
    const want = await desiredTrigger(db, job);
    let state = await stateOf(db, job).first<StateRow | undefined>();
    if (state && (!want || state.plugin_id !== want.manifest.id || state.trigger_key !== want.trigger.key)) {
      await teardown(job, state);
      state = undefined;
    }
    if (!want) return;
    const { manifest, trigger } = want;
    const now = deps.ctx.clock.now();
    const url = webhookUrl(deps.ctx.config.publicUrl, job.w, manifest.id, trigger.key, job.f);
    const kind = triggerKind(trigger);
    const row = { plugin_version: manifest.version, interval_seconds: trigger.intervalSeconds ?? null, webhook_url: kind === 'webhook' ? url : null, updated_at: now };
    if (state) await stateOf(db, job).update(row);
    else await db('plugin_trigger_states').insert({ workspace_id: job.w, flow_id: job.f, plugin_id: manifest.id, trigger_key: trigger.key, kind, ...row });
    if (kind === 'webhook' && trigger.subscribe && (state?.subscription ?? null) === null) {
      const subscription = await hook(job, manifest, 'subscribe', trigger.key, { webhookUrl: url });
      await stateOf(db, job).update({ subscription: JSON.stringify(subscription ?? {}), last_error: null, updated_at: deps.ctx.clock.now() });
      logger.info({ workspaceId: job.w, flowId: job.f, pluginId: manifest.id, trigger: trigger.key }, 'plugin trigger subscribed');
    }
    if (kind === 'polling' && want.active) {
      const interval = trigger.intervalSeconds ?? 60;
      const due = state?.polled_at ? Math.max(0, interval - (Date.now() - state.polled_at.getTime()) / 1000) : 0;
      await schedulePluginPoll(db, job, Math.ceil(due));
    }
  };
}

/**
 * In the transaction of a publish or status change: queues the flow's trigger sync when the flow starts on a
 * plugin trigger now (`doc`, the published document, if known) or had one running.
 */
export async function queueTriggerSync(tx: Tx, workspaceId: string, flowId: string, doc?: { nodes: NodeLike[] } | null): Promise<void> {
  const running = await tx('plugin_trigger_states').where({ workspace_id: workspaceId, flow_id: flowId }).first('flow_id');
  let starts = doc ? triggerSource(doc) !== null : false;
  if (!doc && !running) {
    const flow = await tx('flows').where({ workspace_id: workspaceId, id: flowId }).first<{ published_version: number | null } | undefined>('published_version');
    const v = flow?.published_version != null
      ? await tx('flow_versions').where({ workspace_id: workspaceId, flow_id: flowId, version: flow.published_version }).first<{ document: { nodes: NodeLike[] } }>('document')
      : undefined;
    starts = !!v && triggerSource(v.document) !== null;
  }
  if (running || starts) await enqueuePluginTriggerSync(tx, { w: workspaceId, f: flowId });
}

/** Longest challenge echoed back (vendors send short random strings). */
const MAX_CHALLENGE = 1000;

/**
 * A vendor's challenge handshake as the trigger declares it (`challenge`), answered by the engine before `verify`:
 * the text to echo, or null when the request is not a challenge. GET: the query parameter `param`; POST: the JSON
 * body's `field` when every entry of `match` equals the body's (Slack's `url_verification`).
 */
export function challengeAnswer(t: TriggerManifest, method: string, body: string, query: Record<string, string>): string | null {
  const c = t.challenge;
  if (!c || c.method !== method) return null;
  if (c.method === 'GET') {
    const v = c.param ? query[c.param] : undefined;
    return typeof v === 'string' && v.length > 0 && v.length <= MAX_CHALLENGE ? v : null;
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (!json || typeof json !== 'object' || !Object.entries(c.match ?? {}).every(([k, v]) => json[k] === v)) return null;
  const v = c.field ? json[c.field] : undefined;
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_CHALLENGE ? v : null;
}
