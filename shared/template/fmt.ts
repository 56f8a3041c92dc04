// Go's fmt (Sprint, Sprintln, Sprintf and the default %v formatting of values) and the parts of
// strconv it needs, over the value model of value.ts. Floats are formatted from their exact
// binary value (round half to even on exact ties, as strconv does), not with JS's toFixed.
import { GoInt, GoMap, GoSemver, GoSlice, GoTime, MISSING, decodeRune, encodeRune, goToText, isPrint, runes, typeName } from './value.ts';
import type { AnyValue, GoValue } from './value.ts';
import { timeString } from './time.ts';

// ---- floats --------------------------------------------------------------------------------

interface Digits {
  d: string; // decimal digits, no leading zeros ('' for zero)
  dp: number; // decimal point position: value = 0.d × 10^dp
}

function exactDigits(x: number): Digits {
  if (x === 0) return { d: '', dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (bexp === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = bexp - 1075;
  }
  let d: string;
  let dp: number;
  if (e2 >= 0) {
    d = (mant << BigInt(e2)).toString();
    dp = d.length;
  } else {
    d = (mant * 5n ** BigInt(-e2)).toString();
    dp = d.length + e2;
  }
  d = d.replace(/0+$/, '');
  return { d, dp };
}

function shortestDigits(x: number): Digits {
  if (x === 0) return { d: '', dp: 0 };
  // toExponential() without an argument gives the shortest digits that round-trip, as Go's
  // shortest formatting does.
  const [m, e] = Math.abs(x).toExponential().split('e');
  const d = m!.replace('.', '').replace(/0+$/, '');
  return { d, dp: Number(e) + 1 };
}

/** strconv's decimal.Round(nd): round half to even on an exact tie. */
function roundDigits(g: Digits, nd: number): Digits {
  if (nd < 0 || nd >= g.d.length) return g;
  const c = g.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (c === 5 && nd + 1 === g.d.length) up = nd > 0 && (g.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = c >= 5;
  if (!up) return { d: g.d.slice(0, nd).replace(/0+$/, ''), dp: g.dp };
  let i = nd - 1;
  while (i >= 0 && g.d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: g.dp + 1 };
  return { d: g.d.slice(0, i) + String.fromCharCode(g.d.charCodeAt(i) + 1), dp: g.dp };
}

function fmtE(neg: boolean, g: Digits, prec: number, ch: string): string {
  let s = neg ? '-' : '';
  s += g.d.length === 0 ? '0' : g.d[0];
  if (prec > 0) {
    s += '.';
    let i = 1;
    const m = Math.min(g.d.length, prec + 1);
    if (i < m) {
      s += g.d.slice(i, m);
      i = m;
    }
    for (; i <= prec; i++) s += '0';
  }
  s += ch;
  let exp = g.dp - 1;
  if (g.d.length === 0) exp = 0;
  s += exp < 0 ? '-' : '+';
  const a = Math.abs(exp);
  s += a < 10 ? '0' + a : String(a);
  return s;
}

function fmtF(neg: boolean, g: Digits, prec: number): string {
  let s = neg ? '-' : '';
  if (g.dp > 0) {
    const m = Math.min(g.d.length, g.dp);
    s += g.d.slice(0, m);
    for (let i = m; i < g.dp; i++) s += '0';
  } else s += '0';
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) {
      const j = g.dp + i - 1;
      s += j >= 0 && j < g.d.length ? g.d[j] : '0';
    }
  }
  return s;
}

/** strconv.FormatFloat(x, fmt, prec, 64) for fmt in e E f F g G. */
export function formatFloat(x: number, fmt: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const shortest = prec < 0;
  let g: Digits;
  if (shortest) {
    g = shortestDigits(x);
    if (fmt === 'e' || fmt === 'E') prec = Math.max(g.d.length - 1, 0);
    else if (fmt === 'f' || fmt === 'F') prec = Math.max(g.d.length - g.dp, 0);
    else prec = g.d.length;
  } else {
    g = exactDigits(x);
    if (fmt === 'e' || fmt === 'E') g = roundDigits(g, prec + 1);
    else if (fmt === 'f' || fmt === 'F') g = roundDigits(g, g.dp + prec);
    else {
      if (prec === 0) prec = 1;
      g = roundDigits(g, prec);
    }
  }
  if (fmt === 'e' || fmt === 'E') return fmtE(neg, g, prec, fmt);
  if (fmt === 'f' || fmt === 'F') return fmtF(neg, g, prec);
  let eprec = prec;
  if (eprec > g.d.length && g.d.length >= g.dp) eprec = g.d.length;
  if (shortest) eprec = 6;
  const exp = g.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (prec > g.d.length) prec = g.d.length;
    return fmtE(neg, g, prec - 1, fmt === 'g' ? 'e' : 'E');
  }
  if (prec > g.dp) prec = g.d.length;
  return fmtF(neg, g, Math.max(prec - g.dp, 0));
}

