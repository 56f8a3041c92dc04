// Go values as the template engine sees them. Invariants:
// - A Go string is a JS string whose every char code is one byte (0..255): the raw bytes, never
//   decoded. len, index, slice and output are then byte-exact, and invalid UTF-8 survives untouched
//   until a function that works on runes (upper, title, ...) decodes it as Go would (U+FFFD).
// - Integers carry their Go type (int, int64, uint8, ...) because text/template checks argument
//   types: `repeat (add 1 2) "x"` fails upstream (int64 is not int), and so must here.
// - float64 is a JS number; bool is boolean; a nil interface is null; MISSING is Go's invalid
//   reflect.Value (a missing map key), which prints "<no value>".

export const MISSING: unique symbol = Symbol('no value');
export type Missing = typeof MISSING;

export type IntType = 'int' | 'int64' | 'int32' | 'uint8' | 'uint32' | 'uint' | 'uint64';

export class GoInt {
  readonly t: IntType;
  readonly v: bigint;
  constructor(t: IntType, v: bigint) {
    this.t = t;
    this.v = v;
  }
}

export class GoSlice {
  readonly elem: string; // Go element type name: 'interface {}', 'string', 'int'
  readonly items: GoValue[];
  constructor(elem: string, items: GoValue[]) {
    this.elem = elem;
    this.items = items;
  }
}

export class GoMap {
  readonly elem: 'string' | 'interface {}';
  readonly m: Map<string, GoValue>;
  constructor(elem: 'string' | 'interface {}', m: Map<string, GoValue>) {
    this.elem = elem;
    this.m = m;
  }
}

/** time.Time: an instant with the fixed zone it is shown in. */
export class GoTime {
  readonly unixNano: bigint;
  readonly offsetSec: number;
  readonly zone: string;
  constructor(unixNano: bigint, offsetSec: number, zone: string) {
    this.unixNano = unixNano;
    this.offsetSec = offsetSec;
    this.zone = zone;
  }
}

/** *semver.Version (Masterminds/semver/v3). */
export class GoSemver {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly pre: string;
  readonly metadata: string;
  readonly original: string;
  constructor(major: bigint, minor: bigint, patch: bigint, pre: string, metadata: string, original: string) {
    this.major = major;
    this.minor = minor;
    this.patch = patch;
    this.pre = pre;
    this.metadata = metadata;
    this.original = original;
  }
  toString(): string {
    let s = `${this.major}.${this.minor}.${this.patch}`;
    if (this.pre) s += '-' + this.pre;
    if (this.metadata) s += '+' + this.metadata;
    return s;
  }
}

export type GoValue = string | number | boolean | null | GoInt | GoSlice | GoMap | GoTime | GoSemver;
export type AnyValue = GoValue | Missing;

export const int = (v: bigint | number): GoInt => new GoInt('int', BigInt.asIntN(64, BigInt(v)));
export const int64 = (v: bigint | number): GoInt => new GoInt('int64', BigInt.asIntN(64, BigInt(v)));

export function typeName(v: AnyValue): string {
  if (v === MISSING || v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof GoInt) return v.t;
  if (v instanceof GoSlice) return '[]' + v.elem;
  if (v instanceof GoMap) return 'map[string]' + v.elem;
  if (v instanceof GoTime) return 'time.Time';
  return '*semver.Version';
}

export function kindName(v: AnyValue): string {
  if (v === MISSING || v === null) return 'invalid';
  if (v instanceof GoSlice) return 'slice';
  if (v instanceof GoMap) return 'map';
  if (v instanceof GoTime) return 'struct';
  if (v instanceof GoSemver) return 'ptr';
  return typeName(v);
}

/** text/template's truth: false, 0, nil, empty string/slice/map and a missing value are false. */
export function isTrue(v: AnyValue): boolean {
  if (v === MISSING || v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'boolean') return v;
  if (v instanceof GoInt) return v.v !== 0n;
  if (v instanceof GoSlice) return v.items.length > 0;
  if (v instanceof GoMap) return v.m.size > 0;
  return true;
}

// ---- bytes <-> text --------------------------------------------------------------------------

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

export function bytesToGo(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

export function goToBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** Go string (bytes) → JS text, invalid UTF-8 becoming U+FFFD as Go's range-over-string does. */
export function goToText(s: string): string {
  // Fast path: pure ASCII is the same in both.
  if (!/[^\x00-\x7f]/.test(s)) return s;
  return utf8Decoder.decode(goToBytes(s));
}

/** JS text → Go string (its UTF-8 bytes); lone surrogates become U+FFFD as in Go. */
export function textToGo(t: string): string {
  if (!/[^\x00-\x7f]/.test(t)) return t;
  return bytesToGo(utf8Encoder.encode(t));
}

/** The runes of a Go string, as Go decodes them (each invalid byte is one U+FFFD). */
export function runes(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    const [r, n] = decodeRune(s, i);
    out.push(r);
    i += n;
  }
  return out;
}

/** utf8.DecodeRuneInString at byte offset i: [rune, size]; invalid → [0xFFFD, 1]. */
export function decodeRune(s: string, i: number): [number, number] {
  const c0 = s.charCodeAt(i);
  if (c0 < 0x80) return [c0, 1];
  const cont = (k: number): number => {
    const c = s.charCodeAt(i + k);
    return i + k < s.length && (c & 0xc0) === 0x80 ? c & 0x3f : -1;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    const c1 = cont(1);
    if (c1 >= 0) return [((c0 & 0x1f) << 6) | c1, 2];
  } else if (c0 >= 0xe0 && c0 <= 0xef) {
    const c1 = cont(1);
    const c2 = cont(2);
    const b1 = s.charCodeAt(i + 1);
    const okRange = c0 === 0xe0 ? b1 >= 0xa0 : c0 === 0xed ? b1 <= 0x9f : true;
    if (c1 >= 0 && okRange && c2 >= 0) return [((c0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
  } else if (c0 >= 0xf0 && c0 <= 0xf4) {
    const c1 = cont(1);
    const c2 = cont(2);
    const c3 = cont(3);
    const b1 = s.charCodeAt(i + 1);
    const okRange = c0 === 0xf0 ? b1 >= 0x90 : c0 === 0xf4 ? b1 <= 0x8f : true;
    if (c1 >= 0 && okRange && c2 >= 0 && c3 >= 0) return [((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
  }
  return [0xfffd, 1];
}

export function encodeRune(r: number): string {
  if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  if (r < 0x80) return String.fromCharCode(r);
  return textToGo(String.fromCodePoint(r));
}

export function runesToGo(rs: number[]): string {
  let s = '';
  for (const r of rs) s += encodeRune(r);
  return s;
}

/** unicode.IsPrint, approximated with JS's Unicode property classes (L, M, N, P, S, and U+0020). */
export function isPrint(r: number): boolean {
  if (r === 0x20) return true;
  if (r < 0x20 || (r >= 0x7f && r < 0xa0) || r === 0xfffd + 0x10000) return false;
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return false;
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(String.fromCodePoint(r));
}

export function isSpaceRune(r: number): boolean {
  // unicode.IsSpace
  return (r >= 0x09 && r <= 0x0d) || r === 0x20 || r === 0x85 || r === 0xa0 || r === 0x1680 ||
    (r >= 0x2000 && r <= 0x200a) || r === 0x2028 || r === 0x2029 || r === 0x202f || r === 0x205f || r === 0x3000;
}
