import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { authenticateApiKey, createApiKey } from '../auth/api-keys.ts';
import { hashPassword, verifyPassword } from '../auth/passwords.ts';
import { createUser, findUserByEmail } from '../auth/users.ts';
import type { EngineContext } from '../context.ts';
import { createWorkspace, getWorkspaceBySlug } from '../crm/workspaces.ts';
import { loadExamples } from '../flow/examples.ts';

export const DEMO_WORKSPACE = 'demo';
export const DEMO_EMAIL = 'demo@cairn.local';
export const DEMO_CREDENTIALS_FILE = 'demo-credentials.json';

export interface DemoCredentials {
  workspace: string;
  workspaceId: string;
  apiKey: string;
  email: string;
  password: string;
}

export interface DemoSeed {
  credentials: DemoCredentials;
  /** True when this call created the workspace (and loaded the examples into it). */
  created: boolean;
  examples: number;
}

/**
 * Makes sure the `demo` workspace exists with an admin API key and a sign-in, and returns them. Keys and
 * passwords are stored hashed, so the plaintext is kept in `<dataDir>/demo-credentials.json` (0600) and reused
 * while it still authenticates; otherwise new ones are issued. Idempotent: a second call changes nothing.
 */
export async function ensureDemo(ctx: EngineContext): Promise<DemoSeed> {
  const { db } = ctx;
  const file = path.resolve(ctx.config.dataDir, DEMO_CREDENTIALS_FILE);
  const existing = await getWorkspaceBySlug(db, DEMO_WORKSPACE);
  const workspace = existing ?? (await createWorkspace(db, { slug: DEMO_WORKSPACE, name: 'Demo' }));
  const saved = await readSaved(file);
  const usable = saved?.workspaceId === workspace.id ? saved : null;

  let apiKey = usable?.apiKey;
  const auth = apiKey ? await authenticateApiKey(db, apiKey) : null;
  if (!auth || auth.workspaceId !== workspace.id || auth.role !== 'admin') {
    apiKey = (await createApiKey(db, { workspaceId: workspace.id, role: 'admin', name: 'demo admin' })).key;
  }

  let password = usable?.password;
  const user = await findUserByEmail(db, workspace.id, DEMO_EMAIL);
  if (!user) {
    password = newPassword();
    await createUser(db, { workspaceId: workspace.id, email: DEMO_EMAIL, password, role: 'admin', name: 'Demo admin' });
  } else if (!password || !(await verifyPassword(password, user.password_hash))) {
    // The demo user exists but nobody here knows its password (credentials file lost): give it a new one.
    password = newPassword();
    await db('users').where({ id: user.id, workspace_id: workspace.id }).update({ password_hash: await hashPassword(password) });
  }

  const credentials: DemoCredentials = { workspace: DEMO_WORKSPACE, workspaceId: workspace.id, apiKey: apiKey!, email: DEMO_EMAIL, password: password! };
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  const examples = existing ? 0 : await loadExamples(ctx, workspace.id);
  if (!existing) ctx.logger.info({ workspaceId: workspace.id, examples }, 'demo workspace created');
  return { credentials, created: !existing, examples };
}

async function readSaved(file: string): Promise<DemoCredentials | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DemoCredentials;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file} is not readable JSON; delete it and run again to issue new demo credentials`, { cause: err });
  }
}

const newPassword = () => randomBytes(12).toString('base64url');

/** What `cairn start` and `cairn seed` print about the demo workspace. */
export function describeDemo(seed: DemoSeed, url: string): string[] {
  const c = seed.credentials;
  return [
    `Demo workspace "${c.workspace}"${seed.created ? ` created (${seed.examples} example flows loaded)` : ''}`,
    `  Builder:        ${url}/`,
    `  Sign in:        ${c.email} / ${c.password}`,
    `  Admin API key:  ${c.apiKey}`,
    `  Try:            curl -H "Authorization: Bearer ${c.apiKey}" ${url}/v1/contacts`,
  ];
}
