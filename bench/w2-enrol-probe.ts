import { apiClient, createPublishedFlow, freshDatabase, postEvents, startEngine, testClock, waitFor, workspaceWithKey } from './lib.ts';
import { randomBytes } from 'node:crypto';
/**
 * W2 enrolment at a prefilled scale (issue 17, docs/performance.md): PREFILL sleeping W2 runs (with their contacts and
 * events) written by SQL in seconds, then ENROL new ones over HTTP (4 clients × 1,000 events) while pg_stat_activity
 * is sampled every 20 ms: the share of samples per wait event and statement says where enrolment time goes at that
 * scale. AUTOEXPLAIN=<ms> logs the plans of slower statements to the server log (auto_explain); KEEP=1 keeps the
 * database. Not part of `pnpm bench`:
 *   PREFILL=1000000 ENROL=20000 node --no-node-snapshot --import tsx bench/w2-enrol-probe.ts
 */
const PREFILL = Number(process.env.PREFILL ?? 100000);
const ENROL = Number(process.env.ENROL ?? 20000);
const FLOW = {
  schema: 'cairn.flow/v1', name: 'Nurture at rest', settings: { reentry: 'after_exit', goal: null, exit_on: [] },
  nodes: [
    { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'nurture.enrolled' } },
    { id: 'rest', type: 'delay', position: { x: 0, y: 120 }, config: { mode: 'date_property', property: 'wake_on' } },
    { id: 'woke', type: 'action.tag', position: { x: 0, y: 240 }, config: { add: ['woke'] } },
  ],
  edges: [{ id: 'e1', source: 'start', target: 'rest' }, { id: 'e2', source: 'rest', target: 'woke' }],
};
const database = await freshDatabase();
const { workspaceId, key } = await workspaceWithKey(database.db);
if (process.env.AUTOEXPLAIN) {
  const name = (await database.db.raw('SELECT current_database() AS d')).rows[0].d;
  await database.db.raw(`ALTER DATABASE ${name} SET session_preload_libraries = 'auto_explain'`);
  await database.db.raw(`ALTER DATABASE ${name} SET auto_explain.log_min_duration = ${Number(process.env.AUTOEXPLAIN)}`);
  await database.db.raw(`ALTER DATABASE ${name} SET auto_explain.log_analyze = on`);
  await database.db.raw(`ALTER DATABASE ${name} SET auto_explain.log_buffers = on`);
  await database.db.raw(`ALTER DATABASE ${name} SET auto_explain.log_nested_statements = on`);
}
const engine = await startEngine(database.url, { CAIRN_CLOCK: 'manual' });
const flowId = await createPublishedFlow(apiClient(engine.url, key), FLOW);
const start = await testClock(engine.url, key);
const u7 = (expr: string) => `(lpad(to_hex(1600000000000 + ${expr}), 12, '0') || '7' || lpad(to_hex((${expr}) % 4096), 3, '0') || '8' || substr(md5((${expr})::text || 'x'), 1, 15))::uuid`;
const t0 = Date.now();
const hasOpen = (await database.db.raw(`SELECT to_regclass('open_runs') AS t`)).rows[0].t !== null;
for (let from = 0; from < PREFILL; from += 100000) {
  const to = Math.min(PREFILL, from + 100000) - 1;
  await database.db.raw(`
    WITH g AS (SELECT i, ${u7('i')} AS cid, ${u7('i + 5000000')} AS eid, ${u7('i + 9000000')} AS rid,
                      ?::timestamptz + make_interval(hours => (24 + (i::bigint * 7919) % (29 * 24 + 1))::int) AS wake FROM generate_series(?::int, ?::int) i),
    c AS (INSERT INTO contacts (id, workspace_id, email, properties, processed_seq) SELECT cid, ?, 'pre-' || i || '@example.com', jsonb_build_object('wake_on', wake), 0 FROM g),
    e AS (INSERT INTO events (id, workspace_id, contact_id, type, properties, occurred_at) SELECT eid, ?, cid, 'nurture.enrolled', '{}', ? FROM g)
    INSERT INTO runs (id, workspace_id, flow_id, version, contact_id, status, state, node_id, node_entered_at, wake_at, exclusive, trigger_event_id, since_seq, started_at, updated_at)
      SELECT rid, ?, ?, 1, cid, 'waiting', 'sleeping', 'rest', ?, wake, true, eid, 0, ?, ? FROM g`,
    [start, from, to, workspaceId, workspaceId, start, workspaceId, flowId, start, start, start]);
}
if (hasOpen) await database.db.raw(`INSERT INTO open_runs SELECT workspace_id, flow_id, contact_id, id FROM runs`);
await database.db.raw('VACUUM ANALYZE');
console.log(`prefilled ${PREFILL} in ${(Date.now() - t0) / 1000}s`);
const tag = randomBytes(3).toString('hex');
const samples = new Map<string, number>();
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    const { rows } = await database.db.raw(`SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS q FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`);
    for (const r of rows as { w: string; q: string }[]) samples.set(`${r.w} | ${r.q}`, (samples.get(`${r.w} | ${r.q}`) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const waiting = async () => Number((await database.db.raw(`SELECT coalesce(sum(waiting), 0) AS n FROM node_stats WHERE workspace_id = ? AND node_id = 'rest'`, [workspaceId])).rows[0].n);
const w0 = await waiting();
const t1 = Date.now();
let next = 0;
const client = async () => {
  while (next < ENROL) {
    const from = next; next = Math.min(ENROL, next + 1000);
    const events = [];
    for (let i = from; i < next; i++) events.push({ type: 'nurture.enrolled', contact: { email: `rest-${tag}-${i}@example.com`, properties: { wake_on: new Date(start.getTime() + (24 + ((i * 7919) % (29 * 24 + 1))) * 3600_000).toISOString() } } });
    const r = await postEvents(engine.url, key, { events });
    if (r.status !== 202) throw new Error(`enrol: ${r.status}`);
  }
};
await Promise.all([client(), client(), client(), client()]);
const ingestS = (Date.now() - t1) / 1000;
await waitFor(async () => (await waiting()) - w0 >= ENROL, 3_600_000, 100);
const s = (Date.now() - t1) / 1000;
sampling = false; await sampler;
console.log(`prefill ${PREFILL}: enrol ${ENROL} in ${s}s = ${Math.round(ENROL / s)} runs/s (ingest ${Math.round(ENROL / ingestS)}/s)`);
const total = [...samples.values()].reduce((a, b) => a + b, 0);
for (const [k, v] of [...samples].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(String(Math.round((v / total) * 1000) / 10).padStart(5), k);
await engine.stop();
if (process.env.KEEP) { console.log(database.url); await database.db.destroy(); } else await database.drop();
process.exit(0);
