/**
 * The key tooling that needs no cluster, with the compiled kubeseal binary: `kubeseal keys` over
 * files and directories, `--re-encrypt` of many files offline (--recovery-private-key + --cert),
 * and the key backup (escrow) ConfigMap opened with an age identity (--recovery-unseal,
 * `kubeseal keys restore`). The escrow ConfigMap is made with shared/key-backup.ts, the format the
 * controller writes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { fixturePath, readFixture, secondKey, sealingKey } from '../test/fixtures/fixtures.ts';
import { KUBESEAL, runKubeseal, type CliResult } from '../test/run-cli.ts';
import { ageEncrypter, generateAgeIdentity } from '../shared/age.ts';
import { encryptKeyBackupEntry, keyBackupConfigMap } from '../shared/key-backup.ts';
import { keySecret } from '../shared/key-secret.ts';
import { keyFingerprint } from '../shared/keys.ts';
import { readSealedSecret } from '../shared/kube.ts';
import { formatYaml, parseDocuments } from '../shared/manifest.ts';
import { unsealSealedSecret } from '../shared/sealed-secret.ts';

const CERT = fixturePath('sealing-cert.pem');
const SECOND_CERT = fixturePath('second-cert.pem');
const BOTH_KEYS = `${fixturePath('sealing-key.pem')},${fixturePath('second-key.pem')}`;
const FIRST = keyFingerprint(sealingKey());
const SECOND = keyFingerprint(secondKey());
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const scratch = mkdtempSync(join(tmpdir(), 'kubeseal-keys-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
/** A fresh directory: a.yaml (first key), sub/b.yaml (second key, two documents), c.json (first key), notes.yaml (a ConfigMap). */
function repository(): string {
  const dir = join(scratch, `repo-${++counter}`);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'a.yaml'), readFixture('upstream-strict.yaml'));
  const second = readFixture('upstream-second-key.yaml');
  writeFileSync(join(dir, 'sub', 'b.yaml'), `${second}${second}`);
  writeFileSync(join(dir, 'c.json'), `${JSON.stringify(parseDocuments(readFixture('upstream-namespace-wide.yaml'))[0], null, 2)}\n`);
  writeFileSync(join(dir, 'notes.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n');
  // Hidden directories (.git) and files that are not manifests are never read or rewritten.
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, '.git', 'stale.yaml'), second);
  writeFileSync(join(dir, 'README.md'), 'not a manifest\n');
  return dir;
}

const snapshot = (dir: string): Record<string, string> => Object.fromEntries(
  ['a.yaml', 'sub/b.yaml', 'c.json', 'notes.yaml'].map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
);

/** The fingerprints of the keys that open every SealedSecret of `file`. */
function openedBy(file: string): string[] {
  const keys = [sealingKey(), secondKey()];
  return parseDocuments(readFileSync(file)).map((doc) => {
    const { keysUsed } = unsealSealedSecret(readSealedSecret(doc, file), { keys });
    return keysUsed.map((i) => keyFingerprint(keys[i]!)).join(',');
  });
}

