import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where `pnpm build:ui` writes the builder (relative to this file: engine/src/http → repo root). */
export const DEFAULT_UI_ROOT = resolve(import.meta.dirname, '../../../builder-ui/dist');

/** Paths that belong to the API or the server itself: never answered with the SPA's index.html. */
const SERVER_PREFIXES = ['/v1/', '/v1', '/docs', '/healthz', '/readyz'];

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Cairn</title>
<body style="font-family:system-ui;padding:40px;color:#1f2933"><h1>The builder UI is not built</h1>
<p>Run <code>pnpm build:ui</code> in the repository, then reload. The API is served under <code>/v1</code>.</p></body>`;

/** The builder's Content-Security-Policy (docs/operations.md). */
export const BUILDER_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
} as const;

export interface UiOptions {
  /** Directory holding the built builder (index.html + assets/). Default: builder-ui/dist. */
  root?: string;
}

/**
 * Serves the built builder UI at `/` from the engine process: hashed assets with a year of caching,
 * every other non-API GET answered with index.html so that deep links (/flows/…, /runs/…) work.
 */
export async function uiRoutes(app: FastifyInstance, opts: UiOptions = {}): Promise<void> {
  const root = opts.root ?? DEFAULT_UI_ROOT;
  // Security headers for the builder's pages and assets (this plugin's scope only; the API answers JSON).
  // Scripts only from the engine itself (the Vite build has no inline script), no framing (clickjacking).
  // Inline styles stay allowed: React Flow positions nodes with style attributes.
  await app.register(fastifyHelmet, { contentSecurityPolicy: { useDefaults: false, directives: BUILDER_CSP }, frameguard: { action: 'deny' } });
  const isServerPath = (url: string) => SERVER_PREFIXES.some((p) => url === p || url.startsWith(p.endsWith('/') ? p : `${p}/`) || url.startsWith(`${p}?`));

  if (!existsSync(join(root, 'index.html'))) {
    app.log.warn({ root }, 'builder UI not built; run pnpm build:ui');
    app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT));
    return;
  }

  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // Files are routed one by one at startup; everything else falls through to the SPA handler below.
    wildcard: false,
    index: false,
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header('cache-control', path.includes(`${join('/', 'assets')}/`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });

  const sendIndex = async (request: { url: string }, reply: import('fastify').FastifyReply) => {
    if (isServerPath(request.url)) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  };
  app.get('/', { schema: { hide: true } }, sendIndex);
  app.get('/*', { schema: { hide: true } }, sendIndex);
}
