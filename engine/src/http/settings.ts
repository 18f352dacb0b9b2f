import { databaseTargets } from '../db/admin.ts';
import { deleteEmailSettings, describeEmailSettings, putEmailSettings, sendTestEmail } from '../channels/email.ts';
import { loadEmailPolicy, putEmailPolicy } from '../channels/email-policy.ts';
import { isValidDuration } from '../time/duration.ts';
import { invalid } from '../errors.ts';
import type { RouteGroup } from './route-groups.ts';
import { checkRetention, loadRetention, putRetention, retentionBodySchema, retentionSchema } from '../runner/postgres/index.ts';
import { email, ref } from './schemas.ts';
import { loadPluginHosts, pluginHostsSchema, putPluginHosts } from '../plugins/dev-hosts.ts';

/**
 * Workspace settings (admin): the SMTP server action.send_email uses (the SMTP URL is write-only; without one,
 * mail goes to the development outbox) and the sending policy — quiet hours, frequency caps, tracking; how long
 * run step detail, events and ended runs are kept (docs/operations.md §Retention).
 */
export const settingsRoutes: RouteGroup = async (app, { ctx }) => {
  app.get('/settings/email', {
    config: { area: 'workspace', adminOnly: true },
    schema: { operationId: 'getEmailSettings', tags: ['settings'], summary: 'The SMTP server in use (never its URL or password)', response: { 200: ref('EmailSettings') } },
  }, async (request) => describeEmailSettings(ctx.db, request.auth!.workspaceId));

  app.put('/settings/email', {
    config: { area: 'workspace' },
    schema: {
      operationId: 'putEmailSettings', tags: ['settings'], summary: 'Set the SMTP server (the URL is sealed and never returned)',
      body: ref('SmtpSettings'), response: { 200: ref('EmailSettings') },
    },
  }, async (request) => {
    const body = request.body;
    if (!URL.canParse(body.smtp_url) || !['smtp:', 'smtps:'].includes(new URL(body.smtp_url).protocol)) {
      throw invalid('smtp_url must be an smtp:// or smtps:// URL such as "smtps://user:password@smtp.example.com:465"', [{ path: '/smtp_url', message: 'not an smtp:// or smtps:// URL' }]);
    }
    await putEmailSettings(ctx.db, ctx.secretKey, request.auth!.workspaceId, body, ctx.clock.now());
    return describeEmailSettings(ctx.db, request.auth!.workspaceId);
  });

  app.delete('/settings/email', {
    config: { area: 'workspace' },
    schema: { operationId: 'deleteEmailSettings', tags: ['settings'], summary: 'Forget the SMTP server (mail goes to the development outbox)', response: { 200: ref('EmailSettings') } },
  }, async (request) => {
    await deleteEmailSettings(ctx.db, request.auth!.workspaceId);
    return describeEmailSettings(ctx.db, request.auth!.workspaceId);
  });

  app.post('/settings/email/test', {
    config: { area: 'workspace' },
    schema: {
      operationId: 'sendTestEmail', tags: ['settings'], summary: 'Send a test message through the SMTP server',
      body: { type: 'object', additionalProperties: false, required: ['to'], properties: { to: email } },
      response: { 200: { type: 'object', required: ['sent', 'to', 'smtp_host'], properties: { sent: { const: true }, to: { type: 'string' }, smtp_host: { type: 'string' } } } },
    },
  }, async (request) => sendTestEmail(ctx.db, ctx.secretKey, { allowPrivate: ctx.config.email.allowPrivateHosts, deniedTargets: databaseTargets(ctx.databaseUrl) }, request.auth!.workspaceId, request.body.to, ctx.clock.now()));

  app.get('/settings/plugin-hosts', {
    config: { area: 'workspace', adminOnly: true },
    schema: { operationId: 'getPluginHosts', tags: ['settings'], summary: "Hosts added to every plugin's allowedHosts in this workspace (development)", response: { 200: pluginHostsSchema } },
  }, async (request) => ({ hosts: await loadPluginHosts(ctx.db, request.auth!.workspaceId) }));

  app.put('/settings/plugin-hosts', {
    config: { area: 'workspace', adminOnly: true },
    schema: {
      operationId: 'putPluginHosts', tags: ['settings'],
      summary: "Set the hosts added to every plugin's allowedHosts in this workspace (private addresses still need the operator's switch)",
      body: pluginHostsSchema, response: { 200: pluginHostsSchema },
    },
  }, async (request) => putPluginHosts(ctx.db, request.auth!.workspaceId, request.body.hosts, ctx.clock.now()));

  app.get('/settings/retention', {
    config: { area: 'workspace', adminOnly: true },
    schema: { operationId: 'getRetention', tags: ['settings'], summary: 'How long run step detail, events and ended runs are kept', response: { 200: retentionSchema } },
  }, async (request) => loadRetention(ctx.db, request.auth!.workspaceId));

  app.put('/settings/retention', {
    config: { area: 'workspace' },
    schema: { operationId: 'putRetention', tags: ['settings'], summary: 'Set how long run step detail, events and ended runs are kept (null: forever)', body: retentionBodySchema, response: { 200: retentionSchema } },
  }, async (request) => {
    const problem = checkRetention(request.body);
    if (problem) throw invalid(problem, [{ path: '/runs_days', message: 'smaller than run_steps_days, or run_steps_days is null' }]);
    return putRetention(ctx.db, request.auth!.workspaceId, request.body, ctx.clock.now());
  });

  app.get('/settings/email-policy', {
    config: { area: 'workspace', adminOnly: true },
    schema: { operationId: 'getEmailPolicy', tags: ['settings'], summary: 'Quiet hours, frequency caps and tracking', response: { 200: ref('EmailPolicy') } },
  }, async (request) => loadEmailPolicy(ctx.db, request.auth!.workspaceId));

  app.put('/settings/email-policy', {
    config: { area: 'workspace' },
    schema: { operationId: 'putEmailPolicy', tags: ['settings'], summary: 'Change the sending policy (fields given replace the stored ones)', body: ref('EmailPolicyPatch'), response: { 200: ref('EmailPolicy') } },
  }, async (request) => {
    const body = request.body;
    (body.frequency_caps ?? []).forEach((cap, i) => {
      if (!isValidDuration(cap.within)) {
        throw invalid(`frequency_caps[${i}].within must be an ISO 8601 duration such as "P7D"`, [{ path: `/frequency_caps/${i}/within`, message: 'not an ISO 8601 duration' }]);
      }
    });
    return putEmailPolicy(ctx.db, request.auth!.workspaceId, body, ctx.clock.now());
  });
};
