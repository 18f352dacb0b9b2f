import type { FastifyInstance } from 'fastify';
import { invalid } from '../errors.ts';

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** JSON Pointer of the first string or key holding U+0000, or null. */
function findNul(value: unknown, path: string): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (typeof value !== 'object' || value === null) return null;
  for (const [k, v] of Object.entries(value)) {
    const p = `${path}/${escapePointer(k)}`;
    if (k.includes('\u0000')) return p;
    const found = findNul(v, p);
    if (found !== null) return found;
  }
  return null;
}

/**
 * fastify's JSON parser (prototype poisoning refused), plus one check: PostgreSQL text and jsonb cannot hold
 * U+0000, so a `\u0000` anywhere in the body is a 400 naming its path instead of a database error later.
 */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(err, undefined);
      // Cheap pre-check on the raw text; the walk only runs when an escaped NUL may be present.
      const path = (body as string).includes('\\u0000') ? findNul(value, '') : null;
      if (path !== null) return done(invalid('strings cannot contain the NUL character (\\u0000)', [{ path, message: 'contains \\u0000' }]), undefined);
      done(null, value);
    });
  });
}
