import { describe, expect, it } from 'vitest';
import { UserError } from './errors.ts';
import { formatJson, formatYaml, goYamlKeyCompare, parseDocuments, parseOutputFormat } from './manifest.ts';

describe('parseDocuments', () => {
  it('reads a YAML stream and skips empty documents', () => {
    expect(parseDocuments('---\na: 1\n---\n---\nb: two\n...\n')).toEqual([{ a: 1 }, { b: 'two' }]);
  });
  it('reads JSON objects one after another', () => {
    expect(parseDocuments('{"a":"}{"}\n{"b":[1,{"c":2}]} {"d":"\\"{"}')).toEqual([{ a: '}{' }, { b: [1, { c: 2 }] }, { d: '"{' }]);
  });
  it('reads 100 levels of nesting, UTF-8 bytes and a YAML alias', () => {
    expect(parseDocuments(`a: ${'['.repeat(99)}${']'.repeat(99)}\n`)).toHaveLength(1);
    expect(parseDocuments(Buffer.from('a: "é€😀"\nb: &x 1\nc: *x\n'))).toEqual([{ a: 'é€😀', b: 1, c: 1 }]);
  });
  it('reads YAML 1.2: n and yes stay strings', () => {
    expect(parseDocuments('namespace: n\nflag: yes\n')).toEqual([{ namespace: 'n', flag: 'yes' }]);
  });
  it.each([
    ['broken YAML', 'a: [1, 2\n', /^input is not valid YAML or JSON \(line \d+, column \d+\): .*; fix the manifest$/],
    ['a tab-indented map', 'a:\n\tb: 1\n', /not valid YAML or JSON/],
    ['truncated JSON', '{"a": 1', /ends in the middle of an object/],
    ['JSON with trailing garbage', '{"a": 1} x', /\(line 1, column 10\): unexpected text between objects/],
    ['an undefined YAML alias', 'a: *nowhere\n', /line 1, column 4\): an alias refers to an anchor that is not defined/],
    ['a YAML alias bomb', `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [${'*a,'.repeat(9)}]\nc: &c [${'*b,'.repeat(9)}]\nd: [${'*c,'.repeat(9)}]\n`, /aliases that expand too much.*write the values out/],
    ['200k-deep YAML flow nesting', `a: ${'['.repeat(200_000)}${']'.repeat(200_000)}\n`, /nested more than 100 levels deep/],
    ['200k-deep JSON nesting', `{"a": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`, /nested more than 100 levels deep \(line 1, column 106\)/],
    ['101-deep YAML block nesting', Array.from({ length: 101 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' v\n', /nested more than 100 levels deep/],
    ['invalid UTF-8', Buffer.from('a: ok\nb: \xff\n', 'latin1'), /^input is not valid UTF-8 \(byte 10, line 2\)/],
    ['a truncated UTF-8 sequence', Buffer.from([0x61, 0x3a, 0x20, 0xe2, 0x82]), /not valid UTF-8 \(byte 4, line 1\)/],
    ['invalid JSON', '{"a": }', /document 1 is not valid JSON/],
  ])('refuses %s with a one-line UserError', (_, text, message) => {
    let error: unknown;
    try {
      parseDocuments(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('formatJson', () => {
  it('prints like Go: two-space indent, escaped HTML characters, trailing newline', () => {
    expect(formatJson({ b: '<a&b>', a: [], c: {}, d: [1, { e: null }] })).toBe(
      '{\n  "b": "\\u003ca\\u0026b\\u003e",\n  "a": [],\n  "c": {},\n  "d": [\n    1,\n    {\n      "e": null\n    }\n  ]\n}\n',
    );
  });
  it('puts integer-like map keys in byte order as Go does', () => {
    expect(formatJson({ password: 'x', 10: 'a', 9: 'b' })).toBe('{\n  "10": "a",\n  "9": "b",\n  "password": "x"\n}\n');
  });
});

describe('formatYaml', () => {
  it('prints like Kubernetes: ---, sorted keys, unindented lists, no folding', () => {
    const long = 'A'.repeat(200);
    expect(formatYaml({ spec: { z: long, a: ['x'] }, apiVersion: 'v1', t: 'true', n: '9' })).toBe(
      `---\napiVersion: v1\nn: "9"\nspec:\n  a:\n  - x\n  z: ${long}\nt: "true"\n`,
    );
  });
  it('orders keys as go-yaml does', () => {
    const keys = ['b', '10', 'a_', 'aZ', '9', 'B', 'a', 'a.b', 'a-b'];
    expect([...keys].sort(goYamlKeyCompare)).toEqual(['9', '10', 'B', 'a', 'a-b', 'a.b', 'a_', 'aZ', 'b']);
  });
});

describe('parseOutputFormat', () => {
  it('accepts json and yaml in any case, "" as json', () => {
    expect(parseOutputFormat('YAML')).toBe('yaml');
    expect(parseOutputFormat('')).toBe('json');
    expect(() => parseOutputFormat('xml')).toThrow(/unsupported output format: xml/);
  });
});
