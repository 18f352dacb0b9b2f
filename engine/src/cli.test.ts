import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/db.ts';
import { cliEnv, runCli } from '../test/cli-process.ts';
import { main } from './cli.ts';
import { authenticateApiKey } from './auth/api-keys.ts';
import { verifyPassword } from './auth/passwords.ts';
import { findUserByEmail } from './auth/users.ts';
import { createSystemClock } from './time/clock.ts';
import { compileConfig } from './config/index.ts';
import { getWorkspaceBySlug } from './crm/workspaces.ts';
import { adminQuery, quoteIdent, withDatabase } from './db/admin.ts';
import { MIGRATIONS_DIR } from './db/migrate.ts';
import { createApp } from './http/app.ts';
import { createLogger } from './logger.ts';
import { loadSecretKey } from './secrets/key.ts';

type Env = Record<string, string | undefined>;

/** The CLI's `main` in this process, as `pnpm cairn` calls it, with its output collected: exit code, stdout, stderr. */
async function cli(args: string[], env: Env): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
  return { code, stdout: out.map((l) => `${l}\n`).join(''), stderr: err.map((l) => `${l}\n`).join('') };
}

/**
 * The CLI against a cloned test database via DATABASE_URL: commands run in-process through `main` (argv, output,
 * environment in; exit code out); two smoke tests run the real child process that `pnpm cairn` starts.
 */
