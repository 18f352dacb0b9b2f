import { createRequire, Module } from 'node:module';
import { afterAll } from 'vitest';

/**
 * Vitest setup file (vitest.config.ts `setupFiles`): fails a test file that leaves a database pool, a
 * graphile-worker runner or a sandbox isolate open after its own afterAll hooks, as graphile-worker's suite does.
 * A leak here is a leak in the engine's shutdown path too, and it keeps connections open on the shared server.
 *
 * The constructors are wrapped where the packages create them, so nothing in engine/src knows about the guard:
 * knex's `Client#initializePool` (every `createDb`), `pg.Pool` (the job queue's pool, one per runner) and
 * `ivm.Isolate`. Hooks after a file run in reverse order of registration, so this one runs after the file's own.
 */

interface Tracked {
  kind: 'database pool' | 'graphile-worker runner' | 'pg.Pool' | 'sandbox isolate';
  what: string;
  createdAt: string;
  live(): boolean;
}

const REGISTRY = Symbol.for('cairn.leakGuard');
type Registry = Set<Tracked>;

const requireFromEngine = createRequire(new URL('../src/db/index.ts', import.meta.url));
const registry: Registry = ((globalThis as Record<symbol, Registry | undefined>)[REGISTRY] ??= install());
// A reused worker process: objects a previous file left behind were reported there, not here.
const before = new Set([...registry].filter((t) => t.live()));

function install(): Registry {
  const tracked: Registry = new Set();
  const track = (t: Tracked) => {
    tracked.add(t);
  };

  const KnexClient = requireFromEngine('knex/lib/client.js') as { prototype: { initializePool(this: KnexClientLike, ...args: unknown[]): unknown } };
  const initializePool = KnexClient.prototype.initializePool;
  KnexClient.prototype.initializePool = function (this: KnexClientLike, ...args: unknown[]) {
    const result = initializePool.apply(this, args);
    const pool = this.pool;
    if (pool) track({ kind: 'database pool', what: `knex pool on ${databaseOf(this.config?.connection)}`, createdAt: callSite(), live: () => this.pool === pool && !pool.destroyed });
    return result;
  };

  const pg = requireFromEngine('pg') as { Pool: new (options?: { connectionString?: string }) => PgPoolLike };
  const PgPool = pg.Pool;
  pg.Pool = class TrackedPool extends PgPool {
    constructor(options?: { connectionString?: string }) {
      super(options);
      const stack = new Error().stack ?? '';
      const byWorker = stack.includes('graphile-worker');
      track({
        kind: byWorker ? 'graphile-worker runner' : 'pg.Pool',
        what: `${byWorker ? "graphile-worker's pool" : 'pg.Pool'} on ${databaseOf(options?.connectionString)}`,
        createdAt: callSite(stack),
        live: () => !this.ending && !this.ended,
      });
    }
  } as typeof pg.Pool;

  // isolated-vm's exports are a native object with read-only properties, and an ESM import keeps the exports a
  // CommonJS module had when it first loaded: the package's module is put in require's cache, before anything
  // loads it, with exports inheriting from the native ones and a counting Isolate.
  const ivmPath = requireFromEngine.resolve('isolated-vm');
  const native = createRequire(ivmPath)('./out/isolated_vm').ivm as { Isolate: new (...args: unknown[]) => { isDisposed: boolean } };
  const Isolate = new Proxy(native.Isolate, {
    construct(target, args, newTarget) {
      const isolate = Reflect.construct(target, args, newTarget) as { isDisposed: boolean };
      track({ kind: 'sandbox isolate', what: 'isolated-vm Isolate', createdAt: callSite(), live: () => !isolate.isDisposed });
      return isolate;
    },
  });
  const cached = new Module(ivmPath);
  cached.filename = ivmPath;
  cached.loaded = true;
  cached.exports = Object.create(native, { Isolate: { value: Isolate, enumerable: true } });
  requireFromEngine.cache[ivmPath] = cached;
  return tracked;
}

interface KnexClientLike {
  pool?: { destroyed: boolean };
  config?: { connection?: unknown };
}
interface PgPoolLike {
  ending: boolean;
  ended: boolean;
}

function databaseOf(connection: unknown): string {
  const url = typeof connection === 'string' ? connection : (connection as { connectionString?: string } | undefined)?.connectionString;
  if (!url) return 'an unnamed database';
  try {
    return `database "${decodeURIComponent(new URL(url).pathname.slice(1))}"`;
  } catch {
    return 'an unnamed database';
  }
}

/** The first frames outside node_modules and this file: where the test (or the engine code it called) made it. */
function callSite(stack = new Error().stack ?? ''): string {
  const frames = stack.split('\n').slice(1).map((l) => l.trim()).filter((l) => !l.includes('node_modules') && !l.includes('leak-guard') && !l.includes('node:'));
  return frames.slice(0, 4).join('\n      ') || '(unknown)';
}

afterAll(async () => {
  let leaked = [...registry].filter((t) => t.live() && !before.has(t));
  // Closing in flight (a destroy not awaited by a hook): give it a moment before calling it a leak.
  for (let i = 0; leaked.length && i < 10; i++) {
    await new Promise((r) => setTimeout(r, 20));
    leaked = leaked.filter((t) => t.live());
  }
  for (const t of registry) if (!t.live()) registry.delete(t);
  if (!leaked.length) return;
  const counts = new Map<string, number>();
  for (const t of leaked) counts.set(t.kind, (counts.get(t.kind) ?? 0) + 1);
  throw new Error(
    `leak guard: this test file left ${[...counts].map(([k, n]) => `${n} ${k}${n > 1 ? 's' : ''}`).join(', ')} open after its afterAll hooks:\n` +
      leaked.map((t) => `  - ${t.what}, created at\n      ${t.createdAt}`).join('\n') +
      '\nClose each one in afterAll: harness.close(), TestDatabase.drop() or db.destroy(), the queue\'s stop(), isolate.dispose().',
  );
});
