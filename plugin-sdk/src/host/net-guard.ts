import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { breathe, SLICE_MS } from './slice.ts';

/**
 * `ctx.http.fetch` on the host side. A plugin reaches only the hosts its manifest lists, and never a private,
 * loopback or link-local address (cloud metadata, the engine's own database) unless the operator names that
 * exact host:port as allowed. The check runs on the addresses DNS returns and the connection is pinned to the
 * checked address, so a name cannot resolve to a public address for the check and a private one for the
 * connect. Redirects are followed here, one hop at a time, each checked again.
 */

export interface FetchPolicy {
  /** From the manifest: `api.example.com`, `*.example.com`, optionally `:port`. */
  allowedHosts: readonly string[];
  /**
   * `host:port` pairs that may resolve to private/loopback addresses: an explicit, per-destination override
   * for tests and local development (a local receiver), never a blanket switch.
   */
  privateHosts: readonly string[];
  /**
   * Operator's blanket development switch: private and loopback addresses are allowed for the plugin's own
   * allowedHosts, but link-local (cloud metadata) never, nor any `address:port` in `deniedTargets`
   * (the engine puts its own database there).
   */
  allowPrivate?: boolean;
  deniedTargets?: readonly string[];
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
}

export interface FetchRequest {
  method: string;
  headers: Record<string, string>;
  body: string | null;
}

export interface FetchResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  url: string;
}

