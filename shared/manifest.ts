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
import { Composer, isAlias, isCollection, isPair, isScalar, Parser, stringify, visit, type Document, type Pair } from 'yaml';
import { UserError } from './errors.ts';
import { MAX_DOCUMENTS, MAX_NESTING_DEPTH, MAX_YAML_ALIASES } from './input-limits.ts';
import { invalidUtf8Offset, jsonProblem, position, yamlProblem } from './untrusted.ts';

/**
 * Every error of this module is built from positions and our own words (shared/untrusted.ts):
 * parser messages quote the input and are never passed on.
 */
const FIX = 'fix the manifest';

function tooDeep(what: string, where: string): UserError {
  return new UserError(`${what} is nested more than ${MAX_NESTING_DEPTH} levels deep (${where}); a Kubernetes manifest needs far fewer: ${FIX}`);
}

function tooManyDocuments(what: string): UserError {
  return new UserError(`${what} holds more than ${MAX_DOCUMENTS} documents; split it into several runs`);
}

/** A JSON value of a stream and where it starts. */
interface JsonPart {
  readonly text: string;
  readonly start: number;
}

/**
 * Split a text of concatenated JSON values ("{...}{...}", whitespace between) into its values.
 * Hand-written because JSON.parse reads exactly one value; it also bounds the nesting depth.
 */
function splitJsonStream(text: string, what: string): JsonPart[] {
  const values: JsonPart[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (depth === 0) start = i;
      if (++depth > MAX_NESTING_DEPTH) throw tooDeep(what, position(text, i));
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth < 0) throw new UserError(`${what} is not valid JSON (${position(text, i)}): a closing bracket has no opening one; ${FIX}`);
      if (depth === 0) {
        values.push({ text: text.slice(start, i + 1), start });
        if (values.length > MAX_DOCUMENTS) throw tooManyDocuments(what);
      }
    } else if (depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
      throw new UserError(`${what} is not valid JSON (${position(text, i)}): unexpected text between objects; ${FIX}`);
    }
  }
  if (depth !== 0 || inString) throw new UserError(`${what} is not valid JSON: it ends in the middle of an object; pass a complete manifest`);
  return values;
}

/** Manifest bytes as text; invalid UTF-8 is refused, never replaced with U+FFFD (upstream refuses it too). */
export function decodeManifest(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = invalidUtf8Offset(bytes);
    let line = 1;
    for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
    throw new UserError(`${what} is not valid UTF-8 (byte ${offset + 1}, line ${line}); a manifest is UTF-8 text: put binary values base64-encoded under data`);
  }
}

/**
 * The yaml library's lexer keeps a frame per open bracket: millions of "[" cost gigabytes before
 * its own stack guard trips. This scan runs first and refuses flow nesting far past anything real
 * (quoted strings and comments skipped; a stray bracket inside a plain value may count, hence the
 * generous bound). The exact limit, MAX_NESTING_DEPTH, is checked on the parsed document.
 */
const MAX_FLOW_SCAN_DEPTH = 10_000;

function checkFlowDepth(text: string, what: string): void {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x27 /* ' */ && (i === 0 || /[\s[{,:]/.test(text[i - 1] as string))) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x27; i++);
    } else if (c === 0x23 /* # */ && (i === 0 || /\s/.test(text[i - 1] as string))) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_FLOW_SCAN_DEPTH) throw tooDeep(what, position(text, i));
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) {
      depth--;
    }
  }
}

/** Deepest nesting of a parsed YAML document, walked without recursion; throws past the limit. */
function checkYamlDepth(doc: Document.Parsed, text: string, what: string): void {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  let aliases = false;
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (isPair(node)) {
      stack.push({ node: node.key, depth }, { node: node.value, depth });
    } else if (isCollection(node)) {
      if (depth > MAX_NESTING_DEPTH) throw tooDeep(what, position(text, node.range?.[0] ?? 0));
      for (const item of node.items) stack.push({ node: item, depth: depth + 1 });
    } else if (isAlias(node)) {
      aliases = true;
    }
  }
  if (!aliases) return;
  // Anchors must come before their aliases: one walk in document order (recursive, but the depth
  // is bounded above), instead of resolving each alias by searching the document.
  const anchors = new Set<string>();
  visit(doc, (_key, node) => {
    if (isAlias(node)) {
      if (!anchors.has(node.source)) {
        throw new UserError(`${what} is not valid YAML (${position(text, node.range?.[0] ?? 0)}): an alias refers to an anchor that is not defined before it; define the anchor (&name) first or write the value out`);
      }
    } else if ((isCollection(node) || isScalar(node)) && node.anchor) {
      anchors.add(node.anchor);
    }
  });
}

function parseYaml(text: string, what: string): unknown[] {
  const values: unknown[] = [];
  let count = 0;
  const composer = new Composer({ prettyErrors: false, uniqueKeys: false });
  checkFlowDepth(text, what);
  try {
    for (const doc of composer.compose(new Parser().parse(text))) {
      if (++count > MAX_DOCUMENTS) throw tooManyDocuments(what);
      const problem = doc.errors[0];
      if (problem !== undefined) {
        if (problem.code === 'RESOURCE_EXHAUSTION') throw tooDeep(what, position(text, problem.pos[0]));
        throw new UserError(`${what} is not valid YAML or JSON (${position(text, problem.pos[0])}): ${yamlProblem(problem.code)}; ${FIX}`);
      }
      checkYamlDepth(doc, text, what);
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
      } catch (error) {
        if (error instanceof ReferenceError) {
          throw new UserError(`${what} uses YAML aliases that expand too much (more than ${MAX_YAML_ALIASES} copies; an alias bomb?); write the values out instead of using aliases`);
        }
        throw error;
      }
      if (value !== null && value !== undefined) values.push(value);
    }
  } catch (error) {
    // The lexer and composer recurse on nesting; past the stack they throw RangeError.
    if (error instanceof RangeError) throw tooDeep(what, 'somewhere in the input');
    throw error;
  }
  return values;
}

/**
 * Parse every non-empty document of `input` (bytes are decoded as strict UTF-8). `what` names the
 * input in errors ("input", a file name). Throws a one-line UserError for anything that is neither
 * YAML nor JSON, naming the position and the kind of problem, never the input's bytes.
 */
export function parseDocuments(input: string | Uint8Array, what = 'input'): unknown[] {
  const text = typeof input === 'string' ? input : decodeManifest(input, what);
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{')) return parseYaml(text, what);
  return splitJsonStream(text, what).map((part, index) => {
    try {
      return JSON.parse(part.text) as unknown;
    } catch (error) {
      const { problem, offset } = jsonProblem(error);
      const at = offset === undefined ? '' : ` (${position(text, part.start + offset)})`;
      throw new UserError(`${what} document ${index + 1} is not valid JSON${at}: ${problem}; ${FIX}`);
    }
  });
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
