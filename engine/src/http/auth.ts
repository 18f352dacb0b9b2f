import { createSession, deleteSession, findSession, SESSION_COOKIE, SESSION_TTL_MS } from '../auth/sessions.ts';
import { DUMMY_HASH, verifyPassword } from '../auth/passwords.ts';
import { findUserByEmail } from '../auth/users.ts';
import { getWorkspaceById, getWorkspaceBySlug } from '../crm/workspaces.ts';
import { CairnError } from '../errors.ts';
import { countFailure, LOGIN_ACCOUNT_WINDOW_MS, LOGIN_ATTEMPTS_PER_MINUTE, LOGIN_FAILURES_PER_ACCOUNT, refuseWhenSpent } from './rate-limits.ts';
import { noContent } from './openapi.ts';
import type { RouteGroup } from './route-groups.ts';
import { ref } from './schemas.ts';


const badLogin = () => new CairnError('CAIRN_ERR_UNAUTHORIZED', 'workspace, email or password is wrong');

/** Builder-UI sessions: login sets an HttpOnly SameSite=Lax cookie; /auth/me hands the UI its CSRF token. */
export const authRoutes: RouteGroup = async (app, { ctx }) => {
  // Failed logins per account, whichever IPs they come from (an attacker spreading guesses over addresses).
  const accountFailures = app.createRateLimit({
    max: LOGIN_FAILURES_PER_ACCOUNT,
    timeWindow: LOGIN_ACCOUNT_WINDOW_MS,
    keyGenerator: (r) => {
      const b = r.body as { workspace: string; email: string };
      return `login-account:${b.workspace.toLowerCase()}\n${b.email.trim().toLowerCase()}`;
    },
  });

  app.post('/auth/login', {
    // Anonymous, so every attempt counts against the IP (never against headers or cookies the caller made up).
    config: { public: true, rateLimit: { max: LOGIN_ATTEMPTS_PER_MINUTE, timeWindow: 60_000, keyGenerator: (r) => `login-ip:${r.ip}` } },
    schema: {
      operationId: 'login', tags: ['auth'], summary: 'Log in (sets the session cookie)',
      description: `Sets the HttpOnly session cookie. Limits: ${LOGIN_ATTEMPTS_PER_MINUTE} attempts per IP per minute, and ${LOGIN_FAILURES_PER_ACCOUNT} failed attempts per account (workspace + email) per ${LOGIN_ACCOUNT_WINDOW_MS / 60_000} minutes from any IP; over either, 429 with Retry-After.`,
      body: {
        type: 'object', additionalProperties: false, required: ['workspace', 'email', 'password'],
        properties: {
          workspace: { type: 'string', minLength: 1, maxLength: 63 },
          email: { type: 'string', minLength: 1, maxLength: 320 },
          password: { type: 'string', minLength: 1, maxLength: 1024 },
        },
      },
      response: { 200: ref('Me') },
    },
  }, async (request, reply) => {
    const body = request.body;
    await refuseWhenSpent(accountFailures, request, reply, 'too many failed logins for this account');
    const workspace = await getWorkspaceBySlug(ctx.db, body.workspace);
    const user = workspace ? await findUserByEmail(ctx.db, workspace.id, body.email) : undefined;
    // Verify even when there is no such user, so the answer takes as long either way.
    const ok = await verifyPassword(body.password, user?.password_hash ?? DUMMY_HASH);
    if (!workspace || !user || !ok) {
      await countFailure(accountFailures, request);
      throw badLogin();
    }
    const session = await createSession(ctx.db, { workspaceId: workspace.id, userId: user.id, now: ctx.clock.now() });
    reply.setCookie(SESSION_COOKIE, session.token, {
      path: '/', httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https', maxAge: SESSION_TTL_MS / 1000,
    });
    return {
      user: { id: user.id, email: user.email, name: user.name }, workspace: { id: workspace.id, slug: workspace.slug, name: workspace.name },
      role: user.role, csrf_token: session.csrfToken,
    };
  });

  app.post('/auth/logout', {
    config: { anyRole: true },
    schema: { operationId: 'logout', tags: ['auth'], summary: 'Log out (ends the session)', response: { 204: noContent } },
  }, async (request, reply) => {
    const auth = request.auth!;
    if (auth.sessionId) await deleteSession(ctx.db, auth.workspaceId, auth.sessionId);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });

  app.get('/auth/me', {
    config: { anyRole: true },
    schema: { operationId: 'getMe', tags: ['auth'], summary: 'Who is calling', response: { 200: ref('Me') } },
  }, async (request) => {
    const auth = request.auth!;
    const workspace = await getWorkspaceById(ctx.db, auth.workspaceId);
    if (!workspace) throw new CairnError('CAIRN_ERR_UNAUTHORIZED', 'the workspace no longer exists');
    let user = null;
    let csrf: string | null = null;
    if (auth.userId) {
      const row = await ctx.db('users').where({ id: auth.userId, workspace_id: auth.workspaceId }).first<{ id: string; email: string; name: string | null }>('id', 'email', 'name');
      user = row ?? null;
      const token = request.cookies[SESSION_COOKIE];
      csrf = token ? (await findSession(ctx.db, token, ctx.clock.now()))?.csrfToken ?? null : null;
    }
    return { user, workspace: { id: workspace.id, slug: workspace.slug, name: workspace.name }, role: auth.role, csrf_token: csrf };
  });
};
