import { randomInt } from 'node:crypto';
import type { Db, Tx } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { parseDuration } from '../time/duration.ts';
import type { Json } from '../contracts/flow.ts';
import { registerErasureStep } from './erasure.ts';
import type { IngestedEvent } from './event-hooks.ts';
import type { ProgramEvent } from './program-events.ts';

/** A referral program as `POST /v1/referral-programs` takes it (CONTRACT.md §Referral programs). */
export interface ReferralProgram {
  key: string;
  qualifying_event: string;
  min_amount?: number;
  referrer_reward: Json;
  referee_reward: Json;
  review_period?: string;
  void_event?: string;
  max_rewards_per_referrer?: number;
  cap_period?: string;
}

export type RefusalReason = 'self_referral' | 'self_referral_email' | 'returning_customer' | 'already_attributed' | 'over_cap';

export interface RewardRow {
  id: string;
  program: string;
  contact_id: string;
  role: 'referrer' | 'referee';
  status: 'pending' | 'granted' | 'voided' | 'refused';
  reason: string | null;
  reward: Json;
  referee_id: string | null;
  referrer_id: string | null;
  event_id: string | null;
  due_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const rewardJson = (r: RewardRow) => ({
  id: r.id, program: r.program, contact_id: r.contact_id, role: r.role, status: r.status, ...(r.reason ? { reason: r.reason } : {}),
  reward: r.reward, referee_id: r.referee_id, referrer_id: r.referrer_id, event_id: r.event_id,
  review_ends_at: r.due_at?.toISOString() ?? null, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString(),
});

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I
const newCode = () => Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

/** The contact's code in the program, created on first ask (unique in the workspace; retried on the rare clash). */
export async function referralCode(tx: Tx, workspaceId: string, program: string, contactId: string, now: Date): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const existing = await tx('referral_codes').where({ workspace_id: workspaceId, program, contact_id: contactId }).first<{ code: string }>('code');
    if (existing) return existing.code;
    const inserted = await tx.raw(
      `INSERT INTO referral_codes (workspace_id, program, contact_id, code, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING code`,
      [workspaceId, program, contactId, newCode(), now],
    );
    if (inserted.rows.length) return inserted.rows[0].code as string;
    if (attempt > 5) throw new Error('could not allocate a unique referral code');
  }
}

/** Same mailbox: case, `+tags`, and Gmail's ignored dots do not make another person. */
export function normalizeEmail(email: string | null): string | null {
  if (!email) return null;
  const at = email.lastIndexOf('@');
  if (at < 1) return email.toLowerCase();
  let local = email.slice(0, at).toLowerCase().split('+')[0]!;
  let domain = email.slice(at + 1).toLowerCase();
  if (domain === 'googlemail.com') domain = 'gmail.com';
  if (domain === 'gmail.com') local = local.replace(/\./g, '');
  return `${local}@${domain}`;
}

const durationMs = (iso: string | undefined) => {
  const d = iso ? parseDuration(iso) : null;
  return d ? d.addTo(new Date(0)).getTime() : null;
};

interface Ctx { tx: Tx; workspaceId: string; now: Date; out: ProgramEvent[] }

/**
 * The referral side of ingestion, in event order, inside the ingestion transaction (the events' contacts are locked,
 * so one referee's events are handled one at a time even when sent concurrently): attribution by
 * `properties.referral_code`, rewards on the referee's first qualifying event, voiding inside the review period.
 */
export async function processReferralEvents(tx: Tx, workspaceId: string, programs: ReferralProgram[], events: IngestedEvent[], now: Date): Promise<ProgramEvent[]> {
  const c: Ctx = { tx, workspaceId, now, out: [] };
  const qualifying = new Set(programs.map((p) => p.qualifying_event));
  const voiding = new Set(programs.map((p) => p.void_event).filter((t): t is string => !!t));
  const given = await codesGiven(tx, workspaceId, events);
  const relevant = events.filter((e) => given.has(e.id) || qualifying.has(e.type) || voiding.has(e.type));
  if (relevant.length === 0) return [];
  const codes = [...new Set(given.values())];
  const owners = codes.length
    ? new Map(((await tx.raw(`SELECT code, program, contact_id FROM referral_codes WHERE workspace_id = ? AND code = ANY(?::text[])`, [workspaceId, codes])).rows as { code: string; program: string; contact_id: string }[]).map((r) => [r.code, r]))
    : new Map<string, { code: string; program: string; contact_id: string }>();
  const byKey = new Map(programs.map((p) => [p.key, p]));
  for (const ev of relevant) {
    const text = given.get(ev.id);
    const code = text === undefined ? undefined : owners.get(text);
    const program = code ? byKey.get(code.program) : undefined;
    if (code && program) await attribute(c, program, ev, code.contact_id, code.code);
    for (const p of programs) {
      if (p.void_event === ev.type) await voidPending(c, p, ev);
      if (p.qualifying_event === ev.type) await qualify(c, p, ev);
    }
  }
  return c.out;
}

