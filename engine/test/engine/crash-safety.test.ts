import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAndPublish, eventually, startHarness, type Harness } from '../engine-harness.ts';
import { startReceiver } from '../receiver.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const workerScript = path.join(root, 'engine/test/fixtures/worker-process.ts');

function startWorker(url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', workerScript], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent', CAIRN_SECRET_KEY: 'a'.repeat(64), CAIRN_WORKER_CONCURRENCY: '16', CAIRN_WEBHOOK_ALLOW_PRIVATE_HOSTS: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(child); });
    child.on('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

const N = 2000;

describe('crash safety', () => {
  let h: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    h = await startHarness({ clock: 'system', workers: false });
    // A slow-ish receiver that sometimes fails, so kills land mid-call and retries happen.
    receiver = await startReceiver(async (_r, n) => {
      await new Promise((r) => setTimeout(r, 40 + (n % 7) * 15));
      return n % 17 === 0 ? { status: 503 } : { status: 200, body: { ok: true } };
    });
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await receiver?.close();
    await h?.close();
  });

  it('SIGKILLed workers lose no run, repeat no in-engine action, and every retry carries the same key', async () => {
    const flowId = await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Crash test', settings: { reentry: 'after_exit', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'crash.go' } },
        { id: 'score', type: 'action.score', position: { x: 0, y: 100 }, config: { delta: 1 } },
        { id: 'hook', type: 'action.webhook', position: { x: 0, y: 200 }, config: { url: `${receiver.url}/hook`, retry: { max_attempts: 20, backoff: 'PT0.2S', factor: 1 } } },
        { id: 'tag', type: 'action.tag', position: { x: 0, y: 300 }, config: { add: ['done'] } },
        { id: 'emit', type: 'action.emit_event', position: { x: 0, y: 400 }, config: { event: 'crash.done' } },
      ],
      edges: [
        { id: 'e1', source: 'start', target: 'score' }, { id: 'e2', source: 'score', target: 'hook' },
        { id: 'e3', source: 'hook', target: 'tag' }, { id: 'e4', source: 'tag', target: 'emit' },
      ],
    });
    workers.push(await startWorker(h.t.url), await startWorker(h.t.url));
    for (let i = 0; i < N; i += 250) {
      const events = Array.from({ length: 250 }, (_, k) => ({ type: 'crash.go', contact: { email: `crash${i + k}@example.com` } }));
      expect((await h.call('POST', '/v1/events/batch', { events })).status).toBe(202);
    }
    // Kill a random worker at random moments and start a fresh one, while the runs are in flight.
    const completedNow = async () => (await h.t.db.raw(`SELECT count(*)::int AS n FROM runs WHERE flow_id = ? AND status = 'completed'`, [flowId])).rows[0].n as number;
    const completedAtKill: number[] = [];
    for (let kill = 0; kill < 8; kill++) {
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 500));
      const victim = workers.splice(Math.floor(Math.random() * workers.length), 1)[0]!;
      victim.kill('SIGKILL');
      completedAtKill.push(await completedNow());
      workers.push(await startWorker(h.t.url));
    }
    // The kills landed while runs were in flight: at least the first half of them (how many of the later ones do
    // depends on how fast the machine starts a worker against how fast the rest finish the runs).
    expect(completedAtKill[completedAtKill.length / 2 - 1]).toBeLessThan(N);

    const done = await eventually(async () => {
      const r = await h.t.db.raw(`SELECT count(*)::int AS n FROM runs WHERE flow_id = ? AND status = 'completed'`, [flowId]);
      return r.rows[0].n === N ? true : undefined;
    }, 120_000, 250);
    expect(done).toBe(true);

    const runs = await h.t.db.raw(`SELECT status, count(*)::int AS n FROM runs WHERE flow_id = ? GROUP BY status`, [flowId]);
    expect(runs.rows).toEqual([{ status: 'completed', n: N }]);
    // In-engine actions exactly once: score 1, tagged once, one emitted event per contact.
    const contacts = await h.t.db.raw(`SELECT score, tags FROM contacts WHERE workspace_id = ? AND email LIKE 'crash%'`, [h.workspaceId]);
    expect(contacts.rows).toHaveLength(N);
    expect(contacts.rows.every((c: { score: number; tags: string[] }) => c.score === 1 && c.tags.join() === 'done')).toBe(true);
    const emitted = await h.t.db.raw(`SELECT count(*)::int AS n, count(DISTINCT contact_id)::int AS c FROM events WHERE workspace_id = ? AND type = 'crash.done'`, [h.workspaceId]);
    expect(emitted.rows[0]).toEqual({ n: N, c: N });
    // Each step completed exactly once per run, whichever process ran it.
    const dupes = await h.t.db.raw(`SELECT run_id, node_id FROM run_step_history WHERE status = 'completed' GROUP BY run_id, node_id HAVING count(*) > 1`);
    expect(dupes.rows).toEqual([]);
    const completedSteps = await h.t.db.raw(`SELECT count(*)::int AS n FROM run_step_history s JOIN runs r ON r.id = s.run_id WHERE r.flow_id = ? AND s.status = 'completed'`, [flowId]);
    expect(completedSteps.rows[0].n).toBe(N * 5);
    // The receiver saw every run's key at least once, and only keys of real runs (retries reuse the key).
    const runIds = new Set((await h.t.db.raw(`SELECT id FROM runs WHERE flow_id = ?`, [flowId])).rows.map((r: { id: string }) => `${r.id}:hook`));
    const seen = new Set(receiver.received.map((r) => String(r.headers['idempotency-key'])));
    expect([...seen].every((k) => runIds.has(k))).toBe(true);
    expect(seen.size).toBe(N);
    expect(receiver.received.length).toBeGreaterThanOrEqual(N);
  }, 240_000);
});

