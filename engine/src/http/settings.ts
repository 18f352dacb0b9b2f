import { databaseTargets } from '../db/admin.ts';
import { deleteEmailSettings, describeEmailSettings, putEmailSettings, sendTestEmail } from '../channels/email.ts';
import { emailPolicySchema, loadEmailPolicy, putEmailPolicy, type EmailPolicy } from '../channels/email-policy.ts';
import { isValidDuration } from '../time/duration.ts';
import { invalid } from '../errors.ts';
import type { RouteGroup } from './route-groups.ts';
import { loadRetention, putRetention, retentionSchema, type RetentionSettings } from '../runner/commands.ts';

/**
 * Workspace settings (admin): the SMTP server action.send_email uses (the SMTP URL is write-only; without one,
 * mail goes to the development outbox) and the sending policy — quiet hours, frequency caps, tracking; how long
 * run step detail is kept (docs/operations.md §Retention).
 */
export const settingsRoutes: RouteGroup = async (app, { ctx }) => {
  app.get('/settings/email', { config: { area: 'workspace', adminOnly: true } }, async (request) => describeEmailSettings(ctx.db, request.auth!.workspaceId));

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
    await putEmailSettings(ctx.db, ctx.secretKey, request.auth!.workspaceId, body, ctx.clock.now());
    return describeEmailSettings(ctx.db, request.auth!.workspaceId);
  });

  app.delete('/settings/email', { config: { area: 'workspace' } }, async (request) => {
    await deleteEmailSettings(ctx.db, request.auth!.workspaceId);
    return describeEmailSettings(ctx.db, request.auth!.workspaceId);
  });

  app.post('/settings/email/test', {
    config: { area: 'workspace' },
    schema: { body: { type: 'object', additionalProperties: false, required: ['to'], properties: { to: { type: 'string', format: 'email', maxLength: 320 } } } },
  }, async (request) => sendTestEmail(ctx.db, ctx.secretKey, { allowPrivate: ctx.config.email.allowPrivateHosts, deniedTargets: databaseTargets(ctx.databaseUrl) }, request.auth!.workspaceId, (request.body as { to: string }).to, ctx.clock.now()));

  app.get('/settings/retention', { config: { area: 'workspace', adminOnly: true } }, async (request) => loadRetention(ctx.db, request.auth!.workspaceId));

  app.put('/settings/retention', { config: { area: 'workspace' }, schema: { body: retentionSchema } }, async (request) =>
    putRetention(ctx.db, request.auth!.workspaceId, request.body as RetentionSettings, ctx.clock.now()));

  app.get('/settings/email-policy', { config: { area: 'workspace', adminOnly: true } }, async (request) => loadEmailPolicy(ctx.db, request.auth!.workspaceId));

  app.put('/settings/email-policy', { config: { area: 'workspace' }, schema: { body: emailPolicySchema } }, async (request) => {
    const body = request.body as Partial<EmailPolicy>;
    (body.frequency_caps ?? []).forEach((cap, i) => {
      if (!isValidDuration(cap.within)) {
        throw invalid(`frequency_caps[${i}].within must be an ISO 8601 duration such as "P7D"`, [{ path: `/frequency_caps/${i}/within`, message: 'not an ISO 8601 duration' }]);
      }
    });
    return putEmailPolicy(ctx.db, request.auth!.workspaceId, body, ctx.clock.now());
  });
};
