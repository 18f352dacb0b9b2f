import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, type Db } from '../engine/src/db/index.ts';
import { adminQuery, canConnect, quoteIdent, withDatabase } from '../engine/src/db/admin.ts';
import { migrateUp } from '../engine/src/db/migrate.ts';
import { createWorkspace } from '../engine/src/crm/workspaces.ts';
import { createApiKey } from '../engine/src/auth/api-keys.ts';
import { createApiClient, ok, type ApiClient } from '../engine/src/contracts/client.ts';
import type { paths as ApiPaths } from '../engine/src/contracts/api.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A fresh, migrated database on the local PostgreSQL (DATABASE_URL's server if set). */
export async function freshDatabase(): Promise<{ url: string; db: Db; drop(): Promise<void> }> {
  const admin = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!(await canConnect(admin))) throw new Error(`no PostgreSQL at ${admin}; set DATABASE_URL`);
  const name = `cairn_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(admin, `CREATE DATABASE ${quoteIdent(name)}`);
  const url = withDatabase(admin, name);
  const db = createDb(url);
  await migrateUp(db, url);
  return {
    url,
    db,
    async drop() {
      await db.destroy();
      await adminQuery(admin, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    },
  };
}

export async function workspaceWithKey(db: Db): Promise<{ workspaceId: string; key: string }> {
  const ws = await createWorkspace(db, { slug: `bench-${randomBytes(3).toString('hex')}` });
  const { key } = await createApiKey(db, { workspaceId: ws.id, role: 'admin' });
  return { workspaceId: ws.id, key };
}

export interface EngineProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The real `cairn start` as a child process, so its RSS and CPU are the engine's alone. */
export async function startEngine(databaseUrl: string, env: Record<string, string> = {}): Promise<EngineProcess> {
  // The flags of `pnpm start` (package.json). BENCH_ENGINE_FLAGS adds more to the engine alone, e.g.
  // `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its CPU goes (NODE_OPTIONS refuses --cpu-prof).
  const extra = process.env.BENCH_ENGINE_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  const child = spawn(process.execPath, ['--no-node-snapshot', '--max-semi-space-size=4', ...extra, '--import', 'tsx', path.join(ROOT, 'engine/src/cli.ts'), 'start'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: '0', LOG_LEVEL: 'warn', CAIRN_SECRET_KEY: 'b'.repeat(64), CAIRN_RATE_LIMIT: '100000000', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`engine exited with ${code} before listening: ${out}`)));
  });
  return {
    url,
    pid: child.pid!,
    child,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** Resident and peak resident memory of a process, in MB. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/**
 * CPU seconds spent by the PostgreSQL backends serving one database, sampled from /proc while a phase runs (a
 * machine shared with other load makes wall-clock rates noisy; CPU per unit of work is the steadier A/B figure).
 * Backends that start and end between two samples are missed, so sample often (the pools keep theirs open).
 */
export function backendCpuSampler(db: Db, everyMs = 250): { stop(): Promise<number>; peakBackends(): Record<string, number> } {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  let started = false;
  const peak: Record<string, number> = {};
  const sample = async () => {
    const r = await db.raw(`SELECT pid, application_name AS app FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
    const byApp: Record<string, number> = {};
    for (const { app } of r.rows as { app: string }[]) byApp[app || 'unnamed'] = (byApp[app || 'unnamed'] ?? 0) + 1;
    for (const [app, n] of Object.entries(byApp)) peak[app] = Math.max(peak[app] ?? 0, n);
    for (const { pid } of r.rows as { pid: number }[]) {
      let s: number;
      try {
        s = cpuSeconds(pid);
      } catch {
        continue; // ended since the query
      }
      if (!first.has(pid)) first.set(pid, started ? 0 : s);
      last.set(pid, s);
    }
    started = true;
  };
  let running = sample();
  const timer = setInterval(() => { running = running.then(sample, () => undefined); }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await running.catch(() => undefined);
      await sample();
      let total = 0;
      for (const [pid, s] of last) total += s - (first.get(pid) ?? 0);
      return total;
    },
    /** The most connections seen at once, by application_name (the bench's own one or two, also 'cairn', included). */
    peakBackends: () => ({ ...peak }),
  };
}

export async function databaseBytes(db: Db): Promise<number> {
  const r = await db.raw(`SELECT pg_database_size(current_database())::bigint AS n`);
  return Number(r.rows[0].n);
}

/** Bytes of the given tables with their indexes and TOAST. */
export async function tableBytes(db: Db, tables: string[]): Promise<number> {
  const r = await db.raw(`SELECT sum(pg_total_relation_size(t::regclass))::bigint AS n FROM unnest(?::text[]) AS t`, [tables]);
  return Number(r.rows[0].n);
}

/** Bytes of every table (with its indexes and TOAST) of the public and graphile_worker schemas, by name. */
export async function relationBytes(db: Db): Promise<Map<string, number>> {
  const r = await db.raw(
    `SELECT n.nspname || '.' || c.relname AS name, pg_total_relation_size(c.oid)::bigint AS n
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('public', 'graphile_worker')`,
  );
  return new Map((r.rows as { name: string; n: number }[]).map((x) => [x.name.replace(/^public\./, ''), Number(x.n)]));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median of repeated measurements with their spread (min–max), rounded. */
export function summarize(xs: number[], digits = 1): { median: number; min: number; max: number; runs: number[] } {
  const r = (x: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  return { median: r(median(xs)), min: r(Math.min(...xs)), max: r(Math.max(...xs)), runs: xs.map(r) };
}

export function machine() {
  return { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', memory_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version };
}

/** The typed API client (openapi-fetch over the generated `paths`) every bench set-up and check call goes through. */
export function apiClient(baseUrl: string, key: string): ApiClient {
  return createApiClient({ baseUrl, apiKey: key });
}

export type FlowDocumentBody = ApiPaths['/v1/flows']['post']['requestBody']['content']['application/json'];
export type EventBody = ApiPaths['/v1/events']['post']['requestBody']['content']['application/json'];
export type EventsBatchBody = ApiPaths['/v1/events/batch']['post']['requestBody']['content']['application/json'];

/** Create a flow from its document and publish it as version 1; answers its id. */
export async function createPublishedFlow(api: ApiClient, doc: unknown): Promise<string> {
  const flow = await ok(api.POST('/v1/flows', { body: doc as FlowDocumentBody }));
  await ok(api.POST('/v1/flows/{id}/publish', { params: { path: { id: flow.id } }, body: {} }));
  return flow.id;
}

/** The owners (ana, ben, chi) and the `enterprise` routing pool the lead-routing example assigns from. */
export async function leadRoutingOwners(api: ApiClient): Promise<string[]> {
  const owners: string[] = [];
  for (const name of ['ana', 'ben', 'chi']) owners.push((await ok(api.POST('/v1/owners', { body: { name, email: `${name}@example.com` } }))).id);
  await ok(api.POST('/v1/routing-pools', { body: { key: 'enterprise', owner_ids: owners } }));
  return owners;
}

/**
 * Post events on the load generators' hot path with a bare fetch, not the typed client: these run at thousands of
 * requests per second and the measured throughput should not include the client's per-call overhead. The body is
 * still typed by the generated request type; the status is returned for the caller to check.
 */
export async function postEvents(baseUrl: string, key: string, body: EventsBatchBody): Promise<{ status: number }>;
export async function postEvents(baseUrl: string, key: string, body: EventBody, single: true): Promise<{ status: number }>;
export async function postEvents(baseUrl: string, key: string, body: EventsBatchBody | EventBody, single = false): Promise<{ status: number }> {
  const res = await fetch(`${baseUrl}/v1/events${single ? '' : '/batch'}`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return { status: res.status };
}

/** Move the engine's manual clock (`to` an instant or `by` a duration); throws unless it answered 200. */
export async function advanceTestClock(baseUrl: string, key: string, body: { to: string } | { by: string }): Promise<void> {
  const res = await fetch(`${baseUrl}/v1/_test/clock/advance`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`clock: ${res.status} ${await res.text()}`);
}

/**
 * A JSON POST that may take minutes, such as a test-clock advance that drains a month of work (fetch gives up on
 * headers after 300 s); answers the status.
 */
export function longPost(url: string, key: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, timeout: 0 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The engine's manual clock (`/v1/_test/*`, mounted only with CAIRN_CLOCK=manual, so not in the OpenAPI document). */
export async function testClock(baseUrl: string, key: string): Promise<Date> {
  const res = await fetch(`${baseUrl}/v1/_test/clock`, { headers: { authorization: `Bearer ${key}` } });
  return new Date(((await res.json()) as { now: string }).now);
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the engine');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