/** strconv's 'b' (mantissa p exponent) and shortest 'x'/'X' (hex mantissa p exponent) float formats. */
function floatBits(x: number, verb: string): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const neg = view.getUint32(0) >>> 31 === 1;
  const bexp = (view.getUint32(0) >>> 20) & 0x7ff;
  let mant = (BigInt(view.getUint32(0) & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  let exp = bexp - 1075;
  if (bexp === 0) exp = -1074;
  else mant |= 1n << 52n;
  if (verb === 'b') return (neg ? '-' : '') + mant.toString() + 'p' + (exp >= 0 ? '+' : '') + exp;
  if (mant === 0n) return (neg ? '-' : '') + (verb === 'x' ? '0x0p+00' : '0X0P+00');
  // normalize to 1.xxx × 2^e with the leading 1 at bit 60 (as strconv's %x)
  let e = exp;
  while (mant < 1n << 52n) {
    mant <<= 1n;
    e--;
  }
  e += 52;
  let frac = (mant & ((1n << 52n) - 1n)).toString(16).padStart(13, '0').replace(/0+$/, '');
  let s = '0x1' + (frac ? '.' + frac : '') + 'p' + (e >= 0 ? '+' : '-') + String(Math.abs(e)).padStart(2, '0');
  if (verb === 'X') s = s.toUpperCase();
  frac = '';
  return (neg ? '-' : '') + s;
}

// ---- strconv quoting -------------------------------------------------------------------------

const HEX = '0123456789abcdef';

function appendEscapedRune(r: number, quote: number, asciiOnly: boolean): string {
  if (r === quote || r === 0x5c) return '\\' + String.fromCharCode(r);
  if (asciiOnly ? r < 0x80 && isPrint(r) : isPrint(r)) return encodeRune(r);
  switch (r) {
    case 7: return '\\a';
    case 8: return '\\b';
    case 12: return '\\f';
    case 10: return '\\n';
    case 13: return '\\r';
    case 9: return '\\t';
    case 11: return '\\v';
  }
  if (r < 0x20 || r === 0x7f) return '\\x' + HEX[r >> 4] + HEX[r & 15];
  if (r > 0x10ffff) r = 0xfffd;
  if (r < 0x10000) return '\\u' + r.toString(16).padStart(4, '0');
  return '\\U' + r.toString(16).padStart(8, '0');
}

/** strconv.Quote / QuoteToASCII over a Go string (bytes). */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (let i = 0; i < s.length; ) {
    const [r, n] = decodeRune(s, i);
    if (r === 0xfffd && n === 1 && !(s.charCodeAt(i) === 0xef)) {
      out += '\\x' + HEX[s.charCodeAt(i) >> 4] + HEX[s.charCodeAt(i) & 15];
      i++;
      continue;
    }
    if (r === 0xfffd && n === 1) {
      out += '\\x' + HEX[s.charCodeAt(i) >> 4] + HEX[s.charCodeAt(i) & 15];
      i++;
      continue;
    }
    out += appendEscapedRune(r, 0x22, asciiOnly);
    i += n;
  }
  return out + '"';
}

export function quoteRune(r: number, asciiOnly = false): string {
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff) || r < 0) r = 0xfffd;
  return "'" + appendEscapedRune(r, 0x27, asciiOnly) + "'";
}

function canBackquote(s: string): boolean {
  for (let i = 0; i < s.length; ) {
    const [r, n] = decodeRune(s, i);
    if (r === 0xfffd && n === 1) return false;
    if ((r < 0x20 && r !== 9) || r === 0x60 || r === 0x7f || r === 0xfeff) return false;
    i += n;
  }
  return true;
}

