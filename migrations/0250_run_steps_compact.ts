import type { Knex } from 'knex';

// Lean run history (issue 17, docs/operations.md §Storage and sizing). The steps of a run that has ended are kept as
// ONE compact record on the run row (`runs.steps`), written by the same UPDATE that completes the run, instead of a
// run_steps row each with its own index entry; a run that waits (delay, wait_for_event, an external call) keeps its
// steps as run_steps rows while open, and they are folded into the record (and deleted) when it ends.
//
// `steps` is a JSON array, one element per step in order: [node_id, status, times, output, error, logs], trailing nulls
// left out. status: c(ompleted) s(kipped) f(ailed) d(eferred), followed by the attempt unless it is 1 ("c0", "f2");
// upper case C or S: the output is also the run's var of that node, so `runs.vars` leaves it out (run_vars puts it
// back). times: "<started>:<finished>" in milliseconds after the run's started_at, or one number when they are equal.
// Strings, not JSON numbers: jsonb stores a small number in about 8 bytes plus padding, its digits as a string in 2.
//
// Every reader goes through run_steps_of(...) (or the view run_step_history over it): both places, in step order;
// run_steps_record(...) reads a record alone (retention rolls up the records it deletes).
// Nullable without a default: adding the column rewrites nothing.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE runs ADD COLUMN steps jsonb;

    -- A compact record as step rows (ord: its position − 1,000,000,000, so it sorts before any run_steps id).
    CREATE FUNCTION run_steps_record(p_steps jsonb, p_started timestamptz)
    RETURNS TABLE (ord bigint, node_id text, status text, attempt integer, started_at timestamptz, finished_at timestamptz,
                   output jsonb, error jsonb, logs jsonb)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT e.n - 1000000000, e.s->>0,
             CASE lower(left(e.s->>1, 1)) WHEN 'c' THEN 'completed' WHEN 's' THEN 'skipped' WHEN 'f' THEN 'failed' ELSE 'deferred' END,
             coalesce(nullif(substr(e.s->>1, 2), '')::int, 1),
             p_started + split_part(e.s->>2, ':', 1)::float8 * interval '1 millisecond',
             p_started + coalesce(nullif(split_part(e.s->>2, ':', 2), ''), split_part(e.s->>2, ':', 1))::float8 * interval '1 millisecond',
             nullif(e.s->3, 'null'), nullif(e.s->4, 'null'), nullif(e.s->5, 'null')
        FROM jsonb_array_elements(p_steps) WITH ORDINALITY AS e(s, n)
    $$;

    -- The steps of one run: its compact record, then the rows recorded since (a retried run that waits again).
    -- LANGUAGE sql and STABLE so the planner inlines it: joined LATERAL to runs, the run_steps part is an index probe.
    CREATE FUNCTION run_steps_of(p_workspace uuid, p_run uuid, p_steps jsonb, p_started timestamptz)
    RETURNS TABLE (ord bigint, node_id text, status text, attempt integer, started_at timestamptz, finished_at timestamptz,
                   output jsonb, error jsonb, logs jsonb)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
      SELECT * FROM run_steps_record(p_steps, p_started)
      UNION ALL
      SELECT s.id, s.node_id, s.status, s.attempt, s.started_at, s.finished_at, s.output, s.error, s.logs
        FROM run_steps s WHERE s.workspace_id = p_workspace AND s.run_id = p_run
    $$;

    CREATE VIEW run_step_history AS
      SELECT r.workspace_id, r.id AS run_id, st.*
        FROM runs r CROSS JOIN LATERAL run_steps_of(r.workspace_id, r.id, r.steps, r.started_at) st;

    -- The run's vars as the executor last had them: the stored vars plus the outputs the compact record marks as vars
    -- (the last step of each node, when marked).
    CREATE FUNCTION run_vars(p_vars jsonb, p_steps jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT CASE WHEN p_steps IS NULL THEN p_vars ELSE p_vars || coalesce((
        SELECT jsonb_object_agg(l.node, l.output) FROM (
          SELECT DISTINCT ON (e.s->>0) e.s->>0 AS node, left(e.s->>1, 1) AS status, coalesce(e.s->3, 'null') AS output
            FROM jsonb_array_elements(p_steps) WITH ORDINALITY AS e(s, n) ORDER BY e.s->>0, e.n DESC
        ) l WHERE l.status IN ('C', 'S')), '{}') END
    $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  // Back to rows: every compact record becomes run_steps rows again, and the vars it held go back into runs.vars.
  await knex.raw(`
    INSERT INTO run_steps (workspace_id, run_id, node_id, status, attempt, started_at, finished_at, output, error, logs)
    SELECT workspace_id, run_id, node_id, status, attempt, started_at, finished_at, output, error, logs
      FROM run_step_history WHERE ord < 0 ORDER BY run_id, ord;
    UPDATE runs SET vars = run_vars(vars, steps) WHERE steps IS NOT NULL;
    DROP VIEW run_step_history;
    DROP FUNCTION run_steps_of(uuid, uuid, jsonb, timestamptz);
    DROP FUNCTION run_steps_record(jsonb, timestamptz);
    DROP FUNCTION run_vars(jsonb, jsonb);
    ALTER TABLE runs DROP COLUMN steps;
  `);
}
