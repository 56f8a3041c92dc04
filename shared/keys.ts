/**
 * Reading sealing keys and certificates with node:crypto (no node-forge here, so the offline CLI
 * stays light). Sealing takes the first certificate of a PEM (or a bare PUBLIC KEY); unsealing
 * takes any RSA private key PEM that OpenSSL reads (PKCS#1 as upstream stores it, or PKCS#8).
 */
import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { UserError } from './errors.ts';

/** BEGIN and END lines; the type is bounded so that the scan stays linear. */
const PEM_MARKER = /-----(BEGIN|END) ([A-Z0-9 ]{1,64})-----/g;

/**
 * The PEM blocks in `text`, in order, with their type ("CERTIFICATE", "PUBLIC KEY", ...): from a
 * BEGIN line (followed by a line break) to the next END line of the same type. Markers are found
 * in one pass and paired by lookup, so input with many unmatched BEGIN lines costs linear time
 * (a lazy regular expression rescans the rest of the text for each of them).
 */
export function pemBlocks(text: string): { type: string; pem: string }[] {
  const begins: { type: string; start: number; bodyStart: number }[] = [];
  const ends = new Map<string, { start: number; end: number }[]>();
  for (const m of text.matchAll(PEM_MARKER)) {
    const type = m[2] as string;
    const start = m.index;
    const end = start + m[0].length;
    if (m[1] === 'BEGIN') {
      const next = text.startsWith('\r\n', end) ? end + 2 : text.startsWith('\n', end) ? end + 1 : -1;
      if (next !== -1) begins.push({ type, start, bodyStart: next });
    } else {
      const list = ends.get(type) ?? [];
      list.push({ start, end });
      ends.set(type, list);
    }
  }
  const blocks: { type: string; pem: string }[] = [];
  const cursor = new Map<string, number>();
  let scanned = 0;
  for (const begin of begins) {
    if (begin.start < scanned) continue;
    const list = ends.get(begin.type) ?? [];
    let i = cursor.get(begin.type) ?? 0;
    while (i < list.length && (list[i] as { start: number }).start < begin.bodyStart) i++;
    cursor.set(begin.type, i);
    const end = list[i];
    if (end === undefined) continue;
    blocks.push({ type: begin.type, pem: text.slice(begin.start, end.end) });
    scanned = end.end;
  }
  return blocks;
}

/** A public key ready to seal with, and where it came from. */
export interface SealingPublicKey {
  readonly key: KeyObject;
  /** Expiry of the certificate; undefined for a bare public key. */
  readonly notAfter?: Date;
}

function requireRsa(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new UserError(`${what} holds a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, but sealing needs an RSA key; use the controller's certificate (kubeseal --fetch-cert)`);
  }
  return key;
}

/** "January 2, 2006", the date format of upstream's expiry error. */
function longDate(date: Date): string {
  return date.toLocaleDateString('en-US', { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
}

/**
 * Read the key to seal with from a certificate PEM (the first certificate counts, as upstream) or a
 * PUBLIC KEY PEM. An expired certificate is refused, as upstream kubeseal refuses it; signature,
 * key usage and notBefore are not checked (upstream does not either).
 */
export function parseSealingKey(pem: string, now: Date, source: string): SealingPublicKey {
  const first = pemBlocks(pem).find((b) => b.type === 'CERTIFICATE' || b.type === 'PUBLIC KEY' || b.type === 'RSA PUBLIC KEY');
  if (first === undefined) {
    throw new UserError(`${source} holds no PEM certificate or public key; pass the controller's certificate (kubeseal --fetch-cert > cert.pem)`);
  }
  if (first.type !== 'CERTIFICATE') {
    let key: KeyObject;
    try {
      key = createPublicKey(first.pem);
    } catch {
      throw new UserError(`${source}: the ${first.type} PEM block cannot be read; pass the controller's certificate`);
    }
    return { key: requireRsa(key, source) };
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(first.pem);
  } catch {
    throw new UserError(`${source}: the certificate cannot be read (corrupt PEM or DER); fetch it again with kubeseal --fetch-cert`);
  }
  const notAfter = new Date(cert.validTo);
  if (now.getTime() > notAfter.getTime()) {
    throw new UserError(
      `failed to encrypt using an expired certificate on ${longDate(notAfter)}; fetch the current certificate with kubeseal --fetch-cert`,
    );
  }
  let certificateKey: KeyObject;
  try {
    certificateKey = cert.publicKey;
  } catch {
    // OpenSSL parses some certificates whose key it cannot decode.
    throw new UserError(`${source}: the certificate's public key cannot be read (corrupt certificate); fetch it again with kubeseal --fetch-cert`);
  }
  return { key: requireRsa(certificateKey, source), notAfter };
}

/** Read one RSA private key PEM (PKCS#1 or PKCS#8). */
export function parsePrivateKey(pem: string | Buffer, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new UserError(`${source} is not a readable PEM private key; pass the tls.key of a sealing key Secret or a backup of them`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new UserError(`${source} holds a ${key.asymmetricKeyType ?? 'non-asymmetric'} private key; sealing keys are RSA`);
  }
  return key;
}

/** PKCS#1 PEM ("RSA PRIVATE KEY"), the form upstream stores in tls.key. */
export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs1', format: 'pem' }).toString();
}

function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** An SSH mpint: big-endian, minimal, with a 0 byte prepended when the top bit is set. */
function sshMpint(unsigned: Buffer): Buffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const trimmed = unsigned.subarray(start);
  return sshString((trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/**
 * Upstream's key fingerprint: "SHA256:" + unpadded base64 of SHA-256 over the SSH wire form of the
 * RSA public key (ssh.FingerprintSHA256). Identifies a key in logs and metrics; never secret.
 */
/** Whether `value` has keyFingerprint's form (43 unpadded base64 characters): what a fingerprint read back from an object must have to be counted, logged or shown. */
export const isKeyFingerprint = (value: unknown): value is string => typeof value === 'string' && /^SHA256:[A-Za-z0-9+/]{43}$/.test(value);

export function keyFingerprint(key: KeyObject): string {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  if (jwk.n === undefined || jwk.e === undefined) throw new Error('not an RSA key');
  const wire = Buffer.concat([
    sshString(Buffer.from('ssh-rsa')),
    sshMpint(Buffer.from(jwk.e, 'base64url')),
    sshMpint(Buffer.from(jwk.n, 'base64url')),
  ]);
  return `SHA256:${createHash('sha256').update(wire).digest('base64').replace(/=+$/, '')}`;
}
