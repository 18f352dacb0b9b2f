import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../config/index.ts';

/** File under the data directory that holds the generated key when CAIRN_SECRET_KEY is not set. */
export const SECRET_KEY_FILE = 'secret.key';

/**
 * The 32-byte key for AES-256-GCM credential encryption: CAIRN_SECRET_KEY (64 hex characters or base64 of 32
 * bytes), else a key generated once and kept in `<dataDir>/secret.key` (mode 0600) so restarts can still
 * decrypt. Every engine process on one database needs the same key, so production sets CAIRN_SECRET_KEY.
 */
export function loadSecretKey(config: Pick<Config, 'secretKey' | 'dataDir'>): Buffer {
  if (config.secretKey !== null) return parseSecretKey(config.secretKey, 'CAIRN_SECRET_KEY');
  const file = path.resolve(config.dataDir, SECRET_KEY_FILE);
  try {
    return parseSecretKey(readFileSync(file, 'utf8').trim(), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    // 'wx': if another process created it a moment ago, keep theirs (both must use the same key).
    writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return parseSecretKey(readFileSync(file, 'utf8').trim(), file);
  }
}

export function parseSecretKey(value: string, source: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(value)) {
    const key = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === 32) return key;
  }
  throw new ConfigError(`${source} must be 32 bytes written as 64 hex characters or as base64 (generate one with: openssl rand -hex 32)`);
}
