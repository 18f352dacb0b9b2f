/**
 * Coded errors. Every `CAIRN_ERR_*` has an HTTP status and a class: USER (bad input or a failing step whose
 * retry/error-branch rules apply) or ENGINE (our bug). `docs/errors.md` lists them all; a test keeps it in sync.
 * Errors cross the sandbox boundary as plain `{ code, message, retryable }`, classified by `code`.
 */
export type ErrorClass = 'USER' | 'ENGINE';

export interface ProblemItem {
  /** JSON Pointer into the request body (or document). */
  path: string;
  message: string;
  node_id?: string;
}

interface CodeSpec {
  status: number;
  class: ErrorClass;
  title: string;
}

export const ERROR_CODES = {
  CAIRN_ERR_BAD_JSON: { status: 400, class: 'USER', title: 'Malformed JSON' },
  CAIRN_ERR_VALIDATION: { status: 400, class: 'USER', title: 'Invalid request' },
  CAIRN_ERR_UNAUTHORIZED: { status: 401, class: 'USER', title: 'Unauthorized' },
  CAIRN_ERR_FORBIDDEN: { status: 403, class: 'USER', title: 'Forbidden' },
  CAIRN_ERR_NOT_FOUND: { status: 404, class: 'USER', title: 'Not found' },
  CAIRN_ERR_CONFLICT: { status: 409, class: 'USER', title: 'Conflict' },
  CAIRN_ERR_BODY_TOO_LARGE: { status: 413, class: 'USER', title: 'Request body too large' },
  CAIRN_ERR_UNSUPPORTED_MEDIA: { status: 415, class: 'USER', title: 'Unsupported media type' },
  CAIRN_ERR_INVALID_FLOW: { status: 422, class: 'USER', title: 'Invalid flow' },
  CAIRN_ERR_UNPROCESSABLE: { status: 422, class: 'USER', title: 'Unprocessable request' },
  CAIRN_ERR_RATE_LIMITED: { status: 429, class: 'USER', title: 'Too many requests' },
  CAIRN_ERR_STEP_FAILED: { status: 500, class: 'USER', title: 'Step failed' },
  CAIRN_ERR_PLUGIN_LIMIT: { status: 500, class: 'USER', title: 'Plugin limit exceeded' },
  CAIRN_ERR_INTERNAL: { status: 500, class: 'ENGINE', title: 'Internal error' },
  CAIRN_ERR_UNAVAILABLE: { status: 503, class: 'ENGINE', title: 'Service unavailable' },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * A step that failed with a code of its own, not the engine's: a plugin's `PluginError` code (`RATE_LIMITED`) or
 * a sandbox host code (`FETCH_TIMEOUT`). It becomes the step's `error.code`, so a flow can branch on it after the
 * `error` edge; retry rules apply as for any USER error. `logs` and `stack` are kept on the step.
 */
export class StepFailure extends Error {
  override name = 'StepFailure';
  readonly errorClass = 'USER' as const;
  readonly retryable: boolean;
  readonly logs: unknown[];
  readonly pluginStack: string | undefined;
  /** The least delay before a retry that the plugin asked for (a vendor's Retry-After). */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: string,
    message: string,
    opts: { retryable?: boolean; logs?: unknown[]; stack?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.retryable = opts.retryable ?? false;
    this.retryAfterMs = opts.retryAfterMs;
    this.logs = opts.logs ?? [];
    this.pluginStack = opts.stack;
  }
}

export class CairnError extends Error {
  override name = 'CairnError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly errorClass: ErrorClass;
  readonly errors: ProblemItem[];
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, opts: { errors?: ProblemItem[]; cause?: unknown; retryable?: boolean } = {}) {
    super(message, { cause: opts.cause });
    const spec = ERROR_CODES[code];
    this.code = code;
    this.status = spec.status;
    this.errorClass = spec.class;
    this.errors = opts.errors ?? [];
    this.retryable = opts.retryable ?? false;
  }

  /** RFC 9457 problem+json body. */
  toProblem(): Problem {
    const spec = ERROR_CODES[this.code];
    return {
      type: `https://cairn.dev/errors/${this.code}`,
      title: spec.title,
      status: this.status,
      detail: this.message,
      code: this.code,
      errors: this.errors,
    };
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors: ProblemItem[];
}

export const notFound = (what: string) => new CairnError('CAIRN_ERR_NOT_FOUND', `${what} not found`);
export const forbidden = (detail: string) => new CairnError('CAIRN_ERR_FORBIDDEN', detail);
export const invalid = (detail: string, errors: ProblemItem[]) => new CairnError('CAIRN_ERR_VALIDATION', detail, { errors });
export const conflict = (detail: string) => new CairnError('CAIRN_ERR_CONFLICT', detail);
