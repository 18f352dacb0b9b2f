import { formatDuration } from '../graph/plain.ts';
import { describeRule } from '../graph/rules.ts';

/**
 * A one-line description of a node's config for its card, derived from the config and its schema alone
 * (no per-type code): a rule is described in words, arrays are joined, the first few scalar fields shown.
 */
export function summarize(config: Record<string, unknown>, schema: Record<string, unknown> | undefined): string {
  // A delay's fields live in its `oneOf` modes.
  const modes = ((schema?.oneOf ?? []) as Array<Record<string, unknown>>).map((o) => (o.properties ?? {}) as Record<string, Record<string, unknown>>);
  const props = Object.assign({}, ...modes, schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
  const parts: string[] = [];
  // Required fields first: they are what the node is about (an email's subject before its body).
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  const entries = Object.entries(config ?? {}).sort(([a], [b]) => Number(required.has(b)) - Number(required.has(a)));
  for (const [key, value] of entries) {
    if (value === undefined || value === null || value === '' || key === 'retry' || key === 'mode') continue;
    const prop = props[key] ?? {};
    const widget = prop['x-cairn-widget'];
    if (prop['x-cairn-widget'] === 'condition' || (value && typeof value === 'object' && ('all' in value || 'any' in value || 'not' in value))) {
      parts.push(describeRule(value as Record<string, unknown>));
    } else if ((widget === 'duration' || widget === 'signed-duration') && typeof value === 'string') {
      parts.push(`${prop.title ?? key}: ${formatDuration(value)}`);
    } else if (Array.isArray(value)) {
      const items = value.map((v) => (v && typeof v === 'object' ? ((v as Record<string, unknown>).key ?? (v as Record<string, unknown>).name ?? '…') : String(v)));
      parts.push(`${prop.title ?? key}: ${items.join(', ')}`);
    } else if (typeof value === 'object') {
      // A map such as set-property's `properties`: its keys say what it does.
      const keys = Object.keys(value);
      if (keys.length) parts.push(`${prop.title ?? key}: ${keys.join(', ')}`);
    } else {
      parts.push(parts.length === 0 && typeof value === 'string' && value.length < 40 ? value : `${prop.title ?? key}: ${String(value)}`);
    }
    if (parts.length >= 2) break;
  }
  const text = parts.join(' · ');
  return text.length > 90 ? `${text.slice(0, 88)}…` : text;
}
