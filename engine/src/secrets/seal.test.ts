import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, keyId } from './seal.ts';

describe('credentials crypto (AES-256-GCM)', () => {
  const key = randomBytes(32);
  it('round-trips and never contains the plaintext', () => {
    const sealed = encryptSecret(key, '{"token":"xoxb-secret"}', 'ws1/slack');
    expect(sealed).not.toContain('xoxb');
    expect(decryptSecret(key, sealed, 'ws1/slack')).toBe('{"token":"xoxb-secret"}');
  });
  it('uses a fresh IV each time', () => {
    expect(encryptSecret(key, 'same', 'a')).not.toBe(encryptSecret(key, 'same', 'a'));
  });
  it('refuses another workspace/plugin binding, another key and tampering', () => {
    const sealed = encryptSecret(key, 'secret', 'ws1/slack');
    expect(() => decryptSecret(key, sealed, 'ws2/slack')).toThrow();
    expect(() => decryptSecret(randomBytes(32), sealed, 'ws1/slack')).toThrow();
    const parts = sealed.split('.');
    parts[3] = Buffer.from('SECRET').toString('base64url');
    expect(() => decryptSecret(key, parts.join('.'), 'ws1/slack')).toThrow();
  });
  it('fingerprints keys without revealing them', () => {
    expect(keyId(key)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId(key)).not.toBe(keyId(randomBytes(32)));
  });
});
