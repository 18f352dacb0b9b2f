import pg from 'pg';

/** Administrative helpers (create/drop databases) used by tests, benches and the zero-setup start. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function adminQuery(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function canConnect(url: string, timeoutMs = 2000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** `host:port` pairs where the database listens: outbound HTTP (plugins, webhooks) must never reach them. */
export function databaseTargets(url: string): string[] {
  try {
    const u = new URL(url);
    const port = u.port || '5432';
    const host = u.hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' ? [`127.0.0.1:${port}`, `::1:${port}`] : [`${host}:${port}`];
  } catch {
    return [];
  }
}
