import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** What a signed email link stands for: unsubscribe (u), an open (o) or a click (c) of one run's message. */
export type LinkClaim =
  | { k: 'u'; w: string; c: string }
  | { k: 'o'; w: string; c: string; r: string; n: string }
  | { k: 'c'; w: string; c: string; r: string; n: string; u: string };

/** The link-signing key, derived from the engine secret (so a leaked link key never reveals credentials). */
export function linkKey(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'cairn email links v1', 32));
}

const mac = (key: Buffer, body: string) => createHmac('sha256', key).update(body).digest().subarray(0, 16);

/** `<claim as base64url JSON>.<128-bit HMAC>`: the claim (including a click's target URL) cannot be altered. */
export function signLink(key: Buffer, claim: LinkClaim): string {
  const body = Buffer.from(JSON.stringify(claim)).toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

/** The claim of an untampered token of the expected kind, else null. */
export function verifyLink<K extends LinkClaim['k']>(key: Buffer, token: string, kind: K): Extract<LinkClaim, { k: K }> | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 8000) return null;
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const want = mac(key, body);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return null;
  try {
    const claim = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as LinkClaim;
    return claim.k === kind ? (claim as Extract<LinkClaim, { k: K }>) : null;
  } catch {
    return null;
  }
}

const HREF = /(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"']+)\2/gi;

/** Rewrites every http(s) link of an HTML body through `track` (the original URL, entity-decoded, is signed into it). */
export function rewriteLinks(html: string, track: (url: string) => string): string {
  return html.replace(HREF, (_m, pre: string, q: string, url: string) => `${pre}${q}${track(url.replace(/&amp;/g, '&'))}${q}`);
}

/** Inserts `fragment` before `</body>` when there is one, else appends it. */
export function beforeBodyEnd(html: string, fragment: string): string {
  const i = html.search(/<\/body\s*>/i);
  return i === -1 ? html + fragment : html.slice(0, i) + fragment + html.slice(i);
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
