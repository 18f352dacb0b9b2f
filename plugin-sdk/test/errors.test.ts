import { describe, expect, it } from 'vitest';
import { httpError, PluginError, retryAfterMs } from '../src/index.ts';

describe('retry delays a vendor asks for', () => {
  const now = Date.parse('2026-03-02T09:00:00Z');

  it('Retry-After in seconds or as an HTTP date; X-RateLimit-Reset as seconds to wait or an epoch time', () => {
    expect(retryAfterMs({ 'retry-after': '30' }, now)).toBe(30_000);
    expect(retryAfterMs({ 'Retry-After': '1.5' }, now)).toBe(1_500);
    expect(retryAfterMs({ 'retry-after': 'Mon, 02 Mar 2026 09:02:00 GMT' }, now)).toBe(120_000);
    expect(retryAfterMs({ 'retry-after': 'Mon, 02 Mar 2026 08:00:00 GMT' }, now)).toBe(0);
    expect(retryAfterMs({ 'x-ratelimit-reset': '45' }, now)).toBe(45_000);
    expect(retryAfterMs({ 'x-ratelimit-reset': String(now / 1000 + 90) }, now)).toBe(90_000);
    expect(retryAfterMs({ 'ratelimit-reset': '7' }, now)).toBe(7_000);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs({}, now)).toBeUndefined();
  });

  it('httpError carries the delay of a 429 or 503 only; PluginError keeps a positive retryAfterMs', () => {
    expect(httpError('VENDOR', 429, 'slow down', { 'retry-after': '30' })).toMatchObject({ code: 'VENDOR_HTTP_429', retryable: true, retryAfterMs: 30_000 });
    expect(httpError('VENDOR', 503, '', { 'x-ratelimit-reset': '2' }).retryAfterMs).toBe(2_000);
    expect(httpError('VENDOR', 500, '', { 'retry-after': '30' }).retryAfterMs).toBeUndefined();
    expect(httpError('VENDOR', 429, '').retryAfterMs).toBeUndefined();
    expect(new PluginError('X', 'x', { retryable: true, retryAfterMs: 250.2 }).retryAfterMs).toBe(251);
    expect(new PluginError('X', 'x', { retryAfterMs: -5 }).retryAfterMs).toBeUndefined();
    expect(new PluginError('X', 'x', { retryAfterMs: Number.NaN }).retryAfterMs).toBeUndefined();
  });
});
