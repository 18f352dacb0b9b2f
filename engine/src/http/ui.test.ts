import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { uiRoutes } from './ui.ts';

const root = mkdtempSync(join(tmpdir(), 'cairn-ui-'));
mkdirSync(join(root, 'assets'));
writeFileSync(join(root, 'index.html'), '<!doctype html><div id="root"></div>');
writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function appWith(dir: string) {
  const app = Fastify();
  app.setNotFoundHandler((_req, reply) => reply.code(404).type('application/problem+json').send({ status: 404, title: 'Not Found' }));
  app.get('/v1/flows', async () => ({ items: [] }));
  await app.register((instance) => uiRoutes(instance, { root: dir }));
  return app;
}

describe('builder UI served by the engine', () => {
  it('serves index.html at / and for deep links, assets with long caching', async () => {
    const app = await appWith(root);
    for (const url of ['/', '/flows', '/flows/0b7c/x', '/runs/123?status=failed']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('<div id="root">');
      expect(res.headers['cache-control']).toBe('no-cache');
    }
    const asset = await app.inject({ url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
    await app.close();
  });

  it('leaves API and server paths to their own routes and 404s', async () => {
    const app = await appWith(root);
    expect((await app.inject({ url: '/v1/flows' })).json()).toEqual({ items: [] });
    for (const url of ['/v1/nope', '/v1', '/healthz/x', '/docs/missing']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    await app.close();
  });

  it('explains how to build the UI when dist is missing', async () => {
    const app = await appWith(join(root, 'nowhere'));
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('pnpm build:ui');
    await app.close();
  });
});
