import { coreNodeTypes } from '../flow/node-types.ts';
import type { RouteGroup } from './route-groups.ts';
import { ref } from './schemas.ts';

/** Every node type the canvas may place: the core types, then the workspace's enabled plugin actions. */
export const catalogRoutes: RouteGroup = async (app, { pluginCatalog }) => {
  app.get('/catalog', {
    config: { anyRole: true },
    schema: {
      operationId: 'getCatalog', tags: ['catalog'], summary: 'Every node type the canvas may place, with its config schema',
      response: { 200: { type: 'object', required: ['nodes'], properties: { nodes: { type: 'array', items: ref('CatalogNode') } } } },
    },
  }, async (request) => {
    const plugins = pluginCatalog ? await pluginCatalog(request.auth!.workspaceId) : [];
    return { nodes: [...coreNodeTypes, ...plugins] };
  });
};
