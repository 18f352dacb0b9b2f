import type { FastifyInstance } from 'fastify';
import type { EngineContext } from '../context.ts';
import { migrationStatus } from '../db/migrate.ts';

/** Liveness and readiness probes, outside /v1 and without auth. */
export async function healthRoutes(app: FastifyInstance, ctx: EngineContext): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    try {
      const { pending } = await migrationStatus(ctx.db);
      if (pending.length > 0) return reply.code(503).send({ status: 'unavailable', reason: `${pending.length} pending migration(s); run cairn migrate` });
      return { status: 'ok' };
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
    }
  });
}
