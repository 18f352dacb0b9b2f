import { isManual } from '../time/clock.ts';
import { invalid } from '../errors.ts';
import { parseDuration } from '../time/duration.ts';
import type { RouteGroup } from './route-groups.ts';

const nowSchema = { type: 'object', required: ['now'], properties: { now: { type: 'string', format: 'date-time' } } } as const;

/** The test clock (CAIRN_CLOCK=manual only; without it these routes do not exist: 404). */
export const testClockRoutes: RouteGroup = async (app, { ctx, engine }) => {
  if (!isManual(ctx.clock) || !engine) return;
  const clock = ctx.clock;

  app.get('/_test/clock', { config: { anyRole: true }, schema: { operationId: 'getTestClock', tags: ['test clock'], summary: 'The test clock (CAIRN_CLOCK=manual only)', response: { 200: nowSchema } } }, async () => ({ now: clock.now().toISOString() }));

  app.post('/_test/clock/advance', {
    config: { area: 'workspace' },
    schema: {
      operationId: 'advanceTestClock', tags: ['test clock'], summary: 'Move the test clock forward, firing what falls due (CAIRN_CLOCK=manual only)',
      response: { 200: nowSchema },
      body: {
        type: 'object', additionalProperties: false,
        properties: { by: { type: 'string', maxLength: 64 }, to: { type: 'string', format: 'date-time' } },
        oneOf: [{ required: ['by'] }, { required: ['to'] }],
      },
    },
  }, async (request) => {
    const b = request.body;
    let to: Date;
    if (b.by !== undefined) {
      const d = parseDuration(b.by);
      if (!d || d.negative) throw invalid(`by must be an ISO 8601 duration such as "P3D", got "${b.by}"`, [{ path: '/by', message: 'not a positive ISO 8601 duration' }]);
      to = d.addTo(clock.now());
    } else to = new Date(b.to!);
    if (to.getTime() < clock.now().getTime()) throw invalid('the test clock never moves backwards', [{ path: '/to', message: `is before the current test time ${clock.now().toISOString()}` }]);
    await engine.advanceClock(to);
    return { now: clock.now().toISOString() };
  });

};
