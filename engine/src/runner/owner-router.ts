import type { Tx } from '../db/index.ts';
import { CairnError } from '../errors.ts';
import type { AssignedOwner, OwnerRouter } from './in-engine-actions.ts';

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
 * N assignments over k available owners differ by at most one.
 */
export class BatchOwnerRouter implements OwnerRouter {
  private readonly pools = new Map<string, PoolState | null>();
  private readonly assignedDelta = new Map<string, number>();
  /** Time spent acquiring pool locks (waiting for another batch to commit), for the batch's debug log. */
  lockWaitMs = 0;

  constructor(private readonly tx: Tx, private readonly workspaceId: string) {}

  async assign(input: { workspaceId: string; pool: string; strategy: 'round_robin' | 'weighted' | 'territory'; territory: string | null }): Promise<AssignedOwner> {
    const pool = await this.pool(input.pool);
    if (!pool) throw stepFailed(`routing pool "${input.pool}" does not exist: create it with POST /v1/routing-pools`);
    let eligible = pool.ownerIds.map((id) => pool.owners.get(id)).filter((o): o is OwnerRow => !!o && this.canTake(o));
    if (input.strategy === 'territory') {
      const t = input.territory?.toLowerCase();
      eligible = t ? eligible.filter((o) => o.territories.some((x) => x.toLowerCase() === t)) : [];
    }
    let owner: OwnerRow | undefined;
    if (eligible.length > 0) {
      const sequence = input.strategy === 'weighted' ? weightedSequence(eligible) : eligible;
      owner = sequence[pool.cursor % sequence.length];
      pool.cursor++;
    } else if (pool.fallbackOwnerId) {
      owner = pool.owners.get(pool.fallbackOwnerId);
    }
    if (!owner) throw stepFailed(`no available owner in pool "${input.pool}" and no fallback owner`);
    owner.assigned_count++;
    this.assignedDelta.set(owner.id, (this.assignedDelta.get(owner.id) ?? 0) + 1);
    return { id: owner.id, name: owner.name, email: owner.email };
  }

  private canTake(o: OwnerRow): boolean {
    return o.available && (o.capacity === null || o.assigned_count < o.capacity);
  }

  private async pool(key: string): Promise<PoolState | null> {
    if (this.pools.has(key)) return this.pools.get(key)!;
    const started = performance.now();
    const { rows } = await this.tx.raw(
      `SELECT id, key, owner_ids, fallback_owner_id, rr_cursor FROM routing_pools WHERE workspace_id = ? AND key = ? FOR UPDATE`,
      [this.workspaceId, key],
    );
    this.lockWaitMs += performance.now() - started;
    const row = rows[0] as { id: string; key: string; owner_ids: string[]; fallback_owner_id: string | null; rr_cursor: number } | undefined;
    if (!row) {
      this.pools.set(key, null);
      return null;
    }
    const ids = row.fallback_owner_id ? [...row.owner_ids, row.fallback_owner_id] : row.owner_ids;
    const owners = await this.tx.raw(
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
      owners: new Map((owners.rows as OwnerRow[]).map((o) => [o.id, o])),
    };
    this.pools.set(key, state);
    return state;
  }

  /** Writes cursors and assignment counts back (the pools are still locked by this transaction). */
  async flush(): Promise<void> {
    const moved = [...this.pools.values()].filter((p): p is PoolState => !!p && p.cursor !== p.startCursor);
    if (moved.length > 0) {
      await this.tx.raw(
        `UPDATE routing_pools p SET rr_cursor = u.cursor FROM unnest(?::uuid[], ?::bigint[]) AS u(id, cursor) WHERE p.id = u.id`,
        [moved.map((p) => p.id), moved.map((p) => p.cursor)],
      );
    }
    if (this.assignedDelta.size > 0) {
      await this.tx.raw(
        `UPDATE owners o SET assigned_count = o.assigned_count + u.n FROM unnest(?::uuid[], ?::int[]) AS u(id, n)
          WHERE o.id = u.id AND o.workspace_id = ?`,
        [[...this.assignedDelta.keys()], [...this.assignedDelta.values()], this.workspaceId],
      );
    }
  }
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
