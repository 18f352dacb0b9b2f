import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createApiKey } from '../../src/auth/api-keys.ts';
import type { Role } from '../../src/auth/roles.ts';
import { createSystemClock, type Clock } from '../../src/time/clock.ts';
import { compileConfig } from '../../src/config/index.ts';
import type { EngineContext } from '../../src/context.ts';
import type { OnEventsIngested } from '../../src/crm/event-hooks.ts';
import { createWorkspace } from '../../src/crm/workspaces.ts';
import { createApp, type AppOptions } from '../../src/http/app.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../db.ts';
import { loadSecretKey } from '../../src/secrets/key.ts';

export interface Harness {
  t: TestDatabase;
  ctx: EngineContext;
  app: FastifyInstance;
  /** Workspace id and one key per role. */
  ws: Record<'a' | 'b', { id: string; keys: Record<Role, string> }>;
  close(): Promise<void>;
}

let seq = 0;

/** A real app over a fresh copy of the migrated database, with workspaces a and b and a key of every role in each. */
export async function createHarness(opts: AppOptions & { clock?: Clock; env?: Record<string, string> } = {}): Promise<Harness> {
  const t = await createTestDatabase();
  const config = compileConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent', ...opts.env });
  const ctx: EngineContext = {
    config,
    db: t.db,
    databaseUrl: t.url,
    logger: createLogger('silent'),
    clock: opts.clock ?? createSystemClock(),
    secretKey: loadSecretKey(config),
  };
  const ws = {} as Harness['ws'];
  for (const name of ['a', 'b'] as const) {
    const w = await createWorkspace(t.db, { slug: `ws-${name}-${process.pid}-${seq++}` });
    const keys = {} as Record<Role, string>;
    for (const role of ['admin', 'editor', 'viewer', 'ingest'] as const) keys[role] = (await createApiKey(t.db, { workspaceId: w.id, role })).key;
    ws[name] = { id: w.id, keys };
  }
  const app = await createApp(ctx, opts);
  await app.ready();
  return { t, ctx, app, ws, async close() { await app.close(); await t.drop(); } };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

export type Hook = OnEventsIngested;

export function json<T = any>(res: LightMyRequestResponse): T {
  return JSON.parse(res.body) as T;
}
