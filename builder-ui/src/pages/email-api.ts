import { useQuery } from '@tanstack/react-query';
import { api, ok } from '../api/client.ts';

/** The email screens' queries (types: api/types.ts `EmailSettings`, `EmailPolicy`, `OutboxMessage`). */

export const useEmailSettings = () =>
  useQuery({ queryKey: ['/v1/settings/email'], queryFn: ({ signal }) => ok(api.GET('/v1/settings/email', { signal })) });

export const useEmailPolicy = () =>
  useQuery({ queryKey: ['/v1/settings/email-policy'], queryFn: ({ signal }) => ok(api.GET('/v1/settings/email-policy', { signal })) });

export const useOutbox = (contactId?: string) =>
  useQuery({
    queryKey: ['/v1/outbox', contactId ?? ''],
    queryFn: ({ signal }) => ok(api.GET('/v1/outbox', { params: { query: { limit: 100, contact_id: contactId } }, signal })),
    refetchInterval: 3000,
  });

/** "P7D" ⇄ 7 days: the builder speaks days; other ISO durations are shown as they are. */
export function daysOf(within: string): number | null {
  const m = /^P(\d+)D$/.exec(within);
  return m ? Number(m[1]) : null;
}
