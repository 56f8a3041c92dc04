// Sprig v3.3.0's key and certificate functions (crypto.go): genPrivateKey, buildCustomCert,
// genCA, genSelfSignedCert, genSignedCert and their *WithKey forms, with Sprig's certificate
// profile: a random serial below 2^128, subject CN only, valid from now for daysValid days,
// KeyUsage digitalSignature+keyEncipherment (+keyCertSign for a CA, critical), ExtKeyUsage
// serverAuth+clientAuth, BasicConstraints (critical), IP and DNS SANs, SHA-256 signatures (ECDSA
// by curve, Ed25519 pure), Go's SubjectKeyId for CAs and AuthorityKeyId from the signer.
//
// Keys come from an injected generator (the platform's OpenSSL in the shells, so the core stays
// free of hidden randomness); signing is node:crypto; node-forge only lays out the TBSCertificate,
// whose algorithm, issuer and key fields are then set from node:crypto's DER, so that EC and
// Ed25519 keys work although forge knows only RSA. DSA (Sprig's genPrivateKey "dsa" and DSA keys
// given to *WithKey) is not supported: OpenSSL 3 cannot write Sprig's DSA key format.
import { createHash, createPrivateKey, createPublicKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { FuncError } from './exec.ts';
import { GoMap, GoSlice, type AnyValue } from './value.ts';

export type KeyKind = 'rsa' | 'ecdsa' | 'ed25519';
/** Makes a private key: RSA of `bits` bits, ECDSA on P-256, or Ed25519. */
export type KeyGenerator = (kind: KeyKind, bits: number) => KeyObject;

/** Sprig's PEM for a private key: PKCS#1 for RSA, SEC 1 for EC, PKCS#8 for the rest. */
export function privateKeyPem(key: KeyObject): string {
  const type = key.asymmetricKeyType === 'rsa' ? 'pkcs1' : key.asymmetricKeyType === 'ec' ? 'sec1' : 'pkcs8';
  return key.export({ type, format: 'pem' }) as string;
}

/** genPrivateKey: the PEM, or Sprig's "Unknown type" text for a type it does not know. */
export function genPrivateKey(type: string, generate: KeyGenerator): string {
  switch (type) {
    case '':
    case 'rsa': return privateKeyPem(generate('rsa', 4096));
    case 'ecdsa': return privateKeyPem(generate('ecdsa', 256));
    case 'ed25519': return privateKeyPem(generate('ed25519', 0));
    case 'dsa': throw new FuncError('genPrivateKey "dsa" is not supported by this controller (see docs/compatibility.md)');
    default: return `Unknown type ${type}`;
  }
}

/** The first PEM block, as Go's pem.Decode finds it (text before it is skipped). */
function firstPem(text: string): { type: string; der: Buffer } | undefined {
  const m = /-----BEGIN ([^\n-]*)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) return undefined;
  const body = m[2]!.replace(/^[^\n:]*:[^\n]*\n/gm, '');
  if (!/^[A-Za-z0-9+/=\s]*$/.test(body)) return undefined;
  return { type: m[1]!, der: Buffer.from(body.replace(/\s+/g, ''), 'base64') };
}

/** Sprig's parsePrivateKeyPEM, with messages that name the problem, never the key's text. */
export function parsePrivateKeyPem(text: string): KeyObject {
  const block = firstPem(text);
  if (!block) throw new FuncError('no PEM data in input');
  const der = (type: 'pkcs8' | 'pkcs1' | 'sec1', what: string): KeyObject => {
    try {
      return createPrivateKey({ key: block.der, format: 'der', type });
    } catch {
      throw new FuncError(what);
    }
  };
  if (block.type === 'PRIVATE KEY') return der('pkcs8', 'decoding PEM as PKCS#8: not a valid key');
  if (!block.type.endsWith(' PRIVATE KEY')) throw new FuncError('no private key data in PEM block of this type');
  switch (block.type.slice(0, -12)) {
    case 'RSA': return der('pkcs1', 'parsing RSA private key from PEM: not a valid key');
    case 'EC': return der('sec1', 'parsing EC private key from PEM: not a valid key');
    case 'DSA': throw new FuncError('DSA keys are not supported by this controller (see docs/compatibility.md)');
    default: throw new FuncError('invalid private key type');
  }
}

// ---- the certificate -------------------------------------------------------------------------

