import type { Db, Tx } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { CairnError, conflict } from '../errors.ts';
import { parseDuration } from '../time/duration.ts';
import type { IngestedEvent } from './event-hooks.ts';
import type { ProgramEvent } from './program-events.ts';

/** A loyalty program as `POST /v1/loyalty-programs` takes it (CONTRACT.md §Loyalty programs). */
export interface LoyaltyProgram {
  key: string;
  earn: { event: string; points_per_unit: number; property?: string }[];
  expires_after?: string;
  tiers?: { name: string; min_points: number }[];
  /** Tiers by the points earned within this rolling window (ISO duration) instead of all time. */
  tier_window?: string;
}

const addDuration = (iso: string | undefined, from: Date) => {
  const d = iso ? parseDuration(iso) : null;
  return d ? d.addTo(from) : null;
};

/**
 * The highest tier whose `min_points` the member's earned points reach (points spent or expired still count): all
 * time, or within the program's rolling `tier_window`.
 */
export function tierFor(program: LoyaltyProgram, earned: number): string | null {
  const reached = (program.tiers ?? []).filter((t) => earned >= t.min_points).sort((a, b) => b.min_points - a.min_points);
  return reached[0]?.name ?? null;
}

/**
 * Points for one event under one earn rule: `points_per_unit` × the numeric `property` (rounded down), or
 * `points_per_unit` flat when the rule names no property (a bonus event). A missing, non-numeric or negative value earns nothing.
 */
export function pointsFor(rule: LoyaltyProgram['earn'][number], properties: Record<string, unknown>): number {
  if (rule.property === undefined) return Math.floor(rule.points_per_unit);
  const v = properties[rule.property];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return 0;
  return Math.floor(v * rule.points_per_unit + 1e-9);
}

/** Earn side of ingestion: ledger entries, balances and tier changes, in event order (the contacts are locked). */
export async function earnPoints(tx: Tx, workspaceId: string, programs: LoyaltyProgram[], events: IngestedEvent[], now: Date): Promise<ProgramEvent[]> {
  const out: ProgramEvent[] = [];
  for (const ev of events) {
    for (const p of programs) {
      for (const [i, rule] of p.earn.entries()) {
        if (rule.event !== ev.type) continue;
        const points = pointsFor(rule, ev.properties);
        if (points <= 0) continue;
        await tx.raw(
          `INSERT INTO loyalty_ledger (workspace_id, id, program, contact_id, kind, points, remaining, event_id, idempotency_key, expires_at, created_at)
           VALUES (?, ?, ?, ?, 'earn', ?, ?, ?, ?, ?, ?)`,
          [workspaceId, newId(now.getTime()), p.key, ev.contactId, points, points, ev.id, `earn:${ev.id}:${i}`, addDuration(p.expires_after, now), now],
        );
        const { rows } = await tx.raw(
          `INSERT INTO loyalty_members AS m (workspace_id, program, contact_id, balance, earned) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (workspace_id, program, contact_id) DO UPDATE SET balance = m.balance + EXCLUDED.balance, earned = m.earned + EXCLUDED.earned
           RETURNING earned, tier`,
          [workspaceId, p.key, ev.contactId, points, points],
        );
        const m = rows[0] as { earned: string; tier: string | null };
        const basis = p.tier_window ? await earnedWithin(tx, workspaceId, p, ev.contactId, now) : Number(m.earned);
        const tier = tierFor(p, basis);
        if (tier !== m.tier) {
          await tx('loyalty_members').where({ workspace_id: workspaceId, program: p.key, contact_id: ev.contactId }).update({ tier });
          out.push({
            contactId: ev.contactId, type: 'loyalty.tier_changed', key: `loyalty.tier_changed:${p.key}:${ev.contactId}:${ev.id}:${i}`,
            properties: { program: p.key, from: m.tier, to: tier, earned: basis },
          });
        }
      }
    }
  }
  return out;
}

export interface Redemption { id: string; program: string; contact_id: string; points: number; balance: number; created_at: string }

/**
 * Spends points: the member row is locked, so concurrent redemptions see each other's effect and never overdraw.
 * Idempotent by key: a repeat answers the first redemption (`repeat: true`); the same key for another body is 409.
 * Short balance → 409. The oldest unspent, unexpired lots are used first (their `remaining` goes down).
 */
