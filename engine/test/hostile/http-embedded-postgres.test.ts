import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createDb } from '../../src/db/index.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { createLogger } from '../../src/logger.ts';

/**
 * Issue 8, item 9: a running engine restarts its embedded PostgreSQL when it dies. Before, the server stayed
 * down and every request failed until the engine itself was restarted. A real PostgreSQL, killed with SIGKILL.
 */

const dataDir = mkdtempSync(path.join(tmpdir(), 'cairn-embedded-restart-'));
let pg: EmbeddedPostgres | null = null;

afterAll(async () => {
  await pg?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it('after a SIGKILL of the embedded PostgreSQL the engine starts it again on the same port, and the pool reconnects', async () => {
  pg = await startEmbeddedPostgres({ dataDir, fastInit: true, port: 0, logger: createLogger('silent') });
  const db = createDb(pg.url, { max: 2 });
  try {
    expect((await db.raw('SELECT 1 AS one')).rows[0].one).toBe(1);
    const first = pg.serverPid!()!;
    process.kill(first, 'SIGKILL');
    // Backends already connected may still answer for a moment; the restart shows as a new postmaster.
    const deadline = Date.now() + 60_000;
    while (pg.serverPid!() === first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(pg.serverPid!()).not.toBe(first);
    let back = false;
    while (!back && Date.now() < deadline) {
      back = await db.raw('SELECT 1').then(() => true, () => false);
      if (!back) await new Promise((r) => setTimeout(r, 200));
    }
    expect(back).toBe(true);
    const fresh = createDb(pg.url, { max: 1 });
    expect((await fresh.raw('SELECT 2 AS two')).rows[0].two).toBe(2);
    await fresh.destroy();
  } finally {
    await db.destroy();
  }
}, 120_000);
