import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSealingCertificate, generateSealingKeyPair } from './certificate.ts';

describe('createSealingCertificate', () => {
  it('builds upstream\'s certificate profile', async () => {
    // 2048 bits keeps the test fast; the profile does not depend on the size.
    const keyPair = await generateSealingKeyPair(2048);
    const notBefore = new Date('2026-01-02T03:04:05Z');
    const pem = await createSealingCertificate({
      keyPair,
      commonName: '',
      notBefore,
      validForMs: 3650 * 24 * 3600 * 1000,
      random: (n) => Buffer.alloc(n, 0xab),
    });
    const cert = new X509Certificate(pem);
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
    expect(cert.publicKey.equals(keyPair.publicKey)).toBe(true);
    expect(cert.verify(keyPair.publicKey)).toBe(true);
    expect(cert.subject ?? '').toBe('');
    expect(cert.serialNumber.toLowerCase()).toBe('ab'.repeat(16));
    expect(new Date(cert.validFrom).toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(new Date(cert.validTo).toISOString()).toBe('2035-12-31T03:04:05.000Z');

    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem }).toString();
    expect(text).toMatch(/Version: 3/);
    expect(text).toMatch(/Serial Number:\n\s+ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab\n/);
    expect(text).not.toMatch(/Negative/); // the top bit is set: the DER INTEGER needs its sign byte
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Encipher Only\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
  });

  it('puts --my-cn in subject and issuer', async () => {
    const keyPair = await generateSealingKeyPair(2048);
    const pem = await createSealingCertificate({ keyPair, commonName: 'sealed', notBefore: new Date(), validForMs: 1000, random: (n) => Buffer.alloc(n, 1) });
    const cert = new X509Certificate(pem);
    expect(cert.subject).toBe('CN=sealed');
    expect(cert.issuer).toBe('CN=sealed');
  });
});
