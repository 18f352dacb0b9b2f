import { createRequire } from 'node:module';

/**
 * A DOM for component tests, installed on import (import this module first). The workspace's vitest resolves
 * jsdom 31, which needs Node ≥ 22; the engine targets Node 20, so the builder's tests create their window from
 * jsdom 26 here instead of through `@vitest-environment jsdom`.
 */
const { JSDOM } = createRequire(import.meta.url)('jsdom') as { JSDOM: new (html: string, opts: Record<string, unknown>) => { window: Window & typeof globalThis } };
const { window } = new JSDOM('<!doctype html><html><body></body></html>', { url: 'http://localhost/', pretendToBeVisual: true });
const g = globalThis as Record<string, unknown>;
for (const key of Object.getOwnPropertyNames(window)) {
  if (key in g || key.startsWith('_')) continue;
  g[key] = (window as unknown as Record<string, unknown>)[key];
}
g.window = window;
g.document = window.document;
g.navigator = window.navigator;
g.IS_REACT_ACT_ENVIRONMENT = true;