/**
 * The referral code each event carries: its `properties.referral_code`, or, for the event that created its contact
 * (the contact's first event), the contact's `properties.referral_code` sent with it.
 */
async function codesGiven(tx: Tx, workspaceId: string, events: IngestedEvent[]): Promise<Map<string, string>> {
  const given = new Map<string, string>();
  for (const e of events) if (typeof e.properties.referral_code === 'string') given.set(e.id, e.properties.referral_code);
  const rest = events.filter((e) => !given.has(e.id));
  if (rest.length === 0) return given;
  const { rows } = await tx.raw(
    `SELECT c.id, c.properties->>'referral_code' AS code, (SELECT min(seq) FROM events x WHERE x.workspace_id = c.workspace_id AND x.contact_id = c.id) AS first_seq
       FROM contacts c WHERE c.workspace_id = ? AND c.id = ANY(?::uuid[]) AND jsonb_typeof(c.properties->'referral_code') = 'string'`,
    [workspaceId, [...new Set(rest.map((e) => e.contactId))]],
  );
  const byContact = new Map((rows as { id: string; code: string; first_seq: string }[]).map((r) => [r.id, r]));
  for (const e of rest) {
    const c = byContact.get(e.contactId);
    if (c && Number(c.first_seq) === e.seq) given.set(e.id, c.code);
  }
  return given;
}

async function refuse(c: Ctx, p: ReferralProgram, r: { contactId: string; role: 'referrer' | 'referee'; reason: RefusalReason; refereeId: string; referrerId: string; eventId: string }): Promise<void> {
  await c.tx('rewards').insert({
    workspace_id: c.workspaceId, id: newId(c.now.getTime()), program: p.key, contact_id: r.contactId, role: r.role, status: 'refused', reason: r.reason,
    reward: null, referee_id: r.refereeId, referrer_id: r.referrerId, event_id: r.eventId, created_at: c.now, updated_at: c.now,
  });
}

async function attribute(c: Ctx, p: ReferralProgram, ev: IngestedEvent, referrerId: string, code: string): Promise<void> {
  const refereeId = ev.contactId;
  const base = { contactId: refereeId, role: 'referee' as const, refereeId, referrerId, eventId: ev.id };
  if (referrerId === refereeId) return refuse(c, p, { ...base, reason: 'self_referral' });
  const people = await c.tx('contacts').where({ workspace_id: c.workspaceId }).whereIn('id', [refereeId, referrerId]).select<{ id: string; email: string | null }[]>('id', 'email');
  const email = (id: string) => normalizeEmail(people.find((x) => x.id === id)?.email ?? null);
  if (email(refereeId) !== null && email(refereeId) === email(referrerId)) return refuse(c, p, { ...base, reason: 'self_referral_email' });
  const prior = await c.tx('referral_attributions').where({ workspace_id: c.workspaceId, program: p.key, referee_id: refereeId }).first<{ referrer_id: string }>('referrer_id');
  if (prior) {
    if (prior.referrer_id !== referrerId) await refuse(c, p, { ...base, reason: 'already_attributed' });
    return;
  }
  // Only a contact the event created is a new customer (CONTRACT.md): one with earlier events is returning.
  const earlier = await c.tx.raw(`SELECT 1 FROM events WHERE workspace_id = ? AND contact_id = ? AND seq < ? LIMIT 1`, [c.workspaceId, refereeId, ev.seq]);
  if (earlier.rows.length) return refuse(c, p, { ...base, reason: 'returning_customer' });
  await c.tx('referral_attributions').insert({ workspace_id: c.workspaceId, program: p.key, referee_id: refereeId, referrer_id: referrerId, code, created_at: c.now });
}

