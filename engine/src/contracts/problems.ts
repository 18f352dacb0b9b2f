import type { FlowValidationError } from './flow.ts';

/*
 * Problem collection shared by the engine's validator and the builder (which runs the graph rules locally for
 * instant feedback): pure TypeScript, no ajv, so the same messages can be produced in the browser.
 */

/** `/nodes/3/config/timeout` → `nodes[3].config.timeout` (what the messages call a place). */
export function dotted(pointer: string): string {
  if (pointer === '') return 'the document';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(key)) out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

export const escapePointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** A value quoted for a message, shortened. */
export function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Collects problems; `at(pointer, text)` builds the message as "<place> <text>". */
export class Problems {
  readonly list: FlowValidationError[] = [];
  private readonly seen = new Set<string>();

  add(path: string, text: string, nodeId?: string): void {
    const message = `${dotted(path)} ${text}`;
    const key = `${path}\u0000${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(nodeId === undefined ? { path, message } : { path, message, node_id: nodeId });
  }
}
