import type { Knex } from 'knex';

// Every primary key leads with workspace_id, so the schema distributes by workspace (Citus and the like) without
// change: a distributed table can only enforce a key that contains its distribution column, and a foreign key
// between two distributed tables must carry it on both sides (docs/operations.md §Scaling past one PostgreSQL).
// These were the last tables keyed by a globally unique id alone.
//
// What it costs: the key of events and runs grows by a uuid (about 18 bytes a row). contacts, flows, owners and
// tasks already carried a second, non-unique (workspace_id, id) index for listing by workspace: the widened
// primary key takes its place, so contacts' footprint shrinks by one index (docs/performance.md, footprint).
//
// Rebuilding a primary key locks its table while the new index builds (as long as a CREATE INDEX on the same
// columns): run it in a quiet hour on a large installation.

interface Key { table: string; from: string[]; to: string[]; replaces?: { index: string; columns: string[] } }

const KEYS: Key[] = [
  { table: 'contacts', from: ['id'], to: ['workspace_id', 'id'], replaces: { index: 'contacts_workspace_id', columns: ['workspace_id', 'id'] } },
  { table: 'events', from: ['id'], to: ['workspace_id', 'id'] },
  { table: 'runs', from: ['id'], to: ['workspace_id', 'id'] },
  { table: 'run_steps', from: ['run_id', 'id'], to: ['workspace_id', 'run_id', 'id'] },
  { table: 'flows', from: ['id'], to: ['workspace_id', 'id'], replaces: { index: 'flows_workspace', columns: ['workspace_id', 'id'] } },
  { table: 'flow_versions', from: ['flow_id', 'version'], to: ['workspace_id', 'flow_id', 'version'] },
  { table: 'flow_triggers', from: ['flow_id'], to: ['workspace_id', 'flow_id'] },
  { table: 'flow_timers', from: ['flow_id'], to: ['workspace_id', 'flow_id'] },
  { table: 'flow_enrollments', from: ['flow_id', 'contact_id'], to: ['workspace_id', 'flow_id', 'contact_id'] },
  { table: 'flow_stats', from: ['flow_id', 'version', 'shard'], to: ['workspace_id', 'flow_id', 'version', 'shard'] },
  { table: 'node_stats', from: ['flow_id', 'version', 'node_id', 'shard'], to: ['workspace_id', 'flow_id', 'version', 'node_id', 'shard'] },
  { table: 'owners', from: ['id'], to: ['workspace_id', 'id'], replaces: { index: 'owners_workspace', columns: ['workspace_id', 'id'] } },
  { table: 'routing_pools', from: ['id'], to: ['workspace_id', 'id'] },
  { table: 'tasks', from: ['id'], to: ['workspace_id', 'id'], replaces: { index: 'tasks_workspace', columns: ['workspace_id', 'id'] } },
];

// The tables whose rows belong to a flow, deleted with it.
const FLOW_CHILDREN = ['flow_versions', 'flow_triggers', 'flow_timers', 'flow_enrollments', 'flow_stats', 'node_stats'];

const list = (columns: string[]) => columns.join(', ');

async function rekey(knex: Knex, columns: (k: Key) => string[], flowKey: string[], childKey: string[]): Promise<void> {
  // Foreign keys onto flows hold its primary key in place: they go first and come back on the new key.
  for (const child of FLOW_CHILDREN) await knex.raw(`ALTER TABLE ${child} DROP CONSTRAINT ${child}_flow_id_fkey`);
  for (const k of KEYS) {
    await knex.raw(`ALTER TABLE ${k.table} DROP CONSTRAINT ${k.table}_pkey, ADD CONSTRAINT ${k.table}_pkey PRIMARY KEY (${list(columns(k))})`);
  }
  for (const child of FLOW_CHILDREN) {
    await knex.raw(`ALTER TABLE ${child} ADD CONSTRAINT ${child}_flow_id_fkey
      FOREIGN KEY (${list(childKey)}) REFERENCES flows (${list(flowKey)}) ON DELETE CASCADE`);
  }
}

export async function up(knex: Knex): Promise<void> {
  await rekey(knex, (k) => k.to, ['workspace_id', 'id'], ['workspace_id', 'flow_id']);
  for (const k of KEYS) if (k.replaces) await knex.raw(`DROP INDEX ${k.replaces.index}`);
}

export async function down(knex: Knex): Promise<void> {
  for (const k of KEYS) if (k.replaces) await knex.raw(`CREATE INDEX ${k.replaces.index} ON ${k.table} (${list(k.replaces.columns)})`);
  await rekey(knex, (k) => k.from, ['id'], ['flow_id']);
}
