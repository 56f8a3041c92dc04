/**
 * What the browser page needs from the controller's certificate: the SubjectPublicKeyInfo to seal
 * with, the validity period, and the key fingerprint in keys.ts's keyFingerprint format. No node:
 * imports and no Buffer (the page bundles this file); hashing is an argument (WebCrypto's digest).
 *
 * Why a hand-written DER walk: keys.ts reads certificates with node:crypto, which browsers lack;
 * node-forge is kept to laying out certificates; and the page needs three fields at fixed places
 * of an X.509 certificate, not a parser. Every length is checked against its enclosing element,
 * so a corrupt certificate fails with a CertificateError, never with an out-of-bounds read.
 */
import { decodeBase64Bytes, encodeBase64 } from './base64.ts';

/** A certificate the page cannot use; the message names the problem, never the input's bytes. */
export class CertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateError';
  }
}

export interface CertificateInfo {
  /** DER of the SubjectPublicKeyInfo: WebCrypto imports it ("spki"). */
  readonly spki: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The RSA modulus and public exponent, unsigned big-endian. */
  readonly modulus: Uint8Array;
  readonly exponent: Uint8Array;
}

interface Element {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly body: number;
  /** Offset just past the element. */
  readonly end: number;
}

/** The DER element at `offset`, which must end by `limit`. */
function element(der: Uint8Array, offset: number, limit: number): Element {
  if (offset + 2 > limit) throw new CertificateError('the certificate is truncated');
  const tag = der[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new CertificateError('the certificate uses a multi-byte DER tag, which X.509 does not');
  let length = der[offset + 1] as number;
  let body = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // Four length bytes cover any certificate; DER forbids the indefinite form (count 0).
    if (count === 0 || count > 4 || body + count > limit) throw new CertificateError('the certificate has an invalid DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[body + i] as number);
    body += count;
  }
  const end = body + length;
  if (end > limit) throw new CertificateError('the certificate is truncated');
  return { tag, start: offset, body, end };
}

/** The elements inside `parent`, in order. */
function children(der: Uint8Array, parent: Element): Element[] {
  const out: Element[] = [];
  for (let at = parent.body; at < parent.end;) {
    const child = element(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const VERSION_TAG = 0xa0;

function expect(el: Element | undefined, tag: number, what: string): Element {
  if (el === undefined || el.tag !== tag) throw new CertificateError(`the certificate's ${what} is missing or malformed`);
  return el;
}

/** UTCTime (YYMMDDHHMMSSZ, years 1950-2049 as RFC 5280 says) or GeneralizedTime (YYYYMMDDHHMMSSZ). */
function readTime(der: Uint8Array, el: Element, what: string): Date {
  const text = String.fromCharCode(...der.subarray(el.body, el.end));
  const match = el.tag === UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match || (el.tag !== UTC_TIME && el.tag !== GENERALIZED_TIME)) throw new CertificateError(`the certificate's ${what} is not a valid time`);
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  const year = el.tag === UTC_TIME ? ((y as number) < 50 ? 2000 + (y as number) : 1900 + (y as number)) : (y as number);
  return new Date(Date.UTC(year, (mo as number) - 1, d, h, mi, s));
}

/** An INTEGER's content as unsigned big-endian (DER's sign byte dropped). */
function unsigned(der: Uint8Array, el: Element): Uint8Array {
  let start = el.body;
  while (start < el.end - 1 && der[start] === 0) start++;
  return der.slice(start, el.end);
}

/** The first CERTIFICATE block of a PEM text, as DER. */
export function certificateDer(pem: string): Uint8Array {
  const match = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]{1,1048576}?)-----END CERTIFICATE-----/.exec(pem);
  const der = match ? decodeBase64Bytes((match[1] as string).replace(/\s+/g, '')) : undefined;
  if (der === undefined) throw new CertificateError('no PEM certificate found; the controller should serve one at v1/cert.pem');
  return der;
}

/** Read the fields the page uses from a DER X.509 certificate with an RSA key. */
export function readCertificate(der: Uint8Array): CertificateInfo {
  const certificate = expect(element(der, 0, der.length), SEQUENCE, 'outer structure');
  const tbs = expect(children(der, certificate)[0], SEQUENCE, 'TBSCertificate');
  const fields = children(der, tbs);
  // version [0] is optional (absent for v1); then serial, signature, issuer, validity, subject, key.
  const rest = fields[0]?.tag === VERSION_TAG ? fields.slice(1) : fields;
  const validity = children(der, expect(rest[3], SEQUENCE, 'validity'));
  const notBefore = readTime(der, validity[0] ?? expect(undefined, UTC_TIME, 'notBefore'), 'notBefore');
  const notAfter = readTime(der, validity[1] ?? expect(undefined, UTC_TIME, 'notAfter'), 'notAfter');
  const spki = expect(rest[5], SEQUENCE, 'subjectPublicKeyInfo');
  const [algorithm, bits] = children(der, spki);
  const oid = children(der, expect(algorithm, SEQUENCE, 'key algorithm'))[0];
  // 1.2.840.113549.1.1.1 rsaEncryption
  const RSA_OID = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
  if (!oid || oid.tag !== 0x06 || oid.end - oid.body !== RSA_OID.length || RSA_OID.some((b, i) => der[oid.body + i] !== b)) {
    throw new CertificateError('the certificate does not hold an RSA key; sealing needs the controller\'s RSA certificate');
  }
  const bitString = expect(bits, BIT_STRING, 'public key');
  if (der[bitString.body] !== 0) throw new CertificateError('the certificate\'s public key is malformed');
  const rsaKey = element(der, bitString.body + 1, bitString.end);
  const [n, e] = children(der, expect(rsaKey, SEQUENCE, 'RSA key'));
  return {
    spki: der.slice(spki.start, spki.end),
    notBefore,
    notAfter,
    modulus: unsigned(der, expect(n, INTEGER, 'RSA modulus')),
    exponent: unsigned(der, expect(e, INTEGER, 'RSA exponent')),
  };
}

/** SSH wire string: uint32 length || bytes. */
function sshString(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

/** SSH mpint of an unsigned big-endian integer: minimal, with a 0 byte when the top bit is set. */
function sshMpint(value: Uint8Array): Uint8Array {
  return sshString((value[0] ?? 0) & 0x80 ? Uint8Array.of(0, ...value) : value);
}

/**
 * keys.ts keyFingerprint's value, "SHA256:" + unpadded base64 of SHA-256 over the SSH wire form of
 * the RSA key (upstream's ssh.FingerprintSHA256), with the hash passed in.
 */
export async function fingerprintOf(info: Pick<CertificateInfo, 'modulus' | 'exponent'>, sha256: (bytes: Uint8Array) => Promise<Uint8Array>): Promise<string> {
  const parts = [sshString(new TextEncoder().encode('ssh-rsa')), sshMpint(info.exponent), sshMpint(info.modulus)];
  const wire = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const part of parts) {
    wire.set(part, at);
    at += part.length;
  }
  return `SHA256:${encodeBase64(await sha256(wire)).replace(/=+$/, '')}`;
}

/** Days within which the page warns that the certificate expires (kubeseal refuses it once expired). */
export const EXPIRY_WARNING_DAYS = 30;

/** What the page says about the certificate's validity at `now`, or undefined when all is well. */
export function validityWarning(info: Pick<CertificateInfo, 'notAfter'>, now: Date): { kind: 'expired' | 'expiring'; days: number } | undefined {
  const days = Math.floor((info.notAfter.getTime() - now.getTime()) / 86_400_000);
  if (now.getTime() > info.notAfter.getTime()) return { kind: 'expired', days };
  if (days < EXPIRY_WARNING_DAYS) return { kind: 'expiring', days };
  return undefined;
}
