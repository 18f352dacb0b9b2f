import { Liquid, type Template } from 'liquidjs';
import { CairnError } from '../errors.ts';

/** What a template sees: `{{ contact.email }}`, `{{ event.properties.plan }}`, `{{ run.<node id>.<field> }}`. */
export interface TemplateScope {
  contact: unknown;
  event: unknown;
  run: unknown;
}

/** Liquid never reads files here: templates are strings inside flow documents. */
const noFiles = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async (file: string): Promise<string> => {
    throw new Error(`templates cannot read files (${file})`);
  },
  readFileSync: (file: string): string => {
    throw new Error(`templates cannot read files (${file})`);
  },
  resolve: (_root: string, file: string) => file,
};

/**
 * One shared Liquid instance: unknown filters are errors (a typo must not silently print nothing), unknown
 * variables print nothing (a missing property is normal data), and parse/render limits bound what a flow
 * author can make the engine do per render.
 */
export const liquid = new Liquid({
  strictFilters: true,
  strictVariables: false,
  ownPropertyOnly: true,
  fs: noFiles,
  root: [],
  relativeReference: false,
  parseLimit: 1_000_000,
  renderLimit: 1_000,
  memoryLimit: 10_000_000,
});

const FILE_TAGS = /\{%-?\s*(include|render|layout)\b/;

/** Whether a string is a template at all (the fast path skips everything else). */
export const hasLiquid = (s: string): boolean => s.includes('{{') || s.includes('{%');

/** The parse problem of a Liquid string, or undefined when it parses (plain strings always do). */
export function checkTemplate(source: string): string | undefined {
  if (!hasLiquid(source)) return undefined;
  const file = FILE_TAGS.exec(source);
  if (file) return `uses {% ${file[1]} %}, but templates cannot include files; inline the content`;
  try {
    liquid.parse(source);
    return undefined;
  } catch (err) {
    return `is not a valid Liquid template: ${firstLine((err as Error).message)}`;
  }
}

const firstLine = (s: string): string => s.split('\n')[0];

type Renderer = (scope: TemplateScope) => unknown;

/**
 * Compiles every Liquid string inside a JSON value once; the returned function renders them synchronously
 * for one scope and returns the same structure with rendered strings. A value without any template is
 * returned as-is (same reference) on every call. Throws CairnError (step failed) naming the path when a
 * template does not parse or fails to render.
 */
export function compileTemplates(value: unknown): Renderer {
  const render = compileValue(value, '');
  return render ?? (() => value);
}

/** Returns undefined when `value` holds no template (so parents can reuse it untouched). */
function compileValue(value: unknown, at: string): Renderer | undefined {
  if (typeof value === 'string') return hasLiquid(value) ? compileString(value, at) : undefined;
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileValue(v, `${at}/${i}`));
    if (items.every((r) => r === undefined)) return undefined;
    return (scope) => value.map((v, i) => (items[i] ? items[i](scope) : v));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, v, compileValue(v, `${at}/${k}`)] as const);
    if (entries.every(([, , r]) => r === undefined)) return undefined;
    return (scope) => {
      const out: Record<string, unknown> = {};
      for (const [k, v, r] of entries) out[k] = r ? r(scope) : v;
      return out;
    };
  }
  return undefined;
}

function compileString(source: string, at: string): Renderer {
  const problem = checkTemplate(source);
  if (problem) throw new CairnError('CAIRN_ERR_STEP_FAILED', `${at || '/'} ${problem}`);
  const tpl: Template[] = liquid.parse(source);
  return (scope) => {
    try {
      return liquid.renderSync(tpl, scope as unknown as Record<string, unknown>) as string;
    } catch (err) {
      throw new CairnError('CAIRN_ERR_STEP_FAILED', `${at || '/'}: template failed to render: ${firstLine((err as Error).message)}`, { cause: err });
    }
  };
}
