import type { CompiledNodeOfKind } from '../flow/compile.ts';
import { CairnError } from '../errors.ts';
import { newId } from '../db/ids.ts';
import type { Json } from './ports.ts';
import type { Contact, Run } from './model.ts';
import { addContactDuration } from '../time/zones.ts';
import { checkEventInputs } from '../crm/events.ts';
import type { OwnerRouter } from './ports.ts';

/**
 * The batch's own database work failed (its transaction is unusable): the whole batch must fail and retry. The
 * executor isolates every other throw to the run that caused it.
 */
export class BatchIoError extends Error {
  override name = 'BatchIoError';
  constructor(cause: unknown) {
    super(`database work of the batch failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export interface NewTask {
  id: string;
  workspaceId: string;
  contactId: string;
  ownerId: string | null;
  assignee: string | null;
  runId: string;
  nodeId: string;
  title: string;
  body: string | null;
  dueAt: Date | null;
}

export interface EmittedEvent {
  workspaceId: string;
  contact: Contact;
  type: string;
  properties: Record<string, Json>;
  idempotencyKey: string;
}

/** What in-engine actions may touch besides the contact: everything commits with the run's step. */
export interface InEngineDeps {
  now: Date;
  router: OwnerRouter;
  newTasks: NewTask[];
  emitted: EmittedEvent[];
}

interface Call {
  run: Run;
  contact: Contact;
  env: InEngineDeps & { effects: { dirtyContacts: Set<string> } };
}

const userError = (message: string) => new CairnError('CAIRN_ERR_STEP_FAILED', message);

function touch(call: Call): void {
  call.contact.updated_at = call.env.now.toISOString();
  call.env.effects.dirtyContacts.add(call.contact.id);
}

/**
 * The actions that only change Cairn's own data. They run inside the batch transaction, so the change and
 * its step record commit together: exactly once.
 */
export async function runInEngineAction(node: CompiledNodeOfKind<'action'>, rendered: unknown, call: Call): Promise<Json> {
  const { contact, run, env } = call;
  // `rendered` is node.render's output: node.config with its templates filled in, so of the node type's config shape.
  switch (node.type) {
    case 'action.set_property': {
      const config = rendered as typeof node.config;
      const props = { ...contact.properties };
      for (const [k, v] of Object.entries(config.properties as Record<string, Json>)) {
        if (v === null) delete props[k];
        else props[k] = v;
      }
      contact.properties = props;
      touch(call);
      return { set: config.properties as Json };
    }
    case 'action.tag': {
      const config = rendered as typeof node.config;
      const tags = new Set(contact.tags);
      for (const t of config.add ?? []) tags.add(t);
      for (const t of config.remove ?? []) tags.delete(t);
      contact.tags = [...tags].sort();
      touch(call);
      return { tags: contact.tags };
    }
    case 'action.score': {
      const config = rendered as typeof node.config;
      contact.score = typeof config.set === 'number' ? config.set : contact.score + Number(config.delta ?? 0);
      touch(call);
      return { score: contact.score };
    }
    case 'action.assign_owner': {
      const config = rendered as typeof node.config;
      if (contact.owner_id && !config.overwrite) return { owner_id: contact.owner_id, skipped: 'contact already has an owner' };
      const territoryKey = config.territory_property ?? 'country';
      const territory = contact.properties[territoryKey];
      const owner = await env.router.assign({
        workspaceId: run.workspaceId,
        contactId: contact.id,
        pool: config.pool,
        strategy: config.strategy,
        territory: typeof territory === 'string' ? territory : null,
        excludeOwnerId: config.exclude_current_owner ? contact.owner_id : null,
        previousOwnerId: contact.owner_id,
      });
      const previous = contact.owner_id;
      contact.owner_id = owner.id;
      touch(call);
      return { owner_id: owner.id, owner_name: owner.name, owner_email: owner.email, reason: owner.reason, detail: owner.detail, previous_owner_id: previous };
    }
    case 'action.create_task': {
      const config = rendered as typeof node.config;
      const assignee = config.assignee ?? 'owner';
      const ownerId = assignee === 'owner' ? contact.owner_id : null;
      if (assignee === 'owner' && !ownerId) throw userError(`node ${node.id}: the contact has no owner to assign the task to`);
      const task: NewTask = {
        id: newId(env.now.getTime()),
        workspaceId: run.workspaceId,
        contactId: contact.id,
        ownerId,
        assignee: assignee === 'owner' ? null : assignee,
        runId: run.id,
        nodeId: node.id,
        title: String(config.title),
        body: config.body == null ? null : String(config.body),
        dueAt: config.due_in ? addContactDuration(env.now, config.due_in, contact.timezone) : null,
      };
      env.newTasks.push(task);
      return { task_id: task.id, owner_id: ownerId, assignee: task.assignee };
    }
    case 'action.emit_event': {
      const config = rendered as typeof node.config;
      const key = `${run.id}:${node.id}`;
      const type = config.event;
      const properties = (config.properties ?? {}) as Record<string, Json>;
      // Checked here, with ingestion's own rules: rendered Liquid can break them (a 70,000-character property), and
      // the batch records every emitted event at once, so a bad one found there would fail everyone's batch.
      const problem = checkEventInputs([{ type, contact: {}, contactId: contact.id, properties }], () => '/config')[0];
      if (problem) throw userError(`node ${node.id}: the event to emit is not valid: ${problem.path.replace('/config/type', '/config/event')} ${problem.message}`);
      env.emitted.push({ workspaceId: run.workspaceId, contact, type, properties, idempotencyKey: key });
      return { event: config.event, idempotency_key: key };
    }
    default:
      throw userError(`node ${node.id}: action type ${node.type} cannot run inside the engine`);
  }
}
