import { describe, expect, it } from 'vitest';
import { readFixture, sealingKey, secondKey } from '../test/fixtures/fixtures.ts';
import { ageDecrypter, ageEncrypter, checkAgeRecipient, generateAgeIdentity, parseAgeIdentities } from './age.ts';
import { UsageError, UserError } from './errors.ts';
import { encryptKeyBackupEntry, keyBackupConfigMap, openKeyBackup, readKeyBackupEntries } from './key-backup.ts';
import { keyFingerprint, privateKeyToPem } from './keys.ts';
import type { Secret } from './kube.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const keySecret = (name: string, key = sealingKey(), cert = readFixture('sealing-cert.pem')): Secret => ({
  apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
  metadata: { name, namespace: 'kube-system', uid: 'u', resourceVersion: '9', creationTimestamp: '2026-01-01T00:00:00Z', labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' } },
  data: { 'tls.crt': b64(cert), 'tls.key': b64(privateKeyToPem(key)) },
});
const notBefore = new Date('2026-01-01T00:00:00.500Z');

async function backupOf(secrets: Secret[], recipients: string[]) {
  const encrypter = await ageEncrypter(recipients);
  const entries = await Promise.all(secrets.map((s) => encryptKeyBackupEntry(s, { name: s.metadata?.name ?? '', fingerprint: keyFingerprint(sealingKey()), notBefore }, encrypter)));
  return keyBackupConfigMap({ name: 'sealed-secrets-key-backup', namespace: 'kube-system', entries });
}

describe('key backup ConfigMap', () => {
  it('holds age armor and non-secret metadata per key Secret, and opens back to the key Secret', async () => {
    const admin = await generateAgeIdentity();
    const other = await generateAgeIdentity();
    const configMap = await backupOf([keySecret('sealed-secrets-keyb'), keySecret('sealed-secrets-keya')], [admin.recipient, other.recipient]);
    expect(Object.keys(configMap.data)).toEqual(['sealed-secrets-keya.age', 'sealed-secrets-keya.json', 'sealed-secrets-keyb.age', 'sealed-secrets-keyb.json']);
    expect(configMap.data['sealed-secrets-keya.age']).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+-----END AGE ENCRYPTED FILE-----\n$/);
    expect(JSON.parse(configMap.data['sealed-secrets-keya.json'] ?? '')).toEqual({ fingerprint: keyFingerprint(sealingKey()), notBefore: '2026-01-01T00:00:00Z', recipients: [admin.recipient, other.recipient] });
    // Nothing of the key in clear: not the PEM, not its base64.
    const text = JSON.stringify(configMap);
    expect(text).not.toContain(b64(privateKeyToPem(sealingKey())).slice(0, 40));
    expect(text).not.toContain('PRIVATE KEY');

    for (const who of [admin, other]) {
      const opened = await openKeyBackup(configMap, { decrypter: await ageDecrypter([who.identity], 'identity.txt'), where: 'backup.yaml' });
      expect(opened.map((o) => o.entry.name)).toEqual(['sealed-secrets-keya', 'sealed-secrets-keyb']);
      // The manifest that recreates the key Secret, without what the API server set.
      expect(opened[0]?.secret).toEqual({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'sealed-secrets-keya', namespace: 'kube-system', labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' } }, data: keySecret('x').data });
    }
  });

  it('refuses a wrong identity, naming the entry and its recipients, never the ciphertext', async () => {
    const admin = await generateAgeIdentity();
    const stranger = await generateAgeIdentity();
    const configMap = await backupOf([keySecret('k1')], [admin.recipient]);
    const attempt = openKeyBackup(configMap, { decrypter: await ageDecrypter([stranger.identity], 'id.txt'), where: 'backup.yaml' });
    await expect(attempt).rejects.toThrow(UserError);
    await expect(attempt).rejects.toThrow(`backup.yaml: data["k1.age"] cannot be decrypted with the given age identity; pass the identity of one of its recipients (${admin.recipient})`);
  });

  it('refuses an entry whose key is not the one its metadata names (an altered ConfigMap)', async () => {
    const admin = await generateAgeIdentity();
    const encrypter = await ageEncrypter([admin.recipient]);
    const entry = await encryptKeyBackupEntry(keySecret('k1', secondKey(), readFixture('second-cert.pem')), { name: 'k1', fingerprint: keyFingerprint(sealingKey()), notBefore }, encrypter);
    const configMap = keyBackupConfigMap({ name: 'b', namespace: 'ns', entries: [entry] });
    await expect(openKeyBackup(configMap, { decrypter: await ageDecrypter([admin.identity], 'id'), where: 'b.yaml' })).rejects.toThrow(/holds key SHA256:\S+, not SHA256:\S+ as data\["k1.json"\] says; the ConfigMap was altered/);
  });

  it.each([
    ['not a ConfigMap', { kind: 'Secret' }, /is not a ConfigMap/],
    ['no entries', { kind: 'ConfigMap', data: { other: 'x' } }, /holds no key backup entries/],
    ['no metadata', { kind: 'ConfigMap', data: { 'k.age': 'x' } }, /data\["k.age"\] has no data\["k.json"\]/],
    ['bad metadata', { kind: 'ConfigMap', data: { 'k.age': 'x', 'k.json': '{"fingerprint":1}' } }, /data\["k.json"\] needs "fingerprint" and "notBefore"/],
  ])('refuses %s with a one-line error', (_, configMap, message) => {
    expect(() => readKeyBackupEntries(configMap, 'b.yaml')).toThrow(message);
  });
});

describe('age recipients and identities', () => {
  it('checks the form of a recipient, quoting only it, and the checksum when encrypting', async () => {
    const { recipient } = await generateAgeIdentity();
    expect(checkAgeRecipient(` ${recipient}\n`, '--key-backup-recipient')).toBe(recipient);
    expect(() => checkAgeRecipient('age1nope', '--key-backup-recipient')).toThrow(UsageError);
    expect(() => checkAgeRecipient('AGE-SECRET-KEY-1XYZ', '--key-backup-recipient')).toThrow(/^invalid --key-backup-recipient "AGE-SECRET-KEY-1XYZ": use an age X25519 recipient/);
    const last = recipient.at(-1) === 'q' ? 'p' : 'q';
    await expect(ageEncrypter([`${recipient.slice(0, -1)}${last}`])).rejects.toThrow(/bad checksum/);
  });

  it('reads identity files as age-keygen writes them, and refuses other lines without quoting them', async () => {
    const { identity } = await generateAgeIdentity();
    expect(parseAgeIdentities(`# created: 2026-01-01\n# public key: age1...\n${identity}\n`, 'id.txt')).toEqual([identity]);
    expect(() => parseAgeIdentities('secret-looking-line\n', 'id.txt')).toThrow('id.txt: line 1 is not an age identity (AGE-SECRET-KEY-1…); pass the file age-keygen wrote');
    expect(() => parseAgeIdentities('# only a comment\n', 'id.txt')).toThrow(/holds no age identity/);
  });
});
