import type { FastifyPluginAsync } from 'fastify';

/**
 * Every route group of the public API, one fastify plugin each, registered under /v1 by http/app.ts.
 * Add a group here when you add a file under http/.
 */
export const routeGroups: FastifyPluginAsync[] = [];
