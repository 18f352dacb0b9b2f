import type { Json } from '../contracts/flow.ts';

/**
 * An event a lifecycle program records for a contact (lead.qualified, reward.granted, loyalty.tier_changed...).
 * `key` is its idempotency key, so a program never records the same fact twice.
 */
export interface ProgramEvent {
  contactId: string;
  type: string;
  key: string;
  properties: Record<string, Json>;
}
