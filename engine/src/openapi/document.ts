import { compileConfig } from '../config/index.ts';
import type { EngineContext } from '../context.ts';
import { createDb } from '../db/index.ts';
import { createApp } from '../http/app.ts';
import { createLogger } from '../logger.ts';
import { createSystemClock } from '../time/clock.ts';

/** A database address nothing listens on: building the document must not need one. */
const NOWHERE = 'postgres://127.0.0.1:1/openapi';

/**
 * The OpenAPI document of the API, built from the routes without a database or a listening socket: the app is
 * created over a pool that never connects (no route runs), and @fastify/swagger assembles the document from the
 * routes' schemas. `pnpm openapi` writes it to docs/openapi.json and the typed client from it.
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const config = compileConfig({ DATABASE_URL: NOWHERE, LOG_LEVEL: 'silent' });
  const db = createDb(NOWHERE, { max: 1, min: 0 });
  const ctx: EngineContext = {
    config, db, databaseUrl: NOWHERE, logger: createLogger('silent'), clock: createSystemClock(), secretKey: Buffer.alloc(32),
  };
  const app = await createApp(ctx);
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
    await db.destroy();
  }
}
