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

/** Decode strict standard base64; undefined when `text` is not valid. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.includes('\n') || text.includes('\r') ? text.replace(/[\r\n]+/g, '') : text;
  if (compact.length % 4 !== 0) return undefined;
  let end = compact.length;
  if (compact.endsWith('==')) end -= 2;
  else if (compact.endsWith('=')) end -= 1;
  for (let i = 0; i < end; i++) {
    if (ALPHABET[compact.charCodeAt(i)] !== 1) return undefined;
  }
  // Like Go's (non-Strict) StdEncoding, non-zero padding bits such as "QR==" are accepted.
  return Buffer.from(compact, 'base64');
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
