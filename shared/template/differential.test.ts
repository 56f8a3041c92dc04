// Differential proof: our engine against upstream's (Go text/template + Sprig v3.3.0, built from the
// Go module proxy by scripts/template-oracle-build.sh and cached). Every case must give the same
// bytes, or fail in the same keys with the same class (parse vs execution error).
import { randomBytes } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { oracleBinary, runOracle } from '../../test/template-oracle/oracle.ts';
import type { OracleCase, OracleResult } from '../../test/template-oracle/oracle.ts';
import { readFixture } from '../../test/fixtures/fixtures.ts';
import { renderTemplateData } from './index.ts';
import { platformKeyGenerator } from './unseal-renderer.ts';

const NOW = 1_700_000_000_123_456_789n; // fixed clock on both sides
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const noRandom = (n: number): Uint8Array => new Uint8Array(n);

function outcome(r: OracleResult | ReturnType<typeof renderTemplateData>): string {
  if ('ok' in r) {
    if (!r.ok) return 'errors ' + r.errors.map((e) => `${e.key}:${e.kind}`).sort().join(',');
    return 'data ' + JSON.stringify(Object.entries(r.data).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  }
  if (r.errors) return 'errors ' + r.errors.map((e) => `${e.key}:${e.kind}`).sort().join(',');
  return 'data ' + JSON.stringify(Object.entries(r.data).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
}

function compare(bin: string, cases: OracleCase[]): { mismatches: string[] } {
  const go = runOracle(bin, NOW, cases);
  const mismatches: string[] = [];
  cases.forEach((c, i) => {
    const ours = renderTemplateData({ templateData: c.templates, decrypted: c.decrypted, now: NOW, random: noRandom });
    const a = outcome(go[i]!);
    const b = outcome(ours);
    if (a !== b) {
      const detail = ours.ok ? '' : ours.errors.map((e) => e.message).join('; ');
      const goDetail = go[i]!.errors?.map((e) => e.message).join('; ') ?? '';
      mismatches.push(`${JSON.stringify(c.templates)}\n  go: ${a} ${goDetail}\n  ts: ${b} ${detail}`);
    }
  });
  return { mismatches };
}

// ---- hand-written cases from upstream's documented uses ----------------------------------------

const docCases: OracleCase[] = [
  {
    // README "Secret templating": a .dockerconfigjson built from parts
    templates: {
      '.dockerconfigjson': '{"auths":{"{{ .registry }}":{"username":"{{ .username }}","password":{{ toJson .password }},"auth":"{{ printf "%s:%s" .username .password | b64enc }}"}}}',
      registry: 'registry.example.com',
    },
    decrypted: { username: enc('robot$ci'), password: enc('p@ss"wörd\\') },
  },
  {
    // docs/examples/config-template: a JSON config with toJson-quoted secrets
    templates: {
      'myconfig.json': '{\n  "Server": [{"host": "foobar", "password": {{ toJson .server1 }}},\n             {"host": "barfoo", "password": {{ toJson .server2 }}}],\n  "Database": [{"password": {{ toJson .database1 }}}]\n}\n',
    },
    decrypted: { server1: enc('s1'), server2: enc('tab\tnew\nline'), database1: enc('<db&>') },
  },
  {
    // a DSN with plaintext parts next to an encrypted password (#1607)
    templates: {
      dsn: 'postgres://{{ .user }}:{{ .password | urlquery }}@{{ .host }}:{{ .port }}/{{ .dbname }}?sslmode=require',
      user: 'app',
      host: 'db.internal',
      port: '5432',
      dbname: 'orders',
    },
    decrypted: { password: enc('p/ss w?rd&') },
  },
  {
    // collision: the encrypted value wins in the context and in the output; null omits a key
    templates: { password: 'plaintext-loses', shown: '{{ .password }}', dropped: null, secret2: null },
    decrypted: { password: enc('enc-wins'), secret2: enc('x') },
  },
  {
    // a config file with indentation, defaults and a conditional
    templates: {
      'app.yaml': 'database:\n  url: {{ .url | quote }}\n  pool: {{ default "10" .pool }}\n{{- if .debug }}\n  debug: true\n{{- end }}\ncerts:\n{{ .cert | indent 4 }}\n',
      debug: 'yes',
    },
    decrypted: { url: enc('mysql://u:p@h/db'), cert: enc('-----BEGIN CERT-----\nAAAA\n-----END CERT-----') },
  },
  {
    // binary and invalid UTF-8 secrets keep their bytes
    templates: { copy: '{{ .bin }}', b64: '{{ .bin | b64enc }}', q: '{{ printf "%q" .bin }}', up: '{{ upper .bin }}', l: '{{ len .bin }}' },
    decrypted: { bin: new Uint8Array([0, 1, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x41]) },
  },
  { templates: { bad: '{{ .x ' }, decrypted: {} },
  { templates: { bad: '{{ nope .x }}' }, decrypted: {} },
  { templates: { bad: '{{ index .x 3 }}' }, decrypted: { x: enc('ab') } },
  { templates: { ok: 'plain text, no actions' }, decrypted: {} },
];

// ---- Sprig's crypto helpers -------------------------------------------------------------------

/** What our engine renders for one key, with the given random source (must succeed). */
function ours(template: string, decrypted: Record<string, Uint8Array>, random: (n: number) => Uint8Array): Uint8Array {
  const r = renderTemplateData({ templateData: { rendered: template }, decrypted, now: NOW, random });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.data.rendered!;
}

const counting = (): ((n: number) => Uint8Array) => {
  let next = 0;
  return (n) => Uint8Array.from({ length: n }, () => next++ & 255);
};

/** Deterministic ones (derivePassword, decryptAES of fixed ciphertexts, Sprig's failure texts): identical bytes. */
function cryptoCases(): OracleCase[] {
  const plain = { x: enc('s3cr3t ✓'), long: enc('x'.repeat(100)), bin: new Uint8Array([0, 0xff, 0x80, 0x41]) };
  const sealed = (t: string, v: Uint8Array) => ours(t, { v }, counting());
  const c1 = sealed('{{ encryptAES "pw" .v }}', plain.x);
  const c2 = sealed('{{ encryptAES "a key longer than thirty-two bytes, cut" .v }}', plain.long);
  const c3 = sealed('{{ encryptAES "" .v }}', plain.bin);
  const b64 = (bytes: number[]) => enc(Buffer.from(bytes).toString('base64'));
  return [
    {
      templates: {
        p1: '{{ derivePassword 1 "long" "password" "user" "example.com" }}',
        p2: '{{ derivePassword 7 "maximum" .pw "héllo" "site.example" }}',
        p3: '{{ derivePassword 0 "pin" "" "" "" }}',
        p4: '{{ derivePassword 4294967295 "basic" .pw .user "x" }}',
        p5: '{{ derivePassword 2 "medium" .bin "u" "s" }}',
        p6: '{{ derivePassword 4294967297 "short" "a" "b" "c" }}',
        p7: '{{ derivePassword 1 "bogus" "a" "b" "c" }}',
      },
      decrypted: { pw: enc('correct horse'), user: enc('日本'), bin: plain.bin },
    },
    { templates: { bad: '{{ derivePassword "1" "long" "a" "b" "c" }}' }, decrypted: {} },
    { templates: { bad: '{{ derivePassword (add 1 1) "long" "a" "b" "c" }}' }, decrypted: {} },
    {
      templates: {
        tooLong: '{{ bcrypt (repeat 73 "x") }}', badUser: '{{ htpasswd "a:b" "pw" }}', empty: '{{ encryptAES "k" "" }}', emptyDec: '{{ decryptAES "k" "" }}',
        d1: '{{ decryptAES "pw" .c1 }}', d2: '{{ decryptAES "a key longer than thirty-two bytes, cut" .c2 }}', d3: '{{ decryptAES "" .c3 }}',
        d1b: '{{ .c1 | decryptAES "pw" | b64enc }}',
      },
      decrypted: { c1, c2, c3 },
    },
    // the wrong password: garbage whose last byte decides the cut (or Go's panic), alike on both sides
    ...['nope', 'pw2', 'Pw', 'x', 'wrong-again', 'zz', 'q', 'k3y'].map((pw) => ({ templates: { w: `{{ decryptAES "${pw}" .c1 | b64enc }}` }, decrypted: { c1 } })),
    ...[
      enc('!!'), enc('AAAA'), b64(Array(16).fill(7)), b64(Array(20).fill(7)), b64(Array(32).fill(0)), b64([...Array(31).fill(1), 200]), enc(Buffer.from(c1).toString().slice(0, -4)),
    ].map((c) => ({ templates: { broken: '{{ decryptAES "pw" .c | b64enc }}' }, decrypted: { c } })),
    // buildCustomCert checks and returns what it is given (throwaway test key, test/fixtures/)
    {
      templates: { cc: '{{ $c := buildCustomCert (b64enc .cert) (b64enc .key) }}{{ $c.Cert }}{{ $c.Key }}' },
      decrypted: { cert: enc(readFixture('sealing-cert.pem')), key: enc(readFixture('sealing-key.pem')) },
    },
    ...['{{ buildCustomCert "!!" "" }}', '{{ buildCustomCert (b64enc "no pem") (b64enc .key) }}', '{{ buildCustomCert (b64enc .cert) "!!" }}', '{{ buildCustomCert (b64enc .cert) (b64enc .cert) }}',
      '{{ genSignedCert "x" nil nil 1 "not a certificate" }}', '{{ genCAWithKey "x" 1 "not a key" }}', '{{ genSelfSignedCert "x" (list 1) nil 1 }}', '{{ genSelfSignedCert "x" (list "300.1.2.3") nil 1 }}',
      '{{ genSelfSignedCert "x" (splitList "," "1.2.3.4") nil 1 }}', '{{ genPrivateKey "nope" }}',
    ].map((t) => ({ templates: { bad: t }, decrypted: { cert: enc(readFixture('sealing-cert.pem')), key: enc(readFixture('sealing-key.pem')) } })),
  ];
}

// ---- generated cases ------------------------------------------------------------------------

const VALUES: Uint8Array[] = [
  enc(''), enc('hello'), enc('Hello World'), enc('  padded\t\n'), enc('42'), enc('-7'), enc('3.5'), enc('0x1f'),
  enc('héllo wörld'), enc('日本語'), enc('a,b,,c'), enc('{"k":[1,"x"]}'), enc('true'), enc('snake_case-AndCamelCase2Go'),
  new Uint8Array([0xff, 0x00, 0x80, 0x41]), new Uint8Array([0xc3, 0x28]), enc('<tag a="b">&amp;</tag>'), enc('1.2.3'),
  enc('line1\nline2'), enc('$1 ${x}'),
];

const STRINGS = ['""', '"x"', '"Hello"', '"a,b"', '","', '" "', '"héllo"', '"\\u00e9\\x41"', '"\\xff"', '`raw\\n`', '"1.2.3"', '"%s"', '"-"', '"42"', '"{\\"a\\":1}"'];
const NUMBERS = ['0', '1', '2', '3', '7', '-1', '-3', '10', '1.5', '0.1', '-2.25', '1e6', '100000.0', "'a'", '0x10'];
const FIELDS = ['.a', '.b', '.c', '.plain', '.missing', '.a.x'];

const strArg = fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom('.a', '.b', '.c', '.plain', '.missing'));
const intArg = fc.constantFrom('0', '1', '2', '3', '5', '-1', '-2', '(len .a)', '(atoi .b)', '(add 1 2)', '.a');
const anyAtom = fc.oneof(fc.constantFrom(...STRINGS), fc.constantFrom(...NUMBERS), fc.constantFrom(...FIELDS), fc.constantFrom('true', 'false', 'nil', '.', '$'));

// [name, argument kinds]; s = string, i = int, a = any, l = list, d = dict
const FUNCS: Array<[string, string]> = [
  ['upper', 's'], ['lower', 's'], ['title', 's'], ['untitle', 's'], ['trim', 's'], ['b64enc', 's'], ['b64dec', 's'], ['b32enc', 's'],
  ['sha256sum', 's'], ['sha1sum', 's'], ['adler32sum', 's'], ['quote', 'a'], ['squote', 'a'], ['nospace', 's'], ['initials', 's'],
  ['swapcase', 's'], ['snakecase', 's'], ['camelcase', 's'], ['kebabcase', 's'], ['len', 'a'], ['toString', 'a'], ['toJson', 'a'],
  ['toRawJson', 'a'], ['toPrettyJson', 'a'], ['typeOf', 'a'], ['kindOf', 'a'], ['empty', 'a'], ['base', 's'], ['clean', 's'], ['ext', 's'], ['dir', 's'],
  ['html', 'a'], ['js', 'a'], ['urlquery', 'a'], ['print', 'aa'], ['println', 'a'], ['not', 'a'], ['and', 'aa'], ['or', 'aa'],
  ['eq', 'aa'], ['ne', 'aa'], ['lt', 'aa'], ['ge', 'aa'], ['trunc', 'is'], ['repeat', 'is'], ['indent', 'is'], ['nindent', 'is'],
  ['abbrev', 'is'], ['wrap', 'is'], ['substr', 'iis'], ['contains', 'ss'], ['hasPrefix', 'ss'], ['hasSuffix', 'ss'],
  ['trimAll', 'ss'], ['trimPrefix', 'ss'], ['trimSuffix', 'ss'], ['splitList', 'ss'], ['replace', 'sss'], ['default', 'aa'],
  ['coalesce', 'aa'], ['ternary', 'aab'], ['cat', 'aa'], ['add', 'aa'], ['sub', 'aa'], ['mul', 'aa'], ['div', 'aa'], ['mod', 'aa'],
  ['add1', 'a'], ['max', 'aa'], ['min', 'aa'], ['addf', 'aa'], ['mulf', 'aa'], ['subf', 'aa'], ['ceil', 'a'], ['floor', 'a'], ['round', 'ai'],
  ['int', 'a'], ['int64', 'a'], ['float64', 'a'], ['atoi', 's'], ['toDecimal', 'a'], ['seq', 'i'], ['until', 'i'],
  ['join', 'sl'], ['sortAlpha', 'l'], ['first', 'l'], ['last', 'l'], ['rest', 'l'], ['initial', 'l'], ['reverse', 'l'], ['uniq', 'l'],
  ['compact', 'l'], ['has', 'al'], ['without', 'la'], ['append', 'la'], ['prepend', 'la'], ['concat', 'll'], ['slice', 'li'], ['chunk', 'il'],
  ['toStrings', 'l'], ['hasKey', 'ds'], ['get', 'ds'], ['pick', 'ds'], ['omit', 'ds'], ['merge', 'dd'],
  ['regexMatch', 'Rs'], ['regexFind', 'Rs'], ['regexFindAll', 'Rsi'], ['regexReplaceAll', 'Rss'], ['regexSplit', 'Rsi'], ['regexQuoteMeta', 's'],
  ['semverCompare', 'Cs'], ['semver', 's'], ['fromJson', 's'], ['deepEqual', 'aa'], ['index', 'ai'], ['printf', 'Faa'],
  ['date', 'Tn'], ['htmlDate', 'n'], ['unixEpoch', 'n'], ['dateModify', 'Dn'], ['duration', 'a'], ['durationRound', 's'], ['ago', 'n'],
  ['toDate', 'Ts'], ['splitn', 'sis'], ['plural', 'ssi'], ['typeIs', 'sa'], ['kindIs', 'sa'], ['atoi', 'a'],
  ['decryptAES', 'ss'], ['buildCustomCert', 'ss'], // encryptAES and the generators are random: checked by property above
];

const listArg = fc.oneof(
  fc.array(anyAtom, { maxLength: 4 }).map((xs) => `(list ${xs.join(' ')})`),
  fc.constantFrom('(splitList "," .a)', '(until 4)', '(list)', '(keys (dict "b" 1 "a" 2) | sortAlpha)', '.a', '(list 3 1 2 1)', '(list "b" "a" "c")'),
);
const dictArg = fc.oneof(
  fc.array(fc.tuple(fc.constantFrom('"a"', '"b"', '"k"', '"é"'), anyAtom), { maxLength: 3 }).map((kv) => `(dict ${kv.map(([k, v]) => `${k} ${v}`).join(' ')})`),
  fc.constantFrom('(dict)', '(fromJson "{\\"a\\":{\\"b\\":1},\\"c\\":[1,2]}")', '.'),
);
const REGEXES = ['"[a-z]+"', '"^h"', '"(l+)"', '"[0-9]"', '","', '"o|w"', '""', '"(?i)HELLO"', '"[[:alpha:]]+"', '"\\\\s+"', '"("'];
const CONSTRAINTS = ['">=1.0.0"', '"^1.2"', '"~1.2.0"', '"1.x"', '"<2"', '">1.2.3 <1.3"', '"=1.2.3"', '"!=1.2.3"', '"1.2 - 1.4"', '"bad constraint"'];
const FORMATS = ['"%s"', '"%v"', '"%d"', '"%q"', '"%x"', '"%5s|%-4v|"', '"%05d"', '"%.2f"', '"%e"', '"%g"', '"%t"', '"%T"', '"%+d %s"', '"%c"', '"%08.3f"', '"%x %X"', '"%%"', '"%!"', '"%[2]s %[1]s"', '"%U"', '"%o %b"'];
const LAYOUTS = ['"2006-01-02"', '"2006-01-02T15:04:05Z07:00"', '"Jan 2, 2006 at 3:04pm (MST)"', '"Monday 15:04:05.000"', '"06/01/02 03PM .999999"'];

function argFor(kind: string, depth: number): fc.Arbitrary<string> {
  switch (kind) {
    case 's': return depth > 0 ? fc.oneof(strArg, expr(depth - 1).map((e) => `(${e})`)) : strArg;
    case 'i': return intArg;
    case 'b': return fc.constantFrom('true', 'false', '(empty .a)', '(eq .a "x")');
    case 'l': return listArg;
    case 'd': return dictArg;
    case 'R': return fc.constantFrom(...REGEXES);
    case 'C': return fc.constantFrom(...CONSTRAINTS);
    case 'F': return fc.constantFrom(...FORMATS);
    case 'T': return fc.constantFrom(...LAYOUTS);
    case 'n': return fc.constantFrom('now', '(now | dateModify "-90m")', '(toDate "2006-01-02" "2023-03-04")', '0', '(int64 1600000000)');
    case 'D': return fc.constantFrom('"1h"', '"-30m"', '"1.5h"', '"bad"', '"90s"');
    default: return depth > 0 ? fc.oneof(anyAtom, anyAtom, expr(depth - 1).map((e) => `(${e})`)) : anyAtom;
  }
}

const exprCache = new Map<number, fc.Arbitrary<string>>();
function expr(depth: number): fc.Arbitrary<string> {
  const cached = exprCache.get(depth);
  if (cached) return cached;
  const call = fc.constantFrom(...FUNCS).chain(([name, kinds]) =>
    fc.tuple(...[...kinds].map((k) => argFor(k, depth))).map((args) => [name, ...args].join(' ')),
  );
  // a pipeline: the last argument comes from the previous stage
  const piped = fc.tuple(argFor('a', 0), // Go's keys/values follow its random map order, and date & co read the real clock for a
  // non-time argument: those are not piped.
  fc.constantFrom(...FUNCS.filter(([, k]) => k.length >= 1 && !k.endsWith('n')))).chain(([first, [name, kinds]]) =>
    fc.tuple(...[...kinds.slice(0, -1)].map((k) => argFor(k, 0))).map((args) => `${first} | ${[name, ...args].join(' ')}`),
  );
  const a = depth > 0 ? fc.oneof({ weight: 2, arbitrary: call }, { weight: 1, arbitrary: piped }, { weight: 1, arbitrary: anyAtom }) : fc.oneof(call, anyAtom);
  exprCache.set(depth, a);
  return a;
}

const TEXTS = ['', 'x', ' ', '\n', 'key: ', ' = ', '  \n  ', 'é', '{', '}'];
const text = fc.constantFrom(...TEXTS);

function action(): fc.Arbitrary<string> {
  return fc.tuple(expr(2), fc.boolean(), fc.boolean()).map(([e, l, r]) => `{{${l ? '- ' : ' '}${e}${r ? ' -' : ' '}}}`);
}

const body: fc.Arbitrary<string> = fc.letrec<{ block: string }>((tie) => ({
  block: fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.oneof(text, action()), { minLength: 1, maxLength: 4 }).map((xs) => xs.join('')) },
    { weight: 1, arbitrary: fc.tuple(expr(1), tie('block'), tie('block')).map(([c, a, b]) => `{{ if ${c} }}${a}{{ else }}${b}{{ end }}`) },
    { weight: 1, arbitrary: fc.tuple(expr(1), tie('block'), expr(1), tie('block')).map(([c, a, c2, b]) => `{{ if ${c} }}${a}{{ else if ${c2} }}${b}{{ end }}`) },
    { weight: 1, arbitrary: fc.tuple(expr(1), tie('block')).map(([c, a]) => `{{ with ${c} }}${a}{{ . }}{{ end }}`) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.oneof(listArg, dictArg, fc.constantFrom('5', '.missing', '.a')), fc.constantFrom('', '$v := ', '$i, $v := '), tie('block'), fc.constantFrom('', '{{ break }}', '{{ continue }}', '{{ if eq (typeOf .) "int" }}{{ break }}{{ end }}'), fc.boolean()).map(
        ([l, decl, b, ctl, withElse]) => `{{ range ${decl}${l} }}[${decl.includes('$i') ? '{{ $i }}:' : ''}{{ . }}${ctl}${b}]${withElse ? '{{ else }}none' : ''}{{ end }}`,
      ),
    },
    { weight: 1, arbitrary: fc.tuple(expr(1), tie('block')).map(([e, b]) => `{{ $x := ${e} }}${b}{{ $x }}{{ $x = "r" }}{{ $x }}`) },
    { weight: 1, arbitrary: fc.tuple(tie('block'), argFor('a', 0)).map(([b, arg]) => `{{ define "T" }}<{{ . }}>${b}{{ end }}{{ template "T" ${arg} }}{{ block "B" . }}blk{{ end }}`) },
    { weight: 1, arbitrary: tie('block').map((b) => `a {{- /* note */ -}} ${b}{{/* c */}}`) },
  ),
})).block;

