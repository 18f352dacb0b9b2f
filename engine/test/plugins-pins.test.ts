import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePluginVersion } from '../src/plugins/pins.ts';
import { eventually, startPluginHarness, type PluginHarness } from './engine-harness.ts';

/**
 * Plugin version pinning (issue 16, deliverable 9), through the real API and engine: a flow publication pins one
 * version per plugin — a node's `plugin_version`, else the previous publication's pin, else the latest stable
 * version; republishing keeps pins and the answer lists pin changes; a pre-release runs only when named; runs and
 * webhook triggers (`?cairn_flow=`) run the pinned version.
 */

let h: PluginHarness;
const api = (method: string, url: string, body?: unknown) => h.call(method, url, body);

const upload = (version: string) => h.installPlugin(new URL(`./fixtures/hooked-${version}.ts`, import.meta.url));

const flowDoc = (event: string, node: Record<string, unknown> = {}, more: unknown[] = []) => ({
  schema: 'cairn.flow/v1', name: `Pinned ${event}`, settings: { reentry: 'always', goal: null, exit_on: [] },
  nodes: [
    { id: 'start', type: 'trigger.event', position: { x: 0, y: 0 }, config: { event } },
    { id: 'which', type: 'plugin:hooked/which', position: { x: 0, y: 120 }, config: {}, ...node },
    ...more,
  ],
  edges: [{ id: 'e1', source: 'start', target: 'which' }],
});

/** The version the newest run of the flow's plugin step ran. */
async function ranVersion(flowId: string, event: string, email: string): Promise<string> {
  expect((await api('POST', '/v1/events', { type: event, contact: { email } })).status).toBe(202);
  const run = await eventually(async () => {
    const item = (await api('GET', `/v1/runs?flow_id=${flowId}`)).body.items.find((r: any) => r.status === 'completed' && r.contact_id);
    if (!item) return undefined;
    const detail = (await api('GET', `/v1/runs/${item.id}`)).body;
    return detail.contact_email === email ? detail : undefined;
  }, 60_000, 100);
  return run.steps.find((s: any) => s.node_id === 'which').output.version;
}

beforeAll(async () => {
  h = await startPluginHarness({ clock: 'system' });
});

afterAll(async () => {
  await h?.close();
});

