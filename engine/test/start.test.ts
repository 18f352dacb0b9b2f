import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli, spawnCli, type CliProcess } from './cli-process.ts';

/**
 * The zero-setup start, end to end: the real `cairn start` as a child process, DATABASE_URL unset, an empty data
 * directory, so it initialises and runs an embedded PostgreSQL (as the postgres OS user when we are root).
 */
describe('cairn start on embedded PostgreSQL', () => {
  let dataDir: string;
  const started: CliProcess[] = [];

  afterAll(async () => {
    for (const p of started) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    // A killed CLI leaves its PostgreSQL running; stop it so the test leaks nothing.
    const pid = postmasterPid();
    if (pid && alive(pid)) process.kill(pid, 'SIGINT');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const postmasterPid = (): number | null => {
    const file = path.join(dataDir, 'pg', 'postmaster.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : null;
  };

  async function start() {
    const p = spawnCli(['start'], cliEnv({ CAIRN_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' }));
    started.push(p);
    const [, url] = await p.waitFor(/^listening on (http:\/\/127\.0\.0\.1:\d+)$/m);
    const [, key] = p.stdout.match(/Admin API key:\s+(\S+)/)!;
    const [, email, password] = p.stdout.match(/Sign in:\s+(\S+) \/ (\S+)/)!;
    return { p, url: url!, key: key!, email: email!, password: password! };
  }

  const api = (url: string, key: string, p: string, init: RequestInit = {}) =>
    fetch(`${url}${p}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...init.headers } });

  it('starts from an empty data directory, serves, shuts down on SIGTERM, and a restart reuses the data', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'cairn-start-'));

    // First start: initdb, migrations, demo workspace with a working admin key.
    const first = await start();
    expect(first.p.stdout).toContain('Demo workspace "demo" created');
    const health = await fetch(`${first.url}/healthz`);
    expect(health.status).toBe(200);
    const created = await api(first.url, first.key, '/v1/contacts', {
      method: 'POST', body: JSON.stringify({ email: 'ada@example.com', properties: { plan: 'pro' } }),
    });
    expect(created.status).toBe(201);
    const contact = (await created.json()) as { id: string };
    const pgPid = postmasterPid()!;
    expect(alive(pgPid)).toBe(true);

    // Secrets are kept owner-only.
    for (const f of ['demo-credentials.json', 'secret.key', 'embedded-postgres.json']) {
      expect(statSync(path.join(dataDir, f)).mode & 0o777, f).toBe(0o600);
    }
    const secretKey = readFileSync(path.join(dataDir, 'secret.key'), 'utf8');

    first.p.child.kill('SIGTERM');
    expect((await first.p.exited).code).toBe(0);
    expect(alive(pgPid)).toBe(false); // the embedded PostgreSQL was stopped, not orphaned
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    expect(first.p.stdout).not.toMatch(/"level":(50|60)/); // nothing logged at error or fatal

    // Second start on the same directory: same data, same demo credentials, same secret key.
    const second = await start();
    expect(second.p.stdout).not.toContain('Demo workspace "demo" created');
    expect(second.key).toBe(first.key);
    expect(second.password).toBe(first.password);
    const read = await api(second.url, second.key, `/v1/contacts/${contact.id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: contact.id, email: 'ada@example.com', properties: { plan: 'pro' } });
    expect(readFileSync(path.join(dataDir, 'secret.key'), 'utf8')).toBe(secretKey);

    // Next to a running start, administrative commands share its embedded server; a second start is refused.
    const env = cliEnv({ CAIRN_DATA_DIR: dataDir, PORT: '0' });
    const [keys, rival] = await Promise.all([
      runCli(['keys', 'create', '--workspace', 'demo', '--role', 'ingest'], env),
      runCli(['start'], env),
    ]);
    expect(keys.code, keys.stderr).toBe(0);
    const ingestKey = keys.stdout.trimEnd().split('\n').pop()!;
    const ingest = await api(second.url, ingestKey, '/v1/events', {
      method: 'POST', body: JSON.stringify({ type: 'page.viewed', contact: { email: 'ada@example.com' } }),
    });
    expect(ingest.status).toBe(202);
    expect(rival.code).toBe(1);
    expect(rival.stderr).toMatch(/in use by Cairn process \d+/);

    // Killed without a chance to clean up: its PostgreSQL keeps running and its postmaster.pid stays behind.
    second.p.child.kill('SIGKILL');
    await second.p.exited;
    const orphan = postmasterPid()!;
    expect(alive(orphan)).toBe(true);

    // The next start is not blocked by either: it stops the orphan and starts its own server.
    const third = await start();
    expect(alive(orphan)).toBe(false);
    const again = await api(third.url, third.key, `/v1/contacts/${contact.id}`);
    expect(again.status).toBe(200);
    const thirdPg = postmasterPid()!;
    third.p.child.kill('SIGINT');
    expect((await third.p.exited).code).toBe(0);
    expect(alive(thirdPg)).toBe(false);
  }, 240_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
