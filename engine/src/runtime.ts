import type { AddressInfo } from 'node:net';
import type { Config } from './config/index.ts';
import { loadSecretKey } from './secrets/key.ts';
import { createManualClock, createSystemClock } from './time/clock.ts';
import type { EngineContext } from './context.ts';
import { createDb } from './db/index.ts';
import { startMaintenanceKeeper } from './db/maintenance.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded.ts';
import { migrateUp } from './db/migrate.ts';
import { withMigrationLock } from './db/migrate-lock.ts';
import { createApp } from './http/app.ts';
import { createLogger, type Logger } from './logger.ts';
import { createFlowEngine, type FlowEngine, type FlowEngineOptions } from './runner/index.ts';
import type { ActionRegistry } from './runner/ports.ts';
import { createPostgresFlowAdapters } from './runner/postgres/index.ts';
import { createEmailAction } from './channels/email.ts';
import { createWebhookAction } from './channels/webhook.ts';
import { databaseTargets } from './db/admin.ts';
import { createPluginRuntime } from './plugins/runtime.ts';

export interface RunningCairn {
  /** `http://HOST:PORT` with the port actually bound (PORT=0 picks one). */
  url: string;
  ctx: EngineContext;
  /** Whether the database is the embedded PostgreSQL under the data directory. */
  embedded: boolean;
  /** Clean shutdown: stop accepting HTTP and drain, stop the workers, close the pool, stop embedded PostgreSQL. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
}

/**
 * Starts one engine process: database (DATABASE_URL or embedded), migrations, context, flow engine, HTTP, then
 * workers. Everything started is stopped again, in reverse order, if a later step fails.
 */
export async function startCairn(config: Readonly<Config>, opts: StartOptions = {}): Promise<RunningCairn> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  // Resolved once, here: a malformed CAIRN_SECRET_KEY fails the start, not the first credential a plugin needs.
  const secretKey = loadSecretKey(config);
  const undo: (() => Promise<void>)[] = [];
  const unwind = async () => {
    for (const step of undo.reverse()) await step().catch((err: unknown) => logger.error({ err }, 'error during shutdown'));
  };
  try {
    let embedded: EmbeddedPostgres | null = null;
    if (config.databaseUrl === null) {
      embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, logger });
      undo.push(() => embedded!.stop());
    }
    const databaseUrl = config.databaseUrl ?? embedded!.url;
    const db = createDb(databaseUrl);
    undo.push(() => db.destroy());
    const applied = await withMigrationLock(databaseUrl, () => migrateUp(db, databaseUrl));
    if (applied.length) logger.info({ applied }, 'migrations applied');

    const ctx: EngineContext = {
      config, db, databaseUrl, logger, secretKey,
      clock: config.clock === 'manual' ? createManualClock() : createSystemClock(),
    };
    const plugins = createPluginRuntime(ctx);
    undo.push(() => plugins.close());
    const engine = wireFlowEngine(ctx, { registry: plugins.actions, tasks: plugins.tasks });
    const app = await createApp(ctx, { engine, ...plugins.appOptions });
    // Pushed before listen so a failed listen still closes the app; engine.stop is safe before start.
    undo.push(() => engine.stop());
    undo.push(() => app.close());
    await app.listen({ port: config.port, host: config.host });
    if (config.workers) {
      await engine.start();
      // Keeps the hot tables' statistics up with bulk growth and their dead rows vacuumed (db/maintenance.ts); workers are
      // where the writes come from.
      const keeper = startMaintenanceKeeper(db, logger);
      undo.push(() => keeper.stop());
    }

    const { port } = app.server.address() as AddressInfo;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    let stopping: Promise<void> | null = null;
    return {
      url: `http://${host}:${port}`,
      ctx,
      embedded: embedded !== null,
      stop: () => {
        stopping ??= (async () => {
          logger.info('shutting down');
          await unwind();
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

/**
 * The flow engine with what it stores through (the runner's PostgreSQL adapters, runner/postgres/index.ts) and what it
 * acts through: the built-in channels (email, webhook; neither may reach the engine's database) and the plugin
 * actions. The start above and the test harnesses wire the engine here, nowhere else.
 */
export function wireFlowEngine(ctx: EngineContext, opts: { registry?: ActionRegistry; tasks?: FlowEngineOptions['tasks'] } = {}): FlowEngine {
  const adapters = createPostgresFlowAdapters({ db: ctx.db, clock: ctx.clock, logger: ctx.logger.child({ component: 'runner' }), databaseUrl: ctx.databaseUrl });
  const { flows } = adapters;
  return createFlowEngine(ctx, {
    adapters,
    registry: opts.registry,
    tasks: opts.tasks,
    builtins: {
      'action.send_email': createEmailAction({
        db: ctx.db, secret: ctx.secretKey, now: () => ctx.clock.now(), flows, publicUrl: ctx.config.publicUrl,
        smtp: { allowPrivate: ctx.config.email.allowPrivateHosts, deniedTargets: databaseTargets(ctx.databaseUrl) },
      }),
      'action.webhook': createWebhookAction({
        secret: ctx.secretKey,
        now: () => ctx.clock.now(),
        allowPrivate: ctx.config.webhooks.allowPrivateHosts,
        deniedTargets: databaseTargets(ctx.databaseUrl),
      }),
    },
  });
}