async function qualify(c: Ctx, p: ReferralProgram, ev: IngestedEvent): Promise<void> {
  const amount = ev.properties.amount;
  if (p.min_amount !== undefined && !(typeof amount === 'number' && amount >= p.min_amount)) return;
  const att = await c.tx('referral_attributions').where({ workspace_id: c.workspaceId, program: p.key, referee_id: ev.contactId })
    .whereNull('rewarded_at').forUpdate().first<{ referrer_id: string }>('referrer_id');
  if (!att) return;
  const referrerId = att.referrer_id;
  // The referrer's code row serialises rewards of one referrer, so the cap holds under concurrent referees.
  await c.tx.raw(`SELECT 1 FROM referral_codes WHERE workspace_id = ? AND program = ? AND contact_id = ? FOR UPDATE`, [c.workspaceId, p.key, referrerId]);
  let overCap = false;
  if (p.max_rewards_per_referrer !== undefined) {
    const window = durationMs(p.cap_period);
    const { rows } = await c.tx.raw(
      `SELECT count(*)::int AS n FROM rewards WHERE workspace_id = ? AND program = ? AND referrer_id = ? AND role = 'referrer'
          AND status IN ('pending', 'granted') AND (?::timestamptz IS NULL OR created_at > ?::timestamptz)`,
      [c.workspaceId, p.key, referrerId, window === null ? null : new Date(c.now.getTime() - window), window === null ? null : new Date(c.now.getTime() - window)],
    );
    overCap = (rows[0].n as number) >= p.max_rewards_per_referrer;
  }
  const review = durationMs(p.review_period);
  const status = review ? 'pending' : 'granted';
  const dueAt = review ? new Date(c.now.getTime() + review) : null;
  const rewards: RewardRow[] = [];
  for (const [role, contactId, reward] of [['referee', ev.contactId, p.referee_reward], ['referrer', referrerId, p.referrer_reward]] as const) {
    if (role === 'referrer' && overCap) {
      await refuse(c, p, { contactId, role, reason: 'over_cap', refereeId: ev.contactId, referrerId, eventId: ev.id });
      continue;
    }
    const [row] = await c.tx('rewards').insert({
      workspace_id: c.workspaceId, id: newId(c.now.getTime()), program: p.key, contact_id: contactId, role, status, reason: null,
      reward: JSON.stringify(reward), referee_id: ev.contactId, referrer_id: referrerId, event_id: ev.id, due_at: dueAt, created_at: c.now, updated_at: c.now,
    }).returning<RewardRow[]>('*');
    rewards.push(row!);
  }
  await c.tx('referral_attributions').where({ workspace_id: c.workspaceId, program: p.key, referee_id: ev.contactId }).update({ rewarded_at: c.now });
  if (status === 'granted') c.out.push(...rewards.map(grantedEvent));
}

async function voidPending(c: Ctx, p: ReferralProgram, ev: IngestedEvent): Promise<void> {
  await c.tx.raw(
    `UPDATE rewards SET status = 'voided', reason = ?, updated_at = ? WHERE workspace_id = ? AND program = ? AND referee_id = ?
        AND status = 'pending' AND due_at > ?`,
    [`void_event:${ev.type}`, c.now, c.workspaceId, p.key, ev.contactId, c.now],
  );
}

export function grantedEvent(r: RewardRow): ProgramEvent {
  return {
    contactId: r.contact_id, type: 'reward.granted', key: `reward.granted:${r.id}`,
    properties: { reward_id: r.id, program: r.program, role: r.role, reward: r.reward, referee_id: r.referee_id, referrer_id: r.referrer_id },
  };
}

/** Pending rewards whose review period has ended become granted (oldest first, a page at a time); returns them. */
export async function grantDueRewards(tx: Tx, now: Date): Promise<(RewardRow & { workspace_id: string })[]> {
  const { rows } = await tx.raw(
    `WITH due AS (SELECT workspace_id, id FROM rewards WHERE status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT 500 FOR UPDATE SKIP LOCKED)
     UPDATE rewards r SET status = 'granted', updated_at = r.due_at FROM due WHERE r.workspace_id = due.workspace_id AND r.id = due.id RETURNING r.*`,
    [now],
  );
  return rows as (RewardRow & { workspace_id: string })[];
}

export async function nextRewardDue(tx: Tx | Db, limit: Date): Promise<Date | null> {
  const { rows } = await tx.raw(`SELECT min(due_at) AS t FROM rewards WHERE status = 'pending' AND due_at <= ?`, [limit]);
  return (rows[0].t as Date | null) ?? null;
}

// An erased contact's referral codes stop working (the rewards ledger keeps its rows: they hold no personal data).
registerErasureStep(async (tx, workspaceId, contactId) => {
  await tx('referral_codes').where({ workspace_id: workspaceId, contact_id: contactId }).delete();
});
