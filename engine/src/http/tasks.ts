import { withTx } from '../db/index.ts';
import { notFound } from '../errors.ts';
import { listTasks, patchTask, taskJson, type TaskFilter, type TaskPatch, type TaskRow } from '../crm/tasks.ts';
import { isIdCursor, page, pageQuery, parseCursor, requireUuid } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';

const uuid = { type: 'string', format: 'uuid' } as const;

/** Owner tasks (created by action.create_task): an owner's inbox, completion (task.completed) and reassignment. */
export const tasksRoutes: RouteGroup = async (app, { ctx, onEventsIngested }) => {
  app.get('/tasks', {
    config: { area: 'contacts' },
    schema: {
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { ...pageQuery, owner_id: uuid, contact_id: uuid, status: { type: 'string', enum: ['open', 'done'] }, due_before: { type: 'string', format: 'date-time' } },
      },
    },
  }, async (request) => {
    const q = request.query as TaskFilter & { limit: number; cursor?: string };
    const rows = await listTasks(ctx.db, request.auth!.workspaceId, q, parseCursor(q.cursor, isIdCursor), q.limit);
    return page(rows, q.limit, (r) => r.id, taskJson);
  });

  app.get('/tasks/:id', { config: { area: 'contacts' }, schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } } }, async (request) => {
    const id = requireUuid((request.params as { id: string }).id, 'task');
    const row = await ctx.db('tasks').where({ workspace_id: request.auth!.workspaceId, id }).first<TaskRow>();
    if (!row) throw notFound('task');
    return taskJson(row);
  });

  app.patch('/tasks/:id', {
    config: { area: 'contacts' },
    schema: {
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
      body: {
        type: 'object', additionalProperties: false, minProperties: 1,
        properties: {
          status: { type: 'string', enum: ['open', 'done'] },
          owner_id: uuid,
          title: { type: 'string', minLength: 1, maxLength: 500 },
          due_at: { type: ['string', 'null'], format: 'date-time' },
        },
      },
    },
  }, async (request) => {
    const id = requireUuid((request.params as { id: string }).id, 'task');
    const row = await withTx(ctx.db, (tx) => patchTask(tx, request.auth!.workspaceId, id, request.body as TaskPatch, ctx.clock.now(), { onEventsIngested }));
    return taskJson(row);
  });
};