function expectOneError(result: CliResult, message: RegExp): void {
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('kubeseal keys, offline', () => {
  it('names the key that opens each SealedSecret of a directory, recursively, in path order', async () => {
    const dir = repository();
    const result = await runKubeseal(['keys', '--recovery-private-key', BOTH_KEYS, dir]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const rows = result.stdout.toString().trimEnd().split('\n').map((line) => line.split(/\s{3,}/));
    expect(rows[0]).toEqual(['FILE', 'NAMESPACE', 'NAME', 'KEY', 'FINGERPRINT']);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[2], r[4]])).toEqual([
      [`${dir}/a.yaml`, 'demo', 'db-creds', FIRST],
      [`${dir}/c.json`, 'demo', 'db-creds', FIRST],
      [`${dir}/sub/b.yaml`, 'demo', 'db-creds', SECOND],
      [`${dir}/sub/b.yaml`, 'demo', 'db-creds', SECOND],
    ]);
  });

  it('-o json lists the same, and a SealedSecret no given key opens makes it exit 1 after the listing', async () => {
    const dir = repository();
    const result = await runKubeseal(['keys', '--recovery-private-key', fixturePath('sealing-key.pem'), '-o', 'json', join(dir, 'a.yaml'), join(dir, 'sub')]);
    expect(result.code).toBe(1);
    expectOneError(result, /2 of 3 SealedSecrets open with none of the given keys/);
    const listed = JSON.parse(result.stdout.toString()) as { sealedSecrets: { file: string; keys: { fingerprint: string }[]; problem?: string }[] };
    expect(listed.sealedSecrets.map((s) => [s.file, s.keys.map((k) => k.fingerprint), s.problem])).toEqual([
      [join(dir, 'a.yaml'), [FIRST], undefined],
      [join(dir, 'sub/b.yaml'), [], 'no given key opens it'],
      [join(dir, 'sub/b.yaml'), [], 'no given key opens it'],
    ]);
  });

  it('a SealedSecret without encrypted values needs no key: listed as such, not counted as unopened', async () => {
    const dir = repository();
    writeFileSync(join(dir, 'empty.yaml'), 'apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: empty, namespace: demo}\nspec:\n  encryptedData: {}\n  template: {}\n');
    const result = await runKubeseal(['keys', '--recovery-private-key', BOTH_KEYS, join(dir, 'empty.yaml')]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.toString().trimEnd().split('\n')[1]?.split(/\s{3,}/).slice(1)).toEqual(['demo', 'empty', '(none: it holds no encrypted values)', '-']);
  });

  it('refuses files without --recovery-private-key, and a named file that holds no SealedSecret', async () => {
    const dir = repository();
    const without = await runKubeseal(['keys', join(dir, 'a.yaml')]);
    expect(without.code).toBe(2);
    expectOneError(without, /needs --recovery-private-key/);
    const notSealed = await runKubeseal(['keys', '--recovery-private-key', BOTH_KEYS, join(dir, 'notes.yaml')]);
    expect(notSealed.code).toBe(1);
    expectOneError(notSealed, /notes\.yaml" holds no SealedSecret/);
  });
});

