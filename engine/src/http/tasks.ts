import { withTx } from '../db/index.ts';
import { notFound } from '../errors.ts';
import { listTasks, patchTask, taskJson, type TaskRow } from '../crm/tasks.ts';
import { isIdCursor, page, pageQuery, parseCursor, requireUuid } from './kit.ts';
import type { RouteGroup } from './route-groups.ts';
import { page as pageSchema, ref } from './schemas.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 100 } } } as const;

const uuid = { type: 'string', format: 'uuid' } as const;

/** Owner tasks (created by action.create_task): an owner's inbox, completion (task.completed) and reassignment. */
export const tasksRoutes: RouteGroup = async (app, { ctx, onEventsIngested }) => {
  app.get('/tasks', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'listTasks', tags: ['tasks'], summary: "Tasks (an owner's inbox), by owner, contact, status or due time",
      response: { 200: pageSchema('Task') },
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { ...pageQuery, owner_id: uuid, contact_id: uuid, status: { type: 'string', enum: ['open', 'done'] }, due_before: { type: 'string', format: 'date-time' } },
      },
    },
  }, async (request) => {
    const q = request.query;
    const rows = await listTasks(ctx.db, request.auth!.workspaceId, q, parseCursor(q.cursor, isIdCursor), q.limit);
    return page(rows, q.limit, (r) => r.id, taskJson);
  });

  app.get('/tasks/:id', { config: { area: 'contacts' }, schema: { operationId: 'getTask', tags: ['tasks'], summary: 'Get a task', params: idParams, response: { 200: ref('Task') } } }, async (request) => {
    const id = requireUuid(request.params.id, 'task');
    const row = await ctx.db('tasks').where({ workspace_id: request.auth!.workspaceId, id }).first<TaskRow>();
    if (!row) throw notFound('task');
    return taskJson(row);
  });

  app.patch('/tasks/:id', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'patchTask', tags: ['tasks'], summary: 'Complete (records task.completed), reopen, reassign or edit a task', params: idParams,
      response: { 200: ref('Task') },
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
    const id = requireUuid(request.params.id, 'task');
    const row = await withTx(ctx.db, (tx) => patchTask(tx, request.auth!.workspaceId, id, request.body, ctx.clock.now(), { onEventsIngested }));
    return taskJson(row);
  });
};
