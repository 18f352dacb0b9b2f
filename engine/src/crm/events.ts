import { prepared, type Tx } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { CairnError, type ProblemItem } from '../errors.ts';
import { checkContactRef, upsertContactsDeferringInsert, type AlsoLock, type ContactRef, type ContactsInsert } from './contacts.ts';
import { checkProperties, type JsonObject } from './contacts-properties.ts';
import type { IngestedEvent, OnEventsIngested } from './event-hooks.ts';
import { activityLockWithInsert, ingestConfigWithInsert, type IngestConfig } from './ingest-config.ts';

/** One event to ingest, as in `POST /v1/events` (CONTRACT.md §Events). */
export interface EventInput {
  type: string;
  contact: ContactRef;
  /** Engine callers (action.emit_event) that already know the contact: locked by id, `contact` is ignored. */
  contactId?: string;
  properties?: JsonObject;
  occurred_at?: string | Date;
  idempotency_key?: string;
  /** Where the event came from: 'api' (default) or e.g. 'flow'. */
  source?: string;
}

export interface IngestResult {
  id: string;
  contact_id: string;
  duplicate: boolean;
}

export interface IngestOptions {
  /** The engine clock's now (`ctx.clock.now()`): default occurred_at and received_at. */
  now?: Date;
  /** JSON Pointer of item i in the request, for error paths. Default `/events/<i>`. */
  pathOf?: (i: number) => string;
}

export const EVENT_TYPE_MAX = 200;
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59);

/** Semantic checks the JSON Schema cannot express (contact identity, time zone, property limits). */
export function checkEventInputs(items: EventInput[], pathOf: (i: number) => string): ProblemItem[] {
  const problems: ProblemItem[] = [];
  items.forEach((item, i) => {
    const base = pathOf(i);
    if (typeof item.type !== 'string' || item.type.length === 0 || item.type.length > EVENT_TYPE_MAX) {
      problems.push({ path: `${base}/type`, message: `must be a non-empty string of at most ${EVENT_TYPE_MAX} characters` });
    }
    if (item.contactId === undefined) {
      problems.push(...checkContactRef(item.contact ?? {}, `${base}/contact`));
      if (item.contact?.properties != null) problems.push(...checkProperties(item.contact.properties, `${base}/contact/properties`));
    }
    if (item.properties !== undefined) problems.push(...checkProperties(item.properties, `${base}/properties`));
    if (item.occurred_at !== undefined) {
      const t = new Date(item.occurred_at).getTime();
      if (Number.isNaN(t)) problems.push({ path: `${base}/occurred_at`, message: 'must be an RFC 3339 time such as "2026-03-08T06:00:00Z"' });
      else if (t < 0 || t > MAX_TIME) problems.push({ path: `${base}/occurred_at`, message: 'must be between 1970-01-01 and 9999-12-31' });
    }
  });
  return problems;
}

/**
 * The one ingestion path (HTTP single and batch, and action.emit_event). Set-based: the batch's contacts are
 * upserted and locked with a few multi-row statements BEFORE their events are inserted (so per-contact `seq`
 * follows commit order), all events go in with one `INSERT ... SELECT FROM jsonb_to_recordset ... ON CONFLICT
 * DO NOTHING` on the idempotency index, duplicates resolve to the existing event's id, and the hook gets the
 * newly inserted events in order, in the same transaction. Atomic: any invalid item throws before any write.
 *
 * Run it inside `withTx` (db/index.ts): deadlocks and concurrent inserts of the same new contact are retried there.
 */
