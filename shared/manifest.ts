/**
 * Reading and printing manifests the way kubectl and upstream kubeseal do.
 *
 * Input is a YAML stream (documents separated by ---) or JSON values one after another; empty
 * documents are skipped. YAML is read with the 1.2 core schema: unlike Kubernetes' YAML 1.1
 * decoder, `namespace: n` stays "n" instead of becoming "false".
 *
 * Output is Go's: JSON indented by two spaces with <, > and & escaped and map keys in byte order,
 * then a newline; YAML with every map's keys in go-yaml's order, lists not indented under their
 * key, no line folding, and "---\n" first.
 */
import { isScalar, parseAllDocuments, stringify, type Pair } from 'yaml';
import { UserError } from './errors.ts';

/** Split a text of concatenated JSON values ("{...}{...}", whitespace between) into its values. */
function splitJsonStream(text: string): string[] {
  const values: string[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) values.push(text.slice(start, i + 1));
      if (depth < 0) throw new UserError('input is not valid JSON: unbalanced brackets; pass a Secret manifest in YAML or JSON');
    } else if (depth === 0 && !/\s/.test(c as string)) {
      throw new UserError(`input is not valid JSON: unexpected "${c}" between objects; pass a Secret manifest in YAML or JSON`);
    }
  }
  if (depth !== 0 || inString) throw new UserError('input is not valid JSON: it ends in the middle of an object; pass a complete manifest');
  return values;
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? '';
}

/**
 * Parse every non-empty document of `text`. `what` names the input in errors ("input", a file name).
 * Throws a one-line UserError for anything that is neither YAML nor JSON.
 */
export function parseDocuments(text: string, what = 'input'): unknown[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    return splitJsonStream(text).map((json, index) => {
      try {
        return JSON.parse(json) as unknown;
      } catch (error) {
        throw new UserError(`${what} document ${index + 1} is not valid JSON (${firstLine((error as Error).message)}); fix the manifest`);
      }
    });
  }
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const values: unknown[] = [];
  for (const doc of list) {
    const problem = doc.errors[0];
    if (problem !== undefined) {
      const line = text.slice(0, problem.pos[0]).split('\n').length;
      throw new UserError(`${what} is not valid YAML or JSON (line ${line}): ${firstLine(problem.message)}; fix the manifest`);
    }
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

const INTEGER_KEY = /^(?:0|[1-9]\d*)$/;
const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Objects keep their key order (callers build structs in Go's field order and maps sorted), except
 * that JavaScript always lists integer-like keys first: an object with such a key can only be a
 * map (no struct field looks like a number), so its keys are put in byte order, as Go prints maps.
 */
function writeJson(value: unknown, indent: string): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + writeJson(item, inner)).join(',\n')}\n${indent}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).filter((key) => record[key] !== undefined);
  if (keys.length === 0) return '{}';
  if (keys.some((key) => INTEGER_KEY.test(key))) keys.sort(byteOrder);
  const members = keys.map((key) => `${inner}${JSON.stringify(key)}: ${writeJson(record[key], inner)}`);
  return `{\n${members.join(',\n')}\n${indent}}`;
}

/** Go's json.MarshalIndent(v, "", "  ") plus a newline, with <, >, & and U+2028/9 escaped as Go does. */
export function formatJson(value: unknown): string {
  const json = writeJson(value, '')
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return `${json}\n`;
}

const isLetter = (c: string): boolean => /\p{L}/u.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';

/**
 * go-yaml's key order (yaml.v2 sorter.go): letters compare as characters, runs of digits compare
 * as numbers ("9" before "10"), and other characters sort before letters.
 */
export function goYamlKeyCompare(a: string, b: string): number {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ac = ar[i] as string;
    const bc = br[i] as string;
    if (ac === bc) continue;
    const al = isLetter(ac);
    const bl = isLetter(bc);
    if (al && bl) return byteOrder(ac, bc);
    if (al || bl) return bl ? -1 : 1;
    let an = 0;
    let bn = 0;
    if (ac === '0' || bc === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j] as string); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai] as string); ai++) an = an * 10 + Number(ar[ai]);
    for (; bi < br.length && isDigit(br[bi] as string); bi++) bn = bn * 10 + Number(br[bi]);
    if (an !== bn) return an < bn ? -1 : 1;
    if (ai !== bi) return ai < bi ? -1 : 1;
    return byteOrder(ac, bc);
  }
  return ar.length - br.length;
}

const keyText = (pair: Pair): string => String(isScalar(pair.key) ? pair.key.value : pair.key);

/** YAML as Kubernetes' Go serializer prints it, one document starting with "---". */
export function formatYaml(value: unknown): string {
  const body = stringify(value, {
    sortMapEntries: (a, b) => goYamlKeyCompare(keyText(a), keyText(b)),
    lineWidth: 0,
    indentSeq: false,
  });
  return `---\n${body}`;
}

export type OutputFormat = 'json' | 'yaml';

/** Parse -o/--format as upstream: case-insensitive json or yaml; "" means json. */
export function parseOutputFormat(value: string): OutputFormat {
  const lower = value.toLowerCase();
  if (lower === '' || lower === 'json') return 'json';
  if (lower === 'yaml') return 'yaml';
  throw new UserError(`unsupported output format: ${value}; use -o json or -o yaml`);
}

export function formatManifest(value: unknown, format: OutputFormat): string {
  return format === 'yaml' ? formatYaml(value) : formatJson(value);
}
