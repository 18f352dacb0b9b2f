import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { JsonValue } from '../schema.ts';
import { FetchError } from './net-guard.ts';
import { breathe } from './slice.ts';

/**
 * The host side of the sandbox's web globals (globals.ts). Arguments come from plugin code: every field is
 * checked, only strings cross back, and nothing here keeps state between calls.
 */

/** Longest argument text of a synchronous host call (a URL and its base). */
const MAX_SYNC_ARGS_CHARS = 256 * 1024;
const RANDOM_POOL_BYTES = 4096;
const URL_PARTS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'] as const;
const URL_SETTABLE = new Set<string>(URL_PARTS.filter((p) => p !== 'origin'));

/** Bytes one crypto.subtle operation may hash. */
export const MAX_CRYPTO_BYTES = 1024 * 1024;
/** Bytes the crypto.subtle operations of one call may hash together. */
export const MAX_CRYPTO_BYTES_PER_CALL = 32 * 1024 * 1024;
/** Longest argument text of a crypto host call: the data, a key and a signature in base64. */
export const MAX_CRYPTO_ARGS_CHARS = Math.ceil((MAX_CRYPTO_BYTES * 4) / 3) + 64 * 1024;

const HASHES: Record<string, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

function partsOf(u: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of URL_PARTS) out[p] = u[p];
  return out;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`${what} must be a string`);
  return v;
}

/**
 * A synchronous host call from the isolate (`URL`, random bytes): JSON `{ value }` or `{ error: { type, message } }`.
 * Never throws: the isolate turns `error` into a TypeError or a DOMException of that name.
 */
export function syncGlobalOp(op: unknown, argsText: unknown): string {
  try {
    if (typeof op !== 'string' || typeof argsText !== 'string' || argsText.length > MAX_SYNC_ARGS_CHARS) throw new TypeError('bad host call');
    const args = JSON.parse(argsText) as Record<string, unknown>;
    switch (op) {
      case 'url.parse': {
        const base = args.base === null ? undefined : str(args.base, 'base');
        const input = str(args.input, 'url');
        if (!URL.canParse(input, base)) return JSON.stringify({ error: { type: 'TypeError', message: 'Invalid URL' } });
        return JSON.stringify({ value: partsOf(new URL(input, base)) });
      }
      case 'url.set': {
        const part = str(args.part, 'part');
        if (!URL_SETTABLE.has(part)) throw new TypeError(`${part} cannot be set`);
        const u = new URL(str(args.href, 'href'));
        const value = str(args.value, 'value');
        if (part === 'href' && !URL.canParse(value)) return JSON.stringify({ error: { type: 'TypeError', message: 'Invalid URL' } });
        (u as unknown as Record<string, string>)[part] = value;
        return JSON.stringify({ value: partsOf(u) });
      }
      case 'random':
        return JSON.stringify({ value: randomBytes(RANDOM_POOL_BYTES).toString('latin1') });
      default:
        throw new TypeError(`unknown host operation ${op}`);
    }
  } catch (err) {
    return JSON.stringify({ error: { type: 'TypeError', message: (err as Error).message } });
  }
}

/** The per-call budget of crypto.subtle bytes; the isolate keeps one per call. */
export interface CryptoBudget {
  bytes: number;
}

function bytesArg(v: unknown, what: string): Buffer {
  const b = Buffer.from(str(v, what), 'base64');
  if (b.length > MAX_CRYPTO_BYTES) throw new FetchError('CRYPTO_INPUT_TOO_LARGE', `crypto.subtle takes at most ${MAX_CRYPTO_BYTES} bytes of ${what} per operation`);
  return b;
}

function hashArg(v: unknown): string {
  const h = typeof v === 'string' ? HASHES[v] : undefined;
  if (!h) throw new FetchError('CRYPTO_NOT_SUPPORTED', `the hash ${String(v)} is not supported (SHA-1, SHA-256, SHA-384, SHA-512 are)`);
  return h;
}

/** `crypto.subtle` digest and HMAC on node:crypto, in a time slice of its own and within the call's budget. */
export async function cryptoOp(op: string, args: Record<string, unknown>, budget: CryptoBudget): Promise<JsonValue> {
  const hash = hashArg(args.hash);
  const data = bytesArg(args.data, 'data');
  budget.bytes += data.length;
  if (budget.bytes > MAX_CRYPTO_BYTES_PER_CALL) throw new FetchError('CRYPTO_BUDGET_EXCEEDED', `one call may hash at most ${MAX_CRYPTO_BYTES_PER_CALL} bytes with crypto.subtle`);
  await breathe();
  switch (op) {
    case 'crypto.digest':
      return createHash(hash).update(data).digest('base64');
    case 'crypto.hmac':
      return createHmac(hash, bytesArg(args.key, 'key')).update(data).digest('base64');
    case 'crypto.hmacVerify': {
      const expected = createHmac(hash, bytesArg(args.key, 'key')).update(data).digest();
      const given = bytesArg(args.signature, 'signature');
      return given.length === expected.length && timingSafeEqual(given, expected);
    }
    default:
      throw new FetchError('HOST_UNKNOWN_OP', `unknown host operation ${op}`);
  }
}
