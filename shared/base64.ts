/**
 * Standard base64 exactly as Go's base64.StdEncoding reads it: padded, alphabet A-Z a-z 0-9 + /,
 * with CR and LF ignored. Node's own decoder silently skips bad characters, which would turn a
 * typo in a Secret into wrong bytes in the cluster, so input is checked here first.
 *
 * The check searches for one character outside the alphabet (a negated class, no group): a
 * pattern that matches the whole value with a repeated group overflows the stack on values of a
 * few MB, and upstream seals values that large; this one scans linearly in the regular
 * expression engine's native code, ~20x faster than a JavaScript loop in the controller, which runs
 * without V8's optimizing compilers (docs/benchmarks.md).
 */

/** Any character outside the standard base64 alphabet (padding is cut off before the search). */
const OUTSIDE_ALPHABET = /[^A-Za-z0-9+/]/;

/** `text` without line breaks when it is valid standard base64, else undefined. */
function checked(text: string): string | undefined {
  const compact = text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]+/g, '') : text;
  if (compact.length % 4 !== 0) return undefined;
  let end = compact.length;
  if (compact.endsWith('==')) end -= 2;
  else if (compact.endsWith('=')) end -= 1;
  return OUTSIDE_ALPHABET.test(end === compact.length ? compact : compact.slice(0, end)) ? undefined : compact;
}

/** Decode strict standard base64; undefined when `text` is not valid. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = checked(text);
  // Like Go's (non-Strict) StdEncoding, non-zero padding bits such as "QR==" are accepted.
  return compact === undefined ? undefined : Buffer.from(compact, 'base64');
}

/**
 * Node's Buffer where there is one; the browser page (which shares the sealing code) has none and
 * takes the atob/btoa path below. A constant, read once.
 */
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/** decodeBase64 for code that also runs in the browser: the same check, bytes without Buffer. */
export function decodeBase64Bytes(text: string): Uint8Array | undefined {
  const compact = checked(text);
  if (compact === undefined) return undefined;
  if (NodeBuffer) return NodeBuffer.from(compact, 'base64');
  const binary = atob(compact);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  // btoa takes a "binary string"; built in chunks so that large values do not overflow the stack.
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
