/**
 * Generating sealing keys and their self-signed certificates, with upstream's profile
 * (pkg/crypto/keys.go): RSA (4096 bits by default), X.509 v3, random serial below 2^128, subject =
 * issuer = CN=<my-cn> (an empty name when my-cn is empty), valid from `notBefore` for `validForMs`,
 * KeyUsage = encipherOnly (critical), BasicConstraints CA:TRUE (critical), signed SHA-256 with RSA.
 *
 * Key generation and signing run in OpenSSL's thread pool (async node:crypto), so a 4096-bit key
 * never blocks the event loop. node-forge only lays out the certificate's ASN.1; it is loaded on
 * the first certificate made (a controller that finds its keys never loads it: start-up time), by
 * the controller alone, never on the CLI's offline path.
 */
import { generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type forgeTypes from 'node-forge';
import type { Random } from './crypto.ts';

const generateKeyPairAsync = promisify(generateKeyPair);
const signAsync = promisify(sign);

/** Part of node-forge's API that its type definitions leave out. */
interface ForgeTbs {
  getTBSCertificate(cert: forgeTypes.pki.Certificate): forgeTypes.asn1.Asn1;
}

export interface SealingKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A fresh RSA key pair (e = 65537), generated off the event loop. */
export async function generateSealingKeyPair(bits: number): Promise<SealingKeyPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return { privateKey, publicKey };
}

export interface CertificateOptions {
  readonly keyPair: SealingKeyPair;
  /** Common name of subject and issuer; "" gives an empty name, as upstream's default. */
  readonly commonName: string;
  readonly notBefore: Date;
  readonly validForMs: number;
  readonly random: Random;
}

/** A positive DER INTEGER body (hex) for a random serial below 2^128. */
function serialHex(random: Random): string {
  const bytes = Buffer.from(random(16));
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const hex = bytes.subarray(start).toString('hex');
  return parseInt(hex.slice(0, 1), 16) >= 8 ? `00${hex}` : hex;
}

/** A self-signed sealing certificate, PEM-encoded. */
export async function createSealingCertificate(options: CertificateOptions): Promise<string> {
  const { keyPair, commonName, notBefore, validForMs, random } = options;
  const forge = (await import('node-forge')).default;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keyPair.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = serialHex(random);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = new Date(notBefore.getTime() + validForMs);
  const name = commonName === '' ? [] : [{ name: 'commonName', value: commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'keyUsage', critical: true, encipherOnly: true },
    { name: 'basicConstraints', critical: true, cA: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  const sha256WithRsa = forge.pki.oids.sha256WithRSAEncryption as string;
  cert.signatureOid = sha256WithRsa;
  cert.siginfo.algorithmOid = sha256WithRsa;
  // forge would sign in JavaScript (~0.2 s for RSA-4096, on the event loop); sign the DER of the
  // TBSCertificate with OpenSSL instead and hand forge the signature.
  const tbs = (forge.pki as unknown as ForgeTbs).getTBSCertificate(cert);
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  const signature = await signAsync('sha256', tbsDer, keyPair.privateKey);
  const signed = cert as forgeTypes.pki.Certificate & { tbsCertificate: forgeTypes.asn1.Asn1 };
  signed.tbsCertificate = tbs;
  signed.signature = signature.toString('binary');
  // forge ends PEM lines with CRLF; Go's pem.Encode (and so upstream) uses LF.
  return forge.pki.certificateToPem(signed).replace(/\r\n/g, '\n');
}
