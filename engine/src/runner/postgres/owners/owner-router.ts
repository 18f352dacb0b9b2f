import { prepared, type Db, type SqlPart } from '../../../db/index.ts';
import { CairnError } from '../../../errors.ts';
import { newId } from '../../../db/ids.ts';
import { BatchIoError } from '../../in-engine-actions.ts';
import type { AssignedOwner, AssignInput, AssignReason, OwnerRouter } from '../../ports.ts';

interface OwnerRow {
  id: string;
  name: string;
  email: string;
  weight: number;
  capacity: number | null;
  available: boolean;
  territories: string[];
  assigned_count: number;
}

interface PoolState {
  id: string;
  key: string;
  ownerIds: string[];
  fallbackOwnerId: string | null;
  cursor: number;
  startCursor: number;
  owners: Map<string, OwnerRow>;
}

const stepFailed = (message: string) => new CairnError('CAIRN_ERR_STEP_FAILED', message);

/**
 * Owner assignment for one batch transaction. Each pool is locked (FOR UPDATE) the first time the batch uses it
 * and its round-robin cursor advanced in memory, so assignments stay fair across concurrent workers and processes:
 * N assignments over k available owners differ by at most one. A preview (the dry run) reads the same pools and
 * chooses by the same rules (weights, territories, the fallback owner) without locking, and is never flushed.
 */
export class BatchOwnerRouter implements OwnerRouter {
  private readonly pools = new Map<string, PoolState | null>();
  private readonly assignedDelta = new Map<string, number>();
  /** Contact id → owner assigned in this batch (the last one wins; earlier ones count as reassigned). */
  private readonly assignments = new Map<string, string>();
  /** Owners loaded by any pool of this batch, one object each, so in-memory loads agree across pools. */
  private readonly ownerRows = new Map<string, OwnerRow>();
  /** Time spent acquiring pool locks (waiting for another batch to commit), for the batch's debug log. */
  lockWaitMs = 0;

  constructor(
    private readonly tx: Db,
    private readonly workspaceId: string,
    private readonly now: Date,
    private readonly opts: { preview?: boolean } = {},
  ) {}

  async assign(input: AssignInput): Promise<AssignedOwner> {
    const pool = await this.pool(input.pool);
    if (!pool) throw stepFailed(`routing pool "${input.pool}" does not exist: create it with POST /v1/routing-pools`);
    const choice = chooseOwner(pool, input, (o) => this.canTake(o));
    if (!choice) throw stepFailed(`no available owner in pool "${input.pool}" and no fallback owner`);
    if (choice.advance) pool.cursor++;
    const owner = choice.owner;
    this.take(owner.id, input.contactId, input.previousOwnerId ?? null);
    return { id: owner.id, name: owner.name, email: owner.email, reason: choice.reason, detail: choice.detail };
  }

  /** The contact's earlier assignment in this batch (or its open lead in the database) is released when it moves. */
  private take(ownerId: string, contactId: string, previousOwnerId: string | null): void {
    const inBatch = this.assignments.get(contactId);
    if (inBatch !== undefined) this.bump(inBatch, -1);
    this.assignments.set(contactId, ownerId);
    this.bump(ownerId, 1);
    this.ownerRows.get(ownerId)!.assigned_count++;
    const previous = this.ownerRows.get(inBatch ?? previousOwnerId ?? '');
    if (previous) previous.assigned_count = Math.max(0, previous.assigned_count - 1);
  }

  private bump(ownerId: string, n: number): void {
    this.assignedDelta.set(ownerId, (this.assignedDelta.get(ownerId) ?? 0) + n);
  }

  private canTake(o: OwnerRow): boolean {
    return o.available && (o.capacity === null || o.assigned_count < o.capacity);
  }

  private async pool(key: string): Promise<PoolState | null> {
    if (this.pools.has(key)) return this.pools.get(key)!;
    try {
      return await this.loadPool(key);
    } catch (err) {
      throw new BatchIoError(err);
    }
  }

  private async loadPool(key: string): Promise<PoolState | null> {
    const started = performance.now();
    const { rows } = await prepared(this.tx,
      `SELECT id, key, owner_ids, fallback_owner_id, rr_cursor FROM routing_pools WHERE workspace_id = ? AND key = ?${this.opts.preview ? '' : ' FOR UPDATE'}`,
      [this.workspaceId, key],
    );
    this.lockWaitMs += performance.now() - started;
    const row = rows[0] as { id: string; key: string; owner_ids: string[]; fallback_owner_id: string | null; rr_cursor: number } | undefined;
    if (!row) {
      this.pools.set(key, null);
      return null;
    }
    const ids = row.fallback_owner_id ? [...row.owner_ids, row.fallback_owner_id] : row.owner_ids;
    const owners = await prepared(this.tx,
      `SELECT id, name, email, weight, capacity, available, territories, assigned_count FROM owners WHERE workspace_id = ? AND id = ANY(?::uuid[])`,
      [this.workspaceId, ids],
    );
    const state: PoolState = {
      id: row.id,
      key: row.key,
      ownerIds: row.owner_ids,
      fallbackOwnerId: row.fallback_owner_id,
      cursor: row.rr_cursor,
      startCursor: row.rr_cursor,
      owners: new Map((owners.rows as OwnerRow[]).map((o) => {
        if (!this.ownerRows.has(o.id)) this.ownerRows.set(o.id, o);
        return [o.id, this.ownerRows.get(o.id)!];
      })),
    };
    this.pools.set(key, state);
    return state;
  }

