import type { Config } from './config/index.ts';
import type { Db } from './db/index.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './time/clock.ts';

/** What every adapter (HTTP routes, queue tasks, CLI commands) is handed: compiled once, passed explicitly. */
export interface EngineContext {
  config: Readonly<Config>;
  db: Db;
  /** Connection string of `db` (the job queue opens its own pool on it). */
  databaseUrl: string;
  logger: Logger;
  clock: Clock;
  /** The 32-byte key that seals credentials and SMTP settings, resolved once at start (`secrets/key.ts`). */
  secretKey: Buffer;
}