export async function redeem(tx: Tx, workspaceId: string, program: string, input: { contact_id: string; points: number; idempotency_key: string }, now: Date): Promise<{ repeat: boolean; redemption: Redemption }> {
  const key = `redeem:${input.idempotency_key}`;
  await expireLots(tx, now, { workspaceId, program, contactId: input.contact_id });
  const member = await tx('loyalty_members').where({ workspace_id: workspaceId, program, contact_id: input.contact_id }).forUpdate().first<{ balance: string }>('balance');
  const prior = await tx('loyalty_ledger').where({ workspace_id: workspaceId, program, idempotency_key: key }).first<{ id: string; contact_id: string; points: string; created_at: Date }>();
  if (prior) {
    if (prior.contact_id !== input.contact_id || -Number(prior.points) !== input.points) {
      throw conflict(`idempotency_key "${input.idempotency_key}" was already used for another redemption; use a new key`);
    }
    return { repeat: true, redemption: { id: prior.id, program, contact_id: prior.contact_id, points: input.points, balance: Number(member?.balance ?? 0), created_at: prior.created_at.toISOString() } };
  }
  const balance = Number(member?.balance ?? 0);
  if (balance < input.points) {
    throw new CairnError('CAIRN_ERR_CONFLICT', `the balance of ${balance} points is short of the ${input.points} points asked for`, { errors: [{ path: '/points', message: `exceeds the balance of ${balance}` }] });
  }
  const id = newId(now.getTime());
  await tx('loyalty_ledger').insert({ workspace_id: workspaceId, id, program, contact_id: input.contact_id, kind: 'redeem', points: -input.points, remaining: 0, idempotency_key: key, created_at: now });
  await tx.raw(
    `WITH lots AS (
       SELECT id, remaining, sum(remaining) OVER (ORDER BY expires_at NULLS LAST, created_at, id) - remaining AS before
         FROM loyalty_ledger WHERE workspace_id = ? AND program = ? AND contact_id = ? AND kind = 'earn' AND remaining > 0)
     UPDATE loyalty_ledger l SET remaining = l.remaining - least(lots.remaining, greatest(0, ? - lots.before))
       FROM lots WHERE l.workspace_id = ? AND l.id = lots.id AND lots.before < ?`,
    [workspaceId, program, input.contact_id, input.points, workspaceId, input.points],
  );
  await tx('loyalty_members').where({ workspace_id: workspaceId, program, contact_id: input.contact_id }).update({ balance: balance - input.points });
  return { repeat: false, redemption: { id, program, contact_id: input.contact_id, points: input.points, balance: balance - input.points, created_at: now.toISOString() } };
}

/**
 * Unspent points of lots whose time is up leave the balance, as `expire` ledger entries dated when they expired.
 * Without a member filter: every workspace, a page at a time (the timer sweep).
 */
export async function expireLots(tx: Tx, now: Date, member?: { workspaceId: string; program: string; contactId: string }): Promise<number> {
  const filter = member ? 'AND workspace_id = ? AND program = ? AND contact_id = ?' : '';
  const args = member ? [member.workspaceId, member.program, member.contactId] : [];
  const { rows } = await tx.raw(
    `WITH due AS (
       SELECT workspace_id, id, program, contact_id, remaining, expires_at FROM loyalty_ledger
        WHERE kind = 'earn' AND remaining > 0 AND expires_at <= ? ${filter} ORDER BY expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED),
     spent AS (UPDATE loyalty_ledger l SET remaining = 0 FROM due WHERE l.workspace_id = due.workspace_id AND l.id = due.id),
     logged AS (INSERT INTO loyalty_ledger (workspace_id, id, program, contact_id, kind, points, remaining, created_at)
                SELECT workspace_id, gen_random_uuid(), program, contact_id, 'expire', -remaining, 0, expires_at FROM due),
     members AS (UPDATE loyalty_members m SET balance = m.balance - s.n
                   FROM (SELECT workspace_id, program, contact_id, sum(remaining) AS n FROM due GROUP BY 1, 2, 3) s
                  WHERE m.workspace_id = s.workspace_id AND m.program = s.program AND m.contact_id = s.contact_id)
     SELECT count(*)::int AS n FROM due`,
    [now, ...args],
  );
  return rows[0].n as number;
}

