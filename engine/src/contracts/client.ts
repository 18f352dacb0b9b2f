import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './api.ts';

/**
 * The typed client of the HTTP API: openapi-fetch over the `paths` generated from the OpenAPI document
 * (`pnpm openapi`), so a wrong path, parameter, body or answer field is a compile error in every caller — the
 * builder UI, the `cairn flows` CLI, the bench and the examples' loader. No Node import: it runs in the browser.
 *
 * @example
 * const api = createApiClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: process.env.CAIRN_API_KEY });
 * const flow = await ok(api.GET('/v1/flows/{id}', { params: { path: { id } } }));
 */
export type ApiClient = Client<paths, 'application/json'>;

export interface ApiClientOptions extends ClientOptions {
  /** An API key of the workspace, sent as `Authorization: Bearer …` (the builder signs in with a cookie instead). */
  apiKey?: string;
}

export function createApiClient({ apiKey, headers, ...options }: ApiClientOptions = {}): ApiClient {
  const auth = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  return createClient<paths, 'application/json'>({ ...options, headers: { ...auth, ...(headers as Record<string, string> | undefined) } });
}

type ProblemItem = components['schemas']['ProblemItem'];

/** A problem+json answer (docs/errors.md) as an error: its status, code and `errors[]` with their JSON Pointers. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly title: string;
  readonly detail?: string;
  readonly code?: string;
  readonly errors: ProblemItem[];
  constructor(status: number, body: unknown, options?: { cause?: unknown }) {
    const problem = (typeof body === 'object' && body !== null ? body : {}) as Partial<components['schemas']['Problem']>;
    const text = typeof body === 'string' ? body.slice(0, 200) : undefined;
    super(problem.detail || problem.title || text || `HTTP ${status}`, options);
    this.status = status;
    this.title = problem.title ?? `HTTP ${status}`;
    this.detail = problem.detail ?? text;
    this.code = problem.code;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

/** What a call answered: the body of its 2xx (undefined for a 204), or `ApiError` thrown for any other status. */
export type Answered<T> = [T] extends [never] ? undefined : T;

export async function ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<Answered<T>> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, error);
  return data as Answered<T>;
}
