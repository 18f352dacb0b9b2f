import { RE2JS } from 're2js';

/** A compiled `matches` pattern. */
export interface Pattern {
  test(input: string): boolean;
}

/**
 * JavaScript flags mapped onto RE2's; `u`, `d`, `g` and `y` change nothing for a yes/no test on RE2 (which reads
 * Unicode always); `v` (set notation) has no RE2 equivalent.
 */
const FLAGS: Record<string, number> = { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL, u: 0, d: 0, g: 0, y: 0 };

const cache = new Map<string, Pattern>();

/**
 * Compiles a `matches` pattern, `pattern` or `/pattern/flags`, on RE2 (re2js, pure JavaScript): matching takes
 * time linear in the input whatever the pattern, so no pattern can block the event loop (`^(a|a)*$` over a long
 * input included). RE2 has no backreferences or lookahead; JavaScript spellings (`\u00e9`, `(?<name>…)`) are
 * translated. Throws on a pattern RE2 cannot run: validation reports it with its path.
 */
export function compileRegex(source: string): Pattern {
  let re = cache.get(source);
  if (re) return re;
  const slashed = /^\/(.*)\/([dgimsuvy]*)$/s.exec(source);
  const body = slashed ? slashed[1] : source;
  let flags = 0;
  for (const f of slashed?.[2] ?? '') {
    if (!Object.hasOwn(FLAGS, f)) throw new SyntaxError(`the flag "${f}" is not supported (use i, m or s)`);
    flags |= FLAGS[f];
  }
  const compiled = RE2JS.compile(RE2JS.translateRegExp(body), flags);
  re = { test: (input) => compiled.test(input) };
  if (cache.size > 1000) cache.clear();
  cache.set(source, re);
  return re;
}