// Occasionally break the source to exercise parse errors.
const template = fc.tuple(body, fc.integer({ min: 0, max: 19 }), fc.nat()).map(([t, mode, at]) => {
  if (mode === 0 && t.length > 0) return t.slice(0, at % t.length);
  if (mode === 1) return t + '{{ end }}';
  if (mode === 2) return t.replace('}}', ' ) }}');
  return t;
});

const caseArb: fc.Arbitrary<OracleCase> = fc
  .tuple(
    fc.subarray(['a', 'b', 'c']),
    fc.array(fc.constantFrom(...VALUES), { minLength: 3, maxLength: 3 }),
    template,
    fc.option(template, { nil: undefined }),
    fc.constantFrom('plain value', 'dbname', '', 'é'),
    fc.boolean(),
  )
  .map(([keys, vals, t, t2, plain, withNull]) => {
    const decrypted: Record<string, Uint8Array> = {};
    keys.forEach((k, i) => (decrypted[k] = vals[i]!));
    const templates: Record<string, string | null> = { t, plain };
    if (t2 !== undefined) templates[keys.length > 0 && withNull ? keys[0]! : 't2'] = t2;
    if (withNull) templates['gone'] = null;
    return { templates, decrypted };
  });

describe('spec.template.data against upstream (Go text/template + Sprig v3.3.0)', () => {
  let bin = '';
  beforeAll(() => {
    bin = oracleBinary();
  }, 300_000);

  it('renders upstream-documented templates byte-identically', () => {
    const { mismatches } = compare(bin, docCases);
    expect(mismatches).toEqual([]);
  });

  it('renders Sprig\'s deterministic crypto helpers byte-identically (derivePassword, decryptAES, failure texts)', () => {
    const { mismatches } = compare(bin, cryptoCases());
    expect(mismatches).toEqual([]);
  }, 120_000);

  it('what our encryptAES, bcrypt and htpasswd render (random IV and salt), Go decrypts and verifies', () => {
    const values = fc.sample(fc.oneof(fc.constantFrom(...VALUES.filter((v) => v.length > 0)), fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).map(enc)), { numRuns: 12, seed: 20261202 });
    const cases: OracleCase[] = values.map((x, i) => {
      const k = enc(['pw', 'a much longer password than the thirty-two byte key', '', 'ключ'][i % 4]!);
      const random = (n: number) => new Uint8Array(randomBytes(n));
      const c = ours('{{ encryptAES .k .x }}', { k, x }, random);
      const decrypted: Record<string, Uint8Array> = { k, x, c };
      const templates: Record<string, string | null> = { dec: '{{ decryptAES .k .c }}' };
      if (isUtf8(x) && x.length <= 72) {
        decrypted.h = ours('{{ bcrypt .x }}', { x }, random);
        decrypted.line = ours('{{ htpasswd "user" .x }}', { x }, random);
        templates.check = '{{ oracleBcryptCheck .h .x }} {{ oracleBcryptCost .h }} {{ substr 0 7 .h }} {{ len .h }}';
        templates.htpasswd = '{{ $p := splitn ":" 2 .line }}{{ $p._0 }} {{ oracleBcryptCheck $p._1 .x }}';
      }
      return { templates, decrypted };
    });
    const go = runOracle(bin, NOW, cases);
    cases.forEach((c, i) => {
      const r = go[i]!;
      expect(r.errors).toBeUndefined();
      expect(Buffer.from(r.data!.dec!).equals(Buffer.from(c.decrypted.x!))).toBe(true);
      if (c.decrypted.h) {
        expect(Buffer.from(r.data!.check!).toString()).toBe('true 10 $2a$10$ 60');
        expect(Buffer.from(r.data!.htpasswd!).toString()).toBe('user true');
      }
    });
  }, 120_000);

  it('the keys and certificates our genPrivateKey, genCA, genSelfSignedCert, genSignedCert make, Go parses and verifies as Sprig\'s', () => {
    const r = renderTemplateData({
      templateData: {
        rsa: '{{ genPrivateKey "rsa" }}', ec: '{{ genPrivateKey "ecdsa" }}', ed: '{{ genPrivateKey "ed25519" }}',
        ca: '{{ $ca := genCA "my-ca" 365 }}{{ $ca.Cert }}{{ "\\x00" }}{{ $ca.Key }}{{ "\\x00" }}{{ $leaf := genSignedCert "svc.example" (list "10.0.0.1" "::1") (list "svc.example" "svc") 30 $ca }}{{ $leaf.Cert }}{{ "\\x00" }}{{ $leaf.Key }}',
        self: '{{ $c := genSelfSignedCert "self" nil (list "a.example") 7 }}{{ $c.Cert }}{{ "\\x00" }}{{ $c.Key }}',
        withKey: '{{ $k := genPrivateKey "ecdsa" }}{{ $ca := genCAWithKey "ec-ca" 10 $k }}{{ $leaf := genSignedCertWithKey "leaf" nil (list "leaf.example") 5 $ca (genPrivateKey "ed25519") }}{{ $ca.Cert }}{{ "\\x00" }}{{ $ca.Key }}{{ "\\x00" }}{{ $leaf.Cert }}{{ "\\x00" }}{{ $leaf.Key }}',
      },
      decrypted: {}, now: NOW, random: (n) => new Uint8Array(randomBytes(n)), generateKey: platformKeyGenerator,
    });
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
    const parts = (k: string) => Buffer.from(r.data[k]!).toString('latin1').split('\x00').map(enc);
    const [caCert, caKey, leafCert, leafKey] = parts('ca');
    const [selfCert, selfKey] = parts('self');
    const [ecCaCert, ecCaKey, edLeafCert, edLeafKey] = parts('withKey');
    const decrypted = { rsa: r.data.rsa!, ec: r.data.ec!, ed: r.data.ed!, caCert: caCert!, caKey: caKey!, leafCert: leafCert!, leafKey: leafKey!, selfCert: selfCert!, selfKey: selfKey!, ecCaCert: ecCaCert!, ecCaKey: ecCaKey!, edLeafCert: edLeafCert!, edLeafKey: edLeafKey! };
    const templates = {
      keys: '{{ oracleKey .rsa }} {{ oracleKey .ec }} {{ oracleKey .ed }} {{ oracleKey .caKey }} {{ oracleKey .leafKey }} {{ oracleKey .ecCaKey }} {{ oracleKey .edLeafKey }}',
      ca: '{{ oracleCert .caCert }}',
      leaf: '{{ oracleCert .leafCert }} {{ oracleVerify .leafCert .caCert }} {{ oracleKeyMatches .leafCert .leafKey }} {{ oracleKeyMatches .caCert .caKey }}',
      self: '{{ oracleCert .selfCert }} {{ oracleVerify .selfCert .selfCert }} {{ oracleKeyMatches .selfCert .selfKey }}',
      withKey: '{{ oracleCert .ecCaCert }} {{ oracleCert .edLeafCert }} {{ oracleVerify .edLeafCert .ecCaCert }} {{ oracleKeyMatches .edLeafCert .edLeafKey }}',
    };
    const go = runOracle(bin, NOW, [{ templates, decrypted }])[0]!;
    expect(go.errors).toBeUndefined();
    const text = (k: string) => Buffer.from(go.data![k]!).toString();
    expect(text('keys')).toBe('RSA-4096 ECDSA-P-256 Ed25519 RSA-2048 RSA-2048 ECDSA-P-256 Ed25519');
    const EKU = 'eku=[serverAuth clientAuth]';
    expect(text('ca')).toBe(`cn=my-ca issuer=my-ca ca=true ku=37 ${EKU} dns= ips= days=365 key=RSA-2048 sig=SHA256-RSA ski=true aki=false`);
    expect(text('leaf')).toBe(`cn=svc.example issuer=my-ca ca=false ku=5 ${EKU} dns=svc.example,svc ips=10.0.0.1,::1 days=30 key=RSA-2048 sig=SHA256-RSA ski=false aki=true ok true true`);
    expect(text('self')).toMatch(/^cn=self issuer=self ca=false ku=5 eku=\[serverAuth clientAuth\] dns=a\.example ips= days=7 key=RSA-2048 sig=SHA256-RSA ski=false aki=false ok true$/);
    expect(text('withKey')).toBe(`cn=ec-ca issuer=ec-ca ca=true ku=37 ${EKU} dns= ips= days=10 key=ECDSA-P-256 sig=ECDSA-SHA256 ski=true aki=false cn=leaf issuer=ec-ca ca=false ku=5 ${EKU} dns=leaf.example ips= days=5 key=Ed25519 sig=ECDSA-SHA256 ski=false aki=true ok true`);
  }, 120_000);

  it('renders 2,500 generated templates byte-identically or fails alike', () => {
    const cases = fc.sample(caseArb, { numRuns: 2500, seed: 20261201 });
    const { mismatches } = compare(bin, cases);
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(mismatches.length).toBe(0);
  });

  // Exploration beyond the fixed seed: TEMPLATE_FUZZ=1 (optionally TEMPLATE_FUZZ_SEED, _RUNS).
  // Opt-in so that CI stays deterministic; a mismatch it finds prints its seed to reproduce.
  it.runIf(process.env.TEMPLATE_FUZZ !== undefined || process.env.TEMPLATE_FUZZ_SEED !== undefined)('agrees on fresh random templates too (new seed each run)', () => {
    const seed = Number(process.env.TEMPLATE_FUZZ_SEED ?? Date.now() | 0);
    const cases = fc.sample(caseArb, { numRuns: Number(process.env.TEMPLATE_FUZZ_RUNS ?? 500), seed });
    const { mismatches } = compare(bin, cases);
    expect(mismatches.slice(0, 3), `seed ${seed}`).toEqual([]);
  });
});
