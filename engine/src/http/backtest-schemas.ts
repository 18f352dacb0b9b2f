/**
 * Answers of the backtest routes (http/backtests.ts over runner/backtest/replay.ts `BacktestResult`), field by field:
 * the `Backtest` and `BacktestComparison` components. While a backtest runs its counts are partial; before the
 * replay first writes them, `nodes` and `actions` are empty and `runs` and `conversion` null.
 */

const int = { type: 'integer' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const countsOf = { type: 'object', additionalProperties: int } as const;

const NODE_COUNTS = ['entered', 'completed', 'failed', 'waited', 'timed_out', 'converted', 'exited', 'waiting'] as const;

const backtestNode = {
  type: 'object', required: [...NODE_COUNTS, 'branches', 'samples'],
  properties: {
    ...Object.fromEntries(NODE_COUNTS.map((k) => [k, int])) as Record<(typeof NODE_COUNTS)[number], typeof int>,
    branches: { ...countsOf, description: 'runs per outcome: condition true/false, split keys (and holdout), wait event/timeout' },
    samples: {
      type: 'array', description: 'a few contacts and why they went the way they did',
      items: { type: 'object', required: ['contact_id', 'why'], properties: { contact_id: { type: 'string' }, why: { type: 'string' } } },
    },
  },
} as const;

const RUN_COUNTS = ['started', 'active', 'completed', 'converted', 'exited', 'failed'] as const;

export const Backtest = {
  $id: 'Backtest', type: 'object',
  required: ['id', 'flow_id', 'version', 'from', 'to', 'status', 'progress', 'processed_events', 'total_events', 'nodes', 'actions', 'runs', 'conversion', 'error', 'created_at', 'finished_at'],
  properties: {
    id: { type: 'string', format: 'uuid' }, flow_id: { type: 'string', format: 'uuid' }, version: { anyOf: [{ const: 'draft' }, int] }, from: dateTime, to: dateTime,
    status: { enum: ['running', 'done', 'failed', 'cancelled'] }, progress: { type: 'number', description: '0 to 1' },
    processed_events: int, total_events: { type: ['integer', 'null'] },
    nodes: { type: 'object', additionalProperties: backtestNode, description: 'per node id' },
    actions: { ...countsOf, description: 'actions that would have been performed, by node type (external ones counted, never called)' },
    runs: {
      anyOf: [{ type: 'null' }, { type: 'object', required: RUN_COUNTS, properties: Object.fromEntries(RUN_COUNTS.map((k) => [k, int])) as Record<(typeof RUN_COUNTS)[number], typeof int> }],
    },
    conversion: {
      anyOf: [
        { type: 'null' },
        { type: 'object', required: ['goal', 'converted', 'started', 'rate'], properties: { goal: { type: 'boolean' }, converted: int, started: int, rate: { type: ['number', 'null'] } } },
      ],
    },
    error: {
      anyOf: [{ type: 'null' }, { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } }],
      description: 'why a failed backtest failed',
    },
    created_at: dateTime, finished_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

const nodeDifference = {
  type: 'object', required: NODE_COUNTS, description: 'b − a per count; only_in names the backtest whose document alone has the node',
  properties: { ...Object.fromEntries(NODE_COUNTS.map((k) => [k, int])) as Record<(typeof NODE_COUNTS)[number], typeof int>, only_in: { enum: ['a', 'b'] } },
} as const;

export const BacktestComparison = {
  $id: 'BacktestComparison', type: 'object', required: ['a', 'b', 'same_period', 'diff'],
  properties: {
    a: { $ref: 'Backtest#' }, b: { $ref: 'Backtest#' }, same_period: { type: 'boolean' },
    diff: {
      type: 'object', required: ['nodes', 'actions', 'conversion_rate'],
      properties: {
        nodes: { type: 'object', additionalProperties: nodeDifference },
        actions: { type: 'object', additionalProperties: int, description: 'b − a per action type' },
        conversion_rate: { type: ['number', 'null'], description: "b's rate − a's, when both flows have a goal" },
      },
    },
  },
} as const;
