/** The page's logic in Node (WebCrypto is there too): validation, and output that opens as kubeseal's does. */
import { randomBytes, webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readFixture, sealingKey } from '../test/fixtures/fixtures.ts';
import { certificateDer, readCertificate } from '../shared/certificate-info.ts';
import { hybridDecrypt } from '../shared/crypto.ts';
import { readSealedSecret } from '../shared/kube.ts';
import { parseDocuments } from '../shared/manifest.ts';
import { encryptionLabel } from '../shared/scope.ts';
import { unsealSealedSecret } from '../shared/sealed-secret.ts';
import { importSealingKey, type Subtle } from '../shared/wire-format.ts';
import { downloadName, sealForm, validate, type FormState } from './seal-form.ts';

const subtle = webcrypto.subtle as unknown as Subtle;
const tools = async () => ({ publicKey: await importSealingKey(readCertificate(certificateDer(readFixture('sealing-cert.pem'))).spki, subtle), random: randomBytes, subtle });
const base: FormState = {
  mode: 'pairs', name: 'db', namespace: 'app', type: 'Opaque', scope: 'strict',
  rows: [{ key: 'password', text: 's3cret' }], manifest: '', templates: [], format: 'yaml',
};
const open = (text: string) => parseDocuments(text).map((doc) => unsealSealedSecret(readSealedSecret(doc, 'output'), { keys: [sealingKey()] }).secret);

describe('validation as the user types', () => {
  it.each([
    ['a name the API server refuses', { name: 'Bad_Name' }, 'name', /lower-case/],
    ['no name', { name: '' }, 'name', /required/],
    ['a namespace too long', { namespace: 'a'.repeat(64) }, 'namespace', /63/],
    ['no namespace (strict)', { namespace: '' }, 'namespace', /required unless the scope is cluster-wide/],
    ['a bad key', { rows: [{ key: 'a b', text: 'x' }] }, 'key-0', /characters other than/],
    ['an empty key', { rows: [{ key: '', text: 'x' }] }, 'key-0', /required/],
    ['a key twice', { rows: [{ key: 'k', text: 'x' }, { key: 'k', text: 'y' }] }, 'key-1', /twice/],
    ['an empty value', { rows: [{ key: 'k', text: '' }] }, 'value-0', /empty/],
    ['an unreadable manifest', { mode: 'manifest', manifest: 'kind: [' }, 'manifest', /./],
    ['a manifest of another kind', { mode: 'manifest', manifest: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' }, 'manifest', /not a v1 Secret/],
  ] as const)('%s', (_, change, fieldId, message) => {
    const problems = validate({ ...base, ...change } as FormState);
    expect(problems.get(fieldId)).toMatch(message);
  });

  it('no problems for a good form; cluster-wide needs no namespace; a file value is not empty', () => {
    expect(validate(base).size).toBe(0);
    expect(validate({ ...base, scope: 'cluster-wide', namespace: '' }).size).toBe(0);
    expect(validate({ ...base, rows: [{ key: 'f', text: '', file: { name: 'f', bytes: new Uint8Array(0) } }] }).size).toBe(0);
  });

  it('never quotes a value in a problem', () => {
    const problems = validate({ ...base, mode: 'manifest', manifest: 'apiVersion: v1\nkind: Secret\ndata:\n  k: not-base64-TOPSECRET\n' });
    for (const message of problems.values()) expect(message).not.toContain('TOPSECRET');
  });
});

describe('sealing the form', () => {
  it('key/value rows (text and bytes) seal to a SealedSecret that opens to the same values', async () => {
    const bytes = Uint8Array.from([0, 255, 10, 13, 128]);
    const out = await sealForm({ ...base, rows: [{ key: 'password', text: 'pässword' }, { key: 'bin', text: '', file: { name: 'b', bytes } }] }, await tools());
    const [secret] = open(out);
    expect(secret?.data).toEqual({ bin: Buffer.from(bytes).toString('base64'), password: Buffer.from('pässword').toString('base64') });
    expect(secret?.type).toBe('Opaque');
    expect(out.startsWith('---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n')).toBe(true);
  });

  it('JSON output, several manifest documents, the manifest\'s own scope', async () => {
    const manifest = 'apiVersion: v1\nkind: Secret\nmetadata: {name: one, namespace: app, annotations: {sealedsecrets.bitnami.com/cluster-wide: "true"}}\nstringData: {a: x}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: two}\nstringData: {b: y}\n';
    const out = await sealForm({ ...base, mode: 'manifest', name: '', manifest, scope: 'annotated', format: 'json' }, await tools());
    const docs = out.split(/\n(?=\{)/);
    expect(docs).toHaveLength(2);
    const sealed = docs.map((d) => readSealedSecret(JSON.parse(d), 'doc'));
    expect(sealed[0]?.metadata.annotations).toEqual({ 'sealedsecrets.bitnami.com/cluster-wide': 'true' });
    // The Namespace field is the default for a manifest without one, as kubeseal's -n.
    expect(sealed[1]?.metadata.namespace).toBe('app');
    expect(open(out).map((s) => s.data)).toEqual([{ a: 'eA==' }, { b: 'eQ==' }]);
  });

  it('raw mode: one value, base64, bound to the scope\'s label', async () => {
    for (const scope of ['strict', 'namespace-wide', 'cluster-wide'] as const) {
      const raw = await sealForm({ ...base, mode: 'raw', scope, rows: [{ key: '', text: 'raw-value' }] }, await tools());
      expect(raw).toMatch(/^[A-Za-z0-9+/]+=*$/);
      const label = encryptionLabel(scope, scope === 'cluster-wide' ? '' : 'app', 'db');
      expect(hybridDecrypt([sealingKey()], Buffer.from(raw, 'base64'), label).plaintext.toString()).toBe('raw-value');
    }
  });

  it('templates go to spec.template.data, after metadata and type', async () => {
    const out = await sealForm({ ...base, templates: [{ key: 'dsn', template: 'x{{ .password }}' }], format: 'json' }, await tools());
    const sealed = JSON.parse(out) as { spec: { template: Record<string, unknown> } };
    expect(Object.keys(sealed.spec.template)).toEqual(['metadata', 'type', 'data']);
    expect(sealed.spec.template.data).toEqual({ dsn: 'x{{ .password }}' });
  });

  it('refuses a form with problems, naming the first', async () => {
    await expect(sealForm({ ...base, name: 'Bad' }, await tools())).rejects.toThrow(/Name must be/);
  });

  it('names the download after the Secret', () => {
    expect(downloadName(base)).toBe('db-sealed.yaml');
    expect(downloadName({ ...base, mode: 'raw' })).toBe('db-sealed.txt');
    expect(downloadName({ ...base, name: 'Bad/../x' })).toBe('sealedsecret-sealed.yaml');
  });
});
