import type { FastifyInstance } from 'fastify';
import { invalid } from '../errors.ts';

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

type Flaw = 'nul' | 'surrogate' | 'overflow';

const FLAWS: Record<Flaw, { detail: string; message: string }> = {
  nul: { detail: 'strings cannot contain the NUL character (\\u0000)', message: 'contains \\u0000' },
  surrogate: { detail: 'strings must be well-formed Unicode: an unpaired surrogate escape such as \\ud800 cannot be stored', message: 'contains an unpaired surrogate' },
  overflow: { detail: 'numbers must fit in a double: a literal such as 1e400 overflows (it would be stored as null)', message: 'number out of range' },
};

function flawOf(value: unknown): Flaw | null {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return 'nul';
    return (value as string & { isWellFormed(): boolean }).isWellFormed() ? null : 'surrogate';
  }
  return typeof value === 'number' && !Number.isFinite(value) ? 'overflow' : null;
}

/** JSON Pointer and kind of the first value or key PostgreSQL cannot store as sent, or null. */
function findFlaw(value: unknown, path: string): { path: string; flaw: Flaw } | null {
  const own = flawOf(value);
  if (own) return { path, flaw: own };
  if (typeof value !== 'object' || value === null) return null;
  for (const [k, v] of Object.entries(value)) {
    const p = `${path}/${escapePointer(k)}`;
    const key = flawOf(k);
    if (key) return { path: p, flaw: key };
    const found = findFlaw(v, p);
    if (found) return found;
  }
  return null;
}

// Only bodies whose raw text could produce such a value are walked: an escaped NUL or surrogate, or a number
// token (after `:`, `[`, `,` or at the start) with a 3-digit exponent or 309+ digits before its point (JSON.parse
// turns an overflowing literal into Infinity). Hex ids inside strings ("4e123") do not trigger the walk.
const SUSPECT = /\\u0000|\\u[dD][89a-fA-F]|(?:^|[:,[])\s*-?(?:\d+(?:\.\d+)?[eE]\+?\d{3}|\d{309})/;

/**
 * fastify's JSON parser (prototype poisoning refused), plus one check for values the database cannot store as
 * sent: U+0000 and unpaired surrogates (PostgreSQL text and jsonb refuse them) and numbers that overflow a
 * double (JSON.parse makes them Infinity, which JSON.stringify writes as null). Each is a 400 naming its path
 * instead of a database error or a silently changed value later.
 */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(err, undefined);
      const found = SUSPECT.test(body as string) ? findFlaw(value, '') : null;
      if (found) return done(invalid(FLAWS[found.flaw].detail, [{ path: found.path, message: FLAWS[found.flaw].message }]), undefined);
      done(null, value);
    });
  });
}
