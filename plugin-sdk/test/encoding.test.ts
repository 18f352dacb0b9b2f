import { createHmac, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64Encode, basicAuth, formEncode, hmacSha256Hex, sha256Hex, timingSafeEqual } from '../src/index.ts';

// The SDK's encoders run inside the sandbox without Node; node:crypto and Buffer are the reference here.
describe('sandbox-safe encoders agree with Node', () => {
  const samples = ['', 'abc', 'user:pässwörd', '😀 emoji', 'x'.repeat(55), 'y'.repeat(64), 'z'.repeat(1000)];
  it('sha256Hex matches node:crypto', () => {
    for (const s of samples) expect(sha256Hex(s)).toBe(createHash('sha256').update(s).digest('hex'));
  });
  it('hmacSha256Hex matches node:crypto, including keys longer than a block', () => {
    for (const key of ['whsec_test', 'k'.repeat(100), 'ключ']) {
      for (const s of samples) expect(hmacSha256Hex(key, s)).toBe(createHmac('sha256', key).update(s).digest('hex'));
    }
  });
  it('base64Encode matches Buffer', () => {
    for (const s of samples) expect(base64Encode(s)).toBe(Buffer.from(s).toString('base64'));
    expect(basicAuth('AC1', 'tok')).toBe(`Basic ${Buffer.from('AC1:tok').toString('base64')}`);
  });
  it('formEncode matches URLSearchParams', () => {
    const fields = { To: '+15551234567', Body: 'Hi & welcome = ü', Skip: undefined };
    expect(formEncode(fields)).toBe(new URLSearchParams({ To: fields.To, Body: fields.Body }).toString());
  });
  it('timingSafeEqual', () => {
    expect(timingSafeEqual('abc', 'abc')).toBe(true);
    expect(timingSafeEqual('abc', 'abd')).toBe(false);
    expect(timingSafeEqual('abc', 'ab')).toBe(false);
  });
});
