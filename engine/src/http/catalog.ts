import { coreNodeTypes } from '../flow/node-types.ts';
import type { RouteGroup } from './route-groups.ts';

/** Every node type the canvas may place: the core types, then the workspace's enabled plugin actions. */
export const catalogRoutes: RouteGroup = async (app, { pluginCatalog }) => {
  app.get('/catalog', { config: { anyRole: true } }, async (request) => {
    const plugins = pluginCatalog ? await pluginCatalog(request.auth!.workspaceId) : [];
    return { nodes: [...coreNodeTypes, ...plugins] };
  });
};