export async function nextLotExpiry(tx: Tx | Db, limit: Date): Promise<Date | null> {
  const { rows } = await tx.raw(`SELECT min(expires_at) AS t FROM loyalty_ledger WHERE kind = 'earn' AND remaining > 0 AND expires_at <= ?`, [limit]);
  return (rows[0].t as Date | null) ?? null;
}

/** `{ balance, tier }` (and points earned) of a contact in a program; expired-but-unswept points are left out. */
export async function loyaltyStatus(db: Db, workspaceId: string, program: string, contactId: string, now: Date): Promise<{ program: string; contact_id: string; balance: number; tier: string | null; earned: number }> {
  const { rows } = await db.raw(
    `SELECT m.balance - coalesce((SELECT sum(remaining) FROM loyalty_ledger l WHERE l.workspace_id = m.workspace_id AND l.program = m.program
              AND l.contact_id = m.contact_id AND l.kind = 'earn' AND l.remaining > 0 AND l.expires_at <= ?), 0) AS balance, m.tier, m.earned
       FROM loyalty_members m WHERE m.workspace_id = ? AND m.program = ? AND m.contact_id = ?`,
    [now, workspaceId, program, contactId],
  );
  const r = rows[0] as { balance: string; tier: string | null; earned: string } | undefined;
  return { program, contact_id: contactId, balance: Number(r?.balance ?? 0), tier: r?.tier ?? null, earned: Number(r?.earned ?? 0) };
}

async function earnedWithin(tx: Tx, workspaceId: string, p: LoyaltyProgram, contactId: string, now: Date): Promise<number> {
  const since = new Date(now.getTime() - (addDuration(p.tier_window, new Date(0))?.getTime() ?? 0));
  const { rows } = await tx.raw(
    `SELECT coalesce(sum(points), 0) AS n FROM loyalty_ledger WHERE workspace_id = ? AND program = ? AND contact_id = ? AND kind = 'earn' AND created_at > ?`,
    [workspaceId, p.key, contactId, since],
  );
  return Number(rows[0].n);
}

/**
 * Rolling-window tiers fall as earned points leave the window: members of programs with `tier_window` whose tier
 * no longer holds move down, one `loyalty.tier_changed` each. Returns the changes to record, by workspace.
 */
export async function recheckWindowTiers(tx: Tx, now: Date): Promise<Map<string, ProgramEvent[]>> {
  const out = new Map<string, ProgramEvent[]>();
  const { rows: programs } = await tx.raw(`SELECT workspace_id, config FROM loyalty_programs WHERE config->'tier_window' IS NOT NULL`);
  for (const { workspace_id: ws, config } of programs as { workspace_id: string; config: LoyaltyProgram }[]) {
    const since = new Date(now.getTime() - (addDuration(config.tier_window, new Date(0))?.getTime() ?? 0));
    const { rows } = await tx.raw(
      `SELECT m.contact_id, m.tier, coalesce((SELECT sum(points) FROM loyalty_ledger l WHERE l.workspace_id = m.workspace_id AND l.program = m.program
              AND l.contact_id = m.contact_id AND l.kind = 'earn' AND l.created_at > ?), 0) AS basis
         FROM loyalty_members m WHERE m.workspace_id = ? AND m.program = ? AND m.tier IS NOT NULL FOR UPDATE OF m`,
      [since, ws, config.key],
    );
    for (const r of rows as { contact_id: string; tier: string; basis: string }[]) {
      const tier = tierFor(config, Number(r.basis));
      if (tier === r.tier) continue;
      await tx('loyalty_members').where({ workspace_id: ws, program: config.key, contact_id: r.contact_id }).update({ tier });
      out.set(ws, [...(out.get(ws) ?? []), {
        contactId: r.contact_id, type: 'loyalty.tier_changed', key: `loyalty.tier_changed:${config.key}:${r.contact_id}:${now.toISOString()}`,
        properties: { program: config.key, from: r.tier, to: tier, earned: Number(r.basis) },
      }]);
    }
  }
  return out;
}
