import { createHash, createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cryptoOp, MAX_CRYPTO_BYTES, MAX_CRYPTO_BYTES_PER_CALL, syncGlobalOp } from '../src/host/global-ops.ts';
import { loadPlugin, type LoadedPlugin } from '../src/testing/index.ts';

// The web globals of the plugin sandbox (host/globals.ts), run in the real isolate through the test harness and
// compared with Node's own implementations of the same globals.
const entry = fileURLToPath(new URL('./fixtures/globals.ts', import.meta.url));
let plugin: LoadedPlugin;

beforeAll(async () => {
  plugin = await loadPlugin({ entry, secrets: { signing_secret: 'whsec_globals_test' } });
});
afterAll(async () => {
  await plugin.dispose();
});

type Out = Record<string, unknown>;

describe('sandbox globals', () => {
  it('TextEncoder / TextDecoder / atob / btoa match Node', async () => {
    const text = 'héllo ✓ 😀 \ud800 end';
    const bad = [0x61, 0xc3, 0x28, 0xe2, 0x82, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0x80, 0xff, 0x62];
    const smile = [...Buffer.from('ab😀é')];
    const stream = [smile.slice(0, 3), smile.slice(3, 5), smile.slice(5)];
    const out = (await plugin.run('text', { text, bytes: bad, stream })) as Out;
    const into = new Uint8Array(5);
    const r = new TextEncoder().encodeInto(text, into);
    expect(out).toEqual({
      encoded: [...new TextEncoder().encode(text)],
      encodeInto: { read: r.read, written: r.written, bytes: [...into] },
      decoded: new TextDecoder().decode(Uint8Array.from(bad)),
      fatal: 'TypeError',
      streamed: 'ab😀é',
      btoa: btoa(String.fromCharCode(...new TextEncoder().encode(text))),
      atob: 'hello',
      badAtob: 'InvalidCharacterError',
      badBtoa: 'InvalidCharacterError',
    });
  });

  it('URL and URLSearchParams match Node, the params and the URL update each other', async () => {
    const query = { b: 'x y', a: 'ü&=', c: '+' };
    const cases: [string, string][] = [
      ['../deals?a=1&a=2&q=%zz#frag', 'https://user:pw@API.Pipedrive.com:443/v1/x/'],
      ['HTTP://[::1]:8080/a/./b/../c', 'http://example.com'],
      ['//münchen.de/pfad?x', 'https://base.example'],
    ];
    for (const [url, base] of cases) {
      const out = (await plugin.run('url', { url, base, query })) as Out;
      const u = new URL(url, base);
      const parsed = { href: u.href, origin: u.origin, protocol: u.protocol, username: u.username, password: u.password, host: u.host, hostname: u.hostname, port: u.port, pathname: u.pathname, search: u.search, hash: u.hash };
      const params = [...u.searchParams.entries()];
      for (const [k, v] of Object.entries(query)) u.searchParams.append(k, v);
      const appended = u.href;
      u.searchParams.delete('a');
      u.pathname = '/v2/deals list';
      u.hash = '';
      const mutated = u.href;
      u.search = '?x=1&y=%20z';
      const sp = new URLSearchParams(query);
      sp.sort();
      expect(out).toEqual({ parsed, params, appended, mutated, fromSearch: [...u.searchParams], json: JSON.stringify({ u }), sorted: sp.toString(), size: 3, canParse: [true, false], invalid: 'TypeError' });
    }
  });

  it('structuredClone copies dates, maps, sets, typed arrays and cycles, and refuses functions and symbols', async () => {
    expect(await plugin.run('clone', {})).toEqual({
      distinct: true,
      cycle: true,
      date: '1970-01-02T00:00:00.000Z',
      map: [['k', { v: 1 }]],
      set: [1, 2],
      regexp: '/a+/gi',
      u8: [1, 2, 3],
      big: '100000000000000000000',
      fails: ['DataCloneError', 'DataCloneError', 'DataCloneError'],
    });
  });

  it('crypto.subtle digests and HMACs match node:crypto; randomUUID and getRandomValues are random', async () => {
    const data = 'payload ✓ '.repeat(200);
    const key = 'whsec_ключ';
    const out = (await plugin.run('crypto', { data, key })) as { digests: Out; hmacs: Out; uuids: string[]; random: number[]; generatedBytes: number; refused: string; notExtractable: string };
    for (const [h, node] of [['SHA-1', 'sha1'], ['SHA-256', 'sha256'], ['SHA-384', 'sha384'], ['SHA-512', 'sha512']] as const) {
      expect(out.digests[h]).toBe(createHash(node).update(data).digest('hex'));
      expect(out.hmacs[h]).toBe(createHmac(node, key).update(data).digest('hex'));
    }
    expect(new Set(out.uuids).size).toBe(300);
    for (const u of out.uuids) expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(out.random).size).toBeGreaterThan(6);
    expect(out.generatedBytes).toBe(64);
    expect(out.refused).toBe('NotSupportedError');
    expect(out.notExtractable).toBe('InvalidAccessError');
  });

  it('no host function is reachable from plugin code; crypto.subtle input is bounded', async () => {
    expect(await plugin.run('reach', {})).toEqual({ hostSync: 'undefined', host: 'undefined', hidden: ['__cairn_entry', '__cairn_plugin'], tooBig: 'QuotaExceededError' });
  });

  it('a webhook trigger checks an HMAC signature with crypto.subtle', async () => {
    const body = JSON.stringify({ email: 'ana@example.com' });
    const signature = createHmac('sha256', 'whsec_globals_test').update(body).digest('hex');
    expect(await plugin.verify('signed', { headers: { 'x-signature': signature }, body })).toEqual([{ type: 'signed.received', contact: { email: 'ana@example.com' } }]);
    await expect(plugin.verify('signed', { headers: { 'x-signature': signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) }, body })).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
  });
});

