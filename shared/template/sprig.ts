// Sprig v3.3.0's generic function map (github.com/Masterminds/sprig/v3, functions.go) minus env,
// expandenv and getHostByName, as upstream's controller registers it. Each function keeps Go's
// parameter types (text/template checks them) and Go's behaviour on bytes: strings are Go strings
// (value.ts). Functions that Go implements with a panic or an error throw FuncError with a message
// that names the problem, never an argument's value. Time and randomness come from the options.
import { createHash } from 'node:crypto';
import { FuncError } from './exec.ts';
import { buildCustomCert, certificate, genPrivateKey, parsePrivateKeyPem, signerOf, type CertificateRequest, type KeyGenerator } from './sprig-certs.ts';
import { bcryptHash, decryptAES, derivePassword, encryptAES, htpasswd } from './sprig-crypto.ts';
import { ZERO_TIME } from './methods.ts';
import type { ExecContext, FuncMap, GoFunc, ParamType } from './exec.ts';
import { compareGoStrings, formatFloat, formatValue, quote, sprintf } from './fmt.ts';
import { TimeParseError, formatTime, parseTime } from './time.ts';
import {
  GoInt, GoMap, GoSemver, GoSlice, GoTime, MISSING, bytesToGo, decodeRune, encodeRune, goToBytes, goToText,
  int, int64, isSpaceRune, kindName, runes, runesToGo, textToGo, typeName,
} from './value.ts';
import type { AnyValue, GoValue } from './value.ts';

export interface SprigOptions {
  /** The clock for now, ago, date (with a non-time argument) and durationRound. */
  now: () => GoTime;
  /** Uniformly random bytes, for randAlphaNum & co, randInt, shuffle, randBytes and uuidv4. */
  random: (n: number) => Uint8Array;
  /** Key generation for genPrivateKey, genCA, genSelfSignedCert, genSignedCert; without it they fail as not supported. */
  generateKey?: KeyGenerator;
}

const A: ParamType = 'interface {}';
const S: ParamType = 'string';
const I: ParamType = 'int';
const M: ParamType = 'map[string]interface {}';
const T: ParamType = 'time.Time';

/** Steps charged for one bcrypt (cost 10) and one scrypt (N=32768): about 1/20 of the budget. */
const BCRYPT_STEPS = 50_000;
const SCRYPT_STEPS = 50_000;
/** RSA-2048 key generation and signing; RSA-4096 generation (genPrivateKey's default) costs several times more. */
const KEY_STEPS = 50_000;
const RSA4096_STEPS = 200_000;
const SIGN_STEPS = 5_000;
const LIST: ParamType = '[]interface {}';

const f = (params: ParamType[], fn: GoFunc['fn'], variadic?: ParamType): GoFunc => ({ params, fn, variadic });
const str = (v: AnyValue | undefined): string => v as string;
const num = (v: AnyValue | undefined): number => Number((v as GoInt).v);
const anyList = (items: GoValue[]): GoSlice => new GoSlice('interface {}', items);
const strList = (items: string[]): GoSlice => new GoSlice('string', items);
const nil = (v: AnyValue): boolean => v === null || v === MISSING;

// ---- helpers shared by many functions --------------------------------------------------------

/** sprig's strval: strings as they are, Stringers through String(), the rest through %v. */
export function strval(v: AnyValue): string {
  if (typeof v === 'string') return v;
  if (v === MISSING) return '<nil>';
  return formatValue(v);
}

function sized(ctx: ExecContext, n: number): void {
  ctx.checkSize(n);
  ctx.charge(Math.ceil(n / 256));
}

function listItems(v: AnyValue, what: string): GoValue[] {
  if (v instanceof GoSlice) return v.items;
  if (nil(v)) throw new FuncError(`${what}: nil is not a list`);
  throw new FuncError(`Cannot ${what} on type ${kindName(v)}`);
}

/** strings.Map over runes: invalid UTF-8 becomes U+FFFD, as Go's case mappings do. */
function mapRunes(s: string, fn: (r: number) => number): string {
  if (!/[^\x00-\x7f]/.test(s)) {
    let out = '';
    for (let i = 0; i < s.length; i++) out += encodeRune(fn(s.charCodeAt(i)));
    return out;
  }
  return runesToGo(runes(s).map(fn));
}

/** unicode.ToUpper / ToLower: the simple (one rune to one rune) mapping. */
function simpleCase(r: number, upper: boolean): number {
  if (r < 0x80) {
    if (upper && r >= 0x61 && r <= 0x7a) return r - 32;
    if (!upper && r >= 0x41 && r <= 0x5a) return r + 32;
    return r;
  }
  const c = String.fromCodePoint(r);
  const m = upper ? c.toUpperCase() : c.toLowerCase();
  const cps = [...m];
  if (cps.length !== 1) return r;
  return cps[0]!.codePointAt(0)!;
}
const toUpperR = (r: number): number => simpleCase(r, true);
const toLowerR = (r: number): number => simpleCase(r, false);
const isUpperR = (r: number): boolean => /\p{Lu}/u.test(String.fromCodePoint(r));
const isLowerR = (r: number): boolean => /\p{Ll}/u.test(String.fromCodePoint(r));
const isTitleR = (r: number): boolean => /\p{Lt}/u.test(String.fromCodePoint(r));
const isLetterR = (r: number): boolean => /\p{L}/u.test(String.fromCodePoint(r));
const isDigitR = (r: number): boolean => /\p{Nd}/u.test(String.fromCodePoint(r));
const isNumberR = (r: number): boolean => /\p{N}/u.test(String.fromCodePoint(r));
const isPunctR = (r: number): boolean => /\p{P}/u.test(String.fromCodePoint(r));
function toTitleR(r: number): number {
  // unicode.ToTitle: title case where one exists (ǆ → ǅ), else upper case.
  const special: Record<number, number> = { 0x1c4: 0x1c5, 0x1c5: 0x1c5, 0x1c6: 0x1c5, 0x1c7: 0x1c8, 0x1c8: 0x1c8, 0x1c9: 0x1c8, 0x1ca: 0x1cb, 0x1cb: 0x1cb, 0x1cc: 0x1cb, 0x1f1: 0x1f2, 0x1f2: 0x1f2, 0x1f3: 0x1f2 };
  return special[r] ?? toUpperR(r);
}

function trimSpaceGo(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b) {
    const [r, n] = decodeRune(s, a);
    if (!(isSpaceRune(r) && !(r === 0xfffd && n === 1))) break;
    a += n;
  }
  while (b > a) {
    // step back one rune
    let st = b - 1;
    while (st > a && (s.charCodeAt(st) & 0xc0) === 0x80 && b - st < 4) st--;
    const [r, n] = decodeRune(s, st);
    if (st + n !== b) {
      // the last byte is not the end of a valid rune: not a space
      break;
    }
    if (!isSpaceRune(r) || (r === 0xfffd && n === 1)) break;
    b = st;
  }
  return s.slice(a, b);
}

/** strings.Trim(s, cutset): trims runes of the cutset from both ends. */
function trimCutset(s: string, cutset: string): string {
  if (s === '' || cutset === '') return s;
  const set = new Set(runes(cutset));
  let a = 0;
  let b = s.length;
  while (a < b) {
    const [r, n] = decodeRune(s, a);
    if (!set.has(r)) break;
    a += n;
  }
  while (b > a) {
    let st = b - 1;
    while (st > a && (s.charCodeAt(st) & 0xc0) === 0x80 && b - st < 4) st--;
    const [r, n] = decodeRune(s, st);
    if (st + n !== b) {
      if (!set.has(0xfffd)) break;
      b--;
      continue;
    }
    if (!set.has(r)) break;
    b = st;
  }
  return s.slice(a, b);
}

/** strings.Split, with Go's rule for an empty separator (one piece per UTF-8 sequence). */
function splitGo(s: string, sep: string, n = -1): string[] {
  if (n === 0) return [];
  if (sep === '') {
    const out: string[] = [];
    for (let i = 0; i < s.length; ) {
      if (n > 0 && out.length === n - 1) {
        out.push(s.slice(i));
        return out;
      }
      const [, k] = decodeRune(s, i);
      out.push(s.slice(i, i + k));
      i += k;
    }
    return out;
  }
  if (n < 0) return s.split(sep);
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}

// ---- numbers (spf13/cast) --------------------------------------------------------------------

/** strconv.ParseInt(s, 0, 64). */
function parseIntBase0(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (!m) return undefined;
  let body = m[2]!;
  if (body.includes('_')) {
    if (!/^0[xXoObB]?_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*$/.test(body) || /^[1-9]/.test(body)) {
      if (!/^0[xXoObB]/.test(body) && !/^0[0-7]/.test(body)) return undefined;
    }
    if (/__|_$/.test(body) || (/^[1-9]/.test(body))) return undefined;
    body = body.replace(/_/g, '');
  }
  let v: bigint;
  if (/^0[0-7]+$/.test(body)) v = BigInt('0o' + body.slice(1));
  else v = BigInt(body.replace(/^0[oO]/, '0o').replace(/^0[bB]/, '0b'));
  if (m[1] === '-') v = -v;
  if (v < -(1n << 63n) || v >= 1n << 63n) return undefined;
  return v;
}

/** strconv.ParseFloat(s, 64), decimal forms plus inf/nan. */
function parseFloatGo(s: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    const v = Number(s);
    if (!Number.isFinite(v)) return undefined; // out of range is an error in Go
    return v;
  }
  if (/^[+-]?0[xX]/.test(s)) {
    const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(s);
    if (m && (m[2] || m[3])) {
      const v = parseInt((m[2] || '0') + (m[3] || ''), 16) * 2 ** (Number(m[4]) - 4 * (m[3]?.length ?? 0));
      return m[1] === '-' ? -v : v;
    }
  }
  return undefined;
}

function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === '.') {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === '0') foundZero = true;
    else return s;
  }
  return s;
}

/** Go's int64(float64) conversion (amd64: out of range and NaN give math.MinInt64). */
function floatToInt64(x: number): bigint {
  if (Number.isNaN(x) || x >= 2 ** 63 || x < -(2 ** 63)) return -(1n << 63n);
  return BigInt(Math.trunc(x));
}

export function toInt64(v: AnyValue): bigint {
  if (v instanceof GoInt) return BigInt.asIntN(64, v.v);
  if (typeof v === 'number') return floatToInt64(v);
  if (typeof v === 'string') return parseIntBase0(trimZeroDecimal(v)) ?? 0n;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return 0n;
}

