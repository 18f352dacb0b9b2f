// Load-independent cost of single-event ingestion (POST /v1/events, W1 lead events) in one engine checkout:
// queries per event by kind, CPU ms per event of the engine code (process.cpuUsage, in-process via fastify inject,
// workers off), rows written and bytes per event. Usage: node --import tsx bench/ingest-cost.mts <checkout root> [events]
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const root = path.resolve(process.argv[2]!);
const N = Number(process.argv[3] ?? 2000);
const CLIENTS = 20;
const imp = (p: string) => import(path.join(root, p));
const { freshDatabase, workspaceWithKey } = await imp('bench/lib.ts');
const { compileConfig } = await imp('engine/src/config/index.ts');
const { createLogger } = await imp('engine/src/logger.ts');
const firstOf = async (paths: string[]) => { for (const p of paths) { try { return await imp(p); } catch { /* older layout */ } } throw new Error(paths.join()); };
const { createSystemClock } = await firstOf(['engine/src/time/clock.ts', 'engine/src/clock.ts']);
const { loadSecretKey } = await firstOf(['engine/src/secrets/key.ts', 'engine/src/config/secret-key.ts']);
const { wireFlowEngine } = await imp('engine/src/runtime.ts');
const { createFlowEngine } = await imp('engine/src/runner/index.ts');
const { createApp } = await imp('engine/src/http/app.ts');
const { ingestEvents } = await imp('engine/src/crm/events.ts');
const { withTx } = await imp('engine/src/db/index.ts');

const FLOW = JSON.parse(readFileSync(path.join(root, 'examples/lead-routing/flow.json'), 'utf8'));
let seq = 0;
const tag = randomBytes(3).toString('hex');
function leadEvent() {
  const n = seq++;
  const enterprise = n % 2 === 0;
  return { type: 'lead.created', contact: { email: `lead-${tag}-${n}@example.com`, properties: {
    country: enterprise ? (n % 4 === 0 ? 'US' : 'CA') : n % 3 === 0 ? 'US' : 'FR',
    employees: enterprise ? 50 + (n % 5000) : n % 3 === 0 ? 10 : 500, score: n % 100 } } };
}

const database = await freshDatabase();
const { workspaceId, key } = await workspaceWithKey(database.db);
const config = compileConfig({ DATABASE_URL: database.url, LOG_LEVEL: 'silent', CAIRN_SECRET_KEY: 'b'.repeat(64), PORT: '0', CAIRN_RATE_LIMIT: '100000000' });
const ctx = { config, db: database.db, databaseUrl: database.url, logger: createLogger('silent'), clock: createSystemClock(), secretKey: loadSecretKey(config) };
const engine = wireFlowEngine ? wireFlowEngine(ctx) : createFlowEngine(ctx);
const app = await createApp(ctx, { engine });
const post = async (url: string, body: unknown) => {
  const r = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  if (r.statusCode >= 300) throw new Error(`${url} ${r.statusCode} ${r.body}`);
  return r.json();
};
const owners: string[] = [];
for (const name of ['ana', 'ben', 'chi']) owners.push((await post('/v1/owners', { name, email: `${name}@example.com` })).id);
await post('/v1/routing-pools', { key: 'enterprise', owner_ids: owners });
const flow = await post('/v1/flows', FLOW);
await post(`/v1/flows/${flow.id}/publish`, {});

const counts = new Map<string, number>();
let counting = false;
const kind = (sql: string) => {
  const s = sql.replace(/\s+/g, ' ').trim();
  const m = /^(with \w+ as \( )?(select|insert into|update|delete from|begin|commit|rollback|savepoint|release|set local|set)\s*([\w."]+)?/i.exec(s);
  if (!m) return s.slice(0, 40);
  const verb = m[2]!.toLowerCase();
  if (['begin', 'commit', 'rollback', 'savepoint', 'release'].includes(verb)) return verb;
  if (verb === 'select') { const f = / from ([\w."]+)/i.exec(s); return `select ${f?.[1] ?? s.slice(7, 40)}`; }
  return `${verb} ${m[3] ?? ''}${m[1] ? ' (cte)' : ''}`;
};
database.db.client.on('query', (q: { sql: string }) => { if (counting) counts.set(kind(q.sql), (counts.get(kind(q.sql)) ?? 0) + 1); });

const rows = async () => {
  await new Promise((r) => setTimeout(r, 11_000)); // backends flush table stats within 10 s of going idle
  await database.db.raw('SELECT pg_stat_clear_snapshot()');
  const r = await database.db.raw(`SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS w, pg_total_relation_size(relid) AS b FROM pg_stat_user_tables`);
  return new Map((r.rows as { relname: string; w: string; b: string }[]).map((x) => [x.relname, { w: Number(x.w), b: Number(x.b) }]));
};

async function measure(label: string, fire: () => Promise<void>, events: number) {
  const before = await rows();
  counts.clear();
  counting = true;
  const cpu0 = process.cpuUsage();
  await fire();
  const cpu = process.cpuUsage(cpu0);
  counting = false;
  const after = await rows();
  const per = (x: number) => Math.round((x / events) * 100) / 100;
  const written: Record<string, number> = {};
  const bytes: Record<string, number> = {};
  for (const [t, a] of after) {
    const b = before.get(t) ?? { w: 0, b: 0 };
    if (a.w - b.w) written[t] = per(a.w - b.w);
    if (a.b - b.b) bytes[t] = per(a.b - b.b);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({
    label, events, cpu_ms_per_event: Math.round(((cpu.user + cpu.system) / 1000 / events) * 1000) / 1000,
    queries_per_event: per(total),
    queries_by_kind_per_event: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, per(v)])),
    rows_written_per_event: written, rows_written_total_per_event: per(Object.values(written).reduce((a, b) => a + b, 0) * events),
    bytes_per_event: bytes,
  }, null, 1));
}

// Warm-up (caches, JIT), not measured.
for (let i = 0; i < 300; i++) await post('/v1/events', leadEvent());

// 1. The route as W1 drives it: 20 clients back to back through fastify (inject, no sockets), group commit deciding batch sizes.
await measure('POST /v1/events, 20 concurrent clients (inject)', async () => {
  let left = N;
  await Promise.all(Array.from({ length: CLIENTS }, async () => { while (left-- > 0) await post('/v1/events', leadEvent()); }));
}, N);
// 2. Deterministic group sizes: what one group-commit transaction of k single events costs (k = 1 and k = 20).
const hooks = { onEventsIngested: engine.onEventsIngested };
for (const k of [1, 20]) {
  await measure(`ingestEvents, groups of ${k} (one transaction each)`, async () => {
    for (let i = 0; i < N; i += k) {
      const items = Array.from({ length: k }, leadEvent);
      await withTx(ctx.db, (tx: unknown) => ingestEvents(tx, workspaceId, items, hooks, { now: ctx.clock.now(), pathOf: () => '' }));
    }
  }, N);
}
await app.close();
await engine.stop();
await database.drop();
