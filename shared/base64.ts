/**
 * Standard base64 exactly as Go's base64.StdEncoding reads it: padded, alphabet A-Z a-z 0-9 + /,
 * with CR and LF ignored. Node's own decoder silently skips bad characters, which would turn a
 * typo in a Secret into wrong bytes in the cluster, so input is checked here first.
 *
 * The check is a loop, not a regular expression: a pattern with a repeated group overflows the
 * stack on values of a few MB, and upstream seals values that large. Linear time, no extra memory
 * beyond the decoded bytes.
 */

/** 1 for each character code of the standard base64 alphabet. */
const ALPHABET = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') ALPHABET[c.charCodeAt(0)] = 1;

/** `text` without line breaks when it is valid standard base64, else undefined. */
function checked(text: string): string | undefined {
  const compact = text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]+/g, '') : text;
  if (compact.length % 4 !== 0) return undefined;
  let end = compact.length;
  if (compact.endsWith('==')) end -= 2;
  else if (compact.endsWith('=')) end -= 1;
  for (let i = 0; i < end; i++) {
    if (ALPHABET[compact.charCodeAt(i)] !== 1) return undefined;
  }
  return compact;
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