describe('durability', () => {
  let h: Harness;
  let worker: ChildProcess | undefined;
  beforeAll(async () => { h = await startHarness({ clock: 'system', workers: false }); });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await h?.close();
  });

  it('a run in a 2 s real-time delay resumes after the whole engine is restarted', async () => {
    const flowId = await createAndPublish(h, {
      schema: 'cairn.flow/v1', name: 'Durable delay', settings: { reentry: 'after_exit', goal: null, exit_on: [] },
      nodes: [
        { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event: 'durable.go' } },
        { id: 'wait', type: 'delay', position: { x: 0, y: 100 }, config: { mode: 'duration', duration: 'PT2S' } },
        { id: 'tag', type: 'action.tag', position: { x: 0, y: 200 }, config: { add: ['woke'] } },
      ],
      edges: [{ id: 'e1', source: 'start', target: 'wait' }, { id: 'e2', source: 'wait', target: 'tag' }],
    });
    worker = await startWorker(h.t.url);
    expect((await h.call('POST', '/v1/events', { type: 'durable.go', contact: { email: 'durable@example.com' } })).status).toBe(202);
    await eventually(async () => (await h.t.db.raw(`SELECT 1 FROM runs WHERE flow_id = ? AND status = 'waiting'`, [flowId])).rows[0]);
    const stopped = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await stopped;
    await new Promise((r) => setTimeout(r, 2500)); // the delay falls due while no engine runs
    expect((await h.t.db.raw(`SELECT status FROM runs WHERE flow_id = ?`, [flowId])).rows[0].status).toBe('waiting');
    worker = await startWorker(h.t.url);
    await eventually(async () => (await h.t.db.raw(`SELECT 1 FROM runs WHERE flow_id = ? AND status = 'completed'`, [flowId])).rows[0], 20_000);
    const c = await h.t.db.raw(`SELECT tags FROM contacts WHERE workspace_id = ? AND email = 'durable@example.com'`, [h.workspaceId]);
    expect(c.rows[0].tags).toEqual(['woke']);
  }, 60_000);
});
