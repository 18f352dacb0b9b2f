import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.ts';

/**
 * A draft's entity tag: a hash of its content (key order ignored). The builder sends it back as `If-Match` so a
 * save made from an out-of-date copy (another tab, another person) is refused instead of overwriting; `cairn flows`
 * computes it for a file to tell whether the file still holds what was last pulled.
 */
export function draftEtag(draft: unknown): string {
  return `"${createHash('sha256').update(canonicalJson(draft)).digest('base64url').slice(0, 22)}"`;
}