export function toFloat64(v: AnyValue): number {
  if (v instanceof GoInt) return Number(v.v);
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseFloatGo(v) ?? 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

const wrap64 = (v: bigint): GoInt => int64(BigInt.asIntN(64, v));

// ---- decimal arithmetic for addf & co (shopspring/decimal) ------------------------------------

interface Dec {
  c: bigint; // coefficient
  e: number; // exponent: value = c × 10^e
}

function decFromFloat(x: number): Dec {
  if (!Number.isFinite(x)) throw new FuncError(`Cannot create a Decimal from ${Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf'}`);
  if (x === 0) return { c: 0n, e: 0 };
  const [m, e] = x.toExponential().split('e');
  const digits = m!.replace('.', '').replace('-', '');
  const frac = m!.includes('.') ? m!.split('.')[1]!.length : 0;
  return { c: BigInt((x < 0 ? '-' : '') + digits), e: Number(e) - frac };
}

function decAlign(a: Dec, b: Dec): [bigint, bigint, number] {
  const e = Math.min(a.e, b.e);
  return [a.c * 10n ** BigInt(a.e - e), b.c * 10n ** BigInt(b.e - e), e];
}

function decToFloat(d: Dec): number {
  return Number(`${d.c}e${d.e}`);
}

const decOps: Record<string, (a: Dec, b: Dec) => Dec> = {
  add: (a, b) => {
    const [x, y, e] = decAlign(a, b);
    return { c: x + y, e };
  },
  sub: (a, b) => {
    const [x, y, e] = decAlign(a, b);
    return { c: x - y, e };
  },
  mul: (a, b) => ({ c: a.c * b.c, e: a.e + b.e }),
  div: (a, b) => {
    // Decimal.Div: DivRound(d2, 16), rounding half away from zero.
    if (b.c === 0n) throw new FuncError('decimal division by 0');
    const prec = 16;
    // q = a/b scaled to 10^-prec
    const shift = a.e - b.e + prec;
    let num = a.c;
    let den = b.c;
    if (shift >= 0) num *= 10n ** BigInt(shift);
    else den *= 10n ** BigInt(-shift);
    const neg = num < 0n !== den < 0n;
    const an = num < 0n ? -num : num;
    const ad = den < 0n ? -den : den;
    let q = an / ad;
    const r = an % ad;
    if (r * 2n >= ad) q += 1n;
    return { c: neg ? -q : q, e: -prec };
  },
};

function decimalOp(first: AnyValue, rest: AnyValue[], op: string): number {
  let acc = decFromFloat(toFloat64(first));
  for (const x of rest) acc = decOps[op]!(acc, decFromFloat(toFloat64(x)));
  return decToFloat(acc);
}

// ---- emptiness, equality, copying --------------------------------------------------------------

export function empty(v: AnyValue): boolean {
  if (v === null || v === MISSING) return true;
  if (typeof v === 'string') return v.length === 0;
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'number') return v === 0;
  if (v instanceof GoInt) return v.v === 0n;
  if (v instanceof GoSlice) return v.items.length === 0;
  if (v instanceof GoMap) return v.m.size === 0;
  if (v instanceof GoSemver) return false;
  return false;
}

/** reflect.DeepEqual over the value model. */
export function deepEqual(a: AnyValue, b: AnyValue): boolean {
  if (a === MISSING) a = null;
  if (b === MISSING) b = null;
  if (a === null || b === null) return a === b;
  if (typeName(a) !== typeName(b)) return false;
  if (a instanceof GoInt) return a.v === (b as GoInt).v;
  if (typeof a === 'number') return a === b;
  if (a instanceof GoSlice) {
    const bs = b as GoSlice;
    return a.items.length === bs.items.length && a.items.every((x, i) => deepEqual(x, bs.items[i]!));
  }
  if (a instanceof GoMap) {
    const bm = b as GoMap;
    if (a.m.size !== bm.m.size) return false;
    for (const [k, v] of a.m) if (!bm.m.has(k) || !deepEqual(v, bm.m.get(k)!)) return false;
    return true;
  }
  if (a instanceof GoTime) {
    const bt = b as GoTime;
    return a.unixNano === bt.unixNano && a.offsetSec === bt.offsetSec && a.zone === bt.zone;
  }
  if (a instanceof GoSemver) return a === b;
  return a === b;
}

function deepCopy(v: GoValue): GoValue {
  if (v instanceof GoSlice) return new GoSlice(v.elem, v.items.map(deepCopy));
  if (v instanceof GoMap) return new GoMap(v.elem, new Map([...v.m].map(([k, x]) => [k, deepCopy(x)])));
  return v;
}

// ---- JSON (encoding/json) -------------------------------------------------------------------

function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && (!escapeHTML || (c !== 0x3c && c !== 0x3e && c !== 0x26))) out += s[i];
      else if (c === 0x22 || c === 0x5c) out += '\\' + s[i];
      else if (c === 0x0a) out += '\\n';
      else if (c === 0x0d) out += '\\r';
      else if (c === 0x09) out += '\\t';
      else if (c === 0x08) out += '\\b';
      else if (c === 0x0c) out += '\\f';
      else out += '\\u00' + '0123456789abcdef'[c >> 4] + '0123456789abcdef'[c & 15];
      i++;
      continue;
    }
    const [r, n] = decodeRune(s, i);
    if (r === 0xfffd && n === 1) out += '\\ufffd';
    else if (r === 0x2028 || r === 0x2029) out += '\\u202' + (r & 15);
    else out += s.slice(i, i + n);
    i += n;
  }
  return out + '"';
}

function jsonFloat(x: number): string {
  if (!Number.isFinite(x)) throw new FuncError('json: unsupported value: a non-finite float');
  const abs = Math.abs(x);
  let fmt = 'f';
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) fmt = 'e';
  let s = formatFloat(x, fmt, -1);
  if (fmt === 'e') {
    // clean up e-09 to e-9
    const n = s.length;
    if (n >= 4 && s[n - 4] === 'e' && s[n - 3] === '-' && s[n - 2] === '0') s = s.slice(0, n - 2) + s.slice(n - 1);
  }
  return s;
}

export function toJSON(v: AnyValue, escapeHTML: boolean, indent: string, prefix = ''): string {
  if (v === null || v === MISSING) return 'null';
  if (typeof v === 'string') return jsonString(v, escapeHTML);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return jsonFloat(v);
  if (v instanceof GoInt) return v.v.toString();
  if (v instanceof GoTime) {
    return jsonString(formatTime(v, '2006-01-02T15:04:05.999999999Z07:00'), escapeHTML);
  }
  if (v instanceof GoSemver) return jsonString(v.toString(), escapeHTML);
  const inner = prefix + indent;
  if (v instanceof GoSlice) {
    if (v.items.length === 0) return '[]';
    const parts = v.items.map((x) => toJSON(x, escapeHTML, indent, inner));
    if (!indent) return '[' + parts.join(',') + ']';
    return '[\n' + parts.map((p) => inner + p).join(',\n') + '\n' + prefix + ']';
  }
  const keys = [...v.m.keys()].sort(compareGoStrings);
  if (keys.length === 0) return '{}';
  const parts = keys.map((k) => jsonString(k, escapeHTML) + (indent ? ': ' : ':') + toJSON(v.m.get(k)!, escapeHTML, indent, inner));
  if (!indent) return '{' + parts.join(',') + '}';
  return '{\n' + parts.map((p) => inner + p).join(',\n') + '\n' + prefix + '}';
}

function fromJSON(s: string): GoValue {
  // Go replaces invalid UTF-8 with U+FFFD; so does decoding the bytes here.
  const text = goToText(s);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FuncError('invalid JSON');
  }
  const conv = (x: unknown): GoValue => {
    if (x === null) return null;
    if (typeof x === 'string') return textToGo(x);
    if (typeof x === 'number' || typeof x === 'boolean') return x;
    if (Array.isArray(x)) return anyList(x.map(conv));
    const m = new Map<string, GoValue>();
    for (const [k, val] of Object.entries(x as object)) m.set(textToGo(k), conv(val));
    return new GoMap('interface {}', m);
  };
  return conv(parsed);
}

// ---- durations -------------------------------------------------------------------------------

/** time.Duration.String(). */
export function durationString(d: bigint): string {
  if (d === 0n) return '0s';
  const neg = d < 0n;
  let u = neg ? -d : d;
  let out: string;
  if (u < 1_000_000_000n) {
    let unit: string;
    let div: bigint;
    if (u < 1000n) return (neg ? '-' : '') + u + 'ns';
    if (u < 1_000_000n) {
      unit = 'µs';
      div = 1000n;
    } else {
      unit = 'ms';
      div = 1_000_000n;
    }
    out = fracString(u, div) + unit;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    out = fracString(u, 1_000_000_000n) + 's';
    if (h > 0n) out = `${h}h${m}m` + out;
    else if (m > 0n) out = `${m}m` + out;
  }
  return (neg ? '-' : '') + textToGo(out);
}

function fracString(v: bigint, div: bigint): string {
  const whole = v / div;
  const frac = v % div;
  if (frac === 0n) return whole.toString();
  const digits = div.toString().length - 1;
  return whole + '.' + frac.toString().padStart(digits, '0').replace(/0+$/, '');
}

const UNITS: Record<string, bigint> = { ns: 1n, us: 1000n, 'µs': 1000n, 'μs': 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };

/** time.ParseDuration. */
export function parseDuration(s0: string): bigint | undefined {
  let s = goToText(s0);
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0;
  let totalBig = 0n;
  void total;
  while (s !== '') {
    const m = /^(\d*)(\.(\d*))?/.exec(s)!;
    if (m[1] === '' && (m[3] ?? '') === '') return undefined;
    s = s.slice(m[0].length);
    const u = /^[^\d.]+/.exec(s);
    if (!u) return undefined;
    const unit = Object.hasOwn(UNITS, u[0]) ? UNITS[u[0]] : undefined;
    if (unit === undefined) return undefined;
    s = s.slice(u[0].length);
    const whole = BigInt(m[1] || '0');
    let v = whole * unit;
    if (m[3]) {
      const fracDigits = m[3];
      v += (BigInt(fracDigits) * unit) / 10n ** BigInt(fracDigits.length);
    }
    totalBig += v;
    if (totalBig > (1n << 63n) - 1n) return undefined;
  }
  return neg ? -totalBig : totalBig;
}

// ---- semver (Masterminds/semver/v3) --------------------------------------------------------

const SEMVER_RE = /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/;

export function parseSemver(v: string): GoSemver {
  const m = SEMVER_RE.exec(v);
  if (!m) throw new FuncError('Invalid Semantic Version');
  const part = (x: string | undefined): bigint => {
    if (x === undefined) return 0n;
    const n = BigInt(x.replace(/^\./, ''));
    if (n >= 1n << 64n) throw new FuncError('Error parsing version segment');
    return n;
  };
  const pre = m[5] ?? '';
  for (const id of pre ? pre.split('.') : []) {
    if (/^[0-9]+$/.test(id) && id.length > 1 && id[0] === '0') throw new FuncError('Version segment starts with 0');
  }
  return new GoSemver(part(m[1]), part(m[2]), part(m[3]), pre, m[8] ?? '', v);
}

