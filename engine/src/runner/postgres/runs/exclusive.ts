/**
 * One open run per contact and exclusive flow (reentry other than `always`). Checked by a query, not a unique index:
 * a partial unique index on open runs reads `status`, and an index that reads a column completion changes makes
 * every completion write a new entry in every index of runs instead of a HOT update (migration 0200). The check is
 * race-free because every path that opens a run serializes per contact and flow: ingestion starts runs of
 * event- and segment-triggered flows while holding the contacts' row locks (crm/events.ts), a clock-triggered flow
 * starts runs only while holding its flow_timers row, and a retry holds the contact's row lock (RunStore.lock).
 * One window is left: a retry of a clock-triggered flow's run at the moment that flow's timer enrols the same contact
 * (the timer takes no contact locks) can leave two open runs of the flow for the contact; both run normally.
 */

/**
 * CTE `open` (columns contact_id, flow_id): the open runs of the given contacts, read through runs_contact. The
 * admission check below reads this set rather than probing runs per candidate: a probe by contact and flow let the
 * planner AND runs_contact with a flow index whenever runs had no fresh statistics (a new or fast-growing table), and
 * that bitmap holds every run of the flow (40,000 entries, 1.5 ms, per single event after 20,000 W1 leads), so
 * enrolment slowed down as a flow grew. Two `?`: the workspace id, the contact ids (uuid[]).
 */
export const OPEN_RUNS = `SELECT contact_id, flow_id FROM runs
        WHERE workspace_id = ?::uuid AND contact_id = ANY(?::uuid[]) AND status IN ('active','waiting')`;

/**
 * The exclusive candidates of CTE `u` (columns id, flow_id, contact_id, exclusive, ord) that may start: the contact
 * has no open run of the flow (CTE `open`, OPEN_RUNS over at least u's contacts), and no earlier candidate (by `ord`)
 * of the same statement takes the place. No `?`. Returns `id`.
 */
export const ADMIT_EXCLUSIVE = `SELECT DISTINCT ON (u.flow_id, u.contact_id) u.id FROM u
        WHERE u.exclusive AND NOT EXISTS (SELECT 1 FROM open o WHERE o.contact_id = u.contact_id AND o.flow_id = u.flow_id)
        ORDER BY u.flow_id, u.contact_id, u.ord`;