export async function ingestEvents(
  tx: Tx, workspaceId: string, items: EventInput[], hooks: { onEventsIngested?: OnEventsIngested }, opts: IngestOptions = {},
): Promise<IngestResult[]> {
  const pathOf = opts.pathOf ?? ((i: number) => `/events/${i}`);
  const problems = checkEventInputs(items, pathOf);
  if (problems.length > 0) {
    throw new CairnError('CAIRN_ERR_VALIDATION', `${problems.length === 1 ? 'an event is' : 'events are'} not valid: ${problems[0]!.path} ${problems[0]!.message}`, { errors: problems.slice(0, 100) });
  }
  // Engine timestamps come from the engine clock; callers pass ctx.clock.now().
  const now = opts.now ?? new Date();
  const results: (IngestResult | undefined)[] = new Array(items.length);

  // Keys seen before: answered without touching (or creating) their contact.
  const keys = [...new Set(items.map((it) => it.idempotency_key).filter((k): k is string => typeof k === 'string'))];
  const known = keys.length === 0 ? new Map<string, { id: string; contact_id: string }>() : await existingKeys(tx, workspaceId, keys);
  const todo: number[] = [];
  items.forEach((it, i) => {
    const prior = it.idempotency_key !== undefined ? known.get(it.idempotency_key) : undefined;
    if (prior) results[i] = { id: prior.id, contact_id: prior.contact_id, duplicate: true };
    else todo.push(i);
  });

  // The activity lock the hooks' configuration read needs, taken by the first statement that locks contacts, so the
  // event insert can read the configuration too (a round trip less); or, failing that, by the event insert.
  const types = [...new Set(todo.map((i) => items[i]!.type))];
  const activityLock = hooks.onEventsIngested && todo.length > 0 ? activityLockWithInsert(tx, workspaceId, types) : null;
  let lockedByLookup = false;
  const { ids: contactIds, unchanged, newContacts } = await resolveContacts(tx, workspaceId, items, todo, now, pathOf,
    activityLock && { ...activityLock, taken: () => { activityLock.taken(); lockedByLookup = true; } });
  const lock = lockedByLookup ? null : activityLock;
  const records = todo.map((i, n) => {
    const it = items[i]!;
    return {
      ord: n, id: newId(), contact_id: contactIds[n]!, type: it.type, properties: it.properties ?? {},
      occurred_at: it.occurred_at === undefined ? now.toISOString() : new Date(it.occurred_at).toISOString(),
      idempotency_key: it.idempotency_key ?? null, source: it.source ?? 'api',
    };
  });
  const inserted = new Map<string, number>();
  let config: IngestConfig | undefined;
  if (records.length > 0) {
    // One statement: the new contacts' insert, the events' insert and, once the activity lock is held, the hooks'
    // configuration read; else the lock itself.
    const configPart = hooks.onEventsIngested && !lock ? ingestConfigWithInsert(tx, workspaceId, types) : null;
    const ctes: string[] = [];
    const bindings: unknown[] = [];
    if (lock) {
      ctes.push(`activity_lock AS MATERIALIZED (${lock.sql})`);
      bindings.push(...lock.bindings);
    }
    if (newContacts) {
      ctes.push(`new_contacts AS (${newContacts.sql})`);
      bindings.push(...newContacts.bindings);
    }
    ctes.push(`ins AS (INSERT INTO events (id, workspace_id, contact_id, type, properties, occurred_at, received_at, idempotency_key, source)
       SELECT x.id, ?, x.contact_id, x.type, x.properties, x.occurred_at, ?, x.idempotency_key, x.source
       FROM jsonb_to_recordset(?::jsonb) AS x(ord int, id uuid, contact_id uuid, type text, properties jsonb,
                                             occurred_at timestamptz, idempotency_key text, source text)${lock ? ' CROSS JOIN activity_lock' : ''}
       ORDER BY x.ord
       ON CONFLICT (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING id, seq)`);
    bindings.push(workspaceId, now, JSON.stringify(records));
    // The contacts inserted and the configuration come back as one more row, with no event id.
    const meta = newContacts || configPart
      ? ` UNION ALL SELECT NULL, NULL, json_build_object('contacts', ${newContacts ? '(SELECT count(*) FROM new_contacts)' : '0'}, 'config', ${configPart ? configPart.sql : 'NULL'})`
      : '';
    bindings.push(...(configPart?.bindings ?? []));
    const res = await prepared(tx, `WITH ${ctes.join(',\n')}\nSELECT id, seq, NULL::json AS meta FROM ins${meta}`, bindings);
    lock?.taken();
    for (const r of res.rows as { id: string | null; seq: number; meta: { contacts: number; config: unknown } | null }[]) {
      if (r.id !== null) inserted.set(r.id, r.seq);
      else {
        newContacts?.check(r.meta!.contacts);
        if (configPart) config = configPart.toConfig(r.meta!.config);
      }
    }
  }

  // Lost the race on a key (a concurrent request, or the same key twice in this batch): the winner's id.
  const lostKeys = records.filter((r) => !inserted.has(r.id)).map((r) => r.idempotency_key!);
  const winners = lostKeys.length === 0 ? new Map() : await existingKeys(tx, workspaceId, [...new Set(lostKeys)]);
  const fresh: IngestedEvent[] = [];
  records.forEach((r, n) => {
    const seq = inserted.get(r.id);
    if (seq !== undefined) {
      results[todo[n]!] = { id: r.id, contact_id: r.contact_id, duplicate: false };
      fresh.push({
        id: r.id, seq, workspaceId, contactId: r.contact_id, type: r.type, properties: r.properties, occurredAt: new Date(r.occurred_at),
        ...(unchanged.has(n) ? { contactUnchanged: true } : {}),
      });
    } else {
      const w = winners.get(r.idempotency_key!);
      if (!w) throw new CairnError('CAIRN_ERR_INTERNAL', `event with idempotency_key ${r.idempotency_key} was neither inserted nor found`);
      results[todo[n]!] = { id: w.id, contact_id: w.contact_id, duplicate: true };
    }
  });
  fresh.sort((a, b) => a.seq - b.seq);
  if (fresh.length > 0 && hooks.onEventsIngested) await hooks.onEventsIngested(tx, workspaceId, fresh, config);
  return results as IngestResult[];
}

