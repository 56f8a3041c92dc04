/**
 * The one place that turns untrusted input into words for error messages, logs, Events and
 * status. Invariant: nothing returned here contains a byte of an input *value*. A message may name
 * a position (line, column, document), a field, a kind of value and a size; it may quote a name
 * (a map key, metadata.name, kind, apiVersion) only when that name looks like an identifier,
 * because a name is how the user finds the field. Anything else is described, never shown.
 *
 * Parser messages (yaml's, V8's JSON.parse) quote the input, so they are never passed on: the
 * callers hand their error *codes* and offsets here and get our own wording back.
 */

/** What kind of value this is, without its content: "a string", "a number", "a map"... */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string': return 'a string';
    case 'number': case 'bigint': return 'a number';
    case 'boolean': return 'a boolean';
    case 'object': return 'a map';
    default: return 'a value';
  }
}

/**
 * Names that are shown as they are: what Kubernetes allows in names, keys, kinds and apiVersions
 * (letters, digits, - . _ / : @ +), at most 253 characters. A value that does not fit is
 * described by kind and length instead.
 */
const IDENTIFIER = /^[A-Za-z0-9._\-/:@+]{1,253}$/;

/** `"name"` when `value` is an identifier-like string, else a description ("a map", "a string of 900 characters"). */
export function quoteName(value: unknown): string {
  if (typeof value === 'string') {
    if (IDENTIFIER.test(value)) return `"${value}"`;
    return value === '' ? 'an empty string' : `a string of ${value.length} characters`;
  }
  return kindOf(value);
}

/** A map key for messages: `the key "name"`, or `a key of 12 characters` when it is not fit to be shown. */
export function describeKey(key: string): string {
  if (IDENTIFIER.test(key)) return `the key "${key}"`;
  return key === '' ? 'an empty key' : `a key of ${key.length} characters`;
}

/** The identifier itself, or undefined when it is not fit to be shown. */
export function shownName(value: unknown): string | undefined {
  return typeof value === 'string' && IDENTIFIER.test(value) ? value : undefined;
}

/** A name from untrusted input for a message or a table cell: as it is when identifier-like, empty when missing, else "(unprintable)". */
export function printableName(value: unknown): string {
  return value === undefined || value === null || value === '' ? '' : shownName(value) ?? '(unprintable)';
}

/** "namespace/name" of an object read from untrusted input, each part through printableName. */
export function shownObject(namespace: unknown, name: unknown): string {
  return `${printableName(namespace)}/${printableName(name)}`;
}

/**
 * A server address from a kubeconfig, for messages: scheme, host and path, never the user and
 * password a URL may carry; "(unparsable URL)" when it is not one.
 */
export function shownUrl(url: string): string {
  try {
    const { protocol, host, pathname } = new URL(url);
    return remoteText(`${protocol}//${host}${pathname === '/' ? '' : pathname}`);
  } catch {
    return '(unparsable URL)';
  }
}

