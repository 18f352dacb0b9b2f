/**
 * Web globals installed in every plugin isolate (a bare V8 context has none of them): `TextEncoder`,
 * `TextDecoder`, `atob`, `btoa`, `structuredClone`, `URLSearchParams`, `URL`, `DOMException` and `crypto`
 * (`getRandomValues`, `randomUUID`, `subtle.digest`/`importKey`/`exportKey`/`generateKey`/`sign`/`verify` for HMAC).
 *
 * What is pure computation is plain JavaScript here. What needs the host is asked of it with plain strings only
 * (no host object enters the isolate):
 * - `URL` parsing and setters go through a synchronous host call to Node's own WHATWG URL parser, so plugins get
 *   exactly Node's URL semantics without bundling a parser into every isolate;
 * - random bytes come from node:crypto through the same synchronous call, 4 KiB at a time (a pool in the isolate);
 * - `crypto.subtle` runs node:crypto on the host through the call's asynchronous host channel (bounded input,
 *   time-sliced, counted per call; see plugin-isolate.ts).
 *
 * `INSTALL_GLOBALS_SOURCE` is a function expression; the bootstrap calls it with the synchronous host function and
 * the asynchronous one of the current call. Plain ES2023 in a string because it is evaluated in the isolate.
 */
export const INSTALL_GLOBALS_SOURCE = String.raw`
function installGlobals(hostSync, hostCall) {
  'use strict';
  const define = (name, value) => Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  const sync = (op, args) => {
    const r = JSON.parse(hostSync.applySync(undefined, [op, JSON.stringify(args)]));
    if (r.error) throw r.error.type === 'TypeError' ? new TypeError(r.error.message) : new DOMException(r.error.message, r.error.type);
    return r.value;
  };

  const DOM_CODES = { IndexSizeError: 1, InvalidCharacterError: 5, NotSupportedError: 9, InvalidAccessError: 15, QuotaExceededError: 22, DataCloneError: 25 };
  class DOMException extends Error {
    constructor(message = '', name = 'Error') {
      super(message);
      Object.defineProperty(this, 'name', { value: String(name), configurable: true, writable: true });
    }
    get code() { return DOM_CODES[this.name] ?? 0; }
  }
  define('DOMException', DOMException);

  // ---- bytes -------------------------------------------------------------------------------------------------
  const bytesOf = (data, what) => {
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    throw new TypeError(what + ' must be an ArrayBuffer, a TypedArray or a DataView');
  };
  const latin1 = (bytes) => {
    let s = '';
    for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
    return s;
  };
  const fromLatin1 = (s) => {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  };

  // ---- TextEncoder / TextDecoder (UTF-8, WHATWG Encoding) ----------------------------------------------------
  const utf8Encode = (input) => {
    const s = String(input);
    const out = new Uint8Array(s.length * 3);
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = s.charCodeAt(i + 1);
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; } else c = 0xfffd;
      }
      if (c < 0x80) out[n++] = c;
      else if (c < 0x800) { out[n++] = 0xc0 | (c >> 6); out[n++] = 0x80 | (c & 63); }
      else if (c < 0x10000) { out[n++] = 0xe0 | (c >> 12); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63); }
      else { out[n++] = 0xf0 | (c >> 18); out[n++] = 0x80 | ((c >> 12) & 63); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63); }
    }
    return out.slice(0, n);
  };
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') { return utf8Encode(input); }
    encodeInto(source, destination) {
      if (!(destination instanceof Uint8Array)) throw new TypeError('encodeInto: the destination must be a Uint8Array');
      const s = String(source);
      let read = 0, written = 0;
      for (let i = 0; i < s.length; ) {
        const c = s.codePointAt(i);
        const units = c > 0xffff ? 2 : 1;
        const bytes = utf8Encode(s.slice(i, i + units));
        if (written + bytes.length > destination.length) break;
        destination.set(bytes, written);
        written += bytes.length; read += units; i += units;
      }
      return { read, written };
    }
  }
  define('TextEncoder', TextEncoder);

  const UTF8_LABELS = ['utf-8', 'utf8', 'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8'];
  class TextDecoder {
    #fatal; #ignoreBOM; #pending = []; #bomSeen = false;
    constructor(label = 'utf-8', options = {}) {
      if (!UTF8_LABELS.includes(String(label).trim().toLowerCase())) throw new RangeError('The "' + label + '" encoding is not supported in the Cairn sandbox (only utf-8)');
      this.#fatal = Boolean(options && options.fatal);
      this.#ignoreBOM = Boolean(options && options.ignoreBOM);
    }
    get encoding() { return 'utf-8'; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input, options = {}) {
      const stream = Boolean(options && options.stream);
      const fresh = input === undefined ? new Uint8Array(0) : bytesOf(input, 'decode input');
      const bytes = this.#pending.length ? Uint8Array.from([...this.#pending, ...fresh]) : fresh;
      this.#pending = [];
      const units = [];
      let out = '';
      const flush = () => { out += String.fromCharCode.apply(null, units); units.length = 0; };
      const bad = () => { if (this.#fatal) { this.#pending = []; this.#bomSeen = false; throw new TypeError('The encoded data was not valid utf-8'); } units.push(0xfffd); };
      let i = 0;
      while (i < bytes.length) {
        const b = bytes[i];
        let need = 0, cp = 0, lower = 0x80, upper = 0xbf;
        if (b < 0x80) { units.push(b); i++; if (units.length > 8000) flush(); continue; }
        if (b >= 0xc2 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
        else if (b >= 0xe0 && b <= 0xef) { need = 2; cp = b & 0xf; if (b === 0xe0) lower = 0xa0; if (b === 0xed) upper = 0x9f; }
        else if (b >= 0xf0 && b <= 0xf4) { need = 3; cp = b & 0x7; if (b === 0xf0) lower = 0x90; if (b === 0xf4) upper = 0x8f; }
        else { bad(); i++; continue; }
        let j = 1;
        for (; j <= need && i + j < bytes.length; j++) {
          const c = bytes[i + j];
          if (c < lower || c > upper) break;
          lower = 0x80; upper = 0xbf;
          cp = (cp << 6) | (c & 0x3f);
        }
        if (j <= need) {
          if (i + j >= bytes.length && stream) { this.#pending = Array.from(bytes.subarray(i)); break; }
          bad(); i += j; continue;
        }
        if (cp > 0xffff) { cp -= 0x10000; units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff)); } else units.push(cp);
        i += need + 1;
        if (units.length > 8000) flush();
      }
      flush();
      if (!this.#bomSeen && out.length > 0) {
        this.#bomSeen = true;
        if (!this.#ignoreBOM && out.charCodeAt(0) === 0xfeff) out = out.slice(1);
      }
      if (!stream) { this.#bomSeen = false; this.#pending = []; }
      return out;
    }
  }
  define('TextDecoder', TextDecoder);
  const utf8Decode = (bytes) => new TextDecoder().decode(bytes);

  // ---- atob / btoa (forgiving base64, Latin-1 strings) --------------------------------------------------------
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));
  const toBase64 = (bytes) => {
    let out = '';
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
      out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < bytes.length ? B64[n & 63] : '=');
    }
    return out;
  };
  const fromBase64 = (text) => {
    let s = String(text).replace(/[\t\n\f\r ]/g, '');
    if (s.length % 4 === 0) s = s.replace(/==?$/, '');
    if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) throw new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
    const out = new Uint8Array(Math.floor((s.length * 3) / 4));
    let n = 0, acc = 0, bits = 0;
    for (const c of s) {
      acc = (acc << 6) | B64_INDEX.get(c);
      bits += 6;
      if (bits >= 8) { bits -= 8; out[n++] = (acc >> bits) & 0xff; }
    }
    return out.subarray(0, n);
  };
  define('btoa', function btoa(data) {
    if (arguments.length === 0) throw new TypeError('btoa requires 1 argument');
    const s = String(data);
    if (/[^\u0000-\u00ff]/.test(s)) throw new DOMException('Invalid character: btoa takes Latin-1 text; encode other text with TextEncoder first', 'InvalidCharacterError');
    return toBase64(fromLatin1(s));
  });
  define('atob', function atob(data) {
    if (arguments.length === 0) throw new TypeError('atob requires 1 argument');
    return latin1(fromBase64(data));
  });

  // ---- structuredClone ---------------------------------------------------------------------------------------
  const ERRORS = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
  const TYPED = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
  const cannot = (what) => { throw new DOMException(what + ' could not be cloned.', 'DataCloneError'); };
  const tag = (v) => Object.prototype.toString.call(v).slice(8, -1);
  const clone = (v, seen) => {
    if (typeof v === 'symbol' || typeof v === 'function') cannot(typeof v === 'symbol' ? String(v) : 'function ' + (v.name || '(anonymous)'));
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v)) return seen.get(v);
    const t = tag(v);
    let out;
    if (t === 'Boolean' || t === 'Number' || t === 'String' || t === 'BigInt') out = Object(v.valueOf());
    else if (t === 'Date') out = new Date(v.getTime());
    else if (t === 'RegExp') out = new RegExp(v.source, v.flags);
    else if (t === 'ArrayBuffer') out = v.slice(0);
    else if (t === 'DataView') out = new DataView(clone(v.buffer, seen), v.byteOffset, v.byteLength);
    else if (ArrayBuffer.isView(v)) {
      const C = TYPED.find((T) => t === T.name);
      out = new C(clone(v.buffer, seen), v.byteOffset, v.length);
    } else if (t === 'Map') {
      out = new Map();
      seen.set(v, out);
      for (const [k, x] of v) out.set(clone(k, seen), clone(x, seen));
      return out;
    } else if (t === 'Set') {
      out = new Set();
      seen.set(v, out);
      for (const x of v) out.add(clone(x, seen));
      return out;
    } else if (t === 'Error') {
      const C = ERRORS[v.name] ?? Error;
      out = new C(String(v.message));
      seen.set(v, out);
      if (typeof v.stack === 'string') out.stack = v.stack;
      if ('cause' in v) out.cause = clone(v.cause, seen);
      return out;
    } else if (Array.isArray(v)) {
      out = new Array(v.length);
      seen.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k], seen);
      return out;
    } else if (t === 'Object' || t === 'Arguments') {
      out = {};
      seen.set(v, out);
      for (const k of Object.keys(v)) out[k] = clone(v[k], seen);
      return out;
    } else cannot(t + ' object');
    seen.set(v, out);
    return out;
  };
  define('structuredClone', function structuredClone(value, options) {
    if (arguments.length === 0) throw new TypeError('structuredClone requires 1 argument');
    if (options && options.transfer && options.transfer.length) cannot('a transfer list');
    return clone(value, new Map());
  });

  // ---- URLSearchParams (application/x-www-form-urlencoded) ---------------------------------------------------
  const formDecode = (s) => {
    const bytes = utf8Encode(s.replace(/\+/g, ' '));
    const out = new Uint8Array(bytes.length);
    let n = 0;
    const hex = (b) => (b >= 48 && b <= 57) || (b >= 65 && b <= 70) || (b >= 97 && b <= 102);
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 37 && hex(bytes[i + 1]) && hex(bytes[i + 2])) { out[n++] = parseInt(String.fromCharCode(bytes[i + 1], bytes[i + 2]), 16); i += 2; }
      else out[n++] = bytes[i];
    }
    return utf8Decode(out.subarray(0, n));
  };
  const formEncode = (s) => {
    let out = '';
    for (const b of utf8Encode(s)) {
      if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2a || b === 0x2d || b === 0x2e || b === 0x5f) out += String.fromCharCode(b);
      else if (b === 0x20) out += '+';
      else out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
    }
    return out;
  };
  const parseForm = (s) => {
    const list = [];
    for (const part of s.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      list.push(eq < 0 ? [formDecode(part), ''] : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))]);
    }
    return list;
  };
  const usv = (v) => { const s = String(v); return typeof s.toWellFormed === 'function' ? s.toWellFormed() : s; };
  // A URL's searchParams and the URL update each other (WHATWG URL's "update steps"); set in the classes' static blocks.
  let linkParams, resetParams, setQuery;
  class URLSearchParams {
    #list = [];
    #url = null;
    static {
      linkParams = (params, url) => { params.#url = url; };
      resetParams = (params, query) => { params.#list = parseForm(query); };
    }
    constructor(init = '') {
      if (init instanceof URLSearchParams) this.#list = init.#list.map(([k, v]) => [k, v]);
      else if (init !== null && typeof init === 'object' && typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = [...pair];
          if (p.length !== 2) throw new TypeError('Each query pair must be an iterable [name, value] tuple');
          this.#list.push([usv(p[0]), usv(p[1])]);
        }
      } else if (init !== null && typeof init === 'object') {
        for (const k of Object.keys(init)) this.#list.push([usv(k), usv(init[k])]);
      } else {
        const s = usv(init);
        this.#list = parseForm(s.startsWith('?') ? s.slice(1) : s);
      }
    }
    #update() {
      if (this.#url) setQuery(this.#url, this.toString());
    }
    get size() { return this.#list.length; }
    append(name, value) { this.#list.push([usv(name), usv(value)]); this.#update(); }
    delete(name, value) {
      const n = usv(name), v = value === undefined ? undefined : usv(value);
      this.#list = this.#list.filter(([k, x]) => !(k === n && (v === undefined || x === v)));
      this.#update();
    }
    get(name) { const n = usv(name); const e = this.#list.find(([k]) => k === n); return e ? e[1] : null; }
    getAll(name) { const n = usv(name); return this.#list.filter(([k]) => k === n).map(([, v]) => v); }
    has(name, value) { const n = usv(name), v = value === undefined ? undefined : usv(value); return this.#list.some(([k, x]) => k === n && (v === undefined || x === v)); }
    set(name, value) {
      const n = usv(name), v = usv(value);
      const i = this.#list.findIndex(([k]) => k === n);
      if (i < 0) this.#list.push([n, v]);
      else this.#list = this.#list.filter(([k], j) => j <= i || k !== n).map((e, j) => (j === i ? [n, v] : e));
      this.#update();
    }
    sort() {
      this.#list = this.#list.map((e, i) => [e, i]).sort(([a, i], [b, j]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : i - j)).map(([e]) => e);
      this.#update();
    }
    forEach(fn, thisArg) { for (const [k, v] of this.#list) fn.call(thisArg, v, k, this); }
    *keys() { for (const [k] of this.#list) yield k; }
    *values() { for (const [, v] of this.#list) yield v; }
    *entries() { for (const [k, v] of this.#list) yield [k, v]; }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this.#list.map(([k, v]) => formEncode(k) + '=' + formEncode(v)).join('&'); }
    get [Symbol.toStringTag]() { return 'URLSearchParams'; }
  }
  define('URLSearchParams', URLSearchParams);

  // ---- URL (parsed by Node's WHATWG URL parser on the host) --------------------------------------------------
  const PARTS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];
  class URL {
    #parts;
    #params;
    static {
      setQuery = (url, query) => { url.#parts = sync('url.set', { href: url.#parts.href, part: 'search', value: query }); };
      for (const part of PARTS) {
        const set = part === 'origin' ? undefined : function (value) {
          this.#parts = sync('url.set', { href: this.#parts.href, part, value: usv(value) });
          if (part === 'href' || part === 'search') resetParams(this.#params, this.#parts.search.slice(1));
        };
        Object.defineProperty(URL.prototype, part, { get() { return this.#parts[part]; }, set, configurable: true, enumerable: true });
      }
    }
    constructor(url, base) {
      if (arguments.length === 0) throw new TypeError('URL requires 1 argument');
      this.#parts = sync('url.parse', { input: usv(url), base: base === undefined ? null : usv(base) });
      this.#params = new URLSearchParams(this.#parts.search);
      linkParams(this.#params, this);
    }
    static canParse(url, base) {
      try { new URL(url, base); return true; } catch { return false; }
    }
    static parse(url, base) {
      try { return new URL(url, base); } catch { return null; }
    }
    get searchParams() { return this.#params; }
    toString() { return this.#parts.href; }
    toJSON() { return this.#parts.href; }
    get [Symbol.toStringTag]() { return 'URL'; }
  }
  define('URL', URL);

  // ---- crypto ------------------------------------------------------------------------------------------------
  let pool = new Uint8Array(0), used = 0;
  const randomBytes = (n) => {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (used >= pool.length) { pool = fromLatin1(sync('random', {})); used = 0; }
      const take = Math.min(n - filled, pool.length - used);
      out.set(pool.subarray(used, used + take), filled);
      used += take; filled += take;
    }
    return out;
  };
  const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];
  const getRandomValues = (array) => {
    if (!INTEGER_ARRAYS.some((T) => array instanceof T)) throw new DOMException('getRandomValues takes an integer TypedArray', 'TypeMismatchError');
    if (array.byteLength > 65536) throw new DOMException('getRandomValues: ' + array.byteLength + ' bytes asked; the limit is 65536', 'QuotaExceededError');
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength));
    return array;
  };
  const randomUUID = () => {
    const b = randomBytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => (x < 16 ? '0' : '') + x.toString(16)).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  };

  const HASHES = { 'SHA-1': 160, 'SHA-256': 256, 'SHA-384': 384, 'SHA-512': 512 };
  const BLOCK_BITS = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };
  const notSupported = (what) => new DOMException(what + ' is not supported in the Cairn sandbox (HMAC and SHA digests are)', 'NotSupportedError');
  const algName = (a) => String(typeof a === 'string' ? a : a && a.name);
  const hashName = (a) => {
    const n = algName(a).toUpperCase();
    if (!(n in HASHES)) throw notSupported('the hash "' + algName(a) + '"');
    return n;
  };
  const keys = new WeakMap();
  class CryptoKey {
    constructor() { throw new TypeError('Illegal constructor'); }
  }
  const makeKey = (raw, hash, length, extractable, usages) => {
    const key = Object.create(CryptoKey.prototype, {
      type: { value: 'secret', enumerable: true },
      extractable: { value: Boolean(extractable), enumerable: true },
      algorithm: { value: Object.freeze({ name: 'HMAC', hash: Object.freeze({ name: hash }), length }), enumerable: true },
      usages: { value: Object.freeze([...usages]), enumerable: true },
    });
    keys.set(key, raw);
    return Object.freeze(key);
  };
  const hmacParams = (algorithm) => {
    if (algName(algorithm).toUpperCase() !== 'HMAC') throw notSupported('the algorithm "' + algName(algorithm) + '"');
    return hashName(algorithm.hash);
  };
  const usable = (key, usage) => {
    const raw = keys.get(key);
    if (!raw) throw new TypeError('the key must be a CryptoKey made by crypto.subtle');
    if (!key.usages.includes(usage)) throw new DOMException('the key may not be used to ' + usage, 'InvalidAccessError');
    return raw;
  };
  const MAX_CRYPTO_BYTES = 1024 * 1024;
  const b64 = (data, what) => {
    const bytes = bytesOf(data, what);
    if (bytes.length > MAX_CRYPTO_BYTES) throw new DOMException('crypto.subtle takes at most ' + MAX_CRYPTO_BYTES + ' bytes of ' + what + ' per operation', 'QuotaExceededError');
    return toBase64(bytes);
  };
  const buffer = (base64) => { const b = fromBase64(base64); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); };
  const subtle = Object.freeze({
    async digest(algorithm, data) {
      return buffer(await hostCall('crypto.digest', { hash: hashName(algorithm), data: b64(data, 'digest data') }));
    },
    async importKey(format, keyData, algorithm, extractable, usages) {
      const hash = hmacParams(algorithm);
      if (format !== 'raw') throw notSupported('the key format "' + format + '"');
      const raw = Uint8Array.from(bytesOf(keyData, 'key data'));
      if (raw.length === 0) throw new DOMException('an HMAC key may not be empty', 'DataError');
      return makeKey(raw, hash, algorithm.length ?? raw.length * 8, extractable, usages);
    },
    async generateKey(algorithm, extractable, usages) {
      const hash = hmacParams(algorithm);
      const bits = algorithm.length ?? BLOCK_BITS[hash];
      return makeKey(randomBytes(Math.ceil(bits / 8)), hash, bits, extractable, usages);
    },
    async exportKey(format, key) {
      const raw = keys.get(key);
      if (!raw) throw new TypeError('the key must be a CryptoKey made by crypto.subtle');
      if (!key.extractable) throw new DOMException('the key is not extractable', 'InvalidAccessError');
      if (format !== 'raw') throw notSupported('the key format "' + format + '"');
      return raw.slice().buffer;
    },
    async sign(algorithm, key, data) {
      if (algName(algorithm).toUpperCase() !== 'HMAC') throw notSupported('the algorithm "' + algName(algorithm) + '"');
      const raw = usable(key, 'sign');
      return buffer(await hostCall('crypto.hmac', { hash: key.algorithm.hash.name, key: toBase64(raw), data: b64(data, 'data') }));
    },
    async verify(algorithm, key, signature, data) {
      if (algName(algorithm).toUpperCase() !== 'HMAC') throw notSupported('the algorithm "' + algName(algorithm) + '"');
      const raw = usable(key, 'verify');
      return hostCall('crypto.hmacVerify', { hash: key.algorithm.hash.name, key: toBase64(raw), data: b64(data, 'data'), signature: b64(signature, 'signature') });
    },
  });
  define('CryptoKey', CryptoKey);
  define('crypto', Object.freeze({ getRandomValues, randomUUID, subtle }));
}
`;
