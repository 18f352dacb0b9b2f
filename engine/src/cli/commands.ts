import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { createApiKey } from '../auth/api-keys.ts';
import { isRole, ROLES, type Role } from '../auth/roles.ts';
import { createUser } from '../auth/users.ts';
import { createSystemClock } from '../time/clock.ts';
import type { Config } from '../config/index.ts';
import type { EngineContext } from '../context.ts';
import { createWorkspace, getWorkspaceBySlug } from '../crm/workspaces.ts';
import { pgCode, PG } from '../db/index.ts';
import { migrateDown, migrateUp, migrationStatus } from '../db/migrate.ts';
import { withMigrationLock } from '../db/migrate-lock.ts';
import { createLogger, type Logger } from '../logger.ts';
import { parseCommand, required, UsageError, type Io } from './args.ts';
import { assertMigrated, openDatabase, type OpenDatabase } from './database.ts';
import { describeDemo, ensureDemo } from './demo.ts';
import { loadSecretKey } from '../secrets/key.ts';
import { FLOW_COMMANDS } from './flows.ts';

/** A command gets its arguments (after its name), the compiled configuration and where to write; it returns the exit code. */
export interface Command {
  summary: string;
  usage: string;
  run(argv: string[], config: Readonly<Config>, io: Io): Promise<number>;
}

const ROLE_LIST = ROLES.join('|');

/** Logs of administrative commands go to stderr so that stdout holds only their result. */
const adminLogger = (config: Readonly<Config>): Logger => createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);

async function withDatabase<T>(config: Readonly<Config>, fn: (open: OpenDatabase, logger: Logger) => Promise<T>, opts = { migrated: true }): Promise<T> {
  const logger = adminLogger(config);
  const open = await openDatabase(config, logger, { share: true });
  try {
    if (opts.migrated) await assertMigrated(open.db);
    return await fn(open, logger);
  } finally {
    await open.close();
  }
}

async function workspaceId(open: OpenDatabase, slug: string): Promise<string> {
  const ws = await getWorkspaceBySlug(open.db, slug);
  if (!ws) throw new Error(`workspace "${slug}" does not exist; create it with: pnpm cairn workspaces create ${slug}`);
  return ws.id;
}

function role(value: string | undefined, usage: string): Role {
  const r = required(value, '--role', usage);
  if (!isRole(r)) throw new UsageError(`--role must be one of ${ROLES.join(', ')} (got "${r}")`, usage);
  return r;
}

const start: Command = {
  summary: 'start the engine (HTTP API, builder UI, workers)',
  usage: `Usage: cairn start

Starts the engine: connects to DATABASE_URL (or starts the embedded PostgreSQL under CAIRN_DATA_DIR),
applies migrations, serves HTTP on HOST:PORT and runs workers (unless CAIRN_WORKERS=false).
Without DATABASE_URL it also ensures the "demo" workspace and prints its admin API key and sign-in.
Prints "listening on http://HOST:PORT" once it serves. SIGINT/SIGTERM shut it down cleanly.`,
  async run(argv, config, io) {
    const { help } = parseCommand(argv, this.usage, {});
    if (help) return printHelp(io, this.usage);
    const logger = createLogger(config.logLevel);
    // After each full GC V8 lets the heap grow up to 4× what was left live before the next one; the engine's live
    // set is ~45 MB and its garbage short-lived, so 1.3× keeps RSS under 200 MB under W1 load for a little more
    // GC work (docs/operations.md, Memory). Read at each GC, so it applies when set here.
    setFlagsFromString('--heap-growing-percent=30');
    // Loaded here, not at the top: administrative commands should not load the HTTP stack and the workers.
    const { startCairn } = await import('../runtime.ts');
    const running = await startCairn(config, { logger });
    let stopping = false;
    const done = new Promise<void>((resolve) => {
      const shutdown = (signal: NodeJS.Signals) => {
        if (stopping) return logger.info({ signal }, 'already shutting down');
        stopping = true;
        logger.info({ signal }, 'signal received');
        running.stop().then(resolve, (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        });
      };
      process.on('SIGINT', shutdown);
      process.on('SIGTERM', shutdown);
    });
    try {
      if (running.embedded) for (const line of describeDemo(await ensureDemo(running.ctx), running.url)) io.out(line);
    } catch (err) {
      await running.stop();
      throw err;
    }
    io.out(`listening on ${running.url}`);
    await done;
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  },
};

const migrate: Command = {
  summary: 'apply, roll back or list migrations',
  usage: `Usage: cairn migrate [up|down|status] [--all]

  up       apply pending migrations (Cairn's and graphile-worker's); the default
  down     roll back the last batch of Cairn's migrations (--all: every batch, and graphile-worker's schema)
  status   list applied and pending migrations`,
  async run(argv, config, io) {
    const { values, positionals, help } = parseCommand(argv, this.usage, { all: { type: 'boolean' } }, { positionals: 1 });
    if (help) return printHelp(io, this.usage);
    const action = positionals[0] ?? 'up';
    if (!['up', 'down', 'status'].includes(action)) throw new UsageError(`unknown migrate action "${action}"`, this.usage);
    return withDatabase(config, async ({ db, url }) => {
      if (action === 'up') {
        const applied = await withMigrationLock(url, () => migrateUp(db, url));
        io.out(applied.length ? applied.map((m) => `applied  ${m}`).join('\n') : 'already up to date');
      } else if (action === 'down') {
        const undone = await withMigrationLock(url, () => migrateDown(db, { all: values.all === true }));
        io.out(undone.length ? undone.map((m) => `rolled back  ${m}`).join('\n') : 'nothing to roll back');
      } else {
        const { applied, pending } = await migrationStatus(db);
        for (const m of applied) io.out(`applied  ${m}`);
        for (const m of pending) io.out(`pending  ${m}`);
        io.out(`${applied.length} applied, ${pending.length} pending`);
      }
      return 0;
    }, { migrated: false });
  },
};

