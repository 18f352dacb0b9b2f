import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../canonical-json.ts';
import { FLOW_KEY_PATTERN, FLOW_SCHEMA_ID, type FlowDocument } from '../contracts/flow.ts';
import { draftEtag } from '../flow/etag.ts';

/**
 * A directory of flows as files for `cairn flows pull/push/diff`: `<key>.flow.json` per flow, and `.cairn-flows.json`
 * recording, per workspace, which flow each key is and the draft's entity tag at the last pull or push.
 */

export const FLOW_FILE_SUFFIX = '.flow.json';
export const STATE_FILE = '.cairn-flows.json';
export const FLOW_KEY = FLOW_KEY_PATTERN;

export interface FlowFile {
  key: string;
  file: string;
  text: string;
  doc: FlowDocument;
}

/** Every `<key>.flow.json` of `dir`, parsed; a file that is not a flow document fails the whole read, naming it. */
export async function readFlowFiles(dir: string): Promise<Map<string, FlowFile>> {
  const files = new Map<string, FlowFile>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return files;
    throw err;
  }
  for (const name of names.sort()) {
    if (!name.endsWith(FLOW_FILE_SUFFIX)) continue;
    const key = name.slice(0, -FLOW_FILE_SUFFIX.length);
    if (!FLOW_KEY.test(key)) throw new Error(`${name}: "${key}" is not a flow key (lowercase letters, digits, - and _, at most 100); rename the file`);
    const file = path.join(dir, name);
    const text = await readFile(file, 'utf8');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new Error(`${name} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    const d = doc as Partial<FlowDocument> | null;
    if (!d || typeof d !== 'object' || Array.isArray(d) || d.schema !== FLOW_SCHEMA_ID) throw new Error(`${name} is not a ${FLOW_SCHEMA_ID} document (its "schema" must be "${FLOW_SCHEMA_ID}")`);
    files.set(key, { key, file, text, doc: doc as FlowDocument });
  }
  return files;
}

/* ------------------------------------------------------------------ file format */

// Keys in reading order where it helps a reviewer; any other key follows in alphabetical order. The engine stores
// documents as jsonb (key order not kept), so a fixed order is what makes two pulls write the same bytes.
const ORDER: Record<string, string[]> = {
  document: ['schema', 'name', 'description', 'settings', 'nodes', 'edges'],
  settings: ['reentry', 'goal', 'exit_on', 'quiet_hours'],
  node: ['id', 'type', 'label', 'position', 'config'],
  edge: ['id', 'source', 'sourceHandle', 'target'],
  position: ['x', 'y'],
  condition: ['fact', 'path', 'params', 'operator', 'value'],
};

function ordered(value: unknown, shape?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => ordered(v, shape === 'nodes' ? 'node' : shape === 'edges' ? 'edge' : undefined));
  if (!value || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const first = ORDER[shape ?? ('fact' in o ? 'condition' : '')] ?? [];
  const keys = [...first.filter((k) => k in o), ...Object.keys(o).filter((k) => !first.includes(k)).sort()];
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (o[k] === undefined) continue;
    const child = shape === 'document' ? (k === 'settings' ? 'settings' : k === 'nodes' || k === 'edges' ? k : undefined) : shape === 'node' && k === 'position' ? 'position' : undefined;
    out[k] = ordered(o[k], child);
  }
  return out;
}

/** The file text for a document: fixed key order, two-space indent, a final newline. */
export function formatFlowFile(doc: FlowDocument): string {
  return `${JSON.stringify(ordered(doc, 'document'), null, 2)}\n`;
}

export const sameDocument = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);
export { draftEtag };

/** Writes through a temporary file and a rename, so an interrupted pull never leaves half a file. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/* ------------------------------------------------------------------ sync state */

export interface SyncedFlow {
  id: string;
  /** The draft's entity tag when this directory last matched the workspace (pull or push). */
  etag: string;
}
export interface SyncState {
  workspaces: Record<string, { slug: string; flows: Record<string, SyncedFlow> }>;
}

export async function readState(dir: string): Promise<SyncState> {
  try {
    const s = JSON.parse(await readFile(path.join(dir, STATE_FILE), 'utf8')) as Partial<SyncState>;
    return { workspaces: s.workspaces ?? {} };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { workspaces: {} };
    throw new Error(`${STATE_FILE} cannot be read (${(err as Error).message}); delete it and pull again`, { cause: err });
  }
}

export async function writeState(dir: string, state: SyncState): Promise<void> {
  // Sorted keys: the file changes in git only when a flow's recorded revision does.
  await writeFileAtomic(path.join(dir, STATE_FILE), `${JSON.stringify(JSON.parse(canonicalJson(state)), null, 2)}\n`);
}

/* ------------------------------------------------------------------ keys */

/** A key for a flow that has none: its name in lowercase words joined by dashes, made unique with -2, -3, … */
export function keyFromName(name: string, taken: ReadonlySet<string>): string {
  const base = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 90) || 'flow';
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

/* ------------------------------------------------------------------ diff */

const show = (v: unknown): string => {
  const s = v === undefined ? '(none)' : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** Leaf-level differences between two JSON values, as `a.b[2].c: old → new` (at most `limit`). */
function valueChanges(before: unknown, after: unknown, at: string, out: string[], limit: number): void {
  if (out.length >= limit || canonicalJson(before) === canonicalJson(after)) return;
  const bothObjects = before && after && typeof before === 'object' && typeof after === 'object';
  if (bothObjects && Array.isArray(before) === Array.isArray(after)) {
    if (Array.isArray(before) && Array.isArray(after)) {
      if (before.length !== after.length) {
        out.push(`${at}: ${show(before)} → ${show(after)}`);
        return;
      }
      before.forEach((v, i) => valueChanges(v, after[i], `${at}[${i}]`, out, limit));
      return;
    }
    const b = before as Record<string, unknown>;
    const a = after as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) valueChanges(b[k], a[k], at ? `${at}.${k}` : k, out, limit);
    return;
  }
  out.push(`${at}: ${show(before)} → ${show(after)}`);
}

const edgeText = (e: FlowDocument['edges'][number]) => `${e.source} ${e.sourceHandle ? `-[${e.sourceHandle}]-> ` : '-> '}${e.target}`;

/**
 * What changes from `before` (the workspace's draft) to `after` (the file), node by node: added, removed and
 * changed nodes with the config values that differ, moved nodes, edges, name and settings. Empty: the same flow.
 */
export function diffFlows(before: FlowDocument, after: FlowDocument): string[] {
  const lines: string[] = [];
  if (before.name !== after.name) lines.push(`name: ${show(before.name)} → ${show(after.name)}`);
  const rest = (d: FlowDocument) => {
    const { nodes: _n, edges: _e, name: _name, ...others } = d;
    return others;
  };
  const docChanges: string[] = [];
  valueChanges(rest(before), rest(after), '', docChanges, 10);
  lines.push(...docChanges);
  const beforeNodes = new Map((before.nodes ?? []).map((n) => [n.id, n]));
  const afterNodes = new Map((after.nodes ?? []).map((n) => [n.id, n]));
  for (const [id, n] of afterNodes) if (!beforeNodes.has(id)) lines.push(`+ node ${id} (${n.type})`);
  for (const [id, n] of beforeNodes) if (!afterNodes.has(id)) lines.push(`- node ${id} (${n.type})`);
  for (const [id, a] of afterNodes) {
    const b = beforeNodes.get(id);
    if (!b || sameDocument(a, b)) continue;
    const { position: pa, ...restA } = a;
    const { position: pb, ...restB } = b;
    const changes: string[] = [];
    valueChanges(restB, restA, '', changes, 6);
    if (!sameDocument(pa, pb)) changes.push(`moved ${show(pb)} → ${show(pa)}`);
    lines.push(`~ node ${id} (${a.type})`, ...changes.map((c) => `    ${c}`));
  }
  const beforeEdges = new Map((before.edges ?? []).map((e) => [e.id, e]));
  const afterEdges = new Map((after.edges ?? []).map((e) => [e.id, e]));
  for (const [id, e] of afterEdges) {
    const b = beforeEdges.get(id);
    if (!b) lines.push(`+ edge ${id}: ${edgeText(e)}`);
    else if (!sameDocument(b, e)) lines.push(`~ edge ${id}: ${edgeText(b)} → ${edgeText(e)}`);
  }
  for (const [id, e] of beforeEdges) if (!afterEdges.has(id)) lines.push(`- edge ${id}: ${edgeText(e)}`);
  return lines;
}
