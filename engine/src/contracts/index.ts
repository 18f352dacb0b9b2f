/**
 * What the builder UI (and other clients) import from the engine: wire types and JSON Schemas only.
 * No Node or database imports anywhere under `contracts/`.
 */
export * from './flow.ts';
export { coreNodeTypes, CAIRN_WIDGET } from './node-catalog.ts';
export { flowDocumentSchema, FLOW_LIMITS } from './flow-schema.ts';
export { checkFlowGraph, type ResolveNodeType } from './flow-graph.ts';
/** The HTTP API's types, generated from its OpenAPI document (`pnpm openapi`). */
export type { paths as ApiPaths, components as ApiComponents, operations as ApiOperations } from './api.ts';
/** The typed client over those types (openapi-fetch): `createApiClient`, `ok` and the `ApiError` it throws. */
export { ApiError, createApiClient, ok, type Answered, type ApiClient, type ApiClientOptions } from './client.ts';