const seed: Command = {
  summary: 'ensure the demo workspace, its admin key, sign-in and example flows (idempotent)',
  usage: `Usage: cairn seed

Ensures the "demo" workspace with an admin API key, an admin sign-in and the example flows, in the database
of DATABASE_URL (or the embedded one). Its credentials are kept in CAIRN_DATA_DIR/demo-credentials.json
(mode 0600) and printed; running it again prints the same ones.`,
  async run(argv, config, io) {
    const { help } = parseCommand(argv, this.usage, {});
    if (help) return printHelp(io, this.usage);
    return withDatabase(config, async ({ db, url }, logger) => {
      const ctx: EngineContext = { config, db, databaseUrl: url, logger, clock: createSystemClock(), secretKey: loadSecretKey(config) };
      const lines = describeDemo(await ensureDemo(ctx), `http://${config.host}:${config.port}`);
      for (const line of lines) io.out(line);
      return 0;
    });
  },
};

const workspacesCreate: Command = {
  summary: 'create a workspace',
  usage: `Usage: cairn workspaces create <slug> [--name <name>]

  <slug>   lowercase letters, digits and dashes (at most 63), e.g. acme`,
  async run(argv, config, io) {
    const { values, positionals, help } = parseCommand(argv, this.usage, { name: { type: 'string' } }, { positionals: 1 });
    if (help) return printHelp(io, this.usage);
    const slug = positionals[0];
    if (!slug) throw new UsageError('<slug> is required', this.usage);
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)) throw new UsageError(`slug "${slug}" must be lowercase letters, digits and dashes (at most 63, not starting with a dash)`, this.usage);
    return withDatabase(config, async ({ db }) => {
      try {
        const ws = await createWorkspace(db, { slug, name: values.name });
        io.out(`created workspace ${ws.slug} (${ws.id})`);
        return 0;
      } catch (err) {
        if (pgCode(err) === PG.uniqueViolation) throw new Error(`workspace "${slug}" already exists`, { cause: err });
        throw err;
      }
    });
  },
};

const keysCreate: Command = {
  summary: 'create an API key (printed once, alone on the last line)',
  usage: `Usage: cairn keys create --workspace <slug> --role <${ROLE_LIST}> [--name <name>]

Prints the new key alone on the last line of stdout; it is stored hashed and cannot be shown again.`,
  async run(argv, config, io) {
    const { values, help } = parseCommand(argv, this.usage, { workspace: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' } });
    if (help) return printHelp(io, this.usage);
    const slug = required(values.workspace, '--workspace', this.usage);
    const r = role(values.role, this.usage);
    return withDatabase(config, async (open) => {
      const { id, key } = await createApiKey(open.db, { workspaceId: await workspaceId(open, slug), role: r, name: values.name });
      io.out(`created ${r} key ${id} for workspace ${slug}`);
      io.out(key);
      return 0;
    });
  },
};

const usersCreate: Command = {
  summary: 'create a builder sign-in',
  usage: `Usage: cairn users create --workspace <slug> --email <email> --role <${ROLE_LIST}> [--password <pw>] [--name <name>]

Without --password a password is generated and printed.`,
  async run(argv, config, io) {
    const { values, help } = parseCommand(argv, this.usage, {
      workspace: { type: 'string' }, email: { type: 'string' }, role: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' },
    });
    if (help) return printHelp(io, this.usage);
    const slug = required(values.workspace, '--workspace', this.usage);
    const email = required(values.email, '--email', this.usage);
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new UsageError(`--email "${email}" is not an email address`, this.usage);
    const r = role(values.role, this.usage);
    if (values.password !== undefined && values.password.length < 8) throw new UsageError('--password must have at least 8 characters', this.usage);
    const password = values.password ?? randomBytes(12).toString('base64url');
    return withDatabase(config, async (open) => {
      try {
        const { id } = await createUser(open.db, { workspaceId: await workspaceId(open, slug), email, password, role: r, name: values.name });
        io.out(`created ${r} user ${email} (${id}) in workspace ${slug}`);
        if (values.password === undefined) io.out(`password: ${password}`);
        return 0;
      } catch (err) {
        if (pgCode(err) === PG.uniqueViolation) throw new Error(`a user with email ${email} already exists in workspace ${slug}`, { cause: err });
        throw err;
      }
    });
  },
};

function printHelp(io: Io, usage: string): number {
  io.out(usage);
  return 0;
}

/** Commands by their words: `keys create` is ['keys', 'create']. */
export const COMMANDS: ReadonlyMap<string, Command> = new Map([
  ['start', start],
  ['migrate', migrate],
  ['seed', seed],
  ['workspaces create', workspacesCreate],
  ['keys create', keysCreate],
  ['users create', usersCreate],
  ...FLOW_COMMANDS,
]);