// ---- fmt -------------------------------------------------------------------------------------

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  wid?: number;
  prec?: number;
}

const noFlags = (): Flags => ({ plus: false, minus: false, sharp: false, space: false, zero: false });

function runeCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; ) {
    i += decodeRune(s, i)[1];
    n++;
  }
  return n;
}

function pad(s: string, f: Flags, zeroOk = false): string {
  if (f.wid === undefined) return s;
  const n = f.wid - runeCount(s);
  if (n <= 0) return s;
  if (f.minus) return s + ' '.repeat(n);
  return (zeroOk && f.zero ? '0' : ' ').repeat(n) + s;
}

function fmtInteger(v: bigint, signed: boolean, verb: string, f: Flags): string {
  const neg = signed && v < 0n;
  let a = neg ? -v : v;
  if (verb === 'c') return pad(encodeRune(Number(a > 0x10ffffn ? 0xfffdn : v)), f);
  if (verb === 'q') return pad(quoteRune(Number(a > 0x10ffffn || neg ? 0xfffdn : a), f.plus), f);
  if (verb === 'U') {
    // Go formats %U of the value as a uint64 (so -1 is U+FFFFFFFFFFFFFFFF).
    a = BigInt.asUintN(64, v);
    let s = 'U+' + a.toString(16).toUpperCase().padStart(4, '0');
    if (f.sharp && a <= 0x10ffffn && isPrint(Number(a))) s += " '" + encodeRune(Number(a)) + "'";
    return pad(s, f);
  }
  const base = verb === 'b' ? 2 : verb === 'o' || verb === 'O' ? 8 : verb === 'x' || verb === 'X' ? 16 : 10;
  let digits = a === 0n && f.prec === 0 ? '' : a.toString(base);
  if (verb === 'X') digits = digits.toUpperCase();
  let prec = f.prec;
  if (prec === undefined && f.zero && !f.minus && f.wid !== undefined) {
    prec = f.wid;
    if (neg || f.plus || f.space) prec--;
    if (f.sharp && (base === 16 || base === 2)) prec -= 2;
    if ((f.sharp && base === 8) || verb === 'O') prec -= verb === 'O' ? 2 : 0;
  }
  if (prec !== undefined && digits.length < prec) digits = '0'.repeat(prec - digits.length) + digits;
  if (f.sharp) {
    if (base === 8 && digits[0] !== '0') digits = '0' + digits;
    else if (base === 16) digits = (verb === 'X' ? '0X' : '0x') + digits;
    else if (base === 2) digits = '0b' + digits;
  }
  if (verb === 'O') digits = '0o' + digits;
  if (neg) digits = '-' + digits;
  else if (f.plus) digits = '+' + digits;
  else if (f.space) digits = ' ' + digits;
  a = 0n;
  const g = { ...f, zero: false };
  return pad(digits, g);
}

function fmtFloatVerb(x: number, verb: string, f: Flags): string {
  let fc = verb;
  let prec = -1;
  if (verb === 'v') fc = 'g';
  else if (verb === 'f' || verb === 'F' || verb === 'e' || verb === 'E') prec = 6;
  if (f.prec !== undefined) prec = f.prec;
  let num = formatFloat(x, fc === 'F' ? 'f' : fc, prec);
  if (num[0] !== '-' && num[0] !== '+') num = '+' + num;
  if (f.space && num[0] === '+' && !f.plus) num = ' ' + num.slice(1);
  if (num === '+Inf' || num === '-Inf' || num === '+NaN' || num === 'NaN') {
    if (num === '+NaN') num = 'NaN';
    const g = { ...f, zero: false };
    return pad(f.plus || num[0] !== '+' ? num : num.slice(1), g);
  }
  if (f.plus || num[0] !== '+') {
    if (f.zero && !f.minus && f.wid !== undefined && f.wid > num.length) return num[0] + '0'.repeat(f.wid - num.length) + num.slice(1);
    return pad(num, f);
  }
  const body = num.slice(1);
  return pad(body, f, true);
}