describe('kubeseal --re-encrypt of many files, offline', () => {
  it('rewrites what another key sealed, in place and in its format, leaves current files and other objects untouched, and sums up', async () => {
    const dir = repository();
    const before = snapshot(dir);
    const result = await runKubeseal(['--re-encrypt', '--recovery-private-key', BOTH_KEYS, '--cert', CERT, dir]);
    expect(result.stdout.toString()).toBe('');
    expect(result.stderr).toBe('re-encrypted 2 SealedSecrets, 2 already current, 0 failed\n');
    expect(result.code).toBe(0);
    const after = snapshot(dir);
    expect(after['a.yaml']).toBe(before['a.yaml']);
    expect(after['c.json']).toBe(before['c.json']);
    expect(after['notes.yaml']).toBe(before['notes.yaml']);
    expect(after['sub/b.yaml']).not.toBe(before['sub/b.yaml']);
    expect(openedBy(join(dir, 'sub/b.yaml'))).toEqual([FIRST, FIRST]);
    expect(after['sub/b.yaml']?.startsWith('---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n')).toBe(true);
    // Same Secret once unsealed: name, namespace, every value.
    const unsealed = (text: string) => parseDocuments(text).map((d) => unsealSealedSecret(readSealedSecret(d, 'x'), { keys: [sealingKey(), secondKey()] }).secret);
    expect(unsealed(after['sub/b.yaml'] ?? '')).toEqual(unsealed(before['sub/b.yaml'] ?? ''));
    expect(readdirSync(join(dir, 'sub'))).toEqual(['b.yaml']);
    expect(readFileSync(join(dir, '.git', 'stale.yaml'), 'utf8')).toBe(readFixture('upstream-second-key.yaml'));

    const again = await runKubeseal(['--re-encrypt', '--recovery-private-key', BOTH_KEYS, '--cert', CERT, '-f', dir]);
    expect(again).toMatchObject({ code: 0, stderr: 're-encrypted 0 SealedSecrets, 4 already current, 0 failed\n' });
    expect(snapshot(dir)).toEqual(after);
  });

  it('keeps JSON as JSON, and a file it cannot open unchanged while the others are rewritten; exits 1', async () => {
    const dir = repository();
    const before = snapshot(dir);
    const result = await runKubeseal(['--re-encrypt', '--recovery-private-key', fixturePath('sealing-key.pem'), '--cert', SECOND_CERT, dir]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^error: ${dir}/sub/b.yaml: .*no key could decrypt secret`)),
      're-encrypted 2 SealedSecrets, 0 already current, 2 failed (in 1 file, left unchanged)',
      'error: 1 of 4 files could not be re-encrypted and were left as they were (reasons above)',
    ]);
    const after = snapshot(dir);
    expect(after['sub/b.yaml']).toBe(before['sub/b.yaml']);
    expect(after['c.json']?.trimStart().startsWith('{')).toBe(true);
    expect(openedBy(join(dir, 'c.json'))).toEqual([SECOND]);
    expect(openedBy(join(dir, 'a.yaml'))).toEqual([SECOND]);
    expect(statSync(join(dir, 'a.yaml')).mode & 0o777).toBe(0o644);
  });

  it.skipIf(!hasScript)('shows a progress line on a terminal only, rewritten in place, cleared before the summary', () => {
    const dir = repository();
    const command = [process.execPath, KUBESEAL, '--re-encrypt', '--recovery-private-key', BOTH_KEYS, '--cert', CERT, dir].map((w) => `'${w}'`).join(' ');
    const onTty = execFileSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { PATH: process.env.PATH, KUBECONFIG: '/nonexistent' } });
    expect(onTty).toContain(`\r\x1b[Kre-encrypting 1/4: ${dir}/a.yaml`);
    expect(onTty).toContain(`\r\x1b[Kre-encrypting 4/4: ${dir}/sub/b.yaml`);
    expect(onTty).toMatch(/\r\x1b\[Kre-encrypted 2 SealedSecrets, 2 already current, 0 failed\r?\n$/);
  });

  it('skips a file of the directory that is not YAML (with a warning), but fails on one named explicitly', async () => {
    const dir = repository();
    const template = '{{- if .Values.sealed }}\nkind: SealedSecret\n{{- end }}\n';
    writeFileSync(join(dir, 'sub', 'template.yaml'), template);
    const walked = await runKubeseal(['--re-encrypt', '--recovery-private-key', BOTH_KEYS, '--cert', CERT, dir]);
    expect(walked.code, walked.stderr).toBe(0);
    expect(walked.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^warning: skipped ${dir}/sub/template.yaml: .* is not valid`)),
      're-encrypted 2 SealedSecrets, 2 already current, 0 failed',
    ]);
    expect(walked.stderr).not.toContain('.Values');
    const named = await runKubeseal(['--re-encrypt', '--recovery-private-key', BOTH_KEYS, '--cert', CERT, join(dir, 'sub', 'template.yaml')]);
    expect(named.code).toBe(1);
    expect(readFileSync(join(dir, 'sub', 'template.yaml'), 'utf8')).toBe(template);
  });

  it('takes only regular files from a directory (a FIFO, a link, a link loop are skipped, never waited on), and keeps a rewritten file\'s exact mode', async () => {
    const dir = repository();
    chmodSync(join(dir, 'a.yaml'), 0o664);
    execFileSync('mkfifo', [join(dir, 'fifo.yaml')]);
    symlinkSync('a.yaml', join(dir, 'link.yaml'));
    symlinkSync('loop.yaml', join(dir, 'loop.yaml'));
    const result = await runKubeseal(['--re-encrypt', '--recovery-private-key', BOTH_KEYS, '--cert', SECOND_CERT, dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `warning: skipped ${dir}/fifo.yaml: not a regular file (a symbolic link, FIFO or device); name it, or its target, explicitly`,
      `warning: skipped ${dir}/link.yaml: not a regular file (a symbolic link, FIFO or device); name it, or its target, explicitly`,
      `warning: skipped ${dir}/loop.yaml: not a regular file (a symbolic link, FIFO or device); name it, or its target, explicitly`,
      're-encrypted 2 SealedSecrets, 2 already current, 0 failed',
    ]);
    expect(openedBy(join(dir, 'a.yaml'))).toEqual([SECOND]);
    expect(statSync(join(dir, 'a.yaml')).mode & 0o777).toBe(0o664);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  }, 30_000);

  it('-w to a FIFO writes into it (as -w /dev/stdout), never puts a regular file in its place', async () => {
    const fifo = join(scratch, `out-${++counter}.fifo`);
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    const read: Buffer[] = [];
    reader.stdout.on('data', (d: Buffer) => read.push(d));
    const closed = new Promise((resolve) => reader.on('close', resolve));
    onTestFinished(() => {
      reader.kill();
    });
    const result = await runKubeseal(['--recovery-unseal', '--recovery-private-key', fixturePath('sealing-key.pem'), '-f', fixturePath('upstream-strict.yaml'), '-o', 'yaml', '-w', fifo]);
    expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
    await closed;
    expect(parseDocuments(Buffer.concat(read))[0]).toEqual(parseDocuments(readFixture('upstream-unsealed.yaml'))[0]);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  }, 20_000);

  it('a symbolic link named explicitly stays a link; its target is rewritten in place', async () => {
    const dir = repository();
    symlinkSync('a.yaml', join(dir, 'link.yaml'));
    const result = await runKubeseal(['--re-encrypt', '--recovery-private-key', BOTH_KEYS, '--cert', SECOND_CERT, join(dir, 'link.yaml')]);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(lstatSync(join(dir, 'link.yaml')).isSymbolicLink()).toBe(true);
    expect(openedBy(join(dir, 'a.yaml'))).toEqual([SECOND]);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('offline needs --cert; -w takes one input; stdin goes to stdout', async () => {
    const dir = repository();
    const noCert = await runKubeseal(['--re-encrypt', '--recovery-private-key', BOTH_KEYS, dir]);
    expect(noCert.code).toBe(2);
    expectOneError(noCert, /needs --cert <file or URL>/);
    const twoWithW = await runKubeseal(['--re-encrypt', '--recovery-private-key', BOTH_KEYS, '--cert', CERT, '-w', join(dir, 'out.yaml'), join(dir, 'a.yaml'), join(dir, 'c.json')]);
    expect(twoWithW.code).toBe(2);
    expect(() => statSync(join(dir, 'out.yaml'))).toThrow();
    const piped = await runKubeseal(['--re-encrypt', '--recovery-private-key', BOTH_KEYS, '--cert', CERT, '-o', 'yaml'], { stdin: readFixture('upstream-second-key.yaml') });
    expect(piped).toMatchObject({ code: 0, stderr: '' });
    const out = join(dir, 'piped.yaml');
    writeFileSync(out, piped.stdout);
    expect(openedBy(out)).toEqual([FIRST]);
  });
});

describe('the key backup (escrow) ConfigMap with an age identity', () => {
  let backup = '';
  let identityFile = '';
  let otherIdentityFile = '';
  beforeAll(async () => {
    const admin = await generateAgeIdentity();
    const other = await generateAgeIdentity();
    identityFile = join(scratch, 'admin.agekey');
    otherIdentityFile = join(scratch, 'other.agekey');
    writeFileSync(identityFile, `# created: for a test\n# public key: ${admin.recipient}\n${admin.identity}\n`, { mode: 0o600 });
    writeFileSync(otherIdentityFile, `${other.identity}\n`, { mode: 0o600 });
    const encrypter = await ageEncrypter([admin.recipient]);
    const entries = [];
    for (const [name, key, cert] of [['sealed-secrets-keyaaaaa', sealingKey(), 'sealing-cert.pem'], ['sealed-secrets-keybbbbb', secondKey(), 'second-cert.pem']] as const) {
      const secret = keySecret({ prefix: 'sealed-secrets-key', namespace: 'kube-system', privateKey: key, certificate: readFixture(cert), labels: {}, annotations: {} });
      secret.metadata = { ...secret.metadata, name };
      delete secret.metadata.generateName;
      entries.push(await encryptKeyBackupEntry(secret, { name, fingerprint: keyFingerprint(key), notBefore: new Date(new X509Certificate(readFixture(cert)).validFrom) }, encrypter));
    }
    backup = join(scratch, 'key-backup.yaml');
    writeFileSync(backup, formatYaml(keyBackupConfigMap({ name: 'sealed-secrets-key-backup', namespace: 'kube-system', entries })));
  });

  it('--recovery-unseal opens SealedSecrets of both keys with the backup and the identity', async () => {
    const result = await runKubeseal(['--recovery-unseal', '--recovery-private-key', backup, '--recovery-age-identity', identityFile, '-o', 'yaml'], {
      stdin: `${readFixture('upstream-strict.yaml')}${readFixture('upstream-second-key.yaml')}`,
    });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const unsealed = readFixture('upstream-unsealed.yaml');
    expect(parseDocuments(result.stdout)[0]).toEqual(parseDocuments(unsealed)[0]);
    expect(parseDocuments(result.stdout)).toHaveLength(2);
  });

  it('without the identity, or with another one, fails in one line naming the flag and never the content', async () => {
    const without = await runKubeseal(['--recovery-unseal', '--recovery-private-key', backup], { stdin: readFixture('upstream-strict.yaml') });
    expect(without.code).toBe(2);
    expectOneError(without, /pass the admin's age identity file with --recovery-age-identity/);
    const wrong = await runKubeseal(['--recovery-unseal', '--recovery-private-key', backup, '--recovery-age-identity', otherIdentityFile], { stdin: readFixture('upstream-strict.yaml') });
    expect(wrong.code).toBe(1);
    expectOneError(wrong, /cannot be decrypted with the given age identity/);
    expect(wrong.stderr).not.toMatch(/AGE-SECRET-KEY|BEGIN/);
    expect(wrong.stdout.toString()).toBe('');
  });

  it('kubeseal keys names the key Secret of the backup that opens each SealedSecret', async () => {
    const result = await runKubeseal(['keys', '--recovery-private-key', backup, '--recovery-age-identity', identityFile, '-f', join(repository(), 'sub', 'b.yaml')]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const rows = result.stdout.toString().trimEnd().split('\n').slice(1).map((line) => line.split(/\s{3,}/).slice(3));
    expect(rows).toEqual([['sealed-secrets-keybbbbb', SECOND], ['sealed-secrets-keybbbbb', SECOND]]);
  });

  it('kubeseal keys restore prints the key Secrets for the controller namespace; -w writes them with mode 0600', async () => {
    const out = join(scratch, 'restored.yaml');
    // A file it replaces that others could read does not make the key material readable by them.
    writeFileSync(out, 'old\n', { mode: 0o644 });
    chmodSync(out, 0o644);
    const result = await runKubeseal(['keys', 'restore', '--recovery-private-key', backup, '--recovery-age-identity', identityFile, '--controller-namespace', 'sealed', '-o', 'yaml', '-w', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`2 key Secrets for namespace "sealed": sealed-secrets-keyaaaaa (${FIRST}), sealed-secrets-keybbbbb (${SECOND})\n`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const list = parseDocuments(readFileSync(out))[0] as { kind: string; items: { metadata: { name: string; namespace: string; labels: Record<string, string> }; type: string; data: Record<string, string> }[] };
    expect(list.kind).toBe('List');
    expect(list.items.map((s) => [s.metadata.name, s.metadata.namespace, s.metadata.labels['sealedsecrets.bitnami.com/sealed-secrets-key'], s.type])).toEqual([
      ['sealed-secrets-keyaaaaa', 'sealed', 'active', 'kubernetes.io/tls'],
      ['sealed-secrets-keybbbbb', 'sealed', 'active', 'kubernetes.io/tls'],
    ]);
    // The restored Secrets are a kubectl backup: kubeseal --recovery-unseal takes them as they are.
    const reopened = await runKubeseal(['--recovery-unseal', '--recovery-private-key', out], { stdin: readFixture('upstream-second-key.yaml') });
    expect(reopened).toMatchObject({ code: 0, stderr: '' });
  });
});
