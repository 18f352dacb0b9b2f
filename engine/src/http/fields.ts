import type { RouteGroup } from './route-groups.ts';

/** How many of the newest contacts and events the field list is read from: enough to see every key in use. */
const SAMPLE = 2000;
const MAX_KEYS = 500;

/**
 * `GET /v1/fields`: the data fields a workspace's contacts and events actually carry — contact property keys, tags,
 * event types with their property keys — read from its newest contacts and events. The builder offers them in
 * pickers so that nobody types a JSONPath; it is a hint list, not a schema (a key not seen yet can still be used).
 */
export const fieldsRoutes: RouteGroup = async (app, { ctx }) => {
  app.get('/fields', {
    config: { area: 'contacts' },
    schema: {
      operationId: 'listFields', tags: ['contacts'], summary: 'Contact property keys, tags and event types (with their property keys) in use',
      response: {
        200: {
          type: 'object', required: ['contact_properties', 'tags', 'events'],
          properties: {
            contact_properties: { type: 'array', items: { type: 'string' } }, tags: { type: 'array', items: { type: 'string' } },
            events: { type: 'array', items: { type: 'object', required: ['type', 'properties'], properties: { type: { type: 'string' }, properties: { type: 'array', items: { type: 'string' } } } } },
          },
        },
      },
    },
  }, async (request) => {
    const { workspaceId } = request.auth!;
    const [properties, tags, events] = await Promise.all([
      ctx.db.raw(
        `SELECT DISTINCT k AS key FROM (SELECT properties FROM contacts WHERE workspace_id = ? AND erased_at IS NULL ORDER BY id DESC LIMIT ${SAMPLE}) c,
           jsonb_object_keys(c.properties) AS k ORDER BY 1 LIMIT ${MAX_KEYS}`,
        [workspaceId],
      ),
      ctx.db.raw(
        `SELECT DISTINCT t AS tag FROM (SELECT tags FROM contacts WHERE workspace_id = ? AND erased_at IS NULL AND tags <> '{}' ORDER BY id DESC LIMIT ${SAMPLE}) c,
           unnest(c.tags) AS t ORDER BY 1 LIMIT ${MAX_KEYS}`,
        [workspaceId],
      ),
      ctx.db.raw(
        `SELECT e.type, array_remove(array_agg(DISTINCT k ORDER BY k), NULL) AS keys
           FROM (SELECT type, properties FROM events WHERE workspace_id = ? ORDER BY id DESC LIMIT ${SAMPLE}) e
           LEFT JOIN LATERAL jsonb_object_keys(CASE WHEN jsonb_typeof(e.properties) = 'object' THEN e.properties ELSE '{}' END) AS k ON true
          GROUP BY e.type ORDER BY e.type LIMIT ${MAX_KEYS}`,
        [workspaceId],
      ),
    ]);
    return {
      contact_properties: (properties.rows as { key: string }[]).map((r) => r.key),
      tags: (tags.rows as { tag: string }[]).map((r) => r.tag),
      events: (events.rows as { type: string; keys: string[] }[]).map((r) => ({ type: r.type, properties: r.keys.slice(0, MAX_KEYS) })),
    };
  });
};
