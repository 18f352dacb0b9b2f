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

  constructor(code: string, message: string, opts: PluginErrorOptions = {}) {
    super(message, { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
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
}

/**
 * Turns an HTTP status into a PluginError: 408, 425, 429 and 5xx are retryable, other 4xx are not.
 *
 * @example
 * const res = await ctx.http.fetch(url, { method: 'POST', body });
 * if (!res.ok) throw httpError('SENDGRID', res.status, await res.text());
 */
export function httpError(vendor: string, status: number, body: string): PluginError {
  const retryable = status === 408 || status === 425 || status === 429 || status >= 500;
  return new PluginError(`${vendor}_HTTP_${status}`, `${vendor.toLowerCase()} answered HTTP ${status}: ${body.slice(0, 300)}`, { retryable });
}
