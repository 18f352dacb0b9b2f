/**
 * Credentials key rotation, run once per database while the engines are stopped (or before they start
 * with the new key):
 *
 *   CAIRN_SECRET_KEY=<new key> DATABASE_URL=... node --import tsx engine/src/plugins/rotate-key.ts --old-key <old key>
 *
 * Re-seals every plugin credential and workspace SMTP setting sealed with the old key under the new one (CAIRN_SECRET_KEY, or the
 * generated key under CAIRN_DATA_DIR), in one transaction, and prints how many it re-sealed. Rerunning is
 * harmless: rows already under the new key are left alone.
 */
import { pathToFileURL } from 'node:url';
import { compileConfig } from '../config/index.ts';
import { loadSecretKey, parseSecretKey } from '../secrets/key.ts';
import { createDb } from '../db/index.ts';
import { reencryptCredentials } from './credentials.ts';
import { reencryptEmailSettings } from '../channels/email.ts';

export async function rotateCredentialsKey(argv: string[], out: (line: string) => void, env?: Record<string, string | undefined>): Promise<number> {
  const i = argv.indexOf('--old-key');
  if (i < 0 || !argv[i + 1]) {
    out('usage: CAIRN_SECRET_KEY=<new> rotate-key --old-key <old key (64 hex or base64)>');
    return 2;
  }
  const config = compileConfig(env);
  if (!config.databaseUrl) {
    out('set DATABASE_URL to the database whose credentials to re-seal');
    return 2;
  }
  const oldKey = parseSecretKey(argv[i + 1]!, '--old-key');
  const newKey = loadSecretKey(config);
  const db = createDb(config.databaseUrl);
  try {
    out(`re-sealed ${await reencryptCredentials(db, oldKey, newKey)} plugin credential(s) under the new key`);
    out(`re-sealed ${await reencryptEmailSettings(db, oldKey, newKey)} workspace email setting(s) under the new key`);
    return 0;
  } finally {
    await db.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await rotateCredentialsKey(process.argv.slice(2), (l) => process.stdout.write(`${l}\n`));
}
