import { createCipheriv, generateKeyPairSync, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFixture, sealingKey, sealingPublicKey, secondKey } from '../test/fixtures/fixtures.ts';
import { certificateDer, CertificateError, fingerprintOf, readCertificate, validityWarning } from './certificate-info.ts';
import { hybridDecrypt, hybridEncrypt, splitCiphertext } from './crypto.ts';
import { keyFingerprint } from './keys.ts';
import { readSecret } from './kube.ts';
import { planSeal } from './seal-plan.ts';
import { sealSecret, unsealSealedSecret } from './sealed-secret.ts';
import { encryptionLabel, SCOPES } from './scope.ts';
import { importSealingKey, sealWithWebCrypto, type Subtle } from './wire-format.ts';
import { encodeBase64 } from './base64.ts';

const subtle = webcrypto.subtle as unknown as Subtle;
const sha256 = async (bytes: Uint8Array) => new Uint8Array(await webcrypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
const pinned = (seed: number) => (size: number) => new Uint8Array(size).fill(seed);

describe('the certificate as the browser page reads it', () => {
  it.each(['sealing-cert.pem', 'second-cert.pem', 'expired-cert.pem'])('%s: key, validity and fingerprint match node:crypto', async (file) => {
    const pem = readFixture(file);
    const x509 = new X509Certificate(pem);
    const info = readCertificate(certificateDer(pem));
    expect(Buffer.from(info.spki)).toEqual(x509.publicKey.export({ type: 'spki', format: 'der' }));
    expect(info.notAfter.getTime()).toBe(new Date(x509.validTo).getTime());
    expect(info.notBefore.getTime()).toBe(new Date(x509.validFrom).getTime());
    expect(await fingerprintOf(info, sha256)).toBe(keyFingerprint(x509.publicKey));
  });

  it('refuses a certificate with an EC key, naming the problem', () => {
    expect(() => readCertificate(certificateDer(readFixture('ec-cert.pem')))).toThrow(/does not hold an RSA key/);
  });

  it('refuses every truncation and corruption of a certificate with a CertificateError, without echoing it', () => {
    const der = certificateDer(readFixture('sealing-cert.pem'));
    // An echo would be a run of the input's base64 or hex (a field name such as subjectPublicKeyInfo is not one).
    const echoes = (message: string, input: Uint8Array): boolean => {
      const encoded = [Buffer.from(input).toString('base64'), Buffer.from(input).toString('hex')];
      return (message.match(/[A-Za-z0-9+/]{12,}/g) ?? []).some((run) => encoded.some((e) => e.includes(run)));
    };
    fc.assert(fc.property(fc.nat(der.length - 1), fc.nat(255), fc.boolean(), (at, byte, truncate) => {
      const bad = truncate ? der.slice(0, at) : Uint8Array.from(der, (b, i) => (i === at ? byte : b));
      try {
        readCertificate(bad);
      } catch (error) {
        expect(error).toBeInstanceOf(CertificateError);
        expect(echoes((error as Error).message, bad)).toBe(false);
      }
    }), { numRuns: 300 });
  });

  it('finds no certificate in text without one', () => {
    expect(() => certificateDer('hello')).toThrow(CertificateError);
  });

  it('warns within 30 days of expiry and after it', () => {
    const notAfter = new Date('2030-01-31T00:00:00Z');
    expect(validityWarning({ notAfter }, new Date('2029-12-01T00:00:00Z'))).toBeUndefined();
    expect(validityWarning({ notAfter }, new Date('2030-01-10T00:00:00Z'))).toEqual({ kind: 'expiring', days: 21 });
    expect(validityWarning({ notAfter }, new Date('2030-02-01T00:00:00Z'))?.kind).toBe('expired');
  });
});

describe('sealing with WebCrypto', () => {
  const der = certificateDer(readFixture('sealing-cert.pem'));

  it.each(SCOPES)('a %s value opens with the node:crypto decryptor', async (scope) => {
    const key = await importSealingKey(readCertificate(der).spki, subtle);
    const label = encryptionLabel(scope, 'ns', 'name');
    const plaintext = randomBytes(1000);
    const sealed = await sealWithWebCrypto(key, plaintext, label, randomBytes, subtle);
    expect(hybridDecrypt([secondKey(), sealingKey()], sealed, label)).toEqual({ plaintext, keyIndex: 1 });
  });

  it('lays out the same bytes as hybridEncrypt for the same session key (all but the RSA part, whose OAEP seed differs)', async () => {
    const key = await importSealingKey(readCertificate(der).spki, subtle);
    const label = encryptionLabel('strict', 'ns', 'name');
    for (const plaintext of [new Uint8Array(0), Buffer.from('s3cr3t'), randomBytes(70_000)]) {
      const web = splitCiphertext(await sealWithWebCrypto(key, plaintext, label, pinned(7), subtle));
      const node = splitCiphertext(hybridEncrypt(sealingPublicKey(), plaintext, label, pinned(7)));
      expect(web.rsaPart.length).toBe(node.rsaPart.length);
      expect(web.aesPart).toEqual(node.aesPart);
      const cipher = createCipheriv('aes-256-gcm', pinned(7)(32), Buffer.alloc(12));
      expect(web.aesPart).toEqual(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
    }
  });

  it('refuses a random source that returns too few bytes', async () => {
    const key = await importSealingKey(readCertificate(der).spki, subtle);
    await expect(sealWithWebCrypto(key, new Uint8Array(1), new Uint8Array(0), () => new Uint8Array(16), subtle)).rejects.toThrow(/wrong number of bytes/);
  });

  it('a plan sealed with WebCrypto is the SealedSecret sealSecret makes, and unseals to the same Secret', async () => {
    const key = await importSealingKey(readCertificate(der).spki, subtle);
    const secret = readSecret({
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
      metadata: { name: 'db', namespace: 'app', labels: { team: 'a' }, annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } },
      data: { bin: Buffer.from([0, 255, 128, 10]).toString('base64') },
      stringData: { password: 'pässword' },
    }, 'test');
    const plan = planSeal(secret, {});
    const encrypted: Record<string, string> = {};
    for (const [k, bytes] of plan.values) encrypted[k] = encodeBase64(await sealWithWebCrypto(key, bytes, plan.label, randomBytes, subtle));
    const web = plan.finish(encrypted);
    const node = sealSecret(secret, { publicKey: sealingPublicKey(), random: randomBytes });
    const shape = (s: typeof web) => ({ ...s, spec: { ...s.spec, encryptedData: Object.keys(s.spec.encryptedData) } });
    expect(shape(web)).toEqual(shape(node));
    const open = (s: typeof web) => unsealSealedSecret(s, { keys: [sealingKey()] }).secret;
    expect(open(web)).toEqual(open(node));
  });

  it('imports any RSA public key WebCrypto reads (2048-bit too)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = await importSealingKey(publicKey.export({ type: 'spki', format: 'der' }), subtle);
    const sealed = await sealWithWebCrypto(key, Buffer.from('x'), new Uint8Array(0), randomBytes, subtle);
    expect(hybridDecrypt([privateKey], sealed, new Uint8Array(0)).plaintext.toString()).toBe('x');
  });
});
