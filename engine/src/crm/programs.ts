import type { Clock } from '../time/clock.ts';
import { isManual } from '../time/clock.ts';
import { withTx, type Db, type Tx } from '../db/index.ts';
import type { IngestedEvent } from './event-hooks.ts';
import type { IngestConfig, ProgramRow } from './ingest-config.ts';
import { expireLots, earnPoints, nextLotExpiry, recheckWindowTiers, type LoyaltyProgram } from './loyalty.ts';
import type { ProgramEvent } from './program-events.ts';
import { grantDueRewards, grantedEvent, nextRewardDue, processReferralEvents, type ReferralProgram } from './referrals.ts';
import { compileScoring, decayScores, scoreEvents, type CompiledScoring, type ScoringModel } from './scoring.ts';

/** Records program events for contacts (through ingestion, so flows can trigger on them) in the caller's transaction. */
export type RecordProgramEvents = (tx: Tx, workspaceId: string, events: ProgramEvent[]) => Promise<void>;

export interface Programs {
  /** Ingestion side: scoring, referral attribution/rewards and loyalty earning for just-written events. */
  onEvents(tx: Tx, workspaceId: string, events: IngestedEvent[], config: IngestConfig): Promise<ProgramEvent[]>;
  /** Time side: grants rewards whose review ended, expires points, decays scores; returns how many events it recorded. */
  fireDue(now: Date): Promise<number>;
  /** The earliest reward grant or points expiry at or before `limit` (the test clock stops there on its way). */
  nextDue(limit: Date): Promise<Date | null>;
}

interface Loaded { scoring: CompiledScoring | null; referrals: ReferralProgram[]; loyalty: LoyaltyProgram[] }

/** How stale a decayed score may get under the system clock (the sweep runs at most this often per contact). */
const DECAY_EVERY_MS = 15 * 60_000;

/**
 * Lifecycle programs (lead scoring, referral programs, loyalty) on the engine's two paths: ingestion (the workspace's
 * programs come with the ingestion's one configuration read, crm/ingest-config.ts; nothing more happens for events no
 * program reads)
 * and time (the timer poller, or the test clock on its way).
 */
export function createPrograms(deps: {
  db: Db; clock: Clock; record: RecordProgramEvents;
  /** Score decay changed these contacts' scores (their rows locked by `tx`): segments re-evaluate them. */
  scoresChanged?: (tx: Tx, workspaceId: string, contactIds: string[], now: Date) => Promise<void>;
}): Programs {
  const compiled = new Map<string, CompiledScoring>();
  const compiledScoring = (model: ScoringModel): CompiledScoring => {
    const key = JSON.stringify(model);
    let c = compiled.get(key);
    if (!c) {
      if (compiled.size > 500) compiled.clear();
      c = compileScoring(model);
      compiled.set(key, c);
    }
    return c;
  };

  const fromRows = (rows: ProgramRow[]): Loaded => {
    const loaded: Loaded = { scoring: null, referrals: [], loyalty: [] };
    for (const r of rows) {
      if (r.kind === 'scoring') loaded.scoring = compiledScoring(r.config as ScoringModel);
      else if (r.kind === 'referral') loaded.referrals.push(r.config as ReferralProgram);
      else loaded.loyalty.push(r.config as LoyaltyProgram);
    }
    return loaded;
  };

  let lastDecay = 0;
  const decayAll = async (now: Date): Promise<number> => {
    const manual = isManual(deps.clock);
    if (!manual && Date.now() - lastDecay < DECAY_EVERY_MS / 4) return 0;
    lastDecay = Date.now();
    const { rows } = await deps.db.raw(`SELECT workspace_id, model FROM scoring_models WHERE model->'decay' IS NOT NULL`);
    let n = 0;
    for (const r of rows as { workspace_id: string; model: ScoringModel }[]) {
      n += await decayScores(
        deps.db, r.workspace_id, compiledScoring(r.model), now, manual ? 0 : DECAY_EVERY_MS, (tx, events) => deps.record(tx, r.workspace_id, events),
        deps.scoresChanged ? (tx, ids) => deps.scoresChanged!(tx, r.workspace_id, ids, now) : undefined,
      );
    }
    return n;
  };

  let lastTiers = 0;
  const recheckTiers = async (now: Date): Promise<number> => {
    if (!isManual(deps.clock) && Date.now() - lastTiers < DECAY_EVERY_MS) return 0;
    lastTiers = Date.now();
    return withTx(deps.db, async (tx) => {
      let n = 0;
      for (const [ws, events] of await recheckWindowTiers(tx, now)) {
        await deps.record(tx, ws, events);
        n += events.length;
      }
      return n;
    });
  };

  return {
    async onEvents(tx, workspaceId, events, config) {
      const p = fromRows(config.programs);
      if (!p.scoring && p.referrals.length === 0 && p.loyalty.length === 0) return [];
      const now = deps.clock.now();
      const out: ProgramEvent[] = [];
      if (p.scoring) out.push(...(await scoreEvents(tx, workspaceId, p.scoring, events, now)));
      if (p.referrals.length) out.push(...(await processReferralEvents(tx, workspaceId, p.referrals, events, now)));
      if (p.loyalty.length) out.push(...(await earnPoints(tx, workspaceId, p.loyalty, events, now)));
      return out;
    },

    async fireDue(now) {
      let recorded = 0;
      for (;;) {
        const granted = await withTx(deps.db, async (tx) => {
          const rows = await grantDueRewards(tx, now);
          const byWorkspace = new Map<string, ProgramEvent[]>();
          for (const r of rows) byWorkspace.set(r.workspace_id, [...(byWorkspace.get(r.workspace_id) ?? []), grantedEvent(r)]);
          for (const [ws, events] of byWorkspace) await deps.record(tx, ws, events);
          return rows.length;
        });
        recorded += granted;
        if (granted < 500) break;
      }
      while ((await withTx(deps.db, (tx) => expireLots(tx, now))) >= 1000);
      recorded += await decayAll(now);
      recorded += await recheckTiers(now);
      return recorded;
    },

    async nextDue(limit) {
      const [a, b] = await Promise.all([nextRewardDue(deps.db, limit), nextLotExpiry(deps.db, limit)]);
      const times = [a, b].filter((t): t is Date => t !== null).map((t) => t.getTime());
      return times.length ? new Date(Math.min(...times)) : null;
    },
  };
}
