import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { pgCode, PG } from '../db/index.ts';
import { CairnError, ERROR_CODES, type ErrorCode } from '../errors.ts';
import { ajvToProblemItems } from './validation.ts';

const isCairnError = (err: unknown): err is CairnError =>
  err instanceof CairnError || (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    && (err as { code: string }).code in ERROR_CODES && typeof (err as { toProblem?: unknown }).toProblem === 'function');

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'CAIRN_ERR_VALIDATION', 401: 'CAIRN_ERR_UNAUTHORIZED', 403: 'CAIRN_ERR_FORBIDDEN', 404: 'CAIRN_ERR_NOT_FOUND',
  409: 'CAIRN_ERR_CONFLICT', 413: 'CAIRN_ERR_BODY_TOO_LARGE', 415: 'CAIRN_ERR_UNSUPPORTED_MEDIA', 422: 'CAIRN_ERR_UNPROCESSABLE',
  429: 'CAIRN_ERR_RATE_LIMITED',
};

/** Any thrown thing → a CairnError. Unknown errors become CAIRN_ERR_INTERNAL (and are logged as our bug). */
export function toCairnError(err: unknown): CairnError {
  if (isCairnError(err)) return err;
  const e = err as FastifyError & { validationContext?: string };
  if (e && Array.isArray(e.validation)) {
    const items = ajvToProblemItems(e.validation as never, e.validationContext);
    const where = e.validationContext && e.validationContext !== 'body' ? ` ${e.validationContext}` : '';
    return new CairnError('CAIRN_ERR_VALIDATION', `the request${where} does not match the schema: ${items.map((i) => `${i.path || '(root)'} ${i.message}`).slice(0, 3).join('; ')}`, { errors: items, cause: err });
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CairnError('CAIRN_ERR_BODY_TOO_LARGE', 'the request body is larger than the limit (1 MiB by default, CAIRN_BODY_LIMIT); send smaller batches', { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CairnError('CAIRN_ERR_UNSUPPORTED_MEDIA', 'send the body as application/json', { cause: err });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new CairnError('CAIRN_ERR_BAD_JSON', 'the body is empty but Content-Type says application/json', { cause: err });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new CairnError('CAIRN_ERR_BAD_JSON', `the body is not valid JSON: ${e.message}`, { cause: err });
  }
  if (err instanceof SyntaxError || (e?.statusCode === 400 && typeof e.code === 'string' && e.code.startsWith('FST_ERR_CTP'))) {
    return new CairnError('CAIRN_ERR_BAD_JSON', `the body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new CairnError('CAIRN_ERR_VALIDATION', 'the body is nested too deeply', { cause: err });
  }
  if (isDatabaseUnavailable(err)) {
    return new CairnError('CAIRN_ERR_UNAVAILABLE', 'the database cannot be reached right now; retry shortly', { cause: err, retryable: true });
  }
  const code = pgCode(err);
  if (code === PG.uniqueViolation) {
    return new CairnError('CAIRN_ERR_CONFLICT', 'a concurrent request created the same object (same email or external_id); retry the request', { cause: err, retryable: true });
  }
  // SQLSTATE class 22 (data exception: bad text representation, value out of range, NUL in text...) is bad input
  // that validation at the edge missed. The driver's message quotes the SQL statement: never sent to the caller.
  if (code?.startsWith('22')) {
    const what = DATA_EXCEPTIONS[code] ?? 'a value is not valid';
    return new CairnError('CAIRN_ERR_VALIDATION', `a value was refused by the database: ${what}`, { cause: err, errors: [{ path: '', message: what }] });
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    return new CairnError(BY_STATUS[status] ?? 'CAIRN_ERR_VALIDATION', e.message || ERROR_CODES[BY_STATUS[status] ?? 'CAIRN_ERR_VALIDATION'].title, { cause: err });
  }
  return new CairnError('CAIRN_ERR_INTERNAL', 'internal error; the engine logged it', { cause: err });
}

const DATA_EXCEPTIONS: Record<string, string> = {
  '22001': 'a text is longer than its field allows',
  '22003': 'a number is out of range',
  '22007': 'a date or time is not valid',
  '22008': 'a date or time is out of range',
  '22021': 'a text is not valid UTF-8',
  '22P02': 'a value has the wrong format for its type',
  '22P05': 'a text contains a character that cannot be stored (an unpaired surrogate such as \\ud800, or \\u0000)',
};

// Connection-level failures (refused, reset, shut down, too many connections, pool timeout): the database is
// gone for the moment, which is the engine's trouble to report as 503, not a bug of the request.
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);

function isDatabaseUnavailable(err: unknown): boolean {
  const code = pgCode(err);
  if (code && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  const e = err as { name?: unknown; message?: unknown } | null;
  return e?.name === 'KnexTimeoutError' || (typeof e?.message === 'string' && /Connection terminated|Connection ended unexpectedly|not queryable|timeout exceeded when trying to connect/.test(e.message));
}

/** Seconds a client should wait before retrying a 503. */
const RETRY_AFTER_UNAVAILABLE_S = 5;

export function sendProblem(reply: FastifyReply, error: CairnError): FastifyReply {
  if (error.code === 'CAIRN_ERR_UNAVAILABLE' && !reply.hasHeader('retry-after')) reply.header('retry-after', String(RETRY_AFTER_UNAVAILABLE_S));
  // RFC 9110 §11.6.1: a 401 says which scheme is accepted (an API key as a Bearer token; the builder's session cookie
  // is for the UI and needs no challenge).
  if (error.status === 401 && !reply.hasHeader('www-authenticate')) reply.header('www-authenticate', 'Bearer realm="cairn"');
  return reply.code(error.status).type('application/problem+json').send(error.toProblem());
}

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const error = toCairnError(err);
  if (error.status >= 500) request.log.error({ err, code: error.code }, 'request failed');
  else request.log.debug({ code: error.code, detail: error.message }, 'request refused');
  return sendProblem(reply, error);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, new CairnError('CAIRN_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
}
