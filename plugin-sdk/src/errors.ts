/**
 * Errors a plugin throws to fail its step. They cross the sandbox as plain `{ code, message, retryable }`
 * objects and are classified by `code`, never by `instanceof` (a class does not survive the boundary).
 */

/**
 * Options of a {@link PluginError}.
 *
 * @example
 * const opts: PluginErrorOptions = { retryable: true };
 */
export interface PluginErrorOptions {
  /** true → the engine retries the step with backoff (e.g. HTTP 429/5xx); false → the step fails now. */
  retryable?: boolean;
  /**
   * The least time to wait before the retry, in milliseconds (e.g. from the vendor's `Retry-After`): the engine
   * waits at least this long, instead of the node's backoff when that is shorter (capped at one hour).
   */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * The error to throw from an action or trigger. `code` is SCREAMING_SNAKE_CASE and stable: flows and
 * operators match on it.
 *
 * @example
 * if (res.status === 429) throw new PluginError('SLACK_RATE_LIMITED', 'Slack answered 429', { retryable: true });
 */
export class PluginError extends Error {
  override name = 'PluginError';
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, opts: PluginErrorOptions = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
    const after = opts.retryAfterMs;
    this.retryAfterMs = typeof after === 'number' && Number.isFinite(after) && after > 0 ? Math.ceil(after) : undefined;
  }
}

/**
 * The wire shape of an error after it crossed the sandbox boundary.
 *
 * @example
 * const e: PluginErrorShape = { code: 'HUBSPOT_HTTP_400', message: 'invalid email', retryable: false };
 */
export interface PluginErrorShape {
  code: string;
  message: string;
  retryable: boolean;
  /** Set when the plugin asked for a least delay before the retry ({@link PluginErrorOptions.retryAfterMs}). */
  retryAfterMs?: number;
}

/**
 * The delay a vendor asks for before the next request, in milliseconds, from the response headers of a 429 or
 * 503: `Retry-After` (seconds, or an HTTP date), else `X-RateLimit-Reset` / `RateLimit-Reset` (seconds to wait, or
 * an epoch time in seconds when it is that large). `undefined` when the headers say nothing usable.
 *
 * @example
 * const wait = retryAfterMs(res.headers); // 30000 for "Retry-After: 30"
 */
export function retryAfterMs(headers: Readonly<Record<string, string>>, now: number = Date.now()): number | undefined {
  const h = (name: string) => {
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v.trim();
    return undefined;
  };
  const retryAfter = h('retry-after');
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const reset = h('x-ratelimit-reset') ?? h('ratelimit-reset');
  if (reset && /^\d+(\.\d+)?$/.test(reset)) {
    const n = Number(reset);
    // Vendors differ: GitHub and Twitter send an epoch time, the IETF draft and most others seconds to wait.
    return n > 1_000_000_000 ? Math.max(0, Math.ceil(n * 1000 - now)) : Math.ceil(n * 1000);
  }
  return undefined;
}

/**
 * Turns an HTTP status into a PluginError: 408, 425, 429 and 5xx are retryable, other 4xx are not. Pass the
 * response headers too and a 429's or 503's `Retry-After` / `X-RateLimit-Reset` becomes the error's
 * `retryAfterMs`, so the engine waits as long as the vendor asked before the retry.
 *
 * @example
 * const res = await ctx.http.fetch(url, { method: 'POST', body });
 * if (!res.ok) throw httpError('SENDGRID', res.status, await res.text(), res.headers);
 */
export function httpError(vendor: string, status: number, body: string, headers?: Readonly<Record<string, string>>): PluginError {
  const retryable = status === 408 || status === 425 || status === 429 || status >= 500;
  const after = headers && (status === 429 || status === 503) ? retryAfterMs(headers) : undefined;
  return new PluginError(`${vendor}_HTTP_${status}`, `${vendor.toLowerCase()} answered HTTP ${status}: ${body.slice(0, 300)}`, { retryable, ...(after !== undefined ? { retryAfterMs: after } : {}) });
}
