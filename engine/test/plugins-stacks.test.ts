import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '@cairn/plugin-sdk/build';
import { eventually, startPluginHarness, type PluginHarness } from './engine-harness.ts';

/**
 * Source-mapped stacks (issue 16 item 3): a plugin built with its source map and published with it fails a step
 * from `src/actions/explode.ts:12`; the run's step shows that file and line, not `plugin-bundle.js`. A version
 * published without a map keeps the bundle's frames; a map that is not a source map is refused at upload (400).
 */

const root = fileURLToPath(new URL('./fixtures/stacky/', import.meta.url));

let h: PluginHarness;
const api = (method: string, url: string, body?: unknown) => h.call(method, url, body);

async function failedStep(version: string, event: string) {
  const flow = await api('POST', '/v1/flows', {
    schema: 'cairn.flow/v1', name: `Stacks ${version}`, settings: { reentry: 'always', goal: null, exit_on: [] },
    nodes: [
      { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event } },
      { id: 'boom', type: 'plugin:stacky/explode', position: { x: 0, y: 120 }, config: { deal: 'd-42/open' } },
    ],
    edges: [{ id: 'e1', source: 'start', target: 'boom' }],
  });
  expect(flow.status, JSON.stringify(flow.body)).toBe(201);
  expect((await api('POST', `/v1/flows/${flow.body.id}/publish`, {})).status).toBe(200);
  expect((await api('POST', '/v1/events', { type: event, contact: { email: `${event}@example.com` } })).status).toBe(202);
  const run = await eventually(async () => {
    const r = (await api('GET', `/v1/runs?flow_id=${flow.body.id}`)).body.items?.[0];
    return r && ['completed', 'failed'].includes(r.status) ? r : undefined;
  }, 60_000, 100);
  expect(run.status).toBe('failed');
  return (await api('GET', `/v1/runs/${run.id}`)).body.steps.find((s: any) => s.node_id === 'boom');
}

beforeAll(async () => {
  h = await startPluginHarness({ clock: 'system' });
});

afterAll(async () => {
  await h?.close();
});

describe('source-mapped stacks', () => {
  it('a plugin throwing at src/actions/explode.ts:12 shows that file and line in the run\'s step', async () => {
    const built = await buildPlugin(`${root}src/index.ts`, { root });
    expect(JSON.parse(built.sourceMap).sources).toContain('src/actions/explode.ts');
    const up = await api('POST', '/v1/plugins', { manifest: built.manifest, bundle: built.bundle, source_map: built.sourceMap });
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const step = await failedStep('1.0.0', 'deal.checked');
    expect(step.error.code).toBe('DEAL_NOT_WON');
    const frames = String(step.error.stack).split('\n');
    expect(frames.find((f) => f.includes(' fail '))).toMatch(/\(src\/actions\/explode\.ts:12:\d+\)$/);
    expect(frames.find((f) => f.includes(' check '))).toMatch(/\(src\/actions\/explode\.ts:7:\d+\)$/);
    expect(step.error.stack).not.toContain('plugin-bundle.js');
  });

  it('a version published without a source map keeps the bundle frames; a bad map is refused with 400 naming the field', async () => {
    const v2 = await buildPlugin(`${root}src/index.ts`, { root });
    const manifest = { ...v2.manifest, version: '1.0.1' };
    const bundle = v2.bundle.replace('version: "1.0.0"', 'version: "1.0.1"');
    const bad = await api('POST', '/v1/plugins', { manifest, bundle, source_map: '{"version":2}' });
    expect(bad.status, JSON.stringify(bad.body)).toBe(400);
    expect(bad.body.errors).toEqual([{ path: '/source_map', message: 'the source map must be a version 3 source map with sources and mappings' }]);
    expect((await api('POST', '/v1/plugins', { manifest, bundle })).status).toBe(201);
    const step = await failedStep('1.0.1', 'deal.rechecked');
    expect(step.error.code).toBe('DEAL_NOT_WON');
    expect(step.error.stack).toMatch(/plugin-bundle\.js:\d+:\d+/);
  });
});
