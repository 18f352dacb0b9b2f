import type { FlowValidationResult, NodeTypeSpec } from '../contracts/flow.ts';
import { FLOW_LIMITS, flowDocumentSchema } from '../contracts/flow-schema.ts';
import { checkCondition } from '../rules/check.ts';
import { coreNodeType } from './node-types.ts';
import { checkGraph, collectGraph } from '../contracts/flow-graph.ts';
import { Problems } from '../contracts/problems.ts';
import { addAjvErrors, validatorFor } from './problems.ts';
import { checkNodeConfig } from './validate-config.ts';

export type { FlowValidationError, FlowValidationResult } from '../contracts/flow.ts';

export interface ValidateOptions {
  /** Resolves types the core catalog does not know (plugin actions). Core types are always known. */
  resolveNodeType?: (type: string) => NodeTypeSpec | undefined;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Checks a `cairn.flow/v1` document and reports every problem at once, each with a JSON Pointer into the
 * document, a message naming the value and the fix, and the node id when it concerns a node: the envelope
 * (schema), each node's config (its type's schema, conditions, Liquid, durations, cron, timezones), then the
 * graph (one trigger, handles, reachability, loops). An oversized document is refused before any of that.
 */
export function validateFlowDocument(doc: unknown, opts: ValidateOptions = {}): FlowValidationResult {
  const tooBig = sizeProblem(doc);
  if (tooBig) return { valid: false, errors: [tooBig] };

  const problems = new Problems();
  const envelope = validatorFor(flowDocumentSchema);
  if (!envelope(doc)) addAjvErrors(problems, envelope.errors, '', undefined);
  if (!isObject(doc)) return { valid: false, errors: problems.list };
  // The envelope's per-node errors are about a node too: attach its id.
  attachNodeIds(problems, doc);

  const resolve = (type: string) => coreNodeType(type) ?? opts.resolveNodeType?.(type);
  const { nodes, edges } = collectGraph(problems, doc, resolve, (n) => checkNodeConfig(problems, n.spec, n.config, `/nodes/${n.index}/config`, n.id));
  checkSettings(problems, doc.settings);
  checkGraph(problems, nodes, edges);
  return { valid: problems.list.length === 0, errors: problems.list };
}

function attachNodeIds(problems: Problems, doc: Obj): void {
  if (!Array.isArray(doc.nodes)) return;
  for (const p of problems.list) {
    const m = /^\/nodes\/(\d+)(\/|$)/.exec(p.path);
    const node = m ? doc.nodes[Number(m[1])] : undefined;
    if (isObject(node) && typeof node.id === 'string') p.node_id = node.id;
  }
}

function checkSettings(problems: Problems, settings: unknown): void {
  if (!isObject(settings)) return;
  const rule = (value: unknown, at: string) => {
    if (value === undefined) return;
    for (const p of checkCondition(value)) problems.add(`${at}${p.path}`, p.message);
  };
  if (isObject(settings.goal)) rule(settings.goal.rule, '/settings/goal/rule');
  if (Array.isArray(settings.exit_on)) settings.exit_on.forEach((x, i) => isObject(x) && rule(x.rule, `/settings/exit_on/${i}/rule`));
}

/**
 * Refuses an oversized document in time proportional to the limit, not to the document: the walk stops
 * as soon as the text budget, the value count or the depth is exceeded.
 */
function sizeProblem(doc: unknown): { path: string; message: string } | undefined {
  if (isObject(doc)) {
    if (Array.isArray(doc.nodes) && doc.nodes.length > FLOW_LIMITS.maxNodes) {
      return { path: '/nodes', message: `nodes has ${doc.nodes.length} nodes; a flow may have at most ${FLOW_LIMITS.maxNodes} — split it into several flows` };
    }
    if (Array.isArray(doc.edges) && doc.edges.length > FLOW_LIMITS.maxEdges) {
      return { path: '/edges', message: `edges has ${doc.edges.length} edges; a flow may have at most ${FLOW_LIMITS.maxEdges} — split it into several flows` };
    }
  }
  let chars = 0;
  let values = 0;
  const maxValues = FLOW_LIMITS.maxTextChars / 4;
  const stack: { v: unknown; depth: number }[] = [{ v: doc, depth: 0 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    if (++values > maxValues) {
      return { path: '', message: `the document has more than ${maxValues} values; a flow document is at most about 1 MiB — split the flow` };
    }
    if (depth > FLOW_LIMITS.maxDepth) {
      return { path: '', message: `the document nests deeper than ${FLOW_LIMITS.maxDepth} levels; flatten it` };
    }
    const width = Array.isArray(v) ? v.length : v !== null && typeof v === 'object' ? Object.keys(v).length : 0;
    if (values + stack.length + width > maxValues) {
      return { path: '', message: `the document has more than ${maxValues} values; a flow document is at most about 1 MiB — split the flow` };
    }
    if (typeof v === 'string') chars += v.length;
    else if (Array.isArray(v)) for (const x of v) stack.push({ v: x, depth: depth + 1 });
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        chars += k.length;
        stack.push({ v: x, depth: depth + 1 });
      }
    }
    if (chars > FLOW_LIMITS.maxTextChars) {
      return { path: '', message: `the document holds more than ${FLOW_LIMITS.maxTextChars} characters of text (about 1 MiB); shorten long texts or split the flow` };
    }
  }
  return undefined;
}
