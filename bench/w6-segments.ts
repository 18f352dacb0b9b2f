import { randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { createSegmentMaintainer } from '../engine/src/crm/segments/membership.ts';
import { backendCpuSampler, cpuSeconds, freshDatabase, machine, median, postEvents, startEngine, testClock, tableBytes, workspaceWithKey } from './lib.ts';

/**
 * W6 of BENCHMARKS.md: segments at scale. Contacts and a year of purchase/visit events are generated in SQL (the
 * behavioural attributes aggregated from those events by SQL, not by ingestion), 20 segments are stored and evaluated
 * once over everyone, then the engine is measured over HTTP. `--scale` sets the contact count (full: 1,000,000).
 */
const PLANS = ['free', 'starter', 'pro', 'enterprise'];
const COUNTRIES = ['US', 'FR', 'DE', 'GB'];
const TAGS = ['vip', 'beta', 'newsletter'];
const RFM_GROUPS = ['champions', 'loyal', 'at_risk', 'one_time_shoppers'];
/** Tables a per-event or per-change statement must reach by index only (their seq_scan counters must not move). */
const BIG_TABLES = ['contacts', 'events', 'contact_activity', 'contact_activity_days', 'segment_members', 'segment_wakeups', 'contact_rfm', 'contact_churn'];

/** 20 segments, each with an independent SQL definition for the check (`c` = contacts, `$ws`, `$now`). */
export function segments(): { key: string; rule: unknown; sql: string }[] {
  const orders = (within: string) => ({ fact: 'activity', params: { event: 'order.completed', measure: 'count', within }, operator: 'greaterThanInclusive' });
  const out: { key: string; rule: unknown; sql: string }[] = [];
  for (const p of PLANS) out.push({ key: `plan-${p}`, rule: { all: [{ fact: 'contact', path: '$.properties.plan', operator: 'equal', value: p }] }, sql: `c.properties->>'plan' = '${p}'` });
  for (const k of COUNTRIES) out.push({ key: `country-${k}`, rule: { all: [{ fact: 'contact', path: '$.properties.country', operator: 'equal', value: k }] }, sql: `c.properties->>'country' = '${k}'` });
  for (const t of TAGS) out.push({ key: `tag-${t}`, rule: { all: [{ fact: 'contact', operator: 'hasTag', value: t }] }, sql: `'${t}' = ANY(c.tags)` });
  for (const n of [1, 2, 3]) {
    out.push({
      key: `orders-${n}-in-90d`, rule: { all: [{ ...orders('P90D'), value: n }] },
      // Set-based (one aggregate), not a subquery per contact: that one may be planned over the KPI index of order
      // days, a range of the whole window per contact.
      sql: `c.id IN (SELECT d.contact_id FROM contact_activity_days d WHERE d.workspace_id = $ws AND d.event_type = 'order.completed'
              AND d.day >= (($now::timestamptz - interval '90 days') AT TIME ZONE 'UTC')::date GROUP BY d.contact_id HAVING sum(d.count) >= ${n})`,
    });
  }
  for (const d of [30, 60]) {
    out.push({
      key: `no-order-${d}d`,
      rule: { all: [
        { fact: 'activity', params: { event: 'order.completed', measure: 'count' }, operator: 'greaterThan', value: 0 },
        { fact: 'activity', params: { event: 'order.completed', measure: 'last_at' }, operator: 'notWithinLast', value: `P${d}D` },
      ] },
      sql: `EXISTS (SELECT 1 FROM contact_activity a WHERE a.workspace_id = c.workspace_id AND a.contact_id = c.id AND a.event_type = 'order.completed'
                    AND a.last_at < $now::timestamptz - interval '${d} days')`,
    });
  }
  for (const g of RFM_GROUPS) {
    out.push({
      key: `rfm-${g}`, rule: { all: [{ fact: 'contact', path: '$.rfm.group', operator: 'equal', value: g }] },
      sql: `EXISTS (SELECT 1 FROM contact_rfm x WHERE x.workspace_id = c.workspace_id AND x.contact_id = c.id AND x.rfm_group = '${g}')`,
    });
  }
  return out;
}

function longPost(url: string, key: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, timeout: 0 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 10) / 10;
};

