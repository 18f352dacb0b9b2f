import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Credentials at rest: AES-256-GCM with a random 96-bit IV per value, the workspace and plugin bound in as
 * additional authenticated data (a ciphertext copied to another workspace's row does not decrypt). The
 * stored form is `v1.<iv>.<tag>.<ciphertext>` (base64url), next to the key's fingerprint so a wrong or
 * rotated key is reported as such instead of as corrupt data.
 */

export function keyId(key: Buffer): string {
  return createHash('sha256').update('cairn-credentials-key').update(key).digest('hex').slice(0, 16);
}

function assertKey(key: Buffer): void {
  if (key.length !== 32) throw new TypeError('the credentials key must be 32 bytes');
}

export function encryptSecret(key: Buffer, plaintext: string, aad: string): string {
  assertKey(key);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

export function decryptSecret(key: Buffer, sealed: string, aad: string): string {
  assertKey(key);
  const [v, iv, tag, ct] = sealed.split('.');
  if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('not a sealed credential');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}
