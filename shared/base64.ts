/**
 * Standard base64 exactly as Go's base64.StdEncoding reads it: padded, alphabet A-Z a-z 0-9 + /,
 * with CR and LF ignored. Node's own decoder silently skips bad characters, which would turn a
 * typo in a Secret into wrong bytes in the cluster, so input is checked here first.
 */
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decode strict standard base64; undefined when `text` is not valid. */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/[\r\n]/g, '');
  if (!STD_BASE64.test(compact)) return undefined;
  // Like Go's (non-Strict) StdEncoding, non-zero padding bits such as "QR==" are accepted.
  return Buffer.from(compact, 'base64');
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