function fmtStringVerb(s: string, verb: string, f: Flags): string {
  if (verb === 'x' || verb === 'X') {
    let b = s;
    if (f.prec !== undefined && f.prec < b.length) b = b.slice(0, f.prec);
    const h = verb === 'x' ? HEX : HEX.toUpperCase();
    const parts: string[] = [];
    for (let i = 0; i < b.length; i++) {
      const c = b.charCodeAt(i);
      parts.push((f.sharp && (f.space || i === 0) ? (verb === 'x' ? '0x' : '0X') : '') + h[c >> 4] + h[c & 15]);
    }
    return pad(parts.join(f.space ? ' ' : ''), f);
  }
  if (verb === 'q') {
    let b = s;
    if (f.prec !== undefined) b = truncRunes(b, f.prec);
    if (f.sharp && canBackquote(b)) return pad('`' + b + '`', f);
    return pad(quote(b, f.plus), f);
  }
  let b = s;
  if (f.prec !== undefined) b = truncRunes(b, f.prec);
  return pad(b, f, true);
}

function truncRunes(s: string, n: number): string {
  let i = 0;
  for (let k = 0; k < n && i < s.length; k++) i += decodeRune(s, i)[1];
  return s.slice(0, i);
}

function badVerb(v: AnyValue, verb: string, f: Flags = noFlags()): string {
  // Go prints the operand with %v and the verb's flags, width and precision.
  if (v === null || v === MISSING) return `%!${verb}(<nil>)`;
  return `%!${verb}(${typeName(v)}=${formatArg(v, 'v', f, 1)})`;
}

function formatArg(v: AnyValue, verb: string, f: Flags, depth: number): string {
  if (verb === 'T') return pad(typeName(v), f);
  if (v === null || v === MISSING) {
    if (verb === 'v') return pad(depth > 0 ? '<nil>' : '<nil>', f);
    return badVerb(v, verb, f);
  }
  if (typeof v === 'boolean') {
    if (verb === 'v' || verb === 't') return pad(String(v), f);
    return badVerb(v, verb, f);
  }
  if (typeof v === 'number') {
    if ('vbgGxXfFeE'.includes(verb)) {
      if ((verb === 'b' || verb === 'x' || verb === 'X') && f.prec === undefined) return pad(floatBits(v, verb), f);
      if (verb === 'b' || verb === 'x' || verb === 'X') return badVerb(v, verb, f); // hex floats with a precision: not implemented
      return fmtFloatVerb(v, verb, f);
    }
    return badVerb(v, verb, f);
  }
  if (v instanceof GoInt) {
    if ('vdbOoxXcqU'.includes(verb)) {
      if (verb === 'v' && f.sharp && false) return '';
      return fmtInteger(v.v, !v.t.startsWith('u'), verb === 'v' ? 'd' : verb, f);
    }
    return badVerb(v, verb, f);
  }
  if (typeof v === 'string') {
    if (verb === 'v' && f.sharp) return pad(quote(v), f);
    if ('vsxXq'.includes(verb)) return fmtStringVerb(v, verb === 'v' ? 's' : verb, f);
    return badVerb(v, verb, f);
  }
  if (v instanceof GoTime || v instanceof GoSemver) {
    if ('vsxXq'.includes(verb)) return fmtStringVerb(v instanceof GoTime ? timeString(v) : v.toString(), verb === 'v' ? 's' : verb, f);
    return badVerb(v, verb, f);
  }
  if (v instanceof GoSlice) {
    if (v.elem === 'uint8' && 'sxXq'.includes(verb)) {
      return fmtStringVerb(v.items.map((b) => String.fromCharCode(Number((b as GoInt).v))).join(''), verb, f);
    }
    const inner = { ...f, wid: f.wid, prec: f.prec };
    return '[' + v.items.map((e) => formatArg(e, verb, inner, depth + 1)).join(' ') + ']';
  }
  if (v instanceof GoMap) {
    const keys = [...v.m.keys()].sort(compareGoStrings);
    return 'map[' + keys.map((k) => formatArg(k, verb, f, depth + 1) + ':' + formatArg(v.m.get(k)!, verb, f, depth + 1)).join(' ') + ']';
  }
  return '';
}

/** Go orders strings by bytes; our strings hold one byte per char code, so plain < is right. */
export function compareGoStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(args: AnyValue[]): string {
  let s = '';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') s += ' ';
    s += formatArg(a, 'v', noFlags(), 0);
  }
  return s;
}

