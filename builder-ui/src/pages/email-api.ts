import { useQuery } from '@tanstack/react-query';
import { api, qs } from '../api/client.ts';
import type { Page } from '../api/types.ts';

/** GET /v1/settings/email: SMTP in use, or the development outbox (mail is kept, not delivered). */
export type EmailSettings =
  | { configured: true; delivery: 'smtp'; smtp_host: string; from: string; updated_at: string }
  | { configured: false; delivery: 'outbox'; notice: string };

export interface FrequencyCap {
  category: string;
  max: number;
  within: string;
}

export interface EmailPolicy {
  quiet_hours: { start: string; end: string } | null;
  frequency_caps: FrequencyCap[];
  tracking: boolean;
}

export interface OutboxMessage {
  id: string;
  run_id: string;
  node_id: string;
  contact_id: string;
  category: string;
  to: string;
  from: string;
  subject: string;
  html: string | null;
  text: string | null;
  headers: Record<string, string>;
  sent_at: string;
}

export const useEmailSettings = () =>
  useQuery({ queryKey: ['/v1/settings/email'], queryFn: ({ signal }) => api.get<EmailSettings>('/v1/settings/email', signal) });

export const useEmailPolicy = () =>
  useQuery({ queryKey: ['/v1/settings/email-policy'], queryFn: ({ signal }) => api.get<EmailPolicy>('/v1/settings/email-policy', signal) });

export const useOutbox = (contactId?: string) =>
  useQuery({
    queryKey: ['/v1/outbox', contactId ?? ''],
    queryFn: ({ signal }) => api.get<Page<OutboxMessage>>(`/v1/outbox${qs({ limit: 100, contact_id: contactId })}`, signal),
    refetchInterval: 3000,
  });

/** "P7D" ⇄ 7 days: the builder speaks days; other ISO durations are shown as they are. */
export function daysOf(within: string): number | null {
  const m = /^P(\d+)D$/.exec(within);
  return m ? Number(m[1]) : null;
}
