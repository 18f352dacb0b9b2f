import type { JsonValue } from '@cairn/plugin-sdk';
import type { OnEventsIngested } from '../crm/event-hooks.ts';
import { checkEventInputs, ingestEvents, type EventInput } from '../crm/events.ts';
import { withTx } from '../db/index.ts';
import { schedulePluginPoll, type PluginTriggerJob } from '../queue/jobs.ts';
import { runPluginHook, type PluginDeps } from './hook-call.ts';
import { getInstall, getManifest } from './registry.ts';

/**
 * One poll of a flow's polling trigger (`PLUGIN_POLL_TASK`). The plugin's `poll(ctx, cursor)` runs in the sandbox
 * outside any transaction; then, in one transaction with the flow's trigger state locked, the ids it returned are
 * inserted into `plugin_poll_seen` (those already there are dropped), the new ones become events (ingested as any
 * event, so flows start in the same transaction), the cursor moves and the next poll is scheduled. Nothing is
 * recorded unless all of it is: a process that dies mid-poll leaves the old cursor and no ids, and the next poll
 * (in any process) finds the same items again. An id seen once never becomes an event again for that flow, so
 * restarts, retries, overlapping cursors and two processes polling at once enrol each item once.
 */

/** Seen ids older than this are forgotten (a cursor that goes back further would re-enrol them). */
const SEEN_DAYS = 30;
const MAX_ITEMS = 1000;

interface PollState {
  plugin_id: string;
  trigger_key: string;
  kind: string;
  plugin_version: string;
  interval_seconds: number | null;
  cursor: JsonValue | null;
  polls: number;
}

interface Item {
  id: string;
  event: EventInput;
}

function itemsOf(value: JsonValue, pluginId: string, key: string): { items: Item[]; invalid: string[]; cursor: JsonValue } | null {
  const v = value as { items?: unknown; cursor?: JsonValue } | null;
  if (!v || typeof v !== 'object' || !Array.isArray(v.items) || v.items.length > MAX_ITEMS) return null;
  const items: Item[] = [];
  const invalid: string[] = [];
  const ids = new Set<string>();
  for (const raw of v.items as Record<string, unknown>[]) {
    const id = raw && (typeof raw.id === 'string' || typeof raw.id === 'number') ? String(raw.id).slice(0, 500) : null;
    if (id === null) return null;
    if (ids.has(id)) continue;
    ids.add(id);
    const event: EventInput = {
      type: raw.type as string,
      contact: (raw.contact ?? {}) as EventInput['contact'],
      ...(raw.properties !== undefined ? { properties: raw.properties as EventInput['properties'] } : {}),
      ...(raw.occurred_at !== undefined ? { occurred_at: raw.occurred_at as string } : {}),
      // One event per item of this trigger in the workspace: two flows polling the same trigger record it once.
      idempotency_key: typeof raw.idempotency_key === 'string' ? raw.idempotency_key : `plugin:${pluginId}/${key}:${id}`,
      source: `plugin:${pluginId}`,
    };
    if (checkEventInputs([event], () => '').length) invalid.push(id);
    else items.push({ id, event });
  }
  return { items, invalid, cursor: v.cursor === undefined ? null : v.cursor };
}

export function createPollTask(deps: PluginDeps, onEventsIngested: OnEventsIngested) {
  const { db, logger, clock } = deps.ctx;
  return async function pollOnce(job: PluginTriggerJob): Promise<void> {
    const state = await db('plugin_trigger_states').where({ workspace_id: job.w, flow_id: job.f }).first<PollState | undefined>();
    if (!state || state.kind !== 'polling') return;
    const flow = await db('flows').where({ workspace_id: job.w, id: job.f }).first<{ status: string } | undefined>('status');
    if (flow?.status !== 'active') return; // resumed flows are scheduled again by their trigger sync
    const interval = state.interval_seconds ?? 60;
    const log = logger.child({ workspaceId: job.w, flowId: job.f, pluginId: state.plugin_id, trigger: state.trigger_key });
    const failed = async (code: string, message: string) => {
      await db('plugin_trigger_states').where({ workspace_id: job.w, flow_id: job.f }).update({ last_error: `[${code}] ${message}`.slice(0, 1000), updated_at: clock.now() });
      log.warn({ code }, 'plugin poll failed');
      await schedulePluginPoll(db, job, interval);
    };
    const install = await getInstall(db, job.w, state.plugin_id);
    const manifest = install?.enabled ? await getManifest(db, job.w, state.plugin_id, state.plugin_version) : null;
    if (!manifest) return failed('PLUGIN_DISABLED', `plugin ${state.plugin_id} is disabled or not installed in this workspace`);
    const r = await runPluginHook(deps, job.w, manifest, 'poll', state.trigger_key, state.cursor, { flowId: job.f, trigger: state.trigger_key });
    if (!r.ok) return failed(r.error.code, r.error.message);
    const found = itemsOf(r.value, state.plugin_id, state.trigger_key);
    if (!found) return failed('PLUGIN_BAD_POLL_RESULT', `poll must return { items: [{ id, type, contact, … }] (at most ${MAX_ITEMS}), cursor }`);
    const ingested = await withTx(db, async (tx) => {
      const current = await tx('plugin_trigger_states').where({ workspace_id: job.w, flow_id: job.f }).forUpdate().first<{ polls: number; plugin_id: string; trigger_key: string } | undefined>('polls', 'plugin_id', 'trigger_key');
      if (!current || current.plugin_id !== state.plugin_id || current.trigger_key !== state.trigger_key) return 0; // torn down meanwhile
      const now = clock.now();
      const ids = [...found.items.map((i) => i.id), ...found.invalid];
      const { rows } = ids.length
        ? await tx.raw(
          `INSERT INTO plugin_poll_seen (workspace_id, flow_id, item_id, seen_at) SELECT ?, ?, id, ? FROM unnest(?::text[]) AS id
           ON CONFLICT DO NOTHING RETURNING item_id`,
          [job.w, job.f, now, ids],
        )
        : { rows: [] };
      const fresh = new Set((rows as { item_id: string }[]).map((x) => x.item_id));
      const events = found.items.filter((i) => fresh.has(i.id)).map((i) => i.event);
      if (events.length) await ingestEvents(tx, job.w, events, { onEventsIngested }, { now });
      // Another poll of this flow committed since this one read the cursor: keep its cursor, which is newer.
      const cursor = current.polls === state.polls ? found.cursor : undefined;
      await tx('plugin_trigger_states').where({ workspace_id: job.w, flow_id: job.f }).update({
        ...(cursor !== undefined ? { cursor: JSON.stringify(cursor) } : {}),
        polls: current.polls + 1, polled_at: now, updated_at: now,
        last_error: found.invalid.length ? `[PLUGIN_BAD_POLL_ITEM] ${found.invalid.length} item(s) are not valid events (e.g. no contact email or external_id) and were skipped` : null,
      });
      await tx.raw(`DELETE FROM plugin_poll_seen WHERE workspace_id = ? AND flow_id = ? AND seen_at < ?::timestamptz - make_interval(days => ?)`, [job.w, job.f, now, SEEN_DAYS]);
      await schedulePluginPoll(tx, job, interval);
      return events.length;
    });
    log.debug({ items: found.items.length, events: ingested }, 'plugin poll done');
  };
}
