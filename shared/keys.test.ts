import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFixture, sealingKey, sealingPublicKey } from '../test/fixtures/fixtures.ts';
import { UserError } from './errors.ts';
import { keyFingerprint, parsePrivateKey, parseSealingKey, privateKeyToPem } from './keys.ts';

const now = new Date('2030-01-01T00:00:00Z');

describe('parseSealingKey', () => {
  it('reads the first certificate of a PEM', () => {
    const pem = readFixture('sealing-cert.pem') + readFixture('second-cert.pem');
    const { key, notAfter } = parseSealingKey(pem, now, 'cert.pem');
    expect(key.equals(sealingPublicKey())).toBe(true);
    expect(notAfter?.getUTCFullYear()).toBe(2036);
  });

  it('reads a PUBLIC KEY PEM', () => {
    const spki = sealingPublicKey().export({ type: 'spki', format: 'pem' }).toString();
    expect(parseSealingKey(spki, now, 'key.pem').key.equals(sealingPublicKey())).toBe(true);
  });

  it.each([
    ['garbage', 'not a pem at all', /holds no PEM certificate or public key/],
    ['a corrupt certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /cannot be read/],
    ['an expired certificate', readFixture('expired-cert.pem'), /^failed to encrypt using an expired certificate on January 1, 2021; fetch the current/],
    ['an EC certificate', readFixture('ec-cert.pem'), /holds a ec key, but sealing needs an RSA key/],
  ])('refuses %s with a one-line error', (_, pem, message) => {
    let error: unknown;
    try {
      parseSealingKey(pem, now, 'cert.pem');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('private keys', () => {
  it('reads PKCS#1 and PKCS#8 and writes PKCS#1', () => {
    const key = sealingKey();
    const pkcs8 = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(parsePrivateKey(pkcs8, 'k').equals(key)).toBe(true);
    expect(privateKeyToPem(key)).toMatch(/^-{5}BEGIN RSA PRIVATE KEY-{5}\n/);
  });
  it('refuses non-RSA and unreadable keys', () => {
    expect(() => parsePrivateKey('nope', 'k.pem')).toThrow(/k.pem is not a readable PEM private key/);
  });
});

describe('keyFingerprint', () => {
  it('matches ssh-keygen for the same public key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-'));
    const pub = join(dir, 'key.pub');
    writeFileSync(pub, sealingPublicKey().export({ type: 'spki', format: 'pem' }));
    const openssh = execFileSync('ssh-keygen', ['-i', '-m', 'PKCS8', '-f', pub]).toString();
    writeFileSync(join(dir, 'key.ssh'), openssh);
    const listed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'key.ssh')]).toString();
    expect(listed.split(' ')[1]).toBe(keyFingerprint(sealingKey()));
    expect(keyFingerprint(sealingPublicKey())).toBe(keyFingerprint(sealingKey()));
  });
});