  /**
   * The writes of the batch's assignments, as parts of the batch's one write statement (db/index.ts runTogether):
   * pool cursors, the contacts' open leads released, their new leads, and the owners' assignment counts (less one for
   * each released lead). The pools are still locked by this transaction. The open leads are found by one probe of
   * owner_leads_open per contact and released by row address: a lookup by `contact_id = ANY(...)` was planned, while
   * the table's statistics lagged its growth, as a scan of every open lead of the workspace.
   */
  parts(): SqlPart[] {
    if (this.opts.preview) throw new Error('a preview router never writes');
    const parts: SqlPart[] = [];
    const moved = [...this.pools.values()].filter((p): p is PoolState => !!p && p.cursor !== p.startCursor);
    if (moved.length > 0) {
      parts.push({
        sql: `UPDATE routing_pools p SET rr_cursor = u.cursor FROM unnest(?::uuid[], ?::bigint[]) AS u(id, cursor)
               WHERE p.id = u.id AND p.workspace_id = ? RETURNING 1`,
        bindings: [moved.map((p) => p.id), moved.map((p) => p.cursor), this.workspaceId],
      });
    }
    if (this.assignments.size === 0) return parts;
    const contacts = [...this.assignments.keys()];
    parts.push({
      name: 'released_leads',
      sql: `UPDATE owner_leads SET released_at = ?, released_reason = 'reassigned'
             WHERE workspace_id = ? AND released_at IS NULL AND ctid = ANY(ARRAY(
               SELECT l.ctid FROM unnest(?::uuid[]) AS c(id)
               CROSS JOIN LATERAL (SELECT ctid FROM owner_leads WHERE workspace_id = ? AND contact_id = c.id AND released_at IS NULL LIMIT 1) l))
            RETURNING owner_id`,
      bindings: [this.now, this.workspaceId, contacts, this.workspaceId],
    }, {
      sql: `INSERT INTO owner_leads (workspace_id, id, contact_id, owner_id, assigned_at)
            SELECT ?, u.id, u.contact_id, u.owner_id, ? FROM unnest(?::uuid[], ?::uuid[], ?::uuid[]) AS u(id, contact_id, owner_id)
            RETURNING 1`,
      bindings: [this.workspaceId, this.now, contacts.map(() => newId(this.now.getTime())), contacts, contacts.map((c) => this.assignments.get(c)!)],
    });
    const deltas = [...this.assignedDelta];
    parts.push({
      sql: `UPDATE owners o SET assigned_count = greatest(0, o.assigned_count + d.n)
              FROM (SELECT id, sum(n)::int AS n FROM (
                      SELECT * FROM unnest(?::uuid[], ?::int[]) AS u(id, n) UNION ALL SELECT owner_id, -1 FROM released_leads
                    ) x GROUP BY id) d
             WHERE o.id = d.id AND o.workspace_id = ? AND d.n <> 0 RETURNING 1`,
      bindings: [deltas.map(([id]) => id), deltas.map(([, n]) => n), this.workspaceId],
    });
    return parts;
  }
}

interface Choice { owner: OwnerRow; reason: AssignReason; detail: string; advance: boolean }

/**
 * Who gets the lead and why. Unavailable owners, owners at capacity and the excluded owner are skipped; with none
 * eligible (or none in the territory) the pool's fallback owner takes it, whatever its load.
 */
function chooseOwner(pool: PoolState, input: AssignInput, canTake: (o: OwnerRow) => boolean): Choice | null {
  const members = pool.ownerIds.map((id) => pool.owners.get(id)).filter((o): o is OwnerRow => !!o && o.id !== input.excludeOwnerId);
  let eligible = members.filter(canTake);
  const skipped = members.length - eligible.length;
  let territoryNote = '';
  if (input.strategy === 'territory') {
    const t = input.territory?.toLowerCase();
    eligible = t ? eligible.filter((o) => o.territories.some((x) => x.toLowerCase() === t)) : [];
    territoryNote = t ? ` covering territory "${input.territory}"` : ' (the contact has no territory)';
  }
  if (eligible.length > 0) {
    const sequence = input.strategy === 'weighted' ? weightedSequence(eligible) : eligible;
    const owner = sequence[pool.cursor % sequence.length]!;
    const reason: AssignReason = input.strategy === 'round_robin' ? 'rotation' : input.strategy;
    const how = input.strategy === 'weighted' ? `weighted rotation (weight ${owner.weight})` : input.strategy === 'territory' ? `rotation among owners${territoryNote}` : 'rotation';
    return { owner, reason, detail: `${how}: ${eligible.length} eligible of ${pool.ownerIds.length} in pool "${pool.key}"`, advance: true };
  }
  const fallback = pool.fallbackOwnerId ? pool.owners.get(pool.fallbackOwnerId) : undefined;
  if (!fallback) return null;
  const why = input.strategy === 'territory' && skipped < members.length ? `no available owner${territoryNote}` : `no available owner (${skipped} unavailable, at capacity or excluded)`;
  return { owner: fallback, reason: 'fallback', detail: `${why} in pool "${pool.key}": fallback owner`, advance: false };
}

/** Smooth weighted round robin (nginx's): weights 5,1,1 give a,a,b,a,c,a,a — spread out, not bunched. */
function weightedSequence(owners: OwnerRow[]): OwnerRow[] {
  const weights = owners.map((o) => Math.max(0, Math.min(o.weight, 100)));
  const total = weights.reduce((s, w) => s + w, 0);
  if (total === 0) return owners;
  const current = owners.map(() => 0);
  const seq: OwnerRow[] = [];
  for (let i = 0; i < total; i++) {
    let best = 0;
    for (let j = 0; j < owners.length; j++) {
      current[j]! += weights[j]!;
      if (current[j]! > current[best]!) best = j;
    }
    current[best]! -= total;
    seq.push(owners[best]!);
  }
  return seq;
}