/** "line 3, column 7" (1-based) of `offset` in `text`. */
export function position(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  const end = Math.max(0, Math.min(offset, text.length));
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${end - lineStart + 1}`;
}

/** What each of the yaml library's error codes means, in our words (its messages may quote input). */
const YAML_PROBLEMS: Readonly<Record<string, string>> = {
  ALIAS_PROPS: 'an alias cannot have an anchor or a tag',
  BAD_ALIAS: 'an alias is malformed',
  BAD_DIRECTIVE: 'a % directive is malformed',
  BAD_DQ_ESCAPE: 'a double-quoted string has an invalid escape sequence',
  BAD_INDENT: 'the indentation is wrong, or a bracket or quote is not closed',
  BAD_PROP_ORDER: 'an anchor or tag is misplaced',
  BAD_SCALAR_START: 'a plain value starts with a reserved character (quote it)',
  BLOCK_AS_IMPLICIT_KEY: 'a nested map is on the same line as its key (is a value missing quotes, or a space after a colon?)',
  BLOCK_IN_FLOW: 'a block value is inside brackets or braces',
  DUPLICATE_KEY: 'a key appears twice',
  IMPOSSIBLE: 'the YAML parser failed',
  KEY_OVER_1024_CHARS: 'a key is longer than 1024 characters',
  MISSING_CHAR: 'a closing bracket, brace, quote or colon is missing',
  MULTILINE_IMPLICIT_KEY: 'a key spans several lines (is a colon missing?)',
  MULTIPLE_ANCHORS: 'a value has two anchors',
  MULTIPLE_DOCS: 'several documents where one is expected',
  MULTIPLE_TAGS: 'a value has two tags',
  NON_STRING_KEY: 'a key is not a string',
  TAB_AS_INDENT: 'a tab is used for indentation (use spaces)',
  TAG_RESOLVE_FAILED: 'a tag cannot be resolved',
  UNEXPECTED_TOKEN: 'unexpected text (is a value missing quotes?)',
  BAD_COLLECTION_TYPE: 'a collection has the wrong tag',
  RESOURCE_EXHAUSTION: 'values are nested too deeply',
};

export function yamlProblem(code: string | undefined): string {
  return (code !== undefined ? YAML_PROBLEMS[code] : undefined) ?? 'it is not well-formed';
}

/**
 * V8's JSON.parse messages, classified by their fixed wording and never passed on: they quote up
 * to a line of the input ("Unexpected token 'Z', "{"pw": Zx9pw}" is not valid JSON").
 * Returns the problem and, when V8 gave one, the offset.
 */
export function jsonProblem(error: unknown): { problem: string; offset?: number } {
  const message = error instanceof Error ? error.message : '';
  const at = /at position (\d+)/.exec(message);
  const offset = at ? Number(at[1]) : undefined;
  const withOffset = (problem: string): { problem: string; offset?: number } => (offset === undefined ? { problem } : { problem, offset });
  if (/^Unexpected end of JSON input/.test(message)) return { problem: 'it ends too early' };
  if (/^Unterminated string/.test(message)) return withOffset('a string is not closed');
  if (/^Bad control character/.test(message)) return withOffset('a string holds a control character (escape it)');
  if (/^Bad (escaped character|Unicode escape)/.test(message)) return withOffset('a string has an invalid escape sequence');
  if (/^Expected double-quoted property name/.test(message)) return withOffset('a key is not a double-quoted string (or a comma is extra)');
  if (/^Expected ':'/.test(message)) return withOffset('a colon is missing after a key');
  if (/^Expected ','/.test(message)) return withOffset('a comma or closing bracket is missing');
  if (/^Unexpected (number|string|token|non-whitespace)/.test(message)) return withOffset('unexpected text (is a value missing quotes?)');
  if (/^(Exponent part|No number|Unterminated fractional)/.test(message)) return withOffset('a number is malformed');
  return withOffset('it is not well-formed');
}

/**
 * Text that came over the network (an API server's Status message, a controller's one-line answer),
 * made fit for one line of a message: control characters and line breaks become spaces, long runs
 * that look like base64 (ciphertext, keys) are cut out, and the rest is capped.
 */
export function remoteText(text: string, max = 300): string {
  const line = text
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    // Base64 of ciphertext or keys mixes cases and digits; paths and names (with - : . _) do not match.
    .replace(/[A-Za-z0-9+/]{40,}={0,2}/g, (run) => (/[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run) ? '[…]' : run))
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/**
 * The byte offset of the first invalid UTF-8 sequence of `bytes`, or -1. Hand-written because
 * TextDecoder (fatal) and buffer.isUtf8 say only whether, not where; it runs only after one of
 * them has said no.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i] as number;
    let need: number;
    let min: number;
    if (b < 0x80) { i++; continue; }
    if (b >= 0xc2 && b <= 0xdf) { need = 1; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; min = 0x10000; }
    else return i;
    let code = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}