const progress = (what: string) => process.stderr.write(`w6: ${what}\n`);

export async function runW6(opts: { scale?: number } = {}): Promise<Record<string, unknown>> {
  const n = opts.scale ?? 100_000;
  const loadStart = Math.round(os.loadavg()[0]! * 100) / 100;
  const database = await freshDatabase();
  const { db } = database;
  const { workspaceId, key } = await workspaceWithKey(db);
  const engine = await startEngine(database.url, { CAIRN_CLOCK: 'manual' });
  const tag = randomBytes(3).toString('hex');
  try {
    const now = await testClock(engine.url, key);
    // Contacts, then a year of events: 0–8 orders (amount 5–200) and 0–20 visits per contact.
    const t0 = Date.now();
    await db.raw(
      `INSERT INTO contacts (id, workspace_id, email, properties, tags, created_at, updated_at)
       SELECT gen_random_uuid(), ?, 'w6-' || ? || '-' || i || '@example.com',
              jsonb_build_object('plan', (ARRAY['free','starter','pro','enterprise'])[1 + i % 4], 'country', (ARRAY['US','FR','DE','GB'])[1 + (i / 4) % 4]),
              CASE WHEN i % 20 = 0 THEN ARRAY['vip'] WHEN i % 7 = 0 THEN ARRAY['beta','newsletter'] ELSE '{}'::text[] END, ?, ?
         FROM generate_series(1, ?) AS i`,
      [workspaceId, tag, now, now, n],
    );
    await db.raw(
      `INSERT INTO events (id, workspace_id, contact_id, type, properties, occurred_at, received_at, source)
       SELECT gen_random_uuid(), c.workspace_id, c.id, e.type, e.props, ?::timestamptz - (random() * 365 * interval '1 day'), ?, 'bench'
         FROM contacts c
         CROSS JOIN LATERAL (
           SELECT 'order.completed' AS type, jsonb_build_object('amount', 5 * (1 + floor(random() * 40))) AS props FROM generate_series(1, floor(random() * 9)::int)
           UNION ALL
           SELECT 'page.viewed', '{}'::jsonb FROM generate_series(1, floor(random() * 21)::int)
         ) e
        WHERE c.workspace_id = ?`,
      [now, now, workspaceId],
    );
    await db.raw(
      `INSERT INTO contact_activity (workspace_id, contact_id, event_type, count, sum, first_at, last_at)
       SELECT workspace_id, contact_id, type, count(*), coalesce(sum((properties->>'amount')::float8), 0), min(occurred_at), max(occurred_at)
         FROM events WHERE workspace_id = ? GROUP BY workspace_id, contact_id, type`,
      [workspaceId],
    );
    // The generated types are kept from now on, as if segments and churn risk ('*': every type) had named them before
    // the year of events: the timed recompute is the steady state, not the one-time backfill of a first reader.
    await db.raw(`INSERT INTO activity_types (workspace_id, event_type) SELECT DISTINCT workspace_id, event_type FROM contact_activity WHERE workspace_id = ?`, [workspaceId]);
    await db.raw(`INSERT INTO activity_types (workspace_id, event_type) VALUES (?, '*') ON CONFLICT DO NOTHING`, [workspaceId]);
    await db.raw(
      `INSERT INTO contact_activity_days (workspace_id, contact_id, event_type, day, count, sum)
       SELECT workspace_id, contact_id, type, (occurred_at AT TIME ZONE 'UTC')::date, count(*), coalesce(sum((properties->>'amount')::float8), 0)
         FROM events WHERE workspace_id = ? GROUP BY 1, 2, 3, 4`,
      [workspaceId],
    );
    await db.raw('ANALYZE');
    progress('generated');
    const eventsGenerated = Number((await db.raw(`SELECT count(*) AS n FROM events WHERE workspace_id = ?`, [workspaceId])).rows[0].n);
    const generateS = (Date.now() - t0) / 1000;

    // Ingestion: order and visit events on existing contacts, 4 clients posting batches of 250. "Off" = the workspace
    // has no segment (attributes are still kept); phases run off, on, then again off and on after the check.
    let offset = 0;
    const ingest = async (count: number, label: string) => {
      let next = 0;
      const t = Date.now();
      const client = async () => {
        while (next < count) {
          const from = next;
          next += 250;
          const events = Array.from({ length: Math.min(250, count - from) }, (_, k) => {
            const i = offset + from + k;
            return { type: i % 3 === 0 ? 'order.completed' : 'page.viewed', contact: { email: `w6-${tag}-${1 + ((i * 7919) % n)}@example.com` }, properties: { amount: 10 + (i % 50) } };
          });
          const r = await postEvents(engine.url, key, { events });
          if (r.status !== 202) throw new Error(`${label}: ${r.status}`);
        }
      };
      await Promise.all(Array.from({ length: 4 }, client));
      offset += count;
      return Math.round(count / ((Date.now() - t) / 1000));
    };
    const perPhase = Math.min(20_000, n);
    const offPerS = [await ingest(perPhase, 'ingest off')];
    progress(`ingest off ${offPerS[0]}/s`);

    // RFM over every customer (a second run once segments read it: same statement).
    let t = Date.now();
    const rfm = await longPost(`${engine.url}/v1/scores/recompute`, key, {});
    if (rfm.status !== 200) throw new Error(`recompute: ${rfm.status} ${rfm.body}`);
    const rfmS = (Date.now() - t) / 1000;
    progress(`rfm ${rfmS} s`);

    // 20 segments stored at once, then evaluated over everyone in one pass (what POST /v1/segments does per segment).
    const defs = segments();
    await db('segments').insert(defs.map((d, i) => ({
      workspace_id: workspaceId, id: gen(i), key: d.key, name: d.key, rule: JSON.stringify(d.rule), created_at: now, updated_at: now,
    })));
    t = Date.now();
    await createSegmentMaintainer({ clock: { now: () => now } }).rebuild(db, workspaceId, () => now);
    const rebuildS = (Date.now() - t) / 1000;
    progress(`rebuild ${rebuildS} s`);

    const onPerS = [await ingest(perPhase, 'ingest on')];
    progress(`ingest on ${onPerS[0]}/s`);
    const seqScans = async () => {
      await new Promise((r) => setTimeout(r, 1500)); // other backends flush their statistics at most once a second
      const { rows } = await db.raw(`SELECT relname, seq_scan::int AS n FROM pg_stat_user_tables WHERE relname = ANY(?::text[])`, [BIG_TABLES]);
      return new Map((rows as { relname: string; n: number }[]).map((r) => [r.relname, r.n]));
    };
    const scansBefore = await seqScans();

    // Event → segment.entered: the transition is committed with the event, so it is the request's own latency.
    const latencies: number[] = [];
    for (let i = 0; i < 300; i++) {
      const email = `w6-${tag}-${1 + ((i * 104_729) % n)}@example.com`;
      const plan = i % 2 === 0 ? 'enterprise' : 'free';
      const s = performance.now();
      const r = await postEvents(engine.url, key, { type: 'plan.changed', contact: { email, properties: { plan } } }, true);
      latencies.push(performance.now() - s);
      if (r.status !== 202) throw new Error(`latency: ${r.status}`);
    }

    progress(`latency p50 ${pct(latencies, 0.5)} p99 ${pct(latencies, 0.99)} ms`);
    // One contact change: PATCH latency (evaluates all 20 segments for that contact only).
    const someone = (await db.raw(`SELECT id FROM contacts WHERE workspace_id = ? ORDER BY id LIMIT 1 OFFSET ?`, [workspaceId, Math.floor(n / 2)])).rows[0].id;
    const patchMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const s = performance.now();
      await fetch(`${engine.url}/v1/contacts/${someone}`, {
        method: 'PATCH', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { plan: PLANS[i % 4] } }),
      });
      patchMs.push(performance.now() - s);
    }

    const scansAfter = await seqScans();
    const seqScansPerChange = Object.fromEntries(BIG_TABLES.map((t) => [t, (scansAfter.get(t) ?? 0) - (scansBefore.get(t) ?? 0)]));
    progress('patch');
    // Member count as GET /v1/segments/{key} computes it.
    const countMs: number[] = [];
    const segId = (await db('segments').where({ workspace_id: workspaceId, key: 'plan-pro' }).first('id')).id;
    for (let i = 0; i < 50; i++) {
      const s = performance.now();
      await db.raw(`SELECT sum(entered - exited)::int AS n FROM segment_daily WHERE workspace_id = ? AND segment_id = ?`, [workspaceId, segId]);
      countMs.push(performance.now() - s);
    }
    // The same query's buffers (8 KB pages) and rows read: the load-independent side of its latency.
    const countPlan = (await db.raw(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT sum(entered - exited)::int AS n FROM segment_daily WHERE workspace_id = ? AND segment_id = ?`, [workspaceId, segId],
    )).rows[0]['QUERY PLAN'][0].Plan as { 'Shared Hit Blocks': number; 'Shared Read Blocks': number; Plans?: { 'Actual Rows': number }[] };
    const memberCountCost = { buffers: countPlan['Shared Hit Blocks'] + countPlan['Shared Read Blocks'], counter_rows: countPlan.Plans?.[0]?.['Actual Rows'] ?? null };

    // Time: the test clock moves 31 days; every "no order in N days" flip happens on the way, each contact evaluated at its
    // own due time (batches of 1,000 wake-ups between other timers).
    let timeTransitions: Record<string, unknown> = {};
    {
      const before = Number((await db.raw(`SELECT count(*) AS n FROM events WHERE workspace_id = ? AND type LIKE 'segment.%'`, [workspaceId])).rows[0].n);
      t = Date.now();
      const adv = await longPost(`${engine.url}/v1/_test/clock/advance`, key, { by: 'P31D' });
      if (adv.status !== 200) throw new Error(`advance: ${adv.status} ${adv.body}`);
      const advanceS = (Date.now() - t) / 1000;
      progress(`advance ${advanceS} s`);
      const after = Number((await db.raw(`SELECT count(*) AS n FROM events WHERE workspace_id = ? AND type LIKE 'segment.%'`, [workspaceId])).rows[0].n);
      timeTransitions = { advanced: 'P31D', transitions: after - before, seconds: Math.round(advanceS * 10) / 10, per_s: Math.round((after - before) / advanceS) };
    }
    // Scores again a month later: recency moved for everyone; the RFM segments re-evaluate the contacts whose scores changed.
    t = Date.now();
    const again = await longPost(`${engine.url}/v1/scores/recompute`, key, {});
    if (again.status !== 200) throw new Error(`recompute: ${again.status} ${again.body}`);
    const rfmAgainS = (Date.now() - t) / 1000;
    progress(`rfm again ${rfmAgainS} s`);
    const clockNow = (await testClock(engine.url, key)).toISOString();

    // Check: membership equals an independent SQL evaluation of every rule (at the clock's time).
    const mismatches: Record<string, number> = {};
    for (const d of defs) {
      const sql = d.sql.replaceAll('$now', `'${clockNow}'`).replaceAll('$ws', `'${workspaceId}'::uuid`);
      const { rows } = await db.raw(
        `WITH want AS (SELECT c.id FROM contacts c WHERE c.workspace_id = ? AND c.erased_at IS NULL AND (${sql})),
              have AS (SELECT m.contact_id AS id FROM segment_members m JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id
                        WHERE s.workspace_id = ? AND s.key = ?)
         SELECT (SELECT count(*) FROM (SELECT id FROM want EXCEPT SELECT id FROM have) x) + (SELECT count(*) FROM (SELECT id FROM have EXCEPT SELECT id FROM want) y) AS n`,
        [workspaceId, workspaceId, d.key],
      );
      const miss = Number(rows[0].n);
      if (miss > 0) mismatches[d.key] = miss;
    }
    progress('check');
    // Off and on again: the segments move to another workspace for the "off" phase (membership is not checked after this).
    const parked = await workspaceWithKey(db);
    await db('segments').where({ workspace_id: workspaceId }).update({ workspace_id: parked.workspaceId });
    offPerS.push(await ingest(perPhase, 'ingest off'));
    await db('segments').where({ workspace_id: parked.workspaceId }).update({ workspace_id: workspaceId });
    onPerS.push(await ingest(perPhase, 'ingest on'));
    progress(`ingest again off ${offPerS[1]}/s on ${onPerS[1]}/s`);
    const attrBytes = await tableBytes(db, ['contact_activity', 'contact_activity_days']);
    return {
      workload: 'w6',
      scale: n,
      events_generated: eventsGenerated,
      generate_s: Math.round(generateS),
      ingest_events_per_s: {
        segments_off: offPerS, segments_on: onPerS, ratio: Math.round((median(onPerS) / median(offPerS)) * 100) / 100,
        events_per_phase: perPhase, clients: 4, batch: 250, order: 'off, on, (latency, changes, clock, check), off, on',
      },
      event_to_segment_entered_ms: { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) },
      contact_change_ms: { p50: pct(patchMs, 0.5), p99: pct(patchMs, 0.99) },
      seq_scans_during_500_changes: seqScansPerChange,
      time_transitions: timeTransitions,
      member_count_ms: { p50: pct(countMs, 0.5), p99: pct(countMs, 0.99) },
      member_count_query: memberCountCost,
      rfm_recompute_s: Math.round(rfmS * 10) / 10,
      rfm_recompute_after_31d_with_segments_s: Math.round(rfmAgainS * 10) / 10,
      initial_evaluation_s: Math.round(rebuildS * 10) / 10,
      attribute_bytes_per_contact: Math.round(attrBytes / n),
      check: { passed: Object.keys(mismatches).length === 0, segments: defs.length, mismatches },
      load_average_1m: { start: loadStart, end: Math.round(os.loadavg()[0]! * 100) / 100 },
      machine: machine(),
    };
  } finally {
    await engine.stop();
    await database.drop();
  }
}

/** Segment ids for the bench (UUID shape; the engine never parses them). */
function gen(i: number): string {
  return `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`;
}

/**
 * W6's score figure alone at a scale the full workload cannot reach in a session: contacts and their behavioural
 * attributes are generated directly in SQL (no raw events), then `POST /v1/scores/recompute` is timed twice (first:
 * every row written; second, 31 days later: recency moved for everyone). Check: one RFM row per customer with scores
 * 1–5, one churn row with its five factors per customer, window shoppers without scores.
 * `pnpm bench --only w6s --scale 1000000`.
 */
export async function runW6Scores(opts: { scale?: number } = {}): Promise<Record<string, unknown>> {
  const n = opts.scale ?? 1_000_000;
  const loadStart = Math.round(os.loadavg()[0]! * 100) / 100;
  const database = await freshDatabase();
  const { db } = database;
  const { workspaceId, key } = await workspaceWithKey(db);
  const engine = await startEngine(database.url, { CAIRN_CLOCK: 'manual' });
  try {
    const clock = () => testClock(engine.url, key);
    const now = await clock();
    const t0 = Date.now();
    await db.raw(
      `INSERT INTO contacts (id, workspace_id, email, properties, tags, created_at, updated_at)
       SELECT gen_random_uuid(), ?, 'w6s-' || i || '@example.com',
              CASE WHEN i % 10 = 0 THEN jsonb_build_object('nps', i % 11) WHEN i % 13 = 0 THEN jsonb_build_object('open_tickets', 1) ELSE '{}'::jsonb END,
              '{}', ?, ? FROM generate_series(1, ?) AS i`,
      [workspaceId, now, now, n],
    );
    // 80% customers with 1–8 orders on distinct days of the last year; 90% with 1–12 visits in the last 90 days.
    await db.raw(
      `INSERT INTO contact_activity_days (workspace_id, contact_id, event_type, day, count, sum)
       SELECT c.workspace_id, c.id, t.type, d.day, 1, CASE WHEN t.type = 'order.completed' THEN 5 * (1 + floor(random() * 40)) ELSE 0 END
         FROM contacts c
         -- Each random() is tied to the outer row (c.id), so it is drawn per contact, not once for the statement.
         CROSS JOIN LATERAL (SELECT 'order.completed' AS type, 365 AS span, 1 + floor(random() * 8 + 0 * length(c.id::text))::int AS k WHERE random() + 0 * length(c.id::text) < 0.8
                             UNION ALL SELECT 'page.viewed', 90, 1 + floor(random() * 12 + 0 * length(c.id::text))::int WHERE random() + 0 * length(c.id::text) < 0.9) t
         CROSS JOIN LATERAL (SELECT DISTINCT (?::date - floor(random() * t.span)::int) AS day FROM generate_series(1, t.k)) d
        WHERE c.workspace_id = ?`,
      [now.toISOString().slice(0, 10), workspaceId],
    );
    await db.raw(
      `INSERT INTO contact_activity (workspace_id, contact_id, event_type, count, sum, first_at, last_at)
       SELECT workspace_id, contact_id, event_type, sum(count), sum(sum), min(day)::timestamptz + interval '10 hours', max(day)::timestamptz + interval '10 hours'
         FROM contact_activity_days WHERE workspace_id = ? GROUP BY 1, 2, 3`,
      [workspaceId],
    );
    await db.raw(`INSERT INTO activity_types (workspace_id, event_type) VALUES (?, '*'), (?, 'order.completed'), (?, 'page.viewed') ON CONFLICT DO NOTHING`, [workspaceId, workspaceId, workspaceId]);
    await db.raw('ANALYZE');
    const generateS = (Date.now() - t0) / 1000;
    progress('scores: generated');
    // Wall time, and the CPU seconds of PostgreSQL's backends and of the engine (steadier than wall time under load).
    const recompute = async () => {
      const t = Date.now();
      const pg = backendCpuSampler(db);
      const engineCpu = cpuSeconds(engine.pid);
      const r = await longPost(`${engine.url}/v1/scores/recompute`, key, {});
      if (r.status !== 200) throw new Error(`recompute: ${r.status} ${r.body}`);
      const s = Math.round(((Date.now() - t) / 1000) * 10) / 10;
      const cpu = { postgres: Math.round((await pg.stop()) * 10) / 10, engine: Math.round((cpuSeconds(engine.pid) - engineCpu) * 10) / 10 };
      return { s, cpu, body: JSON.parse(r.body) as { customers: number; window_shoppers: number } };
    };
    const first = await recompute();
    progress('scores: first');
    const adv = await longPost(`${engine.url}/v1/_test/clock/advance`, key, { by: 'P31D' });
    if (adv.status !== 200) throw new Error(`advance: ${adv.status} ${adv.body}`);
    const second = await recompute();
    progress('scores: second');
    const { rows } = await db.raw(
      `SELECT (SELECT count(*) FROM contact_activity WHERE workspace_id = ? AND event_type = 'order.completed')::int AS customers,
              (SELECT count(*) FROM contact_rfm WHERE workspace_id = ? AND r BETWEEN 1 AND 5 AND f BETWEEN 1 AND 5 AND m BETWEEN 1 AND 5)::int AS scored,
              (SELECT count(*) FROM contact_rfm WHERE workspace_id = ? AND rfm_group = 'window_shoppers' AND r IS NULL)::int AS shoppers,
              (SELECT count(*) FROM contact_churn WHERE workspace_id = ? AND recency_ratio IS NOT NULL AND score BETWEEN 0 AND 100)::int AS churn,
              (SELECT count(*) FROM events WHERE workspace_id = ? AND type = 'churn.risk_high')::int AS risk_high`,
      [workspaceId, workspaceId, workspaceId, workspaceId, workspaceId],
    );
    const c = rows[0] as { customers: number; scored: number; shoppers: number; churn: number; risk_high: number };
    const attrBytes = await tableBytes(db, ['contact_activity', 'contact_activity_days']);
    return {
      workload: 'w6s',
      scale: n,
      generate_s: Math.round(generateS),
      customers: first.body.customers,
      window_shoppers: first.body.window_shoppers,
      rfm_churn_recompute_s: { first: first.s, after_31_days: second.s, target_s: 60 },
      rfm_churn_recompute_cpu_s: { first: first.cpu, after_31_days: second.cpu },
      churn_risk_high_recorded: c.risk_high,
      attribute_bytes_per_contact: Math.round(attrBytes / n),
      check: { passed: c.scored === c.customers && c.churn === c.customers && c.shoppers === first.body.window_shoppers, ...c },
      load_average_1m: { start: loadStart, end: Math.round(os.loadavg()[0]! * 100) / 100 },
      machine: machine(),
    };
  } finally {
    await engine.stop();
    await database.drop();
  }
}