/** A refused or failed fetch; `code` is what the plugin (and the step error) sees. */
export class FetchError extends Error {
  override name = 'FetchError';
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

const linkLocal = new BlockList();
linkLocal.addSubnet('169.254.0.0', 16, 'ipv4');
linkLocal.addSubnet('fe80::', 10, 'ipv6');

// IPv6 ranges that carry an IPv4 address in their last 32 bits: `::ffff:0:0/96` (IPv4-mapped, e.g.
// `::ffff:127.0.0.1`, which URL parsing turns into `::ffff:7f00:1`) and `::/96` (the deprecated IPv4-compatible
// form, e.g. `::7f00:1`). Both reach the IPv4 address on a dual-stack host, so they are judged by it.
const compatible = new BlockList();
compatible.addSubnet('::', 96, 'ipv6');
const mapped = new BlockList();
mapped.addSubnet('::ffff:0:0', 96, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail included). */
function groupsOf(address: string): number[] {
  let s = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted) {
    const [w, x, y, z] = dotted.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, dotted.index)}${((w << 8) | x).toString(16)}:${((y << 8) | z).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === null ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

/** The IPv4 address an IPv4-mapped or IPv4-compatible IPv6 address reaches; null for any other address. */
function embeddedV4(address: string): string | null {
  if (isIP(address) !== 6 || address.includes('%') || !(mapped.check(address, 'ipv6') || compatible.check(address, 'ipv6'))) return null;
  const g = groupsOf(address);
  return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
}

function isLinkLocal(address: string): boolean {
  const v4 = embeddedV4(address) ?? address;
  return isIP(v4) === 4 ? linkLocal.check(v4, 'ipv4') : linkLocal.check(address, 'ipv6');
}

/**
 * Loopback, private (RFC 1918, ULA), link-local, CGNAT, multicast, reserved. IPv4-mapped addresses are judged
 * by the IPv4 address inside; the IPv4-compatible range `::/96` is refused whole (deprecated, never legitimate).
 */
export function isPrivateAddress(address: string): boolean {
  const v4 = embeddedV4(address);
  if (v4 !== null) return compatible.check(address, 'ipv6') || blocked.check(v4, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function defaultPort(u: URL): string {
  return u.port || (u.protocol === 'https:' ? '443' : '80');
}

function hostAllowed(u: URL, allowed: readonly string[]): boolean {
  const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = defaultPort(u);
  return allowed.some((entry) => {
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.toLowerCase())!;
    const pattern = m[1]!.replace(/^\[|\]$/g, '');
    if (m[2] && m[2] !== port) return false;
    if (pattern === '*') return true; // any host (operator-configured webhooks); the address checks still apply
    if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
    return host === pattern;
  });
}

function resolveChecked(u: URL, policy: FetchPolicy): Promise<{ address: string; family: number }> {
  return resolveAllowed(u.hostname, defaultPort(u), policy, u.host);
}

/**
 * Resolves `host` and applies the address rules (private, loopback, link-local, the engine's own services) to
 * every address it has; returns the one to connect to. For other protocols that must obey the same rules
 * (SMTP): connect to the returned address, never to the name again.
 */
export async function resolveAllowed(
  hostname: string,
  port: string,
  policy: Pick<FetchPolicy, 'privateHosts' | 'allowPrivate' | 'deniedTargets'>,
  label = `${hostname}:${port}`,
): Promise<{ address: string; family: number }> {
  const host = hostname.replace(/^\[|\]$/g, '');
  const u = { host: label };
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await dnsLookup(host, { all: true }).catch((err: Error) => {
    throw new FetchError('FETCH_DNS_FAILED', `cannot resolve ${host}: ${err.message}`, true);
  });
  const exempt = policy.privateHosts.includes(`${host.toLowerCase()}:${port}`);
  for (const a of addresses) {
    if (policy.deniedTargets?.includes(`${a.address}:${port}`)) {
      throw new FetchError('FETCH_PRIVATE_ADDRESS', `fetch to ${u.host} refused: ${a.address}:${port} is a service of the engine itself`);
    }
    const blanket = policy.allowPrivate === true && !isLinkLocal(a.address);
    if (!exempt && !blanket && isPrivateAddress(a.address)) {
      throw new FetchError('FETCH_PRIVATE_ADDRESS', `fetch to ${u.host} refused: it resolves to ${a.address}, a private, loopback or link-local address`);
    }
  }
  if (addresses.length === 0) throw new FetchError('FETCH_DNS_FAILED', `cannot resolve ${host}`, true);
  return addresses[0]!;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Counts response bytes as they arrive (before they are buffered); returns an error to fail the fetch when the
 * caller's budget is spent. See fetch-budget.ts.
 */
export type ByteMeter = (bytes: number) => FetchError | null;

/** One checked request per hop; returns the final response read in full (up to the size cap). */
export async function guardedFetch(url: string, req: FetchRequest, policy: FetchPolicy, signal?: AbortSignal, meter?: ByteMeter): Promise<FetchResult> {
  const deadline = AbortSignal.timeout(policy.timeoutMs);
  const abort = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let current = url;
  let { method, body } = req;
  for (let hop = 0; ; hop++) {
    let u: URL;
    try {
      u = new URL(current);
    } catch {
      // Never the URL itself: its query may carry a token. Engine-made errors name hosts only.
      throw new FetchError('FETCH_BAD_URL', `the URL${hop ? ` of redirect hop ${hop}` : ''} is not an absolute http(s) URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FetchError('FETCH_BAD_URL', `only http and https URLs can be fetched, not ${u.protocol}`);
    if (u.username || u.password) throw new FetchError('FETCH_BAD_URL', 'credentials in the URL are not allowed; send an Authorization header');
    if (!hostAllowed(u, policy.allowedHosts)) {
      throw new FetchError('FETCH_HOST_NOT_ALLOWED', `fetch to ${u.host} refused: not in the plugin's allowedHosts (${policy.allowedHosts.join(', ') || 'none'})${hop ? ` (redirect hop ${hop})` : ''}`);
    }
    const target = await resolveChecked(u, policy);
    const res = await request(u, target, { method, headers: req.headers, body }, policy.maxResponseBytes, abort, meter);
    if (REDIRECTS.has(res.status) && res.headers.location) {
      if (hop >= policy.maxRedirects) throw new FetchError('FETCH_TOO_MANY_REDIRECTS', `more than ${policy.maxRedirects} redirects (the last to ${u.host})`);
      current = new URL(res.headers.location, u).href;
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = 'GET';
        body = null;
      }
      continue;
    }
    return { ...res, url: u.href };
  }
}

function request(
  u: URL,
  target: { address: string; family: number },
  req: FetchRequest,
  maxBytes: number,
  signal: AbortSignal,
  meter: ByteMeter | undefined,
): Promise<Omit<FetchResult, 'url'>> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal, u));
    const mod = u.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== null) headers['content-length'] = String(Buffer.byteLength(req.body));
    const r = mod.request(
      u,
      {
        method: req.method,
        headers,
        signal,
        agent: false,
        // Pin the connection to the address that was checked.
        lookup: ((_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
          opts?.all ? cb(null, [target]) : cb(null, target.address, target.family)) as never,
      },
      (res) => {
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > maxBytes) {
          res.destroy();
          return reject(tooLarge(u, maxBytes));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          const refused = size > maxBytes ? tooLarge(u, maxBytes) : meter?.(c.length);
          if (refused) {
            res.destroy();
            reject(refused);
          } else chunks.push(c);
        });
        res.on('end', () => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
          // Decoding a large body and handing it to the isolate take milliseconds, and many answers can end in one
          // turn of the event loop: each waits for its place in a slice (slice.ts) instead of all running at once.
          // Chunks stay Buffers (outside the JS heap) until then, and the body becomes one string.
          void (size < 64 * 1024 ? Promise.resolve() : breathe(SLICE_MS / 4)).then(() => resolve({ status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks).toString('utf8') }));
        });
        res.on('error', (err) => reject(signal.aborted ? abortError(signal, u) : new FetchError('FETCH_FAILED', `reading ${u.host}: ${err.message}`, true)));
      },
    );
    r.on('error', (err) => reject(signal.aborted ? abortError(signal, u) : new FetchError('FETCH_FAILED', `request to ${u.host} failed: ${err.message}`, true)));
    r.end(req.body ?? undefined);
  });
}

const tooLarge = (u: URL, max: number) => new FetchError('FETCH_RESPONSE_TOO_LARGE', `response from ${u.host} exceeds the ${max} byte limit`);
const abortError = (signal: AbortSignal, u: URL) =>
  (signal.reason as Error)?.name === 'TimeoutError'
    ? new FetchError('FETCH_TIMEOUT', `request to ${u.host} timed out`, true)
    : new FetchError('FETCH_ABORTED', `request to ${u.host} was aborted: the call ended`);