async function existingKeys(tx: Tx, workspaceId: string, keys: string[]): Promise<Map<string, { id: string; contact_id: string }>> {
  const res = await tx.raw(
    `SELECT idempotency_key, id, contact_id FROM events WHERE workspace_id = ? AND idempotency_key = ANY(?::text[])`,
    [workspaceId, keys],
  );
  return new Map((res.rows as { idempotency_key: string; id: string; contact_id: string }[]).map((r) => [r.idempotency_key, r]));
}

/**
 * Contact id per item of `todo`: by id (locked) for engine callers, else upserted from the item's `contact`; the items
 * whose contact the upsert left as it was (nothing created or changed); and the new contacts' insert, left to the
 * caller's event insert (`alsoLock` taken by the upsert's first statement).
 */
async function resolveContacts(
  tx: Tx, workspaceId: string, items: EventInput[], todo: number[], now: Date, pathOf: (i: number) => string, alsoLock: AlsoLock | null,
): Promise<{ ids: string[]; unchanged: Set<number>; newContacts: ContactsInsert | null }> {
  const ids: string[] = new Array(todo.length);
  const unchanged = new Set<number>();
  const byRef: number[] = [];
  const byId: number[] = [];
  todo.forEach((i, n) => (items[i]!.contactId !== undefined ? byId : byRef).push(n));
  if (byId.length > 0) {
    const wanted = [...new Set(byId.map((n) => items[todo[n]!]!.contactId!))].sort();
    const res = await tx.raw(`SELECT id FROM contacts WHERE workspace_id = ? AND id = ANY(?::uuid[]) ORDER BY id FOR UPDATE`, [workspaceId, wanted]);
    const found = new Set((res.rows as { id: string }[]).map((r) => r.id));
    for (const n of byId) {
      const id = items[todo[n]!]!.contactId!;
      if (!found.has(id)) throw new CairnError('CAIRN_ERR_NOT_FOUND', `contact ${id} not found`, { errors: [{ path: pathOf(todo[n]!), message: 'contact not found' }] });
      ids[n] = id;
    }
  }
  let newContacts: ContactsInsert | null = null;
  if (byRef.length > 0) {
    const upserted = await upsertContactsDeferringInsert(tx, workspaceId, byRef.map((n) => items[todo[n]!]!.contact), now, (k) => `${pathOf(todo[byRef[k]!]!)}/contact`, alsoLock);
    newContacts = upserted.insert;
    byRef.forEach((n, k) => {
      ids[n] = upserted.contacts[k]!.id;
      if (!upserted.contacts[k]!.changed) unchanged.add(n);
    });
  }
  return { ids, unchanged, newContacts };
}