describe('the host side of the globals checks what plugin code sends', () => {
  it('URL operations take only strings and the settable parts; errors never echo the input', () => {
    expect(JSON.parse(syncGlobalOp('url.parse', JSON.stringify({ input: 'https://x.test/?api_token=s3cret nope:', base: 'bad base' })))).toEqual({ error: { type: 'TypeError', message: 'Invalid URL' } });
    expect(JSON.parse(syncGlobalOp('url.set', JSON.stringify({ href: 'https://x.test/', part: '__proto__', value: 'x' }))).error.message).toBe('__proto__ cannot be set');
    expect(JSON.parse(syncGlobalOp('url.parse', JSON.stringify({ input: { toString: 1 }, base: null }))).error.message).toBe('url must be a string');
    expect(JSON.parse(syncGlobalOp('url.parse', 'x'.repeat(300 * 1024))).error.message).toBe('bad host call');
    expect(JSON.parse(syncGlobalOp('process.exit', '{}')).error.message).toBe('unknown host operation process.exit');
  });

  it('crypto operations are bounded per operation and per call', async () => {
    const budget = { bytes: 0 };
    const mib = Buffer.alloc(MAX_CRYPTO_BYTES).toString('base64');
    await expect(cryptoOp('crypto.digest', { hash: 'SHA-256', data: Buffer.alloc(MAX_CRYPTO_BYTES + 1).toString('base64') }, budget)).rejects.toMatchObject({ code: 'CRYPTO_INPUT_TOO_LARGE' });
    await expect(cryptoOp('crypto.digest', { hash: 'MD5', data: '' }, budget)).rejects.toMatchObject({ code: 'CRYPTO_NOT_SUPPORTED' });
    for (let i = 0; i < MAX_CRYPTO_BYTES_PER_CALL / MAX_CRYPTO_BYTES; i++) await cryptoOp('crypto.digest', { hash: 'SHA-1', data: mib }, budget);
    await expect(cryptoOp('crypto.digest', { hash: 'SHA-1', data: 'AA==' }, budget)).rejects.toMatchObject({ code: 'CRYPTO_BUDGET_EXCEEDED' });
  });
});