/** Sprig's certificate struct; a map here (fields .Cert and .Key read the same). */
export function certificateValue(cert: string, key: string): GoMap {
  return new GoMap('string', new Map([['Cert', cert], ['Key', key]]));
}

function certificateFields(v: AnyValue): { cert: string; key: string } {
  if (v instanceof GoMap && typeof v.m.get('Cert') === 'string' && typeof v.m.get('Key') === 'string') {
    return { cert: v.m.get('Cert') as string, key: v.m.get('Key') as string };
  }
  throw new FuncError('wrong type for value; expected sprig.certificate');
}

const der = (node: forge.asn1.Asn1): Buffer => Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary');
const asn1 = (bytes: Buffer): forge.asn1.Asn1 => forge.asn1.fromDer(bytes.toString('binary'));
const pem = (type: string, bytes: Buffer): string =>
  `-----BEGIN ${type}-----\n${bytes.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END ${type}-----\n`;

/** The AlgorithmIdentifier and digest Go's x509.CreateCertificate picks for a signing key. */
function signatureAlgorithm(key: KeyObject): { der: Buffer; digest: string | null } {
  const oid = (o: string, withNull: boolean) => der(forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
    forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OID, false, forge.asn1.oidToDer(o).getBytes()),
    ...(withNull ? [forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.NULL, false, '')] : []),
  ]));
  switch (key.asymmetricKeyType) {
    case 'rsa': return { der: oid('1.2.840.113549.1.1.11', true), digest: 'sha256' };
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'secp384r1') return { der: oid('1.2.840.10045.4.3.3', false), digest: 'sha384' };
      if (curve === 'secp521r1') return { der: oid('1.2.840.10045.4.3.4', false), digest: 'sha512' };
      return { der: oid('1.2.840.10045.4.3.2', false), digest: 'sha256' };
    }
    case 'ed25519': return { der: oid('1.3.101.112', false), digest: null };
    default: throw new FuncError('error creating certificate: unsupported signing key type');
  }
}

/** Go's generated SubjectKeyId: SHA-1 of the subjectPublicKey BIT STRING's bytes. */
function subjectKeyId(spki: Buffer): Buffer {
  const seq = asn1(spki).value as forge.asn1.Asn1[];
  const bits = Buffer.from(seq[1]!.value as string, 'binary').subarray(1);
  return createHash('sha1').update(bits).digest();
}