function comparePre(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  const as = a.split('.');
  const bs = b.split('.');
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    const x = as[i];
    const y = bs[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xn = /^[0-9]+$/.test(x);
    const yn = /^[0-9]+$/.test(y);
    if (xn && yn) return BigInt(x) < BigInt(y) ? -1 : 1;
    if (xn) return -1;
    if (yn) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export function compareSemver(a: GoSemver, b: GoSemver): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return comparePre(a.pre, b.pre);
}

type Check = (v: GoSemver) => boolean;

function parseConstraintUnit(c: string): Check {
  const m = /^\s*(=|!=|>=|=>|<=|=<|>|<|~>|~|\^)?\s*v?(\*|[xX]|[0-9]+)(\.(\*|[xX]|[0-9]+))?(\.(\*|[xX]|[0-9]+))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?\s*$/.exec(c);
  if (!m) throw new FuncError('improper constraint');
  const op = m[1] ?? '';
  const parts = [m[2]!, m[4], m[6]];
  const wild = (x: string | undefined): boolean => x === undefined || x === '*' || x === 'x' || x === 'X';
  const dirty = parts.some(wild);
  const n = parts.map((x) => (wild(x) ? 0n : BigInt(x!)));
  const pre = m[7] ? m[7].slice(1) : '';
  const cv = new GoSemver(n[0]!, n[1]!, n[2]!, pre, '', c);
  const hasPre = pre !== '';
  // A version with a prerelease only matches a constraint that has one too.
  const preOk = (v: GoSemver): boolean => v.pre === '' || hasPre;
  const cmp = (v: GoSemver): number => compareSemver(v, cv);
  const w0 = wild(parts[0]);
  const w1 = wild(parts[1]);
  const w2 = wild(parts[2]);
  switch (op) {
    case '':
    case '=':
      if (dirty) {
        return (v) => preOk(v) && (w0 || (v.major === cv.major && (w1 || (v.minor === cv.minor && (w2 || v.patch === cv.patch)))));
      }
      return (v) => preOk(v) && cmp(v) === 0;
    case '!=':
      if (dirty) return (v) => preOk(v) && !(w0 || (v.major === cv.major && (w1 || (v.minor === cv.minor && (w2 || v.patch === cv.patch)))));
      return (v) => preOk(v) && cmp(v) !== 0;
    case '>':
      if (dirty) {
        if (w0) return () => false;
        if (w1) return (v) => preOk(v) && v.major > cv.major;
        return (v) => preOk(v) && (v.major > cv.major || (v.major === cv.major && v.minor > cv.minor));
      }
      return (v) => preOk(v) && cmp(v) > 0;
    case '<':
      return (v) => preOk(v) && cmp(v) < 0;
    case '>=':
    case '=>':
      return (v) => preOk(v) && cmp(v) >= 0;
    case '<=':
    case '=<':
      if (dirty) {
        if (w0) return (v) => preOk(v);
        if (w1) return (v) => preOk(v) && v.major <= cv.major;
        return (v) => preOk(v) && (v.major < cv.major || (v.major === cv.major && v.minor <= cv.minor));
      }
      return (v) => preOk(v) && cmp(v) <= 0;
    case '~':
    case '~>':
      return (v) => {
        if (!preOk(v)) return false;
        if (compareSemver(v, cv) < 0) return false;
        if (w0) return true;
        if (v.major !== cv.major) return false;
        if (v.minor !== cv.minor && !w1) return false;
        return true;
      };
    case '^':
      return (v) => {
        if (!preOk(v)) return false;
        if (compareSemver(v, cv) < 0) return false;
        if (cv.major > 0n || w1) return w0 || v.major === cv.major;
        if (cv.major === 0n && v.major > 0n) return false;
        if (cv.minor > 0n || w2) return v.minor === cv.minor;
        if (v.minor > 0n) return false;
        return v.patch === cv.patch;
      };
  }
  throw new FuncError('improper constraint');
}

export function semverCheck(constraint: string, version: GoSemver): boolean {
  const ors = constraint.split('||');
  const groups = ors.map((g) => {
    const t = g.trim();
    if (t === '') throw new FuncError('improper constraint');
    // hyphen ranges "1.2 - 1.4"
    const h = /^(\S+)\s+-\s+(\S+)$/.exec(t);
    if (h) return [parseConstraintUnit('>=' + h[1]), parseConstraintUnit('<=' + h[2])];
    const units = t.split(/\s*,\s*|\s+(?=[=<>!~^v0-9*xX])/).filter((u) => u !== '');
    return units.map(parseConstraintUnit);
  });
  return groups.some((g) => g.every((c) => c(version)));
}

// ---- regular expressions -------------------------------------------------------------------

/**
 * Go's RE2 syntax mapped onto JS's engine with the u flag, over decoded text. RE2 guarantees
 * linear time and JS does not, so subjects and patterns are capped (render limits) and patterns
 * with nested quantifiers are refused — see docs/compatibility.md.
 */
function compileRegex(pattern: string, global: boolean, indices = false): RegExp {
  let p = goToText(pattern);
  let flags = (global ? 'gu' : 'u') + (indices ? 'd' : '');
  const lead = /^\(\?([imsU]+)\)/.exec(p);
  if (lead) {
    if (lead[1]!.includes('U')) throw new FuncError('regexp: ungreedy flag is not supported');
    for (const c of lead[1]!) if (!flags.includes(c)) flags += c;
    p = p.slice(lead[0].length);
  }
  if (/\(\?[imsU-]+[:)]/.test(p)) throw new FuncError('regexp: inline flags in the middle of a pattern are not supported');
  if (/\\[zAQEpPCX]/.test(p) && /\\[pP]\{?[A-Za-z]/.test(p) === false) {
    p = p.replace(/\\z/g, '$(?![\\s\\S])').replace(/\\A/g, '^(?<![\\s\\S])');
  }
  if (/\\[1-9]/.test(p)) throw new FuncError('error parsing regexp: invalid escape sequence');
  if (/\(\?[=!<]/.test(p) && !/\(\?P?</.test(p)) throw new FuncError('error parsing regexp: invalid or unsupported Perl syntax');
  p = p.replace(/\(\?P</g, '(?<');
  p = p.replace(/\[:(\^?)(alnum|alpha|ascii|blank|cntrl|digit|graph|lower|print|punct|space|upper|word|xdigit):\]/g, (_, neg: string, name: string) => {
    if (neg) throw new FuncError('regexp: negated POSIX classes are not supported');
    return POSIX[name]!;
  });
  if (/(\([^()]*[+*][^()]*\)|\[[^\]]*\][+*])[+*{]/.test(p)) throw new FuncError('regexp: nested quantifiers are refused (no linear-time engine)');
  // Go's \s is [\t\n\f\r ]; JS's includes Unicode spaces.
  p = p.replace(/(^|[^\\])\\s/g, '$1[\\t\\n\\f\\r ]').replace(/(^|[^\\])\\S/g, '$1[^\\t\\n\\f\\r ]');
  try {
    return new RegExp(p, flags);
  } catch {
    throw new FuncError('error parsing regexp');
  }
}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7f', blank: '\\t ', cntrl: '\\x00-\\x1f\\x7f', digit: '0-9',
  graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-\\/:-@\\[-`{-~', space: '\\t\\n\\v\\f\\r ', upper: 'A-Z',
  word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
};

/** Decoded text of a Go string plus, for each UTF-16 index, the byte offset in the original. */
function indexedText(s: string): { text: string; at: number[] } {
  let text = '';
  const at: number[] = [];
  for (let i = 0; i < s.length; ) {
    const [r, n] = decodeRune(s, i);
    const ch = String.fromCodePoint(r);
    for (let k = 0; k < ch.length; k++) at.push(i);
    text += ch;
    i += n;
  }
  at.push(s.length);
  return { text, at };
}

function regexFindAll(pattern: string, s: string, n: number, ctx: ExecContext): string[] {
  ctx.charge(s.length);
  const re = compileRegex(pattern, true);
  if (n === 0) return [];
  const { text, at } = indexedText(s);
  const out: string[] = [];
  let prevEnd = -1;
  for (const m of text.matchAll(re)) {
    if (n > 0 && out.length >= n) break;
    // Go skips an empty match right after the previous match
    if (m[0] === '' && m.index === prevEnd) continue;
    out.push(s.slice(at[m.index], at[m.index + m[0].length]));
    prevEnd = m.index + m[0].length;
  }
  return out;
}

function expandTemplate(repl: string, m: RegExpExecArray, group: (g: number | string) => string | undefined): string {
  // regexp.Expand: $1, ${1}, $name, ${name}; $$ is a $; a name takes the longest run of
  // letters, digits and underscores.
  let out = '';
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    if (repl[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let len = 0;
    if (repl[i + 1] === '{') {
      const close = repl.indexOf('}', i + 2);
      const nm = close < 0 ? '' : repl.slice(i + 2, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(nm)) {
        name = nm;
        len = close - i + 1;
      }
    } else {
      const mm = /^[A-Za-z0-9_]+/.exec(repl.slice(i + 1));
      if (mm) {
        name = mm[0];
        len = 1 + mm[0].length;
      }
    }
    if (name === undefined) {
      out += '$';
      continue;
    }
    i += len - 1;
    void m;
    out += group(/^[0-9]+$/.test(name) ? Number(name) : name) ?? '';
  }
  return out;
}

function regexReplace(pattern: string, s: string, repl: string, literal: boolean, ctx: ExecContext): string {
  ctx.charge(s.length);
  const re = compileRegex(pattern, true, true);
  const { text, at } = indexedText(s);
  let out = '';
  let last = 0;
  let prevEnd = -1;
  for (const m of text.matchAll(re)) {
    if (m[0] === '' && m.index === prevEnd) continue;
    // Expand over the replacement's bytes, and take groups from the subject's bytes (d flag
    // indices), so invalid UTF-8 in either survives as in Go.
    const ind = (m as RegExpExecArray & { indices?: Array<[number, number] | undefined> & { groups?: Record<string, [number, number] | undefined> } }).indices;
    const group = (g: number | string): string | undefined => {
      const span = typeof g === 'number' ? ind?.[g] : ind?.groups?.[g];
      return span ? s.slice(at[span[0]], at[span[1]]) : undefined;
    };
    out += s.slice(at[last], at[m.index]) + (literal ? repl : expandTemplate(repl, m as RegExpExecArray, group));
    last = m.index + m[0].length;
    prevEnd = last;
    ctx.checkSize(out.length);
  }
  out += s.slice(at[last]);
  ctx.checkSize(out.length);
  return out;
}

function regexSplit(pattern: string, s: string, n: number, ctx: ExecContext): string[] {
  ctx.charge(s.length);
  const re = compileRegex(pattern, true);
  if (n === 0) return [];
  const { text, at } = indexedText(s);
  if (pattern.length > 0 && text.length === 0) return [''];
  const matches = [...text.matchAll(re)];
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  let prevEnd = -1;
  for (const m of matches) {
    if (n > 0 && out.length === n - 1) break;
    if (m[0] === '' && m.index === prevEnd) continue;
    end = m.index;
    if (m.index + m[0].length === 0) continue;
    out.push(s.slice(at[beg], at[end]));
    beg = m.index + m[0].length;
    prevEnd = beg;
  }
  if (end !== text.length) out.push(s.slice(at[beg]));
  return out;
}

function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

// ---- random --------------------------------------------------------------------------------

function randomBelow(random: (n: number) => Uint8Array, max: number): number {
  if (max <= 1) return 0;
  const limit = Math.floor(0x100000000 / max) * max;
  for (;;) {
    const b = random(4);
    const v = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    if (v < limit) return v % max;
  }
}

function randomString(count: number, alphabet: string, random: (n: number) => Uint8Array, ctx: ExecContext): string {
  if (count <= 0) return '';
  sized(ctx, count);
  let s = '';
  for (let i = 0; i < count; i++) s += alphabet[randomBelow(random, alphabet.length)];
  return s;
}

const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const NUMERIC = '0123456789';
const ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

// ---- paths (path and path/filepath on Linux) ----------------------------------------------------

export function pathClean(p: string): string {
  if (p === '') return '.';
  const rooted = p[0] === '/';
  const parts = p.split('/');
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = (rooted ? '/' : '') + out.join('/');
  return s === '' ? '.' : s;
}

function pathBase(p: string): string {
  if (p === '') return '.';
  p = p.replace(/\/+$/, '');
  const i = p.lastIndexOf('/');
  if (i >= 0) p = p.slice(i + 1);
  return p === '' ? '/' : p;
}

function pathDir(p: string): string {
  const i = p.lastIndexOf('/');
  return pathClean(p.slice(0, i + 1));
}

function pathExt(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i);
  return '';
}

// ---- base32 / base64 -----------------------------------------------------------------------

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function b32enc(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i += 5) {
    const chunk = [0, 1, 2, 3, 4].map((k) => (i + k < s.length ? s.charCodeAt(i + k) : 0));
    const n = Math.min(5, s.length - i);
    let bits = 0n;
    for (const c of chunk) bits = (bits << 8n) | BigInt(c);
    const chars = [2, 4, 5, 7, 8][n - 1]!;
    for (let k = 0; k < 8; k++) out += k < chars ? B32[Number((bits >> BigInt(35 - 5 * k)) & 31n)] : '=';
  }
  return out;
}

function b32dec(s: string): string {
  // base32.StdEncoding.DecodeString: strips \r and \n, requires padding.
  const t = s.replace(/[\r\n]/g, '');
  if (t.length % 8 !== 0) return `illegal base32 data at input byte ${Math.floor(t.length / 8) * 8}`;
  let out = '';
  for (let i = 0; i < t.length; i += 8) {
    const q = t.slice(i, i + 8);
    const m = /^([A-Z2-7]*)(=*)$/.exec(q);
    const nData = m ? m[1]!.length : -1;
    if (!m || ![8, 7, 5, 4, 2].includes(nData) || (m[2]!.length > 0 && i + 8 !== t.length)) {
      let bad = 0;
      while (bad < q.length && B32.includes(q[bad]!)) bad++;
      return `illegal base32 data at input byte ${i + bad}`;
    }
    let bits = 0n;
    for (let k = 0; k < 8; k++) bits = (bits << 5n) | BigInt(k < nData ? B32.indexOf(q[k]!) : 0);
    const bytes = { 8: 5, 7: 4, 5: 3, 4: 2, 2: 1 }[nData as 8]!;
    for (let k = 0; k < bytes; k++) out += String.fromCharCode(Number((bits >> BigInt(32 - 8 * k)) & 255n));
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** base64.StdEncoding.DecodeString, ported from encoding/base64's decodeQuantum (not strict). */
/** Go's base64.StdEncoding.DecodeString: the bytes decoded before any error, and the error. */
export function b64decodeGo(src: string): { out: string; error?: string } {
  let out = '';
  let si = 0;
  const err = (n: number): string => `illegal base64 data at input byte ${n}`;
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let j = 0;
    let trailing = -1;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return { out };
        return { out, error: err(si - j) };
      }
      const ch = src[si]!;
      si++;
      const v = B64.indexOf(ch);
      if (v >= 0) {
        dbuf[j] = v;
        continue;
      }
      if (ch === '\n' || ch === '\r') {
        j--;
        continue;
      }
      if (ch !== '=') return { out, error: err(si - 1) };
      if (j === 0 || j === 1) return { out, error: err(si - 1) };
      if (j === 2) {
        while (si < src.length && (src[si] === '\n' || src[si] === '\r')) si++;
        if (si === src.length) return { out, error: err(src.length) };
        if (src[si] !== '=') return { out, error: err(si - 1) };
        si++;
      }
      while (si < src.length && (src[si] === '\n' || src[si] === '\r')) si++;
      if (si < src.length) trailing = si;
      dlen = j;
      break;
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    const bytes = [(val >> 16) & 255, (val >> 8) & 255, val & 255];
    if (dlen === 4) out += String.fromCharCode(...bytes);
    else if (dlen === 3) out += String.fromCharCode(bytes[0]!, bytes[1]!);
    else if (dlen === 2) out += String.fromCharCode(bytes[0]!);
    if (trailing >= 0) return { out, error: err(trailing) };
    if (dlen < 4) return { out };
  }
  return { out };
}

/** Sprig's b64dec: the decoded bytes, or the error's text as the result. */
function b64dec(src: string): string {
  const r = b64decodeGo(src);
  return r.error ?? r.out;
}

function b64enc(s: string): string {
  return Buffer.from(goToBytes(s)).toString('base64');
}

function hashHex(alg: string, s: string): string {
  return createHash(alg).update(goToBytes(s)).digest('hex');
}

function adler32(s: string): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < s.length; i++) {
    a = (a + s.charCodeAt(i)) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// ---- case conversions (huandu/xstrings v1.5.0) ----------------------------------------------

const isConnector = (r: number): boolean => r === 0x2d || r === 0x5f || isSpaceRune(r);

function toPascalCase(s: string): string {
  if (s.length === 0) return '';
  let out = '';
  let i = 0;
  let r0 = 0;
  let size = 0;
  let firstUpper = false;
  while (i < s.length) {
    [r0, size] = decodeRune(s, i);
    i += size;
    if (!isConnector(r0)) {
      firstUpper = isUpperR(r0);
      r0 = toUpperR(r0);
      break;
    }
    out += encodeRune(r0);
  }
  if (i >= s.length) {
    // xstrings writes the last rune again when the string ends in connectors ("-" → "--").
    if (size !== 0) out += encodeRune(r0);
    return out;
  }
  let r1 = 0;
  while (i < s.length) {
    r1 = r0;
    [r0, size] = decodeRune(s, i);
    i += size;
    if (isConnector(r0) && isConnector(r1)) {
      out += encodeRune(r1);
      continue;
    }
    if (isConnector(r1)) {
      firstUpper = isUpperR(r0);
      r0 = toUpperR(r0);
    } else {
      if (firstUpper) {
        if (isUpperR(r0)) r0 = toLowerR(r0);
        else firstUpper = false;
      }
      out += encodeRune(r1);
    }
  }
  out += encodeRune(r0);
  return out;
}

const W = { invalid: 0, number: 1, upper: 2, alphabet: 3, connector: 4, punct: 5, other: 6 } as const;
type W = (typeof W)[keyof typeof W];

function isAlphabetR(r: number): boolean {
  if (!isLetterR(r)) return false;
  if (r < 0x2e80) return true;
  // CJK ideographs, Hiragana, Katakana and Hangul are not "alphabet" in xstrings.
  return !/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(String.fromCodePoint(r));
}

function nextValidRune(s: string, i: number, prev: number): [number, number] {
  let size = 0;
  while (i + size < s.length) {
    const [r, n] = decodeRune(s, i + size);
    size += n;
    if (!(r === 0xfffd && n === 1) && r !== 0xfffd) return [r, size];
    if (r === 0xfffd && n > 1) {
      // a real U+FFFD is RuneError too
    }
  }
  return [prev, size];
}

function nextWord(s: string): [W, string, string] {
  if (s.length === 0) return [W.invalid, '', ''];
  let offset = 0;
  let rem = 0; // index into s of remaining
  let [r, size] = nextValidRune(s, 0, 0xfffd);
  offset += size;
  if (r === 0xfffd) return [W.invalid, s.slice(0, offset), s.slice(offset)];
  let wt: W;
  const adv = (): boolean => {
    if (rem >= s.length) return false;
    [r, size] = nextValidRune(s, rem, r);
    return true;
  };
  if (isConnector(r)) {
    wt = W.connector;
    rem = size;
    while (adv()) {
      if (!isConnector(r)) break;
      offset += size;
      rem += size;
    }
  } else if (isPunctR(r)) {
    wt = W.punct;
    rem = size;
    while (adv()) {
      if (!isPunctR(r)) break;
      offset += size;
      rem += size;
    }
  } else if (isUpperR(r)) {
    wt = W.upper;
    rem = size;
    if (rem < s.length) {
      adv();
      if (isUpperR(r)) {
        let prevSize = size;
        offset += size;
        rem += size;
        while (adv()) {
          if (!isUpperR(r)) break;
          prevSize = size;
          offset += size;
          rem += size;
        }
        if (rem < s.length && isAlphabetR(r)) {
          offset -= prevSize;
          rem = offset;
        }
      } else if (isAlphabetR(r)) {
        offset += size;
        rem += size;
        while (adv()) {
          if (!isAlphabetR(r) || isUpperR(r)) break;
          offset += size;
          rem += size;
        }
      }
    }
  } else if (isAlphabetR(r)) {
    wt = W.alphabet;
    rem = size;
    while (adv()) {
      if (!isAlphabetR(r) || isUpperR(r)) break;
      offset += size;
      rem += size;
    }
  } else if (isNumberR(r)) {
    wt = W.number;
    rem = size;
    while (adv()) {
      if (!isNumberR(r)) break;
      offset += size;
      rem += size;
    }
  } else {
    wt = W.other;
    rem = size;
    while (adv()) {
      if (size === 0 || isConnector(r) || isAlphabetR(r) || isNumberR(r) || isPunctR(r)) break;
      offset += size;
      rem += size;
    }
  }
  return [wt, s.slice(0, offset), s.slice(rem)];
}

function lowerWord(wt: W, word: string, connector: string): string {
  if (wt !== W.upper && wt !== W.connector) return word;
  let out = '';
  for (let i = 0; i < word.length; ) {
    const [r, n] = decodeRune(word, i);
    i += n;
    if (isConnector(r)) out += connector;
    else if (isUpperR(r)) out += encodeRune(toLowerR(r));
    else out += encodeRune(r);
  }
  return out;
}

function camelToLower(s: string, connector: string): string {
  if (s.length === 0) return '';
  let out = '';
  let [wt, word, remaining] = nextWord(s);
  while (remaining.length > 0) {
    if (wt !== W.connector) out += lowerWord(wt, word, connector);
    const prev = wt;
    const last = word;
    [wt, word, remaining] = nextWord(remaining);
    switch (prev) {
      case W.number:
        while (wt === W.alphabet || wt === W.number) {
          out += lowerWord(wt, word, connector);
          [wt, word, remaining] = nextWord(remaining);
        }
        if (wt !== W.invalid && wt !== W.punct && wt !== W.connector) out += connector;
        break;
      case W.connector:
        out += lowerWord(prev, last, connector);
        break;
      case W.punct:
        break;
      default: {
        if (wt !== W.number) {
          if (wt !== W.connector && wt !== W.punct) out += connector;
          break;
        }
        if (remaining.length === 0) break;
        const last2 = word;
        [wt, word, remaining] = nextWord(remaining);
        if (wt !== W.alphabet) {
          out += lowerWord(W.number, last2, connector);
          if (wt !== W.connector && wt !== W.punct) out += connector;
          break;
        }
        out += connector;
        out += lowerWord(W.number, last2, connector);
        while (wt === W.alphabet || wt === W.number) {
          out += lowerWord(wt, word, connector);
          [wt, word, remaining] = nextWord(remaining);
        }
        if (wt !== W.invalid && wt !== W.connector && wt !== W.punct) out += connector;
      }
    }
  }
  out += lowerWord(wt, word, connector);
  return out;
}

// ---- strings helpers (Masterminds/goutils) ----------------------------------------------------

function abbreviateFull(s: string, offset: number, maxWidth: number): string {
  if (s === '') return '';
  if (maxWidth < 4) return '';
  if (s.length <= maxWidth) return s;
  if (offset > s.length) offset = s.length;
  if (s.length - offset < maxWidth - 3) offset = s.length - (maxWidth - 3);
  if (offset <= 4) return s.slice(0, maxWidth - 3) + '...';
  if (maxWidth < 7) return '';
  if (offset + maxWidth - 3 < s.length) return '...' + abbreviateFull(s.slice(offset), 0, maxWidth - 3);
  return '...' + s.slice(s.length - (maxWidth - 3));
}

function wrapCustom(s: string, wrapLength: number, newLine: string, wrapLong: boolean): string {
  if (s === '') return '';
  if (newLine === '') newLine = '\n';
  if (wrapLength < 1) wrapLength = 1;
  const len = s.length;
  let offset = 0;
  let out = '';
  while (len - offset > wrapLength) {
    if (s[offset] === ' ') {
      offset++;
      continue;
    }
    const end = wrapLength + offset + 1;
    if (end > len) throw new FuncError('runtime error: slice bounds out of range');
    const spaceAt = s.slice(offset, end).lastIndexOf(' ') + offset;
    if (spaceAt >= offset) {
      out += s.slice(offset, spaceAt) + newLine;
      offset = spaceAt + 1;
    } else if (wrapLong) {
      out += s.slice(offset, wrapLength + offset) + newLine;
      offset += wrapLength;
    } else {
      const e = wrapLength + offset;
      const idx = s.slice(e).indexOf(' ');
      if (idx === -1) {
        out += s.slice(offset);
        offset = len;
      } else {
        out += s.slice(offset, idx + e) + newLine;
        offset = idx + e + 1;
      }
    }
  }
  return out + s.slice(offset);
}

/** Bytes taken one at a time as runes (goutils does this): a byte ≥ 0x80 becomes its Latin-1 rune. */
const byteRune = (c: number): string => encodeRune(c);

function deleteWhiteSpace(s: string): string {
  if (s === '') return s;
  let out = '';
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isSpaceRune(c)) {
      out += byteRune(c);
      count++;
    }
  }
  return count === s.length ? s : out;
}

function initials(s: string): string {
  if (s === '') return s;
  let out = '';
  let gap = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isSpaceRune(c)) gap = true;
    else if (gap) {
      out += byteRune(c);
      gap = false;
    }
  }
  return out;
}

function swapCase(s: string): string {
  if (s === '') return s;
  let ws = true;
  return runesToGo(
    runes(s).map((r) => {
      if (isUpperR(r) || isTitleR(r)) {
        ws = false;
        return toLowerR(r);
      }
      if (isLowerR(r)) {
        const out = ws ? toTitleR(r) : toUpperR(r);
        ws = false;
        return out;
      }
      ws = isSpaceRune(r);
      return r;
    }),
  );
}

function uncapitalize(s: string): string {
  if (s === '') return s;
  let next = true;
  return runesToGo(
    runes(s).map((r) => {
      if (isSpaceRune(r)) {
        next = true;
        return r;
      }
      if (next) {
        next = false;
        return toLowerR(r);
      }
      return r;
    }),
  );
}

/** strings.Title: upper-cases (title-cases) the first letter of each word. */
function title(s: string): string {
  let prev = 0x20;
  let out = '';
  for (let i = 0; i < s.length; ) {
    const [r, n] = decodeRune(s, i);
    const sep = isSeparator(prev);
    out += sep ? encodeRune(toTitleR(r)) : encodeRune(r);
    prev = r;
    i += n;
  }
  return out;
}

function isSeparator(r: number): boolean {
  if (r <= 0x7f) {
    if ((r >= 0x30 && r <= 0x39) || (r >= 0x61 && r <= 0x7a) || (r >= 0x41 && r <= 0x5a) || r === 0x5f) return false;
    return true;
  }
  if (isLetterR(r) || isDigitR(r)) return false;
  return isSpaceRune(r);
}

// ---- lists ---------------------------------------------------------------------------------

function uniqItems(items: GoValue[]): GoValue[] {
  const out: GoValue[] = [];
  for (const x of items) if (!out.some((y) => deepEqual(x, y))) out.push(x);
  return out;
}

function sortAlphaImpl(v: AnyValue): GoSlice {
  if (v instanceof GoSlice) return strList(toStrings(v).sort(compareGoStrings));
  return strList([strval(v)]);
}

function toStrings(v: AnyValue): string[] {
  if (v instanceof GoSlice) {
    if (v.elem === 'string') return [...(v.items as string[])];
    return v.items.filter((x) => x !== null).map(strval);
  }
  if (nil(v)) return [];
  return [strval(v)];
}

function mergeMaps(dst: GoMap, src: GoMap, overwrite: boolean): void {
  for (const [k, sv] of src.m) {
    // mergo skips a nil source value
    if (sv === null) continue;
    const dv = dst.m.get(k);
    if (dv instanceof GoMap && sv instanceof GoMap) {
      mergeMaps(dv, sv, overwrite);
      continue;
    }
    if (dv === undefined || empty(dv) || (overwrite && !(empty(sv) && false))) {
      if (overwrite && dv !== undefined && empty(sv) && !(sv instanceof GoMap)) {
        // mergo's WithOverwrite does not overwrite with an empty source value
        continue;
      }
      // mergo sets through reflection: an interface{} value cannot go into a map[string]string
      // (the template context), which panics in Go.
      if (dst.elem === 'string') throw new FuncError('reflect.Value.SetMapIndex: value of type interface {} is not assignable to type string');
      dst.m.set(k, sv);
    }
  }
}

// ---- url -----------------------------------------------------------------------------------

function urlParse(s: string): GoMap {
  // A subset of net/url.Parse for absolute and relative URLs: scheme://userinfo@host/path?query#fragment.
  const text = s;
  let rest = text;
  let fragment = '';
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = unescapeURL(rest.slice(hash + 1));
    rest = rest.slice(0, hash);
  }
  let scheme = '';
  const sm = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (sm) {
    scheme = sm[1]!.toLowerCase();
    rest = rest.slice(sm[0].length);
  } else if (/^[^/?]*:/.test(rest) && !rest.startsWith('/')) {
    throw new FuncError('unable to parse url: first path segment in URL cannot contain colon');
  }
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let opaque = '';
  let host = '';
  let userinfo = '';
  let path = '';
  if (scheme && !rest.startsWith('/')) {
    opaque = rest;
  } else if (rest.startsWith('//')) {
    const auth = rest.slice(2).split('/')[0]!;
    path = rest.slice(2 + auth.length);
    const at = auth.lastIndexOf('@');
    if (at >= 0) {
      userinfo = auth.slice(0, at);
      host = auth.slice(at + 1);
    } else host = auth;
    path = unescapeURL(path);
  } else path = unescapeURL(rest);
  let hostname = host;
  if (hostname.startsWith('[')) hostname = hostname.slice(1, hostname.indexOf(']') < 0 ? undefined : hostname.indexOf(']'));
  else if (hostname.includes(':')) hostname = hostname.slice(0, hostname.lastIndexOf(':'));
  const m = new Map<string, GoValue>([
    ['scheme', scheme], ['host', host], ['hostname', hostname], ['path', path], ['query', query],
    ['opaque', opaque], ['fragment', fragment], ['userinfo', userinfo],
  ]);
  return new GoMap('interface {}', m);
}

function unescapeURL(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

// ---- the map -------------------------------------------------------------------------------

function dictGetOrEmpty(d: GoMap, key: string): string {
  const v = d.m.get(key);
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new FuncError(`unable to parse ${key} key, must be of type string`);
  return v;
}

function ago(t: AnyValue, now: GoTime): string {
  let then: bigint;
  if (t instanceof GoTime) then = t.unixNano;
  else if (t instanceof GoInt && (t.t === 'int64' || t.t === 'int' || t.t === 'int32')) then = t.v * 1_000_000_000n;
  else then = now.unixNano;
  const d = now.unixNano - then;
  return durationString(roundDuration(d, 1_000_000_000n));
}

function roundDuration(d: bigint, m: bigint): bigint {
  let r = d % m;
  if (d < 0n) {
    r = -r;
    if (r + r < m) return d + r;
    return d - m + r;
  }
  if (r + r < m) return d - r;
  return d + m - r;
}

function timeArg(v: AnyValue, now: GoTime): GoTime {
  if (v instanceof GoTime) return v;
  if (v instanceof GoInt && (v.t === 'int64' || v.t === 'int' || v.t === 'int32')) return new GoTime(v.v * 1_000_000_000n, 0, 'UTC');
  return now;
}

function inZone(t: GoTime, zone: string): GoTime {
  // Local is UTC in the controller's container; other zones need a tz database (see docs).
  const z = goToText(zone);
  if (z === '' || z === 'UTC' || z === 'Local') return new GoTime(t.unixNano, 0, 'UTC');
  const offset = zoneOffsetAt(z, t.unixNano);
  if (offset === undefined) return new GoTime(t.unixNano, 0, 'UTC');
  return new GoTime(t.unixNano, offset.offset, offset.abbr);
}

function zoneOffsetAt(zone: string, unixNano: bigint): { offset: number; abbr: string } | undefined {
  try {
    const ms = Number(unixNano / 1_000_000n);
    const fmt = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    const part = fmt.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const m = /GMT([+-])(\d{2}):(\d{2})/.exec(part);
    const offset = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60) : 0;
    const short = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'short' }).formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? '';
    const abbr = /^[A-Z]{3,5}$/.test(short) ? short : formatTime(new GoTime(0n, offset, ''), '-07');
    return { offset, abbr };
  } catch {
    return undefined;
  }
}

export function sprigFuncs(opts: SprigOptions): FuncMap {
  const keygen = (name: string): KeyGenerator => {
    if (!opts.generateKey) throw new FuncError(`${name} is not supported here (no key generator)`);
    return opts.generateKey;
  };
  const givenKey = (pemText: string) => {
    try {
      return parsePrivateKeyPem(pemText);
    } catch (e) {
      throw new FuncError(`parsing private key: ${(e as Error).message}`);
    }
  };
  const certReq = (cn: string, ips: AnyValue, dns: AnyValue, daysValid: number, isCA: boolean, make: (r: CertificateRequest) => GoValue): GoValue => {
    const now = new Date(Number(opts.now().unixNano / 1_000_000n));
    return make({ cn, ips, dns, daysValid, isCA, now, random: opts.random });
  };
  const listFn = (what: string, fn: (items: GoValue[], ctx: ExecContext) => AnyValue): GoFunc =>
    f([A], ([l], ctx) => fn(listItems(l!, what), ctx));
  const must = (fn: GoFunc): GoFunc => fn;

  const m: FuncMap = {
    hello: f([], () => 'Hello!'),

    // dates
    ago: f([A], ([d]) => ago(d!, opts.now())),
    date: f([S, A], ([fmt, d]) => formatTime(inZone(timeArg(d!, opts.now()), 'UTC'), str(fmt))),
    date_in_zone: f([S, A, S], ([fmt, d, z]) => formatTime(inZone(timeArg(d!, opts.now()), str(z)), str(fmt))),
    dateInZone: f([S, A, S], ([fmt, d, z]) => formatTime(inZone(timeArg(d!, opts.now()), str(z)), str(fmt))),
    date_modify: f([S, T], ([fmt, d]) => dateModify(str(fmt), d as GoTime, false)),
    dateModify: f([S, T], ([fmt, d]) => dateModify(str(fmt), d as GoTime, false)),
    must_date_modify: f([S, T], ([fmt, d]) => dateModify(str(fmt), d as GoTime, true)),
    mustDateModify: f([S, T], ([fmt, d]) => dateModify(str(fmt), d as GoTime, true)),
    duration: f([A], ([s]) => {
      let n = 0n;
      if (typeof s === 'string') n = /^[+-]?\d+$/.test(s) && BigInt(s) < 1n << 63n && BigInt(s) >= -(1n << 63n) ? BigInt(s) : 0n;
      else if (s instanceof GoInt && s.t === 'int64') n = s.v;
      return durationString(BigInt.asIntN(64, n * 1_000_000_000n));
    }),
    durationRound: f([A], ([d]) => {
      let v = 0n;
      if (typeof d === 'string') v = parseDuration(d) ?? 0n;
      else if (d instanceof GoInt && d.t === 'int64') v = d.v;
      else if (d instanceof GoTime) v = opts.now().unixNano - d.unixNano;
      let u = v < 0n ? -v : v;
      u = BigInt.asUintN(64, u);
      const H = 3_600_000_000_000n;
      const steps: [bigint, string][] = [[H * 24n * 365n, 'y'], [H * 24n * 30n, 'mo'], [H * 24n, 'd'], [H, 'h'], [60_000_000_000n, 'm'], [1_000_000_000n, 's']];
      for (const [unit, name] of steps) if (u > unit) return `${u / unit}${name}`;
      return '0s';
    }),
    htmlDate: f([A], ([d]) => formatTime(inZone(timeArg(d!, opts.now()), 'UTC'), '2006-01-02')),
    htmlDateInZone: f([A, S], ([d, z]) => formatTime(inZone(timeArg(d!, opts.now()), str(z)), '2006-01-02')),
    mustToDate: f([S, S], ([fmt, s]) => toDate(str(fmt), str(s), true)),
    now: f([], () => opts.now()),
    toDate: f([S, S], ([fmt, s]) => toDate(str(fmt), str(s), false)),
    unixEpoch: f([T], ([d]) => {
      const t = d as GoTime;
      return (t.unixNano / 1_000_000_000n - (t.unixNano % 1_000_000_000n < 0n ? 1n : 0n)).toString();
    }),

    // strings
    abbrev: f([I, S], ([w, s]) => (num(w!) < 4 ? str(s) : abbreviateFull(str(s), 0, num(w!)))),
    abbrevboth: f([I, I, S], ([l, r, s]) => {
      const left = num(l!);
      const right = num(r!);
      if (right < 4 || (left > 0 && right < 7)) return str(s);
      return abbreviateFull(str(s), left, right);
    }),
    trunc: f([I, S], ([cv, sv]) => {
      const c = num(cv!);
      const s = str(sv);
      if (c < 0 && s.length + c > 0) return s.slice(s.length + c);
      if (c >= 0 && s.length > c) return s.slice(0, c);
      return s;
    }),
    trim: f([S], ([s]) => trimSpaceGo(str(s))),
    upper: f([S], ([s]) => mapRunes(str(s), toUpperR)),
    lower: f([S], ([s]) => mapRunes(str(s), toLowerR)),
    title: f([S], ([s]) => title(str(s))),
    untitle: f([S], ([s]) => uncapitalize(str(s))),
    substr: f([I, I, S], ([a, b, sv]) => {
      const start = num(a!);
      const end = num(b!);
      const s = str(sv);
      const bounds = (lo: number, hi: number): string => {
        if (lo < 0 || hi > s.length || lo > hi) throw new FuncError('runtime error: slice bounds out of range');
        return s.slice(lo, hi);
      };
      if (start < 0) return bounds(0, end);
      if (end < 0 || end > s.length) return bounds(start, s.length);
      return bounds(start, end);
    }),
    repeat: f([I, S], ([c, s], ctx) => {
      const n = num(c!);
      if (n < 0) throw new FuncError('strings: negative Repeat count');
      sized(ctx, n * str(s).length);
      return str(s).repeat(n);
    }),
    trimall: f([S, S], ([a, b]) => trimCutset(str(b), str(a))),
    trimAll: f([S, S], ([a, b]) => trimCutset(str(b), str(a))),
    trimSuffix: f([S, S], ([a, b]) => (str(b).endsWith(str(a)) ? str(b).slice(0, str(b).length - str(a).length) : str(b))),
    trimPrefix: f([S, S], ([a, b]) => (str(b).startsWith(str(a)) ? str(b).slice(str(a).length) : str(b))),
    nospace: f([S], ([s]) => deleteWhiteSpace(str(s))),
    initials: f([S], ([s]) => initials(str(s))),
    randAlphaNum: f([I], ([c], ctx) => randomString(num(c!), ALPHA + NUMERIC, opts.random, ctx)),
    randAlpha: f([I], ([c], ctx) => randomString(num(c!), ALPHA, opts.random, ctx)),
    randAscii: f([I], ([c], ctx) => randomString(num(c!), ASCII, opts.random, ctx)),
    randNumeric: f([I], ([c], ctx) => randomString(num(c!), NUMERIC, opts.random, ctx)),
    swapcase: f([S], ([s]) => swapCase(str(s))),
    shuffle: f([S], ([s]) => {
      const rs = runes(str(s));
      for (let i = rs.length - 1; i > 0; i--) {
        const j = randomBelow(opts.random, i + 1);
        [rs[i], rs[j]] = [rs[j]!, rs[i]!];
      }
      return runesToGo(rs);
    }),
    snakecase: f([S], ([s]) => camelToLower(str(s), '_')),
    camelcase: f([S], ([s]) => toPascalCase(str(s))),
    kebabcase: f([S], ([s]) => camelToLower(str(s), '-')),
    wrap: f([I, S], ([l, s]) => wrapCustom(str(s), num(l!), '', false)),
    wrapWith: f([I, S, S], ([l, sep, s]) => wrapCustom(str(s), num(l!), str(sep), true)),
    contains: f([S, S], ([a, b]) => str(b).includes(str(a))),
    hasPrefix: f([S, S], ([a, b]) => str(b).startsWith(str(a))),
    hasSuffix: f([S, S], ([a, b]) => str(b).endsWith(str(a))),
    quote: f([], (args) => args.filter((a) => a !== null && a !== MISSING).map((a) => quote(strval(a))).join(' '), A),
    squote: f([], (args) => args.filter((a) => a !== null && a !== MISSING).map((a) => "'" + formatValue(a) + "'").join(' '), A),
    cat: f([], (args) => args.filter((a) => a !== null && a !== MISSING).map((a) => formatValue(a)).join(' '), A),
    indent: f([I, S], ([n, s], ctx) => {
      const pad = ' '.repeat(Math.max(num(n!), 0));
      if (num(n!) < 0) throw new FuncError('strings: negative Repeat count');
      const lines = str(s).split('\n').length;
      sized(ctx, str(s).length + pad.length * lines);
      return pad + str(s).split('\n').join('\n' + pad);
    }),
    nindent: f([I, S], ([n, s], ctx) => {
      if (num(n!) < 0) throw new FuncError('strings: negative Repeat count');
      const pad = ' '.repeat(num(n!));
      sized(ctx, str(s).length + pad.length * str(s).split('\n').length);
      return '\n' + pad + str(s).split('\n').join('\n' + pad);
    }),
    replace: f([S, S, S], ([o, n, s], ctx) => {
      const old = str(o);
      const src = str(s);
      if (old === '') {
        const pieces = splitGo(src, '');
        sized(ctx, src.length + str(n).length * (pieces.length + 1));
        return str(n) + pieces.join(str(n)) + (pieces.length > 0 ? str(n) : '');
      }
      const parts = src.split(old);
      sized(ctx, src.length + str(n).length * parts.length);
      return parts.join(str(n));
    }),
    plural: f([S, S, I], ([one, many, c]) => (num(c!) === 1 ? str(one) : str(many))),
    sha1sum: f([S], ([s]) => hashHex('sha1', str(s))),
    sha256sum: f([S], ([s]) => hashHex('sha256', str(s))),
    sha512sum: f([S], ([s]) => hashHex('sha512', str(s))),
    adler32sum: f([S], ([s]) => String(adler32(str(s)))),
    toString: f([A], ([v]) => strval(v!)),

    atoi: f([S], ([s]) => {
      const m = /^[+-]?\d+$/.test(str(s)) ? BigInt(str(s)) : 0n;
      return int(m >= -(1n << 63n) && m < 1n << 63n ? m : 0n);
    }),
    int64: f([A], ([v]) => int64(toInt64(v!))),
    int: f([A], ([v]) => int(toInt64(v!))),
    float64: f([A], ([v]) => toFloat64(v!)),
    seq: f([], (params, ctx) => seq(params.map((p) => Number((p as GoInt).v)), ctx), I),
    toDecimal: f([A], ([v]) => {
      const s = formatValue(v!);
      if (!/^[+-]?[0-7]+$/.test(s) && !/^[+-]?[0-7_]+$/.test(s)) return int64(0);
      try {
        const neg = s.startsWith('-');
        const n = BigInt('0o' + s.replace(/^[+-]/, '').replace(/_/g, ''));
        const r = neg ? -n : n;
        if (r < -(1n << 63n) || r >= 1n << 63n) return int64(0);
        return int64(r);
      } catch {
        return int64(0);
      }
    }),

    split: f([S, S], ([sep, s], ctx) => {
      const parts = splitGo(str(s), str(sep));
      ctx.charge(parts.length);
      return new GoMap('string', new Map(parts.map((p, i) => [`_${i}`, p])));
    }),
    splitList: f([S, S], ([sep, s], ctx) => {
      const parts = splitGo(str(s), str(sep));
      ctx.charge(parts.length);
      return strList(parts);
    }),
    splitn: f([S, I, S], ([sep, n, s], ctx) => {
      const parts = splitGo(str(s), str(sep), num(n!));
      ctx.charge(parts.length);
      return new GoMap('string', new Map(parts.map((p, i) => [`_${i}`, p])));
    }),
    toStrings: f([A], ([v]) => strList(toStrings(v!))),

    until: f([I], ([c], ctx) => {
      const n = num(c!);
      return untilStep(0, n, n < 0 ? -1 : 1, ctx);
    }),
    untilStep: f([I, I, I], ([a, b, c], ctx) => untilStep(num(a!), num(b!), num(c!), ctx)),

    add1: f([A], ([v]) => wrap64(toInt64(v!) + 1n)),
    add: f([], (args) => wrap64(args.reduce((acc: bigint, x) => BigInt.asIntN(64, acc + toInt64(x)), 0n)), A),
    sub: f([A, A], ([a, b]) => wrap64(toInt64(a!) - toInt64(b!))),
    div: f([A, A], ([a, b]) => {
      const d = toInt64(b!);
      if (d === 0n) throw new FuncError('runtime error: integer divide by zero');
      return wrap64(toInt64(a!) / d);
    }),
    mod: f([A, A], ([a, b]) => {
      const d = toInt64(b!);
      if (d === 0n) throw new FuncError('runtime error: integer divide by zero');
      return wrap64(toInt64(a!) % d);
    }),
    mul: f([A], ([a, ...rest]) => wrap64(rest.reduce((acc: bigint, x) => BigInt.asIntN(64, acc * toInt64(x)), toInt64(a!))), A),
    randInt: f([I, I], ([a, b]) => {
      const span = num(b!) - num(a!);
      if (span <= 0) throw new FuncError('invalid argument to Intn');
      return int(randomBelow(opts.random, span) + num(a!));
    }),
    add1f: f([A], ([a]) => decimalOp(a!, [int(1)], 'add')),
    addf: f([], (args) => decimalOp(0, args, 'add'), A),
    subf: f([A], ([a, ...rest]) => decimalOp(a!, rest, 'sub'), A),
    divf: f([A], ([a, ...rest]) => decimalOp(a!, rest, 'div'), A),
    mulf: f([A], ([a, ...rest]) => decimalOp(a!, rest, 'mul'), A),
    biggest: f([A], ([a, ...rest]) => int64(rest.reduce((acc: bigint, x) => (toInt64(x) > acc ? toInt64(x) : acc), toInt64(a!))), A),
    max: f([A], ([a, ...rest]) => int64(rest.reduce((acc: bigint, x) => (toInt64(x) > acc ? toInt64(x) : acc), toInt64(a!))), A),
    min: f([A], ([a, ...rest]) => int64(rest.reduce((acc: bigint, x) => (toInt64(x) < acc ? toInt64(x) : acc), toInt64(a!))), A),
    maxf: f([A], ([a, ...rest]) => rest.reduce((acc: number, x) => goMax(acc, toFloat64(x)), toFloat64(a!)), A),
    minf: f([A], ([a, ...rest]) => rest.reduce((acc: number, x) => goMin(acc, toFloat64(x)), toFloat64(a!)), A),
    ceil: f([A], ([a]) => Math.ceil(toFloat64(a!))),
    floor: f([A], ([a]) => Math.floor(toFloat64(a!))),
    round: f([A, I], ([a, p, ...r]) => {
      const roundOn = r.length > 0 ? (r[0] as number) : 0.5;
      const val = toFloat64(a!);
      const pow = Math.pow(10, num(p!));
      const digit = pow * val;
      const frac = digit - Math.trunc(digit);
      const rounded = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
      return rounded / pow;
    }, 'float64'),

    join: f([S, A], ([sep, v], ctx) => {
      const parts = toStrings(v!);
      const out = parts.join(str(sep));
      sized(ctx, out.length);
      return out;
    }),
    sortAlpha: f([A], ([v], ctx) => {
      if (v instanceof GoSlice) ctx.charge(v.items.length * 4);
      return sortAlphaImpl(v!);
    }),

    default: f([A], ([d, ...given]) => (given.length === 0 || empty(given[0]!) ? d! : given[0]!), A),
    empty: f([A], ([v]) => empty(v!)),
    coalesce: f([], (args) => args.find((v) => !empty(v)) ?? null, A),
    all: f([], (args) => args.every((v) => !empty(v)), A),
    any: f([], (args) => args.some((v) => !empty(v)), A),
    compact: listFn('compact', (items) => anyList(items.filter((x) => !empty(x)))),
    mustCompact: listFn('compact', (items) => anyList(items.filter((x) => !empty(x)))),
    fromJson: f([S], ([s], ctx) => {
      ctx.charge(str(s).length);
      try {
        return fromJSON(str(s));
      } catch {
        return null;
      }
    }),
    toJson: f([A], ([v], ctx) => jsonOut(ctx, () => toJSON(v!, true, ''), false)),
    toPrettyJson: f([A], ([v], ctx) => jsonOut(ctx, () => toJSON(v!, true, '  '), false)),
    toRawJson: f([A], ([v], ctx) => jsonOut(ctx, () => toJSON(v!, false, ''), true)),
    mustFromJson: f([S], ([s], ctx) => {
      ctx.charge(str(s).length);
      return fromJSON(str(s));
    }),
    mustToJson: f([A], ([v], ctx) => jsonOut(ctx, () => toJSON(v!, true, ''), true)),
    mustToPrettyJson: f([A], ([v], ctx) => jsonOut(ctx, () => toJSON(v!, true, '  '), true)),
    mustToRawJson: f([A], ([v], ctx) => jsonOut(ctx, () => toJSON(v!, false, ''), true)),
    ternary: f([A, A, 'bool'], ([a, b, c]) => (c ? a! : b!)),
    deepCopy: f([A], ([v]) => {
      if (v === null || v === MISSING) throw new FuncError('deepCopy error: nil value');
      return deepCopy(v!);
    }),
    mustDeepCopy: f([A], ([v]) => (v === null || v === MISSING ? null : deepCopy(v!))),

    typeOf: f([A], ([v]) => typeName(v!)),
    typeIs: f([S, A], ([t, v]) => str(t) === typeName(v!)),
    typeIsLike: f([S, A], ([t, v]) => str(t) === typeName(v!) || '*' + str(t) === typeName(v!)),
    kindOf: f([A], ([v]) => kindName(v!)),
    kindIs: f([S, A], ([t, v]) => str(t) === kindName(v!)),
    deepEqual: f([A, A], ([a, b]) => deepEqual(a!, b!)),

    base: f([S], ([s]) => pathBase(str(s))),
    dir: f([S], ([s]) => pathDir(str(s))),
    clean: f([S], ([s]) => pathClean(str(s))),
    ext: f([S], ([s]) => pathExt(str(s))),
    isAbs: f([S], ([s]) => str(s).startsWith('/')),
    osBase: f([S], ([s]) => pathBase(str(s))),
    osClean: f([S], ([s]) => pathClean(str(s))),
    osDir: f([S], ([s]) => pathDir(str(s))),
    osExt: f([S], ([s]) => pathExt(str(s))),
    osIsAbs: f([S], ([s]) => str(s).startsWith('/')),

    b64enc: f([S], ([s], ctx) => (sized(ctx, (str(s).length * 4) / 3), b64enc(str(s)))),
    b64dec: f([S], ([s]) => b64dec(str(s))),
    b32enc: f([S], ([s], ctx) => (sized(ctx, (str(s).length * 8) / 5), b32enc(str(s)))),
    b32dec: f([S], ([s]) => b32dec(str(s))),

    tuple: f([], (args) => anyList(args.map((a) => (a === MISSING ? null : a))), A),
    list: f([], (args) => anyList(args.map((a) => (a === MISSING ? null : a))), A),
    dict: f([], (args) => {
      const d = new Map<string, GoValue>();
      for (let i = 0; i < args.length; i += 2) {
        const k = strval(args[i] === MISSING ? null : args[i]!);
        d.set(k, i + 1 < args.length ? (args[i + 1] === MISSING ? null : (args[i + 1] as GoValue)) : '');
      }
      return new GoMap('interface {}', d);
    }, A),
    get: f([M, S], ([d, k]) => {
      const v = (d as GoMap).m.get(str(k));
      return v === undefined ? '' : v;
    }),
    set: f([M, S, A], ([d, k, v]) => {
      (d as GoMap).m.set(str(k), v === MISSING ? null : v!);
      return d!;
    }),
    unset: f([M, S], ([d, k]) => {
      (d as GoMap).m.delete(str(k));
      return d!;
    }),
    hasKey: f([M, S], ([d, k]) => (d as GoMap).m.has(str(k))),
    pluck: f([S], ([k, ...ds]) => anyList(ds.flatMap((d) => ((d as GoMap).m.has(str(k)) ? [(d as GoMap).m.get(str(k))!] : []))), M),
    keys: f([], (ds) => strList(ds.flatMap((d) => [...(d as GoMap).m.keys()].sort(compareGoStrings))), M),
    pick: f([M], ([d, ...ks]) => {
      const out = new Map<string, GoValue>();
      for (const k of ks) if ((d as GoMap).m.has(str(k))) out.set(str(k), (d as GoMap).m.get(str(k))!);
      return new GoMap('interface {}', out);
    }, S),
    omit: f([M], ([d, ...ks]) => {
      const drop = new Set(ks.map(str));
      return new GoMap('interface {}', new Map([...(d as GoMap).m].filter(([k]) => !drop.has(k))));
    }, S),
    merge: f([M], ([d, ...srcs]) => {
      for (const s of srcs) mergeMaps(d as GoMap, s as GoMap, false);
      return d!;
    }, M),
    mergeOverwrite: f([M], ([d, ...srcs]) => {
      for (const s of srcs) mergeMaps(d as GoMap, s as GoMap, true);
      return d!;
    }, M),
    mustMerge: f([M], ([d, ...srcs]) => {
      for (const s of srcs) mergeMaps(d as GoMap, s as GoMap, false);
      return d!;
    }, M),
    mustMergeOverwrite: f([M], ([d, ...srcs]) => {
      for (const s of srcs) mergeMaps(d as GoMap, s as GoMap, true);
      return d!;
    }, M),
    values: f([M], ([d]) => {
      const m = (d as GoMap).m;
      return anyList([...m.keys()].sort(compareGoStrings).map((k) => m.get(k)!));
    }),

    append: f([A, A], ([l, v], ctx) => (ctx.charge(listItems(l!, 'push').length), anyList([...listItems(l!, 'push'), nv(v!)]))),
    push: f([A, A], ([l, v], ctx) => (ctx.charge(listItems(l!, 'push').length), anyList([...listItems(l!, 'push'), nv(v!)]))),
    mustAppend: f([A, A], ([l, v]) => anyList([...listItems(l!, 'push'), nv(v!)])),
    mustPush: f([A, A], ([l, v]) => anyList([...listItems(l!, 'push'), nv(v!)])),
    prepend: f([A, A], ([l, v]) => anyList([nv(v!), ...listItems(l!, 'prepend')])),
    mustPrepend: f([A, A], ([l, v]) => anyList([nv(v!), ...listItems(l!, 'prepend')])),
    first: listFn('find first', (items) => (items.length === 0 ? null : items[0]!)),
    mustFirst: listFn('find first', (items) => (items.length === 0 ? null : items[0]!)),
    rest: listFn('find rest', (items) => anyList(items.slice(1))),
    mustRest: listFn('find rest', (items) => anyList(items.slice(1))),
    last: listFn('find last', (items) => (items.length === 0 ? null : items[items.length - 1]!)),
    mustLast: listFn('find last', (items) => (items.length === 0 ? null : items[items.length - 1]!)),
    initial: listFn('find initial', (items) => anyList(items.slice(0, -1))),
    mustInitial: listFn('find initial', (items) => anyList(items.slice(0, -1))),
    reverse: listFn('find reverse', (items) => anyList([...items].reverse())),
    mustReverse: listFn('find reverse', (items) => anyList([...items].reverse())),
    uniq: listFn('find uniq', (items, ctx) => (ctx.charge(items.length * items.length), anyList(uniqItems(items)))),
    mustUniq: listFn('find uniq', (items, ctx) => (ctx.charge(items.length * items.length), anyList(uniqItems(items)))),
    without: f([A], ([l, ...omit]) => anyList(listItems(l!, 'find without').filter((x) => !omit.some((o) => deepEqual(x, o)))), A),
    mustWithout: f([A], ([l, ...omit]) => anyList(listItems(l!, 'find without').filter((x) => !omit.some((o) => deepEqual(x, o)))), A),
    has: f([A, A], ([n, h]) => {
      if (h === null || h === MISSING) return false;
      return listItems(h!, 'find has').some((x) => deepEqual(n!, x));
    }),
    mustHas: f([A, A], ([n, h]) => {
      if (h === null || h === MISSING) return false;
      return listItems(h!, 'find has').some((x) => deepEqual(n!, x));
    }),
    slice: f([A], ([l, ...ix]) => sliceList(l!, ix), A),
    mustSlice: f([A], ([l, ...ix]) => sliceList(l!, ix), A),
    concat: f([], (lists, ctx) => {
      const items: GoValue[] = [];
      for (const l of lists) {
        if (!(l instanceof GoSlice)) throw new FuncError(`Cannot concat type ${kindName(l)} as list`);
        items.push(...l.items);
        ctx.checkSize(items.length);
      }
      return anyList(items);
    }, A),
    dig: f([], (ps) => {
      if (ps.length < 3) throw new FuncError('dig needs at least three arguments');
      const d = ps[ps.length - 1];
      if (!(d instanceof GoMap) || d.elem !== 'interface {}') throw new FuncError('interface conversion: the last argument is not a map[string]interface {}');
      const def = ps[ps.length - 2]!;
      const ks = ps.slice(0, -2).map((k) => {
        if (typeof k !== 'string') throw new FuncError('interface conversion: a key is not a string');
        return k;
      });
      let cur: GoMap = d;
      for (let i = 0; i < ks.length; i++) {
        if (!cur.m.has(ks[i]!)) return def;
        const step = cur.m.get(ks[i]!)!;
        if (i === ks.length - 1) return step;
        if (!(step instanceof GoMap) || step.elem !== 'interface {}') throw new FuncError('interface conversion: a value is not a map[string]interface {}');
        cur = step;
      }
      return def;
    }, A),
    chunk: f([I, A], ([sz, l]) => chunk(num(sz!), listItems(l!, 'chunk'))),
    mustChunk: f([I, A], ([sz, l]) => chunk(num(sz!), listItems(l!, 'chunk'))),

    // crypto
    // bcrypt (cost 10) and scrypt take ~50-100 ms each: charged so that one SealedSecret can
    // afford about twenty of them within the step budget.
    bcrypt: f([S], ([s], ctx) => (ctx.charge(BCRYPT_STEPS), bcryptHash(str(s), opts.random))),
    htpasswd: f([S, S], ([u, p], ctx) => (ctx.charge(BCRYPT_STEPS), htpasswd(str(u), str(p), opts.random))),
    genPrivateKey: f([S], ([t], ctx) => (ctx.charge(str(t) === '' || str(t) === 'rsa' ? RSA4096_STEPS : KEY_STEPS), genPrivateKey(str(t), (kind, bits) => keygen('genPrivateKey')(kind, bits)))),
    derivePassword: f(['uint32', S, S, S, S], ([c, t, p, u, site], ctx) => (ctx.charge(SCRYPT_STEPS), derivePassword(num(c), str(t), str(p), str(u), str(site)))),
    buildCustomCert: f([S, S], ([c, k]) => buildCustomCert(str(c), str(k), b64decodeGo)),
    genCA: f([S, I], ([cn, d], ctx) => (ctx.charge(KEY_STEPS), certReq(str(cn), null, null, num(d), true, (r) => certificate(r, keygen('genCA')('rsa', 2048))))),
    genCAWithKey: f([S, I, S], ([cn, d, k], ctx) => (ctx.charge(SIGN_STEPS), certReq(str(cn), null, null, num(d), true, (r) => certificate(r, givenKey(str(k)))))),
    genSelfSignedCert: f([S, LIST, LIST, I], ([cn, ips, dns, d], ctx) => (ctx.charge(KEY_STEPS), certReq(str(cn), ips!, dns!, num(d), false, (r) => certificate(r, keygen('genSelfSignedCert')('rsa', 2048))))),
    genSelfSignedCertWithKey: f([S, LIST, LIST, I, S], ([cn, ips, dns, d, k], ctx) => (ctx.charge(SIGN_STEPS), certReq(str(cn), ips!, dns!, num(d), false, (r) => certificate(r, givenKey(str(k)))))),
    genSignedCert: f([S, LIST, LIST, I, A], ([cn, ips, dns, d, ca], ctx) => (ctx.charge(KEY_STEPS), certReq(str(cn), ips!, dns!, num(d), false, (r) => {
      const signer = signerOf(ca!);
      return certificate(r, keygen('genSignedCert')('rsa', 2048), signer);
    }))),
    genSignedCertWithKey: f([S, LIST, LIST, I, A, S], ([cn, ips, dns, d, ca, k], ctx) => (ctx.charge(SIGN_STEPS), certReq(str(cn), ips!, dns!, num(d), false, (r) => {
      const signer = signerOf(ca!);
      return certificate(r, givenKey(str(k)), signer);
    }))),
    encryptAES: f([S, S], ([p, t], ctx) => (sized(ctx, (str(t).length * 4) / 3 + 48), encryptAES(str(p), str(t), opts.random))),
    decryptAES: f([S, S], ([p, t], ctx) => (sized(ctx, str(t).length), decryptAES(str(p), str(t), b64decodeGo))),
    randBytes: f([I], ([c], ctx) => {
      const n = num(c!);
      if (n < 0) throw new FuncError('runtime error: makeslice: len out of range');
      sized(ctx, n * 2);
      return b64enc(bytesToGo(opts.random(n)));
    }),
    uuidv4: f([], () => {
      const b = opts.random(16);
      b[6] = (b[6]! & 0x0f) | 0x40;
      b[8] = (b[8]! & 0x3f) | 0x80;
      const h = Buffer.from(b).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }),

    semver: f([S], ([v]) => parseSemver(str(v))),
    semverCompare: f([S, S], ([c, v]) => {
      const ver = (() => {
        try {
          return parseSemver(str(v));
        } catch {
          return undefined;
        }
      })();
      // NewConstraint is parsed first: a bad constraint is reported before a bad version.
      semverCheck(str(c), new GoSemver(0n, 0n, 0n, '', '', ''));
      if (!ver) throw new FuncError('Invalid Semantic Version');
      return semverCheck(str(c), ver);
    }),

    fail: f([S], () => {
      throw new FuncError('fail was called (its message is not shown: it may hold a secret)');
    }),

    regexMatch: f([S, S], ([r, s], ctx) => {
      ctx.charge(str(s).length);
      try {
        return compileRegex(str(r), false).test(goToText(str(s)));
      } catch (e) {
        if (e instanceof FuncError && /refused|not supported/.test(e.message)) throw e;
        return false;
      }
    }),
    mustRegexMatch: f([S, S], ([r, s], ctx) => (ctx.charge(str(s).length), compileRegex(str(r), false).test(goToText(str(s))))),
    regexFindAll: f([S, S, I], ([r, s, n], ctx) => strList(regexFindAll(str(r), str(s), num(n!), ctx))),
    mustRegexFindAll: f([S, S, I], ([r, s, n], ctx) => strList(regexFindAll(str(r), str(s), num(n!), ctx))),
    regexFind: f([S, S], ([r, s], ctx) => regexFindAll(str(r), str(s), 1, ctx)[0] ?? ''),
    mustRegexFind: f([S, S], ([r, s], ctx) => regexFindAll(str(r), str(s), 1, ctx)[0] ?? ''),
    regexReplaceAll: f([S, S, S], ([r, s, p], ctx) => regexReplace(str(r), str(s), str(p), false, ctx)),
    mustRegexReplaceAll: f([S, S, S], ([r, s, p], ctx) => regexReplace(str(r), str(s), str(p), false, ctx)),
    regexReplaceAllLiteral: f([S, S, S], ([r, s, p], ctx) => regexReplace(str(r), str(s), str(p), true, ctx)),
    mustRegexReplaceAllLiteral: f([S, S, S], ([r, s, p], ctx) => regexReplace(str(r), str(s), str(p), true, ctx)),
    regexSplit: f([S, S, I], ([r, s, n], ctx) => strList(regexSplit(str(r), str(s), num(n!), ctx))),
    mustRegexSplit: f([S, S, I], ([r, s, n], ctx) => strList(regexSplit(str(r), str(s), num(n!), ctx))),
    regexQuoteMeta: f([S], ([s]) => quoteMeta(str(s))),

    urlParse: f([S], ([s]) => urlParse(str(s))),
    urlJoin: f([M], ([d]) => {
      const g = (k: string): string => dictGetOrEmpty(d as GoMap, k);
      let out = '';
      const scheme = g('scheme');
      if (scheme) out += scheme + ':';
      const opaque = g('opaque');
      if (opaque) out += opaque;
      else {
        const host = g('host');
        const user = g('userinfo');
        if (scheme || host || user) {
          if (host || g('path') || user) out += '//';
          if (user) out += user + '@';
          out += host;
        }
        let path = g('path');
        if (path && path[0] !== '/' && host) out += '/';
        if (out === '' && /^[^/]*:/.test(path)) path = './' + path;
        out += path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
      }
      if (g('query')) out += '?' + g('query');
      if (g('fragment')) out += '#' + g('fragment').replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/?]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
      return out;
    }),
  };
  void must;
  return m;
}

function nv(v: AnyValue): GoValue {
  return v === MISSING ? null : v;
}

function goMax(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.max(a, b);
}
function goMin(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.min(a, b);
}

function jsonOut(ctx: ExecContext, fn: () => string, mustThrow: boolean): string {
  try {
    const s = fn();
    ctx.checkSize(s.length);
    return s;
  } catch (e) {
    if (e instanceof FuncError && !mustThrow) return '';
    throw e;
  }
}

function sliceList(l: AnyValue, ix: AnyValue[]): AnyValue {
  if (!(l instanceof GoSlice)) {
    if (l === null || l === MISSING) throw new FuncError('slice of nil');
    throw new FuncError(`list should be type of slice or array but ${kindName(l)}`);
  }
  if (l.items.length === 0) return null;
  const start = ix.length > 0 ? Number(toInt64(ix[0]!)) : 0;
  const end = ix.length < 2 ? l.items.length : Number(toInt64(ix[1]!));
  if (start < 0 || end > l.items.length || start > end) throw new FuncError('reflect: slice index out of range');
  return new GoSlice(l.elem, l.items.slice(start, end));
}

function chunk(size: number, items: GoValue[]): GoSlice {
  // Ported with Go's float arithmetic, panics included (a size of 0 or a negative length).
  if (size === 0) throw new FuncError('runtime error: makeslice: len out of range');
  const l = items.length;
  const cs = Math.floor((l - 1) / size) + 1;
  if (cs < 0 || !Number.isFinite(cs)) throw new FuncError('runtime error: makeslice: len out of range');
  const out: GoValue[] = [];
  for (let i = 0; i < cs; i++) {
    let clen = size;
    if (i === cs - 1) {
      clen = Math.floor(l % size);
      if (clen === 0) clen = size;
    }
    if (clen < 0) throw new FuncError('runtime error: makeslice: len out of range');
    const row: GoValue[] = [];
    for (let j = 0; j < clen; j++) {
      const ix = i * size + j;
      if (ix < 0 || ix >= l) throw new FuncError('reflect: slice index out of range');
      row.push(items[ix]!);
    }
    out.push(anyList(row));
  }
  return new GoSlice('[]interface {}', out);
}

function untilStep(start: number, stop: number, step: number, ctx: ExecContext): GoSlice {
  const count = stop < start ? (step >= 0 ? 0 : Math.ceil((start - stop) / -step)) : step <= 0 ? 0 : Math.ceil((stop - start) / step);
  ctx.charge(count);
  ctx.checkSize(count);
  const v: GoValue[] = [];
  if (stop < start) {
    if (step >= 0) return new GoSlice('int', v);
    for (let i = start; i > stop; i += step) v.push(int(i));
    return new GoSlice('int', v);
  }
  if (step <= 0) return new GoSlice('int', v);
  for (let i = start; i < stop; i += step) v.push(int(i));
  return new GoSlice('int', v);
}

function seq(params: number[], ctx: ExecContext): string {
  const join = (l: GoSlice): string => l.items.map((x) => (x as GoInt).v.toString()).join(' ');
  switch (params.length) {
    case 0:
      return '';
    case 1: {
      const start = 1;
      const end = params[0]!;
      const inc = end < start ? -1 : 1;
      return join(untilStep(start, end + inc, inc, ctx));
    }
    case 2: {
      const [start, end] = params as [number, number];
      const step = end < start ? -1 : 1;
      return join(untilStep(start, end + step, step, ctx));
    }
    case 3: {
      const [start, step, end] = params as [number, number, number];
      let inc = 1;
      if (end < start) {
        inc = -1;
        if (step > 0) return '';
      }
      return join(untilStep(start, end + inc, step, ctx));
    }
  }
  return '';
}

function dateModify(fmt: string, t: GoTime, must: boolean): GoTime {
  const d = parseDuration(fmt);
  if (d === undefined) {
    if (must) throw new FuncError('time: invalid duration');
    return t;
  }
  return new GoTime(t.unixNano + d, t.offsetSec, t.zone);
}


function toDate(layout: string, value: string, must: boolean): GoTime {
  try {
    return parseTime(layout, value);
  } catch (e) {
    if (!(e instanceof TimeParseError)) throw e;
    if (must) throw new FuncError('parsing time: the value does not match the layout');
    return ZERO_TIME;
  }
}

export { sprintf };