describe('plugin version pins', () => {
  let flowId: string;

  it('Pinning: a flow pinned to 1.0.0 keeps it when republished; a prerelease pinned explicitly runs', async () => {
    await upload('1.0.0');
    flowId = (await api('POST', '/v1/flows', flowDoc('pin.one'))).body.id;
    const first = await api('POST', `/v1/flows/${flowId}/publish`, {});
    expect(first.body).toEqual({ version: 1, plugin_pins: { hooked: '1.0.0' }, pin_changes: [{ plugin_id: 'hooked', from: null, to: '1.0.0' }] });

    await upload('1.1.0');
    await upload('2.0.0-beta.1');
    // Republished with an unrelated change: the pin stays, and the answer says nothing changed.
    expect((await api('PUT', `/v1/flows/${flowId}/draft`, { ...flowDoc('pin.one'), name: 'Pinned, renamed' })).status).toBe(200);
    const again = await api('POST', `/v1/flows/${flowId}/publish`, {});
    expect(again.body).toEqual({ version: 2, plugin_pins: { hooked: '1.0.0' }, pin_changes: [] });
    expect((await api('GET', `/v1/flows/${flowId}/versions/2`)).body.plugin_pins).toEqual({ hooked: '1.0.0' });
    expect(await ranVersion(flowId, 'pin.one', 'one@example.com')).toBe('1.0.0');

    // The node names the pre-release: it runs, and the publish answer shows the change.
    expect((await api('PUT', `/v1/flows/${flowId}/draft`, flowDoc('pin.one', { plugin_version: '2.0.0-beta.1' }))).status).toBe(200);
    const beta = await api('POST', `/v1/flows/${flowId}/publish`, {});
    expect(beta.body).toEqual({ version: 3, plugin_pins: { hooked: '2.0.0-beta.1' }, pin_changes: [{ plugin_id: 'hooked', from: '1.0.0', to: '2.0.0-beta.1' }] });
    expect(await ranVersion(flowId, 'pin.one', 'beta@example.com')).toBe('2.0.0-beta.1');
  });

  it('a new flow without plugin_version pins the latest stable version, never a pre-release', async () => {
    const id = (await api('POST', '/v1/flows', flowDoc('pin.two'))).body.id;
    expect((await api('POST', `/v1/flows/${id}/publish`, {})).body.plugin_pins).toEqual({ hooked: '1.1.0' });
    expect(await ranVersion(id, 'pin.two', 'two@example.com')).toBe('1.1.0');
    expect(await resolvePluginVersion(h.t.db, h.workspaceId, null, 'hooked')).toBe('1.1.0');
    expect(await resolvePluginVersion(h.t.db, h.workspaceId, { flowId }, 'hooked')).toBe('2.0.0-beta.1');
    expect(await resolvePluginVersion(h.t.db, h.workspaceId, { flowId, version: 1 }, 'hooked')).toBe('1.0.0');
    expect(await resolvePluginVersion(h.t.db, h.workspaceId, null, 'nope')).toBeNull();
  });

  it('an unknown version, two nodes of one plugin naming different versions, or a version on a core node: 422 with paths', async () => {
    const other = { id: 'again', type: 'plugin:hooked/which', position: { x: 0, y: 240 }, config: {}, plugin_version: '1.1.0' };
    const tag = { id: 'tag', type: 'action.tag', position: { x: 0, y: 360 }, config: { add: ['x'] }, plugin_version: '1.0.0' };
    const doc = flowDoc('pin.bad', { plugin_version: '9.9.9' }, [other, tag]);
    doc.edges.push({ id: 'e2', source: 'which', target: 'again' }, { id: 'e3', source: 'again', target: 'tag' });
    const id = (await api('POST', '/v1/flows', doc)).body.id;
    const res = await api('POST', `/v1/flows/${id}/publish`, {});
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: any) => [e.path, e.node_id])).toEqual(expect.arrayContaining([
      ['/nodes/1/plugin_version', 'which'], ['/nodes/2/plugin_version', 'again'], ['/nodes/3/plugin_version', 'tag'],
    ]));
    expect(res.body.errors.find((e: any) => e.node_id === 'which').message).toContain('no version 9.9.9');
    expect((await api('GET', `/v1/flows/${id}`)).body.published_version).toBeNull();
    // A draft may be incomplete; the document schema refuses a version that is not semver at publish.
    const malformed = await api('POST', `/v1/flows/${(await api('POST', '/v1/flows', flowDoc('pin.bad', { plugin_version: 'latest' }))).body.id}/publish`, {});
    expect(malformed.status).toBe(422);
    expect(malformed.body.errors.map((e: any) => e.path)).toContain('/nodes/1/plugin_version');
  });

  it('a webhook trigger runs the version the flow named in ?cairn_flow= pinned, else the latest stable', async () => {
    const hook = async (query: string) => {
      const res = await h.app.inject({ method: 'POST', url: `/v1/hooks/${h.workspaceId}/plugins/hooked/hook${query}`, payload: JSON.stringify({ email: 'hook@example.com' }), headers: { 'content-type': 'application/json' } });
      expect(res.statusCode, res.body).toBe(202);
      const eventId = res.json().items[0].id;
      return (await h.t.db('events').where({ workspace_id: h.workspaceId, id: eventId }).first<{ properties: { verified_by: string } }>('properties')).properties.verified_by;
    };
    expect(await hook(`?cairn_flow=${flowId}`)).toBe('2.0.0-beta.1');
    expect(await hook('')).toBe('1.1.0');
    expect((await h.app.inject({ method: 'POST', url: `/v1/hooks/${h.workspaceId}/plugins/hooked/hook?cairn_flow=nope`, payload: '{}' })).statusCode).toBe(404);
  });
});
