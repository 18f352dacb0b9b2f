import { Liquid, type Template } from 'liquidjs';
import { CairnError } from '../errors.ts';
import { breathe, SLICE_MS } from '../time/slice.ts';

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
  // Fallbacks only: every render below passes what is left of its step's and run's budget.
  renderLimit: 100,
  memoryLimit: 500_000,
});

/**
 * What rendering may still spend: wall time in milliseconds and Liquid's memory units (characters of output and
 * of intermediate strings and arrays). A render counts its time and output against it; at zero the step fails.
 */
export interface RenderBudget {
  ms: number;
  chars: number;
}

/** All the templates of one step together (the 30 strings of a config share it). */
export const STEP_RENDER_BUDGET: Readonly<RenderBudget> = { ms: 100, chars: 500_000 };
/** All the steps a run renders between two waits (a `PT0S` delay loop shares it): see docs/flows.md. */
export const RUN_RENDER_BUDGET: Readonly<RenderBudget> = { ms: 500, chars: 2_000_000 };

export const runRenderBudget = (): RenderBudget => ({ ...RUN_RENDER_BUDGET });

/**
 * Liquid renders synchronously and cannot pause, so one render attempt may take at most this long (the event loop
 * is never held longer than that plus the quarter slice before it); an attempt that runs out is started again.
 */
export const TEMPLATE_RENDER_MS = 15;

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

/**
 * Renders for one scope; `run` is the run's budget, charged with what this step spends (a fresh one if omitted).
 * Asynchronous because it lets the event loop run between templates when they take long.
 */
export type Renderer = (scope: TemplateScope, run?: RenderBudget) => Promise<unknown>;
type Inner = (scope: TemplateScope, budget: StepBudget) => Promise<unknown>;

interface StepBudget extends RenderBudget {
  /** Which budget runs out first, for the error message. */
  bound: 'step' | 'run';
}

/**
 * Compiles every Liquid string inside a JSON value once; the returned function renders them one after the other
 * for one scope and resolves to the same structure with rendered strings. A value without any template is
 * returned as-is (same reference) on every call. Throws CairnError (step failed) naming the path when a
 * template does not parse, fails to render, or the step's or run's render budget runs out.
 */
export function compileTemplates(value: unknown): Renderer {
  const render = compileValue(value, '');
  if (!render) return async () => value;
  return async (scope, run = runRenderBudget()) => {
    const bound = run.ms < STEP_RENDER_BUDGET.ms || run.chars < STEP_RENDER_BUDGET.chars ? 'run' : 'step';
    const budget: StepBudget = { ms: Math.min(STEP_RENDER_BUDGET.ms, run.ms), chars: Math.min(STEP_RENDER_BUDGET.chars, run.chars), bound };
    const start = { ms: budget.ms, chars: budget.chars };
    try {
      return await render(scope, budget);
    } finally {
      run.ms -= start.ms - budget.ms;
      run.chars -= start.chars - budget.chars;
    }
  };
}

/** Returns undefined when `value` holds no template (so parents can reuse it untouched). */
function compileValue(value: unknown, at: string): Inner | undefined {
  if (typeof value === 'string') return hasLiquid(value) ? compileString(value, at) : undefined;
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileValue(v, `${at}/${i}`));
    if (items.every((r) => r === undefined)) return undefined;
    return async (scope, budget) => {
      const out: unknown[] = [];
      for (const [i, v] of value.entries()) out.push(items[i] ? await items[i](scope, budget) : v);
      return out;
    };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, v, compileValue(v, `${at}/${k}`)] as const);
    if (entries.every(([, , r]) => r === undefined)) return undefined;
    return async (scope, budget) => {
      const out: Record<string, unknown> = {};
      for (const [k, v, r] of entries) out[k] = r ? await r(scope, budget) : v;
      return out;
    };
  }
  return undefined;
}

function compileString(source: string, at: string): Inner {
  const problem = checkTemplate(source);
  if (problem) throw new CairnError('CAIRN_ERR_STEP_FAILED', `${at || '/'} ${problem}`);
  const tpl: Template[] = liquid.parse(source);
  return async (scope, budget) => {
    let out: string | undefined;
    let cause: unknown;
    while (out === undefined) {
      if (budget.ms <= 0 || budget.chars <= 0) throw overBudget(at, budget, cause);
      // At most a quarter slice of other work before this render, so the two together stay within one slice.
      await breathe(SLICE_MS / 4);
      const started = performance.now();
      try {
        // Liquid checks the deadline before each block it renders (every loop iteration) and counts memory as it goes.
        out = liquid.renderSync(tpl, scope as unknown as Record<string, unknown>, { renderLimit: Math.min(budget.ms, TEMPLATE_RENDER_MS), memoryLimit: budget.chars }) as string;
      } catch (err) {
        const message = (err as Error).message;
        // Out of time in this slice: start it again after other work ran. The limit is wall time, so a render the
        // machine merely paused (load, a cold start) gets another go; one that needs more than a slice of work
        // uses up the step's budget slice by slice and fails on it.
        if (/template render limit exceeded/.test(message)) cause = err;
        else if (/limit exceeded/.test(message)) throw overBudget(at, budget, err);
        else throw new CairnError('CAIRN_ERR_STEP_FAILED', `${at || '/'}: template failed to render: ${firstLine(message)}`, { cause: err });
      } finally {
        budget.ms -= performance.now() - started;
      }
    }
    budget.chars -= out.length;
    if (budget.chars < 0) throw overBudget(at, budget);
    return out;
  };
}

function overBudget(at: string, budget: StepBudget, cause?: unknown): CairnError {
  const b = budget.bound === 'step' ? STEP_RENDER_BUDGET : RUN_RENDER_BUDGET;
  const what = budget.bound === 'step' ? 'the templates of one step' : 'the steps of a run between two waits';
  return new CairnError(
    'CAIRN_ERR_STEP_FAILED',
    `${at || '/'}: template rendering exceeded its budget: ${what} may render for ${b.ms} ms and ${b.chars.toLocaleString('en-US')} characters, one template for ${TEMPLATE_RENDER_MS} ms at a time (docs/flows.md#templates-liquid)`,
    { cause },
  );
}
