import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineContext } from '../context.ts';
import type { FlowDocument } from '../contracts/flow.ts';
import { withTx } from '../db/index.ts';
import { newId } from '../db/ids.ts';
import { createFlow, publishFlow } from './service.ts';
import { coreNodeType } from './node-types.ts';

export const EXAMPLES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples');

/** The owners and routing pool the lead-routing example assigns from (BENCHMARKS.md W1: ana, ben, chi in `enterprise`). */
async function seedRouting(ctx: EngineContext, workspaceId: string): Promise<void> {
  await withTx(ctx.db, async (tx) => {
    if (await tx('routing_pools').where({ workspace_id: workspaceId, key: 'enterprise' }).first()) return;
    const now = ctx.clock.now();
    const owners = ['ana', 'ben', 'chi'].map((name) => ({
      id: newId(now.getTime()), workspace_id: workspaceId, name, email: `${name}@example.com`, territories: ['US', 'CA'], created_at: now, updated_at: now,
    }));
    await tx('owners').insert(owners);
    await tx('routing_pools').insert({ id: newId(now.getTime()), workspace_id: workspaceId, key: 'enterprise', owner_ids: owners.map((o) => o.id), created_at: now });
  });
}

/** Example referral programs (`examples/<name>/program.json`), created unless the key exists. */
async function seedReferralProgram(ctx: EngineContext, workspaceId: string, file: string): Promise<void> {
  let program: { key: string };
  try {
    program = JSON.parse(await readFile(file, 'utf8')) as { key: string };
  } catch {
    return;
  }
  await ctx.db('referral_programs').insert({ workspace_id: workspaceId, key: program.key, config: JSON.stringify(program), created_at: ctx.clock.now() })
    .onConflict(['workspace_id', 'key']).ignore();
}

/**
 * Loads every `examples/<name>/flow.json` into a workspace and publishes it (seed, zero-setup start). A flow that
 * does not publish stays a draft, with the reason logged. Returns how many flows were loaded.
 */
export async function loadExamples(ctx: EngineContext, workspaceId: string): Promise<number> {
  await seedRouting(ctx, workspaceId);
  const dirs = (await readdir(EXAMPLES_DIR, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  let loaded = 0;
  for (const dir of dirs) {
    await seedReferralProgram(ctx, workspaceId, path.join(EXAMPLES_DIR, dir, 'program.json'));
    const file = path.join(EXAMPLES_DIR, dir, 'flow.json');
    let doc: FlowDocument;
    try {
      doc = JSON.parse(await readFile(file, 'utf8')) as FlowDocument;
    } catch {
      continue;
    }
    const flow = await withTx(ctx.db, (tx) => createFlow(tx, workspaceId, doc, ctx.clock.now()));
    loaded++;
    try {
      await withTx(ctx.db, (tx) => publishFlow(tx, workspaceId, flow.id, { note: `example ${dir}`, now: ctx.clock.now(), resolve: coreNodeType }));
    } catch (err) {
      ctx.logger.warn({ err, example: dir }, 'example flow left as a draft: it does not publish');
    }
  }
  return loaded;
}