export function sprintln(args: AnyValue[]): string {
  return args.map((a) => formatArg(a, 'v', noFlags(), 0)).join(' ') + '\n';
}

/** The default format (%v) of one value. */
export function formatValue(v: AnyValue): string {
  return formatArg(v, 'v', noFlags(), 0);
}

export interface SprintfLimits {
  /** Largest width or precision allowed (a guard against "%999999999d"). */
  maxWidth: number;
}

export function sprintf(format: string, args: AnyValue[], limits: SprintfLimits): string {
  let out = '';
  let argNum = 0;
  let reordered = false;
  const end = format.length;
  let i = 0;
  while (i < end) {
    const lasti = i;
    while (i < end && format[i] !== '%') i++;
    if (i > lasti) out += format.slice(lasti, i);
    if (i >= end) break;
    i++; // skip %
    const f = noFlags();
    for (; i < end; i++) {
      const c = format[i];
      if (c === '#') f.sharp = true;
      else if (c === '0') f.zero = !f.minus;
      else if (c === '+') f.plus = true;
      else if (c === '-') {
        f.minus = true;
        f.zero = false;
      } else if (c === ' ') f.space = true;
      else break;
    }
    // argument index [n]
    const argIndex = (): boolean => {
      if (i < end && format[i] === '[') {
        reordered = true;
        const close = format.indexOf(']', i);
        const n = close < 0 ? NaN : Number(format.slice(i + 1, close));
        if (close < 0 || !/^\d+$/.test(format.slice(i + 1, close)) || n < 1 || n > args.length) {
          i = close < 0 ? end : close + 1;
          return false;
        }
        argNum = n - 1;
        i = close + 1;
      }
      return true;
    };
    let goodArgNum = argIndex();
    const parseNum = (): number | undefined => {
      const st = i;
      while (i < end && format[i]! >= '0' && format[i]! <= '9') i++;
      if (i === st) return undefined;
      const n = Number(format.slice(st, i));
      if (n > limits.maxWidth) throw new WidthLimit();
      return n;
    };
    if (i < end && format[i] === '*') {
      i++;
      const a = args[argNum];
      argNum++;
      if (a instanceof GoInt) {
        let w = Number(a.v);
        if (w < 0) {
          f.minus = true;
          f.zero = false;
          w = -w;
        }
        if (w > limits.maxWidth) throw new WidthLimit();
        f.wid = w;
      } else out += '%!(BADWIDTH)';
      goodArgNum = goodArgNum && argIndex();
    } else {
      f.wid = parseNum();
    }
    if (i + 1 <= end && format[i] === '.') {
      i++;
      goodArgNum = goodArgNum && argIndex();
      if (i < end && format[i] === '*') {
        i++;
        const a = args[argNum];
        argNum++;
        if (a instanceof GoInt && a.v >= 0n) {
          if (Number(a.v) > limits.maxWidth) throw new WidthLimit();
          f.prec = Number(a.v);
        } else {
          out += '%!(BADPREC)';
        }
        goodArgNum = goodArgNum && argIndex();
      } else {
        f.prec = parseNum() ?? 0;
      }
    }
    if (!goodArgNum || true) goodArgNum = goodArgNum && argIndex();
    if (i >= end) {
      out += '%!(NOVERB)';
      break;
    }
    const [r, size] = decodeRune(format, i);
    const verb = encodeRune(r);
    i += size;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (!goodArgNum) {
      out += `%!${verb}(BADINDEX)`;
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    if (verb === 'w') {
      out += badVerb(args[argNum]!, verb);
      argNum++;
      continue;
    }
    out += formatArg(args[argNum]!, verb, f, 0);
    argNum++;
  }
  if (!reordered && argNum < args.length) {
    out += '%!(EXTRA ';
    out += args
      .slice(argNum)
      .map((a) => (a === null || a === MISSING ? '<nil>' : typeName(a) + '=' + formatArg(a, 'v', noFlags(), 0)))
      .join(', ');
    out += ')';
  }
  return out;
}

/** Thrown when a printf width or precision is beyond the render limits. */
export class WidthLimit extends Error {
  constructor() {
    super('printf width or precision too large');
  }
}

export function goValueString(v: GoValue): string {
  return formatValue(v);
}

// Re-exported for the sprig functions that format runes.
export { runes, goToText };
