import type { Tx, Db } from '../../../db/index.ts';
import type { FlowDocument } from '../../../contracts/flow.ts';
import { compileFlow, type CompiledFlow } from '../../../flow/compile.ts';

/**
 * Compiled flow versions by `flowId:version`. Versions are immutable, so an entry never goes stale; the cache
 * only grows with the versions that have runs in this process (bounded by an LRU-ish clear).
 */
export class FlowCache {
  private readonly byKey = new Map<string, CompiledFlow>();

  get(flowId: string, version: number): CompiledFlow | undefined {
    return this.byKey.get(`${flowId}:${version}`);
  }

  /** Loads and compiles every listed version not cached yet, in one query. */
  async ensure(q: Tx | Db, workspaceId: string, keys: { flowId: string; version: number }[]): Promise<void> {
    const missing = new Map<string, { flowId: string; version: number }>();
    for (const k of keys) {
      const key = `${k.flowId}:${k.version}`;
      if (!this.byKey.has(key)) missing.set(key, k);
    }
    if (missing.size === 0) return;
    if (this.byKey.size > 5000) this.byKey.clear();
    const list = [...missing.values()];
    const { rows } = await q.raw(
      `SELECT v.workspace_id, v.flow_id, v.version, v.document, v.plugin_pins
         FROM flow_versions v JOIN unnest(?::uuid[], ?::int[]) AS k(flow_id, version)
           ON v.workspace_id = ? AND v.flow_id = k.flow_id AND v.version = k.version`,
      [list.map((k) => k.flowId), list.map((k) => k.version), workspaceId],
    );
    for (const r of rows as { workspace_id: string; flow_id: string; version: number; document: FlowDocument; plugin_pins: Record<string, string> }[]) {
      this.byKey.set(
        `${r.flow_id}:${r.version}`,
        compileFlow(r.document, { workspaceId: r.workspace_id, flowId: r.flow_id, version: r.version, pluginPins: r.plugin_pins }),
      );
    }
  }
}
