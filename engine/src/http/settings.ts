import { loadSecretKey } from '../config/secret-key.ts';
import { describeEmailSettings, putEmailSettings } from '../channels/email.ts';
import { invalid } from '../errors.ts';
import type { RouteGroup } from './route-groups.ts';

/** Workspace settings (admin): the SMTP server action.send_email uses. The SMTP URL is write-only. */
export const settingsRoutes: RouteGroup = async (app, { ctx }) => {
  const secret = loadSecretKey(ctx.config);

  app.get('/settings/email', { config: { area: 'workspace' } }, async (request) => describeEmailSettings(ctx.db, request.auth!.workspaceId));

  app.put('/settings/email', {
    config: { area: 'workspace' },
    schema: {
      body: {
        type: 'object', additionalProperties: false, required: ['smtp_url', 'from'],
        properties: { smtp_url: { type: 'string', minLength: 8, maxLength: 2000 }, from: { type: 'string', minLength: 3, maxLength: 320 } },
      },
    },
  }, async (request) => {
    const body = request.body as { smtp_url: string; from: string };
    if (!URL.canParse(body.smtp_url) || !['smtp:', 'smtps:'].includes(new URL(body.smtp_url).protocol)) {
      throw invalid('smtp_url must be an smtp:// or smtps:// URL such as "smtps://user:password@smtp.example.com:465"', [{ path: '/smtp_url', message: 'not an smtp:// or smtps:// URL' }]);
    }
    await putEmailSettings(ctx.db, secret, request.auth!.workspaceId, body, ctx.clock.now());
    return describeEmailSettings(ctx.db, request.auth!.workspaceId);
  });
};
