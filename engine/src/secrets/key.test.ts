import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/index.ts';
import { loadSecretKey } from './key.ts';

describe('loadSecretKey', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'cairn-key-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('reads CAIRN_SECRET_KEY as 64 hex characters or as base64 of 32 bytes', () => {
    const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7));
    const dataDir = tempDir();
    expect(loadSecretKey({ secretKey: bytes.toString('hex'), dataDir }).equals(bytes)).toBe(true);
    expect(loadSecretKey({ secretKey: bytes.toString('base64'), dataDir }).equals(bytes)).toBe(true);
    expect(loadSecretKey({ secretKey: bytes.toString('base64url'), dataDir }).equals(bytes)).toBe(true);
  });

  it('refuses a key that is not 32 bytes, naming the variable and how to make one', () => {
    const dataDir = tempDir();
    expect(() => loadSecretKey({ secretKey: 'a'.repeat(63), dataDir })).toThrow(ConfigError);
    expect(() => loadSecretKey({ secretKey: Buffer.alloc(16).toString('base64').padEnd(44, 'A'), dataDir })).toThrow(/CAIRN_SECRET_KEY must be 32 bytes.*openssl rand -hex 32/);
  });

  it('without CAIRN_SECRET_KEY generates one key, keeps it 0600 in the data directory and returns it again', () => {
    const dataDir = path.join(tempDir(), 'nested', '.cairn');
    const first = loadSecretKey({ secretKey: null, dataDir });
    expect(first).toHaveLength(32);
    const file = path.join(dataDir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadSecretKey({ secretKey: null, dataDir }).equals(first)).toBe(true);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString('hex'));
  });

  it('a damaged key file is an error, not a silently new key (which would orphan every stored credential)', () => {
    const dataDir = tempDir();
    writeFileSync(path.join(dataDir, 'secret.key'), 'not a key\n');
    expect(() => loadSecretKey({ secretKey: null, dataDir })).toThrow(/secret\.key must be 32 bytes/);
  });
});
