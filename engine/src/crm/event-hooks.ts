import type { Tx } from '../db/index.ts';
import type { IngestConfig } from './ingest-config.ts';

/** An event just written by ingestion (never a duplicate), with the contact it belongs to. */
export interface IngestedEvent {
  id: string;
  seq: number;
  workspaceId: string;
  contactId: string;
  type: string;
  properties: Record<string, unknown>;
  occurredAt: Date;
  /**
   * True when the event's contact reference was upserted and nothing of the contact was created or changed by it;
   * absent when unknown (engine callers that name the contact by id). Segments skip such contacts unless a rule
   * reads the event's type.
   */
  contactUnchanged?: boolean;
}

/**
 * Called inside the ingestion transaction with the newly inserted events, in order. The flow engine starts
 * the runs they trigger and enqueues their jobs here, so an accepted event and its runs commit together.
 * `config`: the workspace's configuration as the event insert read it (crm/ingest-config.ts), when it did.
 */
export type OnEventsIngested = (tx: Tx, workspaceId: string, events: IngestedEvent[], config?: IngestConfig) => Promise<void>;
