import { ApiError, createApiClient } from '@cairn/engine/contracts';

export { ApiError, ok } from '@cairn/engine/contracts';

/**
 * The one HTTP client of the builder: the engine's typed client (openapi-fetch over the `paths` generated from the
 * OpenAPI document), so a wrong path, parameter, body or answer field is a compile error (`pnpm typecheck`). Every
 * call is `ok(api.GET('/v1/flows/{id}', { params: { path: { id } } }))`: the answer's body, typed, or an `ApiError`
 * that keeps the problem's `errors[]` so screens can show the server's field paths.
 *
 * Same-origin cookie auth; unsafe methods carry the CSRF token that `GET /v1/auth/me` hands out.
 */
export const api = createApiClient({ credentials: 'same-origin' });

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Its 401 means a wrong password, not "signed out". */
const SIGN_IN = '/v1/auth/login';

api.use({
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method) && csrfToken) request.headers.set('x-cairn-csrf', csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && new URL(request.url).pathname !== SIGN_IN) onUnauthorized?.();
  },
});

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return 'Your role does not allow this action.';
    const first = err.errors[0];
    return first ? `${err.detail ?? err.title}: ${first.message}` : (err.detail ?? err.title);
  }
  return err instanceof Error ? err.message : String(err);
}