describe('cairn CLI', () => {
  let t: TestDatabase;
  let dataDir: string;
  let env: Env;

  beforeAll(async () => {
    t = await createTestDatabase();
    dataDir = await mkdtemp(path.join(tmpdir(), 'cairn-cli-'));
    env = { DATABASE_URL: t.url, CAIRN_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  });
  afterAll(async () => {
    await t.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keys create prints the key alone on the last line of stdout, and that key authenticates over HTTP', async () => {
    expect((await cli(['workspaces', 'create', 'acme', '--name', 'Acme Inc'], env)).code).toBe(0);
    const r = await cli(['keys', 'create', '--workspace', 'acme', '--role', 'editor', '--name', 'ci'], env);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const key = lines[lines.length - 1]!;
    expect(key).toMatch(/^cairn_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);

    const ws = await getWorkspaceBySlug(t.db, 'acme');
    expect(await authenticateApiKey(t.db, key)).toMatchObject({ workspaceId: ws!.id, role: 'editor' });

    const config = compileConfig({ DATABASE_URL: t.url, LOG_LEVEL: 'silent' });
    const app = await createApp({ config, db: t.db, databaseUrl: t.url, logger: createLogger('silent'), clock: createSystemClock(), secretKey: loadSecretKey(config) }, {});
    try {
      const ok = await app.inject({ method: 'GET', url: '/v1/contacts', headers: { authorization: `Bearer ${key}` } });
      expect(ok.statusCode).toBe(200);
      const bad = await app.inject({ method: 'GET', url: '/v1/contacts', headers: { authorization: `Bearer ${key.slice(0, -1)}x` } });
      expect(bad.statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('users create stores a sign-in; a generated password is printed and verifies', async () => {
    const r = await cli(['users', 'create', '--workspace', 'acme', '--email', 'ops@acme.test', '--role', 'viewer'], env);
    expect(r.code).toBe(0);
    const password = r.stdout.match(/^password: (\S+)$/m)![1]!;
    const ws = await getWorkspaceBySlug(t.db, 'acme');
    const user = await findUserByEmail(t.db, ws!.id, 'ops@acme.test');
    expect(user!.role).toBe('viewer');
    expect(await verifyPassword(password, user!.password_hash)).toBe(true);

    const again = await cli(['users', 'create', '--workspace', 'acme', '--email', 'OPS@acme.test', '--role', 'viewer', '--password', 'long-enough'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
  });

  it('migrate status lists every migration of migrations/ as applied', async () => {
    const r = await cli(['migrate', 'status'], env);
    expect(r.code).toBe(0);
    const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{4}_.*\.ts$/.test(f)).map((f) => f.replace(/\.ts$/, ''));
    for (const f of files) expect(r.stdout).toContain(`applied  ${f}`);
    expect(r.stdout).toContain(`${files.length} applied, 0 pending`);
  });

  it('three migrate runs on one empty database at once take turns (advisory lock): one applies everything, the others find it done', async () => {
    const adminUrl = inject('adminUrl');
    const name = `cairn_t_${randomBytes(6).toString('hex')}`;
    await adminQuery(adminUrl, `CREATE DATABASE ${quoteIdent(name)}`);
    try {
      const fresh = { ...env, DATABASE_URL: withDatabase(adminUrl, name) };
      const runs = await Promise.all([1, 2, 3].map(() => cli(['migrate', 'up'], fresh)));
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      expect(runs.filter((r) => r.stdout.includes('applied  0001_foundation'))).toHaveLength(1);
      expect(runs.filter((r) => r.stdout.includes('already up to date'))).toHaveLength(2);
      const status = await cli(['migrate', 'status'], fresh);
      expect(status.stdout).toMatch(/\d+ applied, 0 pending/);
    } finally {
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    }
  });

  it('seed is idempotent: one demo workspace, the same admin key each time, and the key is an admin key', async () => {
    const first = await cli(['seed'], env);
    expect(first.code).toBe(0);
    const second = await cli(['seed'], env);
    expect(second.code).toBe(0);
    const key1 = first.stdout.match(/Admin API key:\s+(\S+)/)![1]!;
    expect(second.stdout.match(/Admin API key:\s+(\S+)/)![1]).toBe(key1);
    expect(first.stdout).toContain('Demo workspace "demo" created');
    expect(second.stdout).not.toContain('created');
    const demos = await t.db('workspaces').where({ slug: 'demo' });
    expect(demos).toHaveLength(1);
    expect(await authenticateApiKey(t.db, key1)).toMatchObject({ workspaceId: demos[0].id, role: 'admin' });
  });

  it('--help on the root and on every command exits 0 and prints the usage', async () => {
    const root = await cli(['--help'], env);
    expect(root.code).toBe(0);
    for (const c of ['start', 'migrate', 'seed', 'workspaces create', 'keys create', 'users create', 'flows pull', 'flows push', 'flows diff']) expect(root.stdout).toContain(c);
    const commands = [['start'], ['migrate'], ['seed'], ['workspaces', 'create'], ['keys', 'create'], ['users', 'create'], ['flows', 'pull'], ['flows', 'push'], ['flows', 'diff']];
    const results = await Promise.all(commands.map((args) => cli([...args, '--help'], env)));
    commands.forEach((args, i) => {
      expect(results[i]!.code, args.join(' ')).toBe(0);
      expect(results[i]!.stdout, args.join(' ')).toContain(`Usage: cairn ${args.join(' ')}`);
    });
  });

  it('bad arguments exit 2 with a message naming the problem', async () => {
    const cases: [string[], string][] = [
      [[], 'Usage: cairn <command>'],
      [['bogus'], 'unknown command "bogus"'],
      [['keys', 'create', '--role', 'admin'], '--workspace is required'],
      [['keys', 'create', '--workspace', 'acme', '--role', 'boss'], '--role must be one of admin, editor, viewer, ingest'],
      [['keys', 'create', '--workspace', 'acme', '--role', 'admin', '--colour', 'blue'], "Unknown option '--colour'"],
      [['migrate', 'sideways'], 'unknown migrate action "sideways"'],
      [['workspaces', 'create', 'Not A Slug'], 'must be lowercase letters'],
      [['users', 'create', '--workspace', 'acme', '--email', 'nope', '--role', 'admin'], 'is not an email address'],
      [['flows', 'push', 'flows', '--url', 'ftp://x', '--api-key', 'k'], '--url must be an http(s) URL'],
      [['flows', 'diff', 'a', 'b'], 'unexpected argument "b"'],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args, env)));
    cases.forEach(([args, message], i) => {
      expect(results[i]!.code, args.join(' ')).toBe(2);
      expect(results[i]!.stderr, args.join(' ')).toContain(message);
    });
    const badEnv = await cli(['migrate', 'status'], { ...env, PORT: 'eighty' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('invalid configuration');
  });

  it('a command that fails at run time exits 1 and says why', async () => {
    const r = await cli(['keys', 'create', '--workspace', 'nowhere', '--role', 'admin'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('workspace "nowhere" does not exist');
  });

  it('child process: keys create prints the key alone on the last line of stdout and exits 0', async () => {
    const r = await runCli(['keys', 'create', '--workspace', 'acme', '--role', 'viewer'], cliEnv({ DATABASE_URL: t.url, CAIRN_DATA_DIR: dataDir }));
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(await authenticateApiKey(t.db, lines[lines.length - 1]!)).toMatchObject({ role: 'viewer' });
  });

  it('child process: bad arguments exit 2 with the message on stderr', async () => {
    const r = await runCli(['keys', 'create', '--workspace', 'acme', '--role', 'boss'], cliEnv({ DATABASE_URL: t.url, CAIRN_DATA_DIR: dataDir }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--role must be one of admin, editor, viewer, ingest');
  });
});