/** The subject Name and SubjectKeyId of a certificate, read as ASN.1 (whatever its key type). */
function subjectOf(certDer: Buffer): { name: forge.asn1.Asn1; keyId?: Buffer } {
  const tbs = ((asn1(certDer).value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[]);
  const off = tbs[0]!.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  let keyId: Buffer | undefined;
  const exts = tbs.find((n) => n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && n.type === 3);
  for (const ext of ((exts?.value as forge.asn1.Asn1[] | undefined)?.[0]?.value as forge.asn1.Asn1[] | undefined) ?? []) {
    const parts = ext.value as forge.asn1.Asn1[];
    if (forge.asn1.derToOid(parts[0]!.value as string) === '2.5.29.14') {
      keyId = Buffer.from(asn1(Buffer.from(parts[parts.length - 1]!.value as string, 'binary')).value as string, 'binary');
    }
  }
  return { name: tbs[off + 4]!, ...(keyId ? { keyId } : {}) };
}

export interface CertificateRequest {
  readonly cn: string;
  readonly ips: AnyValue;
  readonly dns: AnyValue;
  readonly daysValid: number;
  readonly isCA: boolean;
  readonly now: Date;
  readonly random: (n: number) => Uint8Array;
}

function stringItems(v: AnyValue, what: (i: number) => string): string[] {
  if (v === null) return [];
  return (v as GoSlice).items.map((item, i) => {
    if (typeof item !== 'string') throw new FuncError(what(i));
    return item;
  });
}

/** Sprig's getCertAndKey: a certificate for `signee` signed by `signer` (itself when not given), and the signee's key PEM. */
export function certificate(req: CertificateRequest, signee: KeyObject, given?: { key: KeyObject; certDer?: Buffer }): GoMap {
  const signer = given ?? { key: signee };
  const ips = stringItems(req.ips, () => 'error parsing ip: a value is not a string');
  // Go's net.ParseIP: IPv4 or IPv6 literals, no zone (Node's isIP accepts a zone).
  for (const ip of ips) if (isIP(ip) === 0 || ip.includes('%')) throw new FuncError('error parsing ip: not an IP address');
  const dns = stringItems(req.dns, () => 'error processing alternate dns name: a value is not a string');
  const spki = createPublicKey(signee).export({ type: 'spki', format: 'der' });
  const alg = signatureAlgorithm(signer.key);

  const cert = forge.pki.createCertificate();
  // Placeholders forge needs to lay out the TBSCertificate; the real algorithm replaces them below.
  cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption as string;
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption as string;
  // forge needs an RSA key to lay out the TBSCertificate; the real SubjectPublicKeyInfo replaces it below.
  cert.publicKey = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('1'), new forge.jsbn.BigInteger('65537'));
  const serial = Buffer.from(req.random(16));
  cert.serialNumber = (serial[0]! >= 0x80 ? '00' : '') + serial.toString('hex');
  cert.validity.notBefore = req.now;
  cert.validity.notAfter = new Date(req.now.getTime() + req.daysValid * 86_400_000);
  const name = [{ name: 'commonName', value: req.cn }];
  cert.setSubject(name);
  cert.setIssuer(name);
  const issuer = signer.certDer ? subjectOf(signer.certDer) : undefined;
  const ownKeyId = req.isCA ? subjectKeyId(spki) : undefined;
  const authorityKeyId = issuer ? issuer.keyId : undefined;
  cert.setExtensions([
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true, ...(req.isCA ? { keyCertSign: true } : {}) },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'basicConstraints', critical: true, cA: req.isCA },
    ...(ownKeyId ? [{ name: 'subjectKeyIdentifier', subjectKeyIdentifier: ownKeyId.toString('hex') }] : []),
    ...(authorityKeyId ? [{ name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId.toString('binary') }] : []),
    ...(dns.length + ips.length > 0 ? [{ name: 'subjectAltName', altNames: [...dns.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))] }] : []),
  ]);
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const fields = tbs.value as forge.asn1.Asn1[];
  // [0] version, serial, signature algorithm, issuer, validity, subject, subjectPublicKeyInfo, [3] extensions
  fields[2] = asn1(alg.der);
  if (issuer) fields[3] = issuer.name;
  fields[6] = asn1(spki);
  const tbsDer = der(tbs);
  let signature: Buffer;
  try {
    signature = sign(alg.digest, tbsDer, signer.key);
  } catch {
    throw new FuncError('error creating certificate: the signing key cannot sign');
  }
  const body = der(forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
    tbs, asn1(alg.der), forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary')),
  ]));
  return certificateValue(pem('CERTIFICATE', body), privateKeyPem(signee));
}

/** The CA of genSignedCert: its certificate's DER and its key (Sprig's error texts). */
export function signerOf(ca: AnyValue): { key: KeyObject; certDer: Buffer } {
  const { cert, key } = certificateFields(ca);
  const block = firstPem(cert);
  if (!block) throw new FuncError('unable to decode certificate');
  try {
    new X509Certificate(block.der);
  } catch {
    throw new FuncError('error parsing certificate: decodedSignerCert.Bytes: not a valid certificate');
  }
  let signerKey: KeyObject;
  try {
    signerKey = parsePrivateKeyPem(key);
  } catch (e) {
    throw new FuncError(`error parsing private key: ${(e as Error).message}`);
  }
  return { key: signerKey, certDer: block.der };
}

/** buildCustomCert: base64 of a certificate PEM and of a key PEM, checked, as a certificate. */
export function buildCustomCert(b64cert: string, b64key: string, decode: (s: string) => { out: string; error?: string }): GoMap {
  const cert = decode(b64cert);
  if (cert.error !== undefined) throw new FuncError('unable to decode base64 certificate');
  const key = decode(b64key);
  if (key.error !== undefined) throw new FuncError('unable to decode base64 private key');
  const certText = cert.out;
  const block = firstPem(Buffer.from(certText, 'latin1').toString('latin1'));
  if (!block) throw new FuncError('unable to decode certificate');
  try {
    new X509Certificate(block.der);
  } catch {
    throw new FuncError('error parsing certificate: decodedCert.Bytes: not a valid certificate');
  }
  try {
    parsePrivateKeyPem(key.out);
  } catch (e) {
    throw new FuncError(`error parsing private key: ${(e as Error).message}`);
  }
  return certificateValue(certText, key.out);
}
