import { Ajv } from 'ajv';

/**
 * The engine's configuration, compiled once from the environment. This module is the only place that
 * reads `process.env`; everything else receives a frozen `Config`.
 */
export interface Config {
  /** null → start an embedded PostgreSQL under `dataDir`. */
  databaseUrl: string | null;
  dataDir: string;
  port: number;
  host: string;
  /** Base URL people reach this engine at: unsubscribe, preference and tracking links in email point here. */
  publicUrl: string;
  /** 32-byte key (base64 or hex) for AES-256-GCM credentials; null → generated and kept under `dataDir`. */
  secretKey: string | null;
  clock: 'system' | 'manual';
  workers: boolean;
  workerConcurrency: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest accepted request body in bytes. */
  bodyLimit: number;
  /** Requests per API key (or session, or anonymous IP) per minute before 429. */
  rateLimitPerMinute: number;
  sandbox: {
    memoryLimitMb: number;
    cpuTimeMs: number;
    wallTimeMs: number;
    /** Let plugin fetch reach loopback/private addresses. For tests and local development only. */
    allowPrivateHosts: boolean;
    /** Plugin fetches running at once across the engine (more wait their turn). */
    fetchConcurrency: number;
    /** Response bytes all plugin fetches together may hold in memory at once, in MiB. */
    fetchBufferMb: number;
  };
  webhooks: {
    /** Let action.webhook call loopback/private addresses (never link-local or the database). Tests and local development only. */
    allowPrivateHosts: boolean;
  };
  email: {
    /** Let action.send_email connect to an SMTP server on a loopback/private address (never link-local or the database). */
    allowPrivateHosts: boolean;
  };
  /**
   * Fastify's `trustProxy`: which proxies' X-Forwarded-For/-Proto to believe (client IP for rate limits, https for
   * the session cookie's Secure flag). false (default), true (any peer), or a list of addresses/CIDRs.
   */
  trustProxy: boolean | readonly string[];
  /** The engine `cairn flows pull/push/diff` talks to (CAIRN_URL, CAIRN_API_KEY); the key is never printed. */
  remote: { url: string | null; apiKey: string | null };
}

const schema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    DATABASE_URL: { type: 'string', minLength: 1 },
    CAIRN_DATA_DIR: { type: 'string', minLength: 1, default: '.cairn' },
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 3000 },
    HOST: { type: 'string', minLength: 1, default: '127.0.0.1' },
    CAIRN_PUBLIC_URL: { type: 'string', pattern: '^https?://[^\\s]+$' },
    CAIRN_SECRET_KEY: { type: 'string', minLength: 32 },
    CAIRN_CLOCK: { enum: ['system', 'manual'], default: 'system' },
    CAIRN_WORKERS: { type: 'boolean', default: true },
    CAIRN_WORKER_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 1000, default: 32 },
    LOG_LEVEL: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    CAIRN_BODY_LIMIT: { type: 'integer', minimum: 1024, default: 1048576 },
    CAIRN_RATE_LIMIT: { type: 'integer', minimum: 1, default: 600000 },
    CAIRN_SANDBOX_MEMORY_MB: { type: 'integer', minimum: 8, maximum: 4096, default: 64 },
    CAIRN_SANDBOX_CPU_MS: { type: 'integer', minimum: 1, default: 1000 },
    CAIRN_SANDBOX_WALL_MS: { type: 'integer', minimum: 1, default: 10000 },
    CAIRN_SANDBOX_ALLOW_PRIVATE_HOSTS: { type: 'boolean', default: false },
    CAIRN_SANDBOX_FETCH_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 1000, default: 32 },
    CAIRN_SANDBOX_FETCH_BUFFER_MB: { type: 'integer', minimum: 1, maximum: 4096, default: 64 },
    CAIRN_WEBHOOK_ALLOW_PRIVATE_HOSTS: { type: 'boolean', default: false },
    CAIRN_SMTP_ALLOW_PRIVATE_HOSTS: { type: 'boolean', default: false },
    CAIRN_URL: { type: 'string', pattern: '^https?://[^\\s]+$' },
    CAIRN_API_KEY: { type: 'string', minLength: 1 },
    CAIRN_TRUST_PROXY: { type: 'string', pattern: '^(true|false|[0-9a-fA-F.:]+(/\\d{1,3})?(,\\s*[0-9a-fA-F.:]+(/\\d{1,3})?)*)$', default: 'false' },
  },
} as const;

const ajv = new Ajv({ useDefaults: true, coerceTypes: true, allErrors: true });
const validate = ajv.compile(schema);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function trustProxyOf(value: string): Config['trustProxy'] {
  if (value === 'true' || value === 'false') return value === 'true';
  return Object.freeze(value.split(',').map((s) => s.trim()));
}

/** Raw environment → defaults → validation → one frozen object. `env` is a parameter so tests can pass their own. */
export function compileConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath.slice(1) || e.params && (e.params as { missingProperty?: string }).missingProperty || 'environment'} ${e.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const r = raw as Record<string, never>;
  return Object.freeze({
    databaseUrl: (r.DATABASE_URL as string | undefined) ?? null,
    dataDir: r.CAIRN_DATA_DIR,
    port: r.PORT,
    host: r.HOST,
    publicUrl: ((r.CAIRN_PUBLIC_URL as string | undefined) ?? `http://${r.HOST as string}:${r.PORT as number}`).replace(/\/+$/, ''),
    secretKey: (r.CAIRN_SECRET_KEY as string | undefined) ?? null,
    clock: r.CAIRN_CLOCK,
    workers: r.CAIRN_WORKERS,
    workerConcurrency: r.CAIRN_WORKER_CONCURRENCY,
    logLevel: r.LOG_LEVEL,
    bodyLimit: r.CAIRN_BODY_LIMIT,
    rateLimitPerMinute: r.CAIRN_RATE_LIMIT,
    sandbox: Object.freeze({
      memoryLimitMb: r.CAIRN_SANDBOX_MEMORY_MB,
      cpuTimeMs: r.CAIRN_SANDBOX_CPU_MS,
      wallTimeMs: r.CAIRN_SANDBOX_WALL_MS,
      allowPrivateHosts: r.CAIRN_SANDBOX_ALLOW_PRIVATE_HOSTS,
      fetchConcurrency: r.CAIRN_SANDBOX_FETCH_CONCURRENCY,
      fetchBufferMb: r.CAIRN_SANDBOX_FETCH_BUFFER_MB,
    }),
    webhooks: Object.freeze({ allowPrivateHosts: r.CAIRN_WEBHOOK_ALLOW_PRIVATE_HOSTS }),
    email: Object.freeze({ allowPrivateHosts: r.CAIRN_SMTP_ALLOW_PRIVATE_HOSTS }),
    trustProxy: trustProxyOf(r.CAIRN_TRUST_PROXY),
    remote: Object.freeze({ url: (r.CAIRN_URL as string | undefined) ?? null, apiKey: (r.CAIRN_API_KEY as string | undefined) ?? null }),
  });
}
