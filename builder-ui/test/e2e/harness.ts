import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startHarness, type Harness } from '../../../engine/test/engine-harness.ts';
import { createUser } from '../../../engine/src/auth/users.ts';

/**
 * End-to-end plumbing: a real engine (createApp on a cloned test database, workers on, system clock) listening
 * on a local port and serving the built builder UI, users to sign in with, and real Chromium via playwright-core.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = resolve(import.meta.dirname, '../../..');
export const SCREENSHOTS = resolve(ROOT, 'test-results/screenshots');

/** Whether to run: skip (with the reason) without Chromium locally, fail in CI where it must be installed. */
export function browserAvailability(): { run: boolean; reason?: string } {
  if (existsSync(CHROMIUM)) return { run: true };
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${CHROMIUM} is missing: install it (apt-get install -y chromium); browser e2e tests cannot be skipped in CI`);
  return { run: false, reason: `skipped: ${CHROMIUM} is not installed (apt-get install -y chromium) — the builder e2e tests need a real browser` };
}

/** Builds builder-ui/dist when it is missing or older than the sources (same script `pnpm start` runs). */
export function ensureUiBuilt(): void {
  // NODE_ENV=test (set by vitest) must not leak into the production build.
  const r = spawnSync(process.execPath, [resolve(ROOT, 'scripts/ensure-ui-build.mjs')], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  if (r.status !== 0 || !existsSync(resolve(ROOT, 'builder-ui/dist/index.html'))) throw new Error('could not build the builder UI (pnpm build:ui)');
}

export interface E2eServer {
  h: Harness;
  url: string;
  slug: string;
  users: { admin: Credentials; viewer: Credentials };
  close(): Promise<void>;
}
export interface Credentials {
  email: string;
  password: string;
}

/**
 * `env`: more engine settings; `port`: listen there instead of a free port chosen by the system (a test that
 * follows a redirect back to the engine sets CAIRN_PUBLIC_URL to it).
 */
export async function startServer(opts: { env?: Record<string, string>; port?: number } = {}): Promise<E2eServer> {
  const h = await startHarness({ clock: 'system', env: opts.env });
  await h.app.listen({ port: opts.port ?? 0, host: '127.0.0.1' });
  const { port } = h.app.server.address() as AddressInfo;
  const { slug } = await h.t.db('workspaces').where({ id: h.workspaceId }).first<{ slug: string }>('slug');
  const users = {
    admin: { email: 'olivia@example.com', password: 'correct-horse-battery' },
    viewer: { email: 'victor@example.com', password: 'viewer-horse-battery' },
  };
  await createUser(h.t.db, { workspaceId: h.workspaceId, email: users.admin.email, password: users.admin.password, role: 'admin', name: 'Olivia Ops' });
  await createUser(h.t.db, { workspaceId: h.workspaceId, email: users.viewer.email, password: users.viewer.password, role: 'viewer', name: 'Victor Viewer' });
  return { h, url: `http://127.0.0.1:${port}`, slug, users, close: () => h.close() };
}

/** A port free right now (the system picks it), for a server that must know its URL before it listens. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`) });
}

export async function signIn(page: Page, server: E2eServer, who: Credentials): Promise<void> {
  await page.goto(`${server.url}/`);
  await page.getByLabel('Workspace').fill(server.slug);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
}
