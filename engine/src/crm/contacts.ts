import { IANAZone } from 'luxon';
import type { Db, Tx } from '../db/index.ts';
import { PG, prepared } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { CairnError, type ProblemItem } from '../errors.ts';
import { isPlainObject, mergePatch, type JsonObject } from './contacts-properties.ts';

export interface ContactRow {
  id: string;
  workspace_id: string;
  external_id: string | null;
  email: string | null;
  properties: JsonObject;
  tags: string[];
  score: number;
  owner_id: string | null;
  lifecycle_stage: string | null;
  timezone: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The contact object of the public API (CONTRACT.md §Contacts): the row without its workspace, times as RFC 3339. */
export type Contact = Omit<ContactRow, 'workspace_id' | 'created_at' | 'updated_at'> & { created_at: string; updated_at: string };

export const CONTACT_COLUMNS = ['id', 'workspace_id', 'external_id', 'email', 'properties', 'tags', 'score', 'owner_id',
  'lifecycle_stage', 'timezone', 'created_at', 'updated_at'] as const;

export function toContact(row: ContactRow): Contact {
  return {
    id: row.id, external_id: row.external_id, email: row.email, properties: row.properties, tags: row.tags,
    score: row.score, owner_id: row.owner_id, lifecycle_stage: row.lifecycle_stage, timezone: row.timezone,
    created_at: new Date(row.created_at).toISOString(), updated_at: new Date(row.updated_at).toISOString(),
  };
}

/** What identifies and changes a contact in an upsert (POST /v1/contacts, or the `contact` of an event). */
export interface ContactRef {
  external_id?: string | null;
  email?: string | null;
  properties?: JsonObject | null;
  timezone?: string | null;
}

export const isValidTimezone = (tz: string) => IANAZone.isValidZone(tz);

/** Thrown when a concurrent transaction inserted one of our new contacts first; withTx redoes the whole transaction. */
function concurrentInsert(): Error {
  return Object.assign(new Error('a concurrent transaction created the same contact; retrying'), { code: PG.serialization });
}

interface Working {
  row: ContactRow;
  isNew: boolean;
  dirty: boolean;
}

/**
 * Upserts many contacts with a handful of statements (the ingestion hot path): one `SELECT ... FOR UPDATE` of
 * every existing match (in id order), one multi-row update of the changed ones, one multi-row insert of the new
 * ones (in match-key order). Refs are applied in order, so two refs to one contact merge in sequence. Matching
 * is by external_id, else by case-insensitive email; an email match without external_id adopts the ref's one.
 * Every returned contact's row is locked (or freshly inserted) by `tx` until it commits.
 *
 * Must run inside `withTx`: a concurrent insert of the same new contact raises a serialization failure (40001)
 * so the transaction is redone and then finds the winner's row.
 */
export async function upsertContacts(
  tx: Tx, workspaceId: string, refs: ContactRef[], now: Date, pathOf: (i: number) => string,
): Promise<UpsertedContact[]> {
  const { contacts, insert } = await upsertContactsDeferringInsert(tx, workspaceId, refs, now, pathOf, null);
  if (insert) insert.check((await prepared(tx, insert.sql, insert.bindings)).rowCount ?? 0);
  return contacts;
}

export interface UpsertedContact { id: string; created: boolean; changed: boolean }

/** The insert of an upsert's new contacts: an `INSERT ... RETURNING id`, and `check` for the number of rows it returned. */
export interface ContactsInsert { sql: string; bindings: unknown[]; check(inserted: number): void }

/**
 * upsertContacts, leaving the insert of the new contacts to the caller, to run as a part of a statement of its own
 * (ingestion's event insert: a round trip less), and taking `alsoLock` with its first statement. The contacts'
 * ids are final; the caller must run `insert` before it relies on the new rows, and pass `check` what it returned.
 */
export async function upsertContactsDeferringInsert(
  tx: Tx, workspaceId: string, refs: ContactRef[], now: Date, pathOf: (i: number) => string, alsoLock: AlsoLock | null,
): Promise<{ contacts: UpsertedContact[]; insert: ContactsInsert | null }> {
  const exts = [...new Set(refs.map((r) => r.external_id).filter((v): v is string => typeof v === 'string'))];
  const emails = [...new Set(refs.map((r) => r.email?.toLowerCase()).filter((v): v is string => typeof v === 'string'))];
  const existing = await lockMatches(tx, workspaceId, exts, emails, alsoLock);

  const byExt = new Map<string, Working>();
  const byEmail = new Map<string, Working>();
  const index = (w: Working) => {
    if (w.row.external_id !== null) byExt.set(w.row.external_id, w);
    if (w.row.email !== null) byEmail.set(w.row.email.toLowerCase(), w);
  };
  for (const row of existing) index({ row, isNew: false, dirty: false });

  const resolved: Working[] = [];
  const created = new Set<Working>();
  refs.forEach((ref, i) => {
    const ext = ref.external_id ?? null;
    const emailKey = ref.email?.toLowerCase() ?? null;
    let w = ext !== null ? byExt.get(ext) : undefined;
    if (!w && emailKey !== null) {
      const byMail = byEmail.get(emailKey);
      if (byMail && ext !== null && byMail.row.external_id !== null) {
        throw conflictAt(`${pathOf(i)}/email`, `email ${ref.email} belongs to another contact (external_id ${byMail.row.external_id}), not to external_id ${ext}`);
      }
      w = byMail;
      if (w && ext !== null) {
        w.row.external_id = ext;
        w.dirty = true;
        byExt.set(ext, w);
      }
    }
    if (!w) {
      w = {
        row: {
          id: newId(), workspace_id: workspaceId, external_id: ext, email: ref.email ?? null, properties: {}, tags: [], score: 0,
          owner_id: null, lifecycle_stage: null, timezone: null, created_at: now, updated_at: now,
        },
        isNew: true, dirty: true,
      };
      created.add(w);
      index(w);
    } else if (emailKey !== null && w.row.email?.toLowerCase() !== emailKey) {
      const holder = byEmail.get(emailKey);
      if (holder && holder !== w) throw conflictAt(`${pathOf(i)}/email`, `email ${ref.email} belongs to another contact`);
      if (w.row.email !== null) byEmail.delete(w.row.email.toLowerCase());
      w.row.email = ref.email!;
      byEmail.set(emailKey, w);
      w.dirty = true;
    }
    if (isPlainObject(ref.properties)) {
      w.row.properties = mergePatch(w.row.properties, ref.properties) as JsonObject;
      w.dirty = true;
    }
    if (ref.timezone !== undefined && ref.timezone !== w.row.timezone) {
      w.row.timezone = ref.timezone;
      w.dirty = true;
    }
    resolved.push(w);
  });

  const changed = [...new Set(resolved)].filter((w) => !w.isNew && w.dirty);
  if (changed.length > 0) {
    await tx.raw(
      `UPDATE contacts c SET external_id = x.external_id, email = x.email, properties = x.properties, timezone = x.timezone, updated_at = ?
       FROM jsonb_to_recordset(?::jsonb) AS x(id uuid, external_id text, email text, properties jsonb, timezone text)
       WHERE c.workspace_id = ? AND c.id = x.id AND c.id = ANY(?::uuid[])`,
      // The id list lets the planner probe the index: jsonb_to_recordset is estimated at 100 rows, which made it
      // hash-join against a sequential scan of the workspace's contacts (a full scan per ingested event).
      [now, JSON.stringify(changed.map((w) => ({
        id: w.row.id, external_id: w.row.external_id, email: w.row.email, properties: w.row.properties, timezone: w.row.timezone,
      }))), workspaceId, changed.map((w) => w.row.id)],
    );
  }
  // After the update: a contact giving up its email to a new one in the same batch has let go of it.
  const fresh = [...created].sort((a, b) => matchKey(a).localeCompare(matchKey(b)));
  const insert: ContactsInsert | null = fresh.length === 0 ? null : {
    sql: `INSERT INTO contacts (id, workspace_id, external_id, email, properties, timezone, created_at, updated_at)
       SELECT x.id, ?, x.external_id, x.email, x.properties, x.timezone, ?, ?
       FROM jsonb_to_recordset(?::jsonb) AS x(id uuid, external_id text, email text, properties jsonb, timezone text)
       ON CONFLICT DO NOTHING RETURNING id`,
    bindings: [workspaceId, now, now, JSON.stringify(fresh.map((w) => ({
      id: w.row.id, external_id: w.row.external_id, email: w.row.email, properties: w.row.properties, timezone: w.row.timezone,
    })))],
    check: (inserted) => {
      if (inserted !== fresh.length) throw concurrentInsert();
    },
  };
  return { contacts: resolved.map((w) => ({ id: w.row.id, created: created.has(w), changed: created.has(w) || w.dirty })), insert };
}

/**
 * Locks every contact matching one of the external ids or emails, in id order within each statement (so
 * concurrent batches lock in the same order; the rare cross-order deadlock is retried by withTx). One statement per
 * unique index, and one shape that does not depend on statistics: the keys are looked up one by one in the unique
 * index (an equality on all its columns, which the planner knows finds at most one row; `LIMIT 1` keeps the lookup
 * a per-key probe, which PostgreSQL would otherwise flatten into a join it may again plan over the whole workspace),
 * their ids collected, and the rows locked through the primary key. `key = ANY(<keys>)` directly let the planner read every contact of the
 * workspace through its (workspace_id, id) index whenever the table's statistics lagged its growth (as they do while it
 * fills): 300 ms per batch of 1,000 at 100,000 contacts, 1.6 s at 1,000,000 (W2 enrolment). The key is checked
 * again on the locked row, so a contact whose key changed meanwhile is not returned.
 */
async function lockMatches(tx: Tx, workspaceId: string, exts: string[], emails: string[], alsoLock: AlsoLock | null): Promise<ContactRow[]> {
  const rows: ContactRow[] = [];
  if (exts.length > 0) rows.push(...await lockByKey(tx, workspaceId, 'external_id', exts, alsoLock));
  if (emails.length > 0) {
    const seen = new Set(rows.map((r) => r.id));
    rows.push(...(await lockByKey(tx, workspaceId, 'lower(email)', emails, exts.length > 0 ? null : alsoLock)).filter((r) => !seen.has(r.id)));
  }
  return rows;
}

/**
 * Another lock for the first statement of the upsert to take before it reads (crm/ingest-config.ts: ingestion's
 * activity lock, so that a later statement of its own can read what the lock protects): a statement that returns
 * nothing, and `taken` to call once it ran.
 */
export interface AlsoLock { sql: string; bindings: unknown[]; taken(): void }

async function lockByKey(tx: Tx, workspaceId: string, key: 'external_id' | 'lower(email)', values: string[], alsoLock: AlsoLock | null): Promise<ContactRow[]> {
  // The other lock in a CTE read by a condition on no column: a one-time filter, evaluated before the scan even when
  // no contact matches.
  const { rows } = await prepared(tx,
    `${alsoLock ? `WITH also_lock AS MATERIALIZED (${alsoLock.sql}) ` : ''}SELECT ${CONTACT_COLUMNS.join(', ')} FROM contacts
      WHERE ${alsoLock ? '(SELECT count(*) FROM also_lock) = 1 AND ' : ''}workspace_id = ? AND ${key} = ANY(?::text[])
        AND id = ANY(ARRAY(SELECT m.id FROM unnest(?::text[]) AS k(v)
                             CROSS JOIN LATERAL (SELECT id FROM contacts WHERE workspace_id = ? AND ${key} = k.v LIMIT 1) m))
      ORDER BY id FOR UPDATE`,
    [...(alsoLock?.bindings ?? []), workspaceId, values, values, workspaceId],
  );
  alsoLock?.taken();
  return rows as ContactRow[];
}

const matchKey = (w: Working) => (w.row.external_id !== null ? `x:${w.row.external_id}` : `e:${w.row.email?.toLowerCase() ?? ''}`);

function conflictAt(path: string, message: string): CairnError {
  return new CairnError('CAIRN_ERR_CONFLICT', message, { errors: [{ path, message }] });
}

/** Checks of a ref that the JSON Schema cannot express; problems carry paths under `base`. */
export function checkContactRef(ref: ContactRef, base: string): ProblemItem[] {
  const problems: ProblemItem[] = [];
  if ((ref.external_id ?? null) === null && (ref.email ?? null) === null) {
    problems.push({ path: base || '', message: 'a contact needs an external_id or an email' });
  }
  if (typeof ref.timezone === 'string' && !isValidTimezone(ref.timezone)) {
    problems.push({ path: `${base}/timezone`, message: `"${ref.timezone}" is not an IANA time zone name such as "Europe/Paris"` });
  }
  return problems;
}

export async function getContact(db: Db | Tx, workspaceId: string, id: string): Promise<ContactRow | undefined> {
  return db('contacts').where({ workspace_id: workspaceId, id }).whereNull('erased_at').first<ContactRow | undefined>(CONTACT_COLUMNS);
}

export interface ContactFilter {
  email?: string;
  external_id?: string;
  tag?: string;
  /** Members of this segment only. */
  segmentId?: string;
  /** Text typed in a search box (see listContacts). */
  q?: string;
  after?: string | null;
  limit: number;
}

/** Lists live contacts of a workspace in creation order; fetches `limit + 1` rows (see http/kit.ts `page`). */
export async function listContacts(db: Db, workspaceId: string, f: ContactFilter): Promise<ContactRow[]> {
  const q = db('contacts').where({ workspace_id: workspaceId }).whereNull('erased_at');
  if (f.email !== undefined) q.whereRaw('lower(email) = lower(?)', [f.email]);
  if (f.external_id !== undefined) q.where('external_id', f.external_id);
  if (f.tag !== undefined) q.whereRaw('tags @> ARRAY[?]::text[]', [f.tag]);
  if (f.segmentId !== undefined) {
    q.whereRaw('EXISTS (SELECT 1 FROM segment_members m WHERE m.workspace_id = contacts.workspace_id AND m.segment_id = ? AND m.contact_id = contacts.id)', [f.segmentId]);
  }
  if (f.q !== undefined) {
    // Search as you type (any case): the email containing the text, or the external id starting with it.
    const text = f.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
    q.where((w) => w.whereRaw('lower(email) LIKE ?', [`%${text}%`]).orWhereRaw('lower(external_id) LIKE ?', [`${text}%`]));
  }
  if (f.after) q.where('id', '>', f.after);
  return q.orderBy('id').limit(f.limit + 1).select<ContactRow[]>(CONTACT_COLUMNS);
}

/** PATCH body: a JSON merge patch over the writable fields (null clears, properties merge). */
export interface ContactPatch {
  external_id?: string | null;
  email?: string | null;
  properties?: JsonObject | null;
  timezone?: string | null;
  tags?: string[];
  lifecycle_stage?: string | null;
}

export async function patchContact(tx: Tx, workspaceId: string, id: string, patch: ContactPatch, now: Date): Promise<ContactRow | undefined> {
  const row = await tx('contacts').where({ workspace_id: workspaceId, id }).whereNull('erased_at').forUpdate()
    .first<ContactRow | undefined>(CONTACT_COLUMNS);
  if (!row) return undefined;
  const next: ContactRow = { ...row };
  if (patch.external_id !== undefined) next.external_id = patch.external_id;
  if (patch.email !== undefined) next.email = patch.email;
  if (patch.timezone !== undefined) next.timezone = patch.timezone;
  if (patch.lifecycle_stage !== undefined) next.lifecycle_stage = patch.lifecycle_stage;
  if (patch.tags !== undefined) next.tags = [...new Set(patch.tags)];
  if (patch.properties === null) next.properties = {};
  else if (patch.properties !== undefined) next.properties = mergePatch(row.properties, patch.properties) as JsonObject;
  if (next.external_id === null && next.email === null) {
    throw new CairnError('CAIRN_ERR_VALIDATION', 'a contact must keep an external_id or an email', {
      errors: [{ path: patch.email === null ? '/email' : '/external_id', message: 'cannot clear both external_id and email' }],
    });
  }
  try {
    const [updated] = await tx('contacts').where({ workspace_id: workspaceId, id }).update({
      external_id: next.external_id, email: next.email, timezone: next.timezone, lifecycle_stage: next.lifecycle_stage,
      tags: next.tags, properties: JSON.stringify(next.properties), updated_at: now,
    }, CONTACT_COLUMNS as unknown as string[]);
    return updated as ContactRow;
  } catch (err) {
    if ((err as { code?: string }).code === PG.uniqueViolation) {
      const field = String((err as { constraint?: string }).constraint).includes('email') ? 'email' : 'external_id';
      throw conflictAt(`/${field}`, `${field} is already used by another contact`);
    }
    throw err;
  }
}
