import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describe, type TestContext } from 'vitest';
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

/** `describe` for a builder e2e file: skipped, with the reason on the console, where Chromium is missing. */
export function describeE2e(name: string, body: () => void): void {
  const availability = browserAvailability();
  if (!availability.run) console.warn(`builder e2e: ${availability.reason}`);
  describe.skipIf(!availability.run)(name, body);
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

export interface ServerOptions {
  env?: Record<string, string>;
  port?: number;
}

/**
 * `env`: more engine settings; `port`: listen there instead of a free port chosen by the system (a test that
 * follows a redirect back to the engine sets CAIRN_PUBLIC_URL to it).
 */
export async function startServer(opts: ServerOptions = {}): Promise<E2eServer> {
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

/** The start of every builder e2e suite: the UI built ({@link ensureUiBuilt}), an engine serving it and Chromium. */
export async function startE2e(opts: ServerOptions = {}): Promise<{ server: E2eServer; browser: Browser }> {
  ensureUiBuilt();
  const server = await startServer(opts);
  try {
    return { server, browser: await launchBrowser() };
  } catch (e) {
    await server.close();
    throw e;
  }
}

/** After each test: a screenshot of the page when the test failed; with `closePage`, the page's context is closed. */
export async function endE2eTest(ctx: TestContext, page: Page | undefined, opts: { closePage?: boolean } = {}): Promise<void> {
  if (ctx.task.result?.state === 'fail' && page) await screenshot(page, `failed-${ctx.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
  if (opts.closePage) await page?.context().close();
}

/** After all tests: the browser, then the engine. */
export async function stopE2e(browser: Browser | undefined, server: E2eServer | undefined): Promise<void> {
  await browser?.close();
  await server?.close();
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

/** Drags a palette item onto the canvas at (x, y) relative to the canvas pane. */
export async function dropNode(page: Page, type: string, x: number, y: number): Promise<void> {
  await page.dragAndDrop(`.palette-item[data-type="${type}"]`, '.react-flow__pane', { targetPosition: { x, y } });
}

/** Connects an out-handle of one node to the input of another by dragging with the mouse. */
export async function connect(page: Page, source: string, handle: string, target: string): Promise<void> {
  const from = page.locator(`[data-testid="node-${source}"] .react-flow__handle.source[data-handle="${handle}"]`);
  const to = page.locator(`[data-testid="node-${target}"] .react-flow__handle.target`);
  const a = (await from.boundingBox())!;
  const b = (await to.boundingBox())!;
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
}

/** Selects a node on the canvas and waits for the inspector. */
export async function selectNode(page: Page, id: string): Promise<void> {
  await page.locator(`[data-testid="node-${id}"] .fnode-head`).click();
  await page.getByRole('complementary', { name: 'Inspector' }).waitFor();
}
