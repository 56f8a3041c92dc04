import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readFixture, sealingKey, sealingPublicKey, secondKey } from '../test/fixtures/fixtures.ts';
import { hybridEncrypt } from './crypto.ts';
import { DecryptError, UserError } from './errors.ts';
import { readSealedSecret, readSecret, type SealedSecret, type Secret } from './kube.ts';
import { formatYaml, parseDocuments } from './manifest.ts';
import { encryptionLabel, scopeOf, type Scope } from './scope.ts';
import { sealRawValue, sealSecret, TemplateError, unsealSealedSecret, UnsupportedError, type SealOptions } from './sealed-secret.ts';

const publicKey = sealingPublicKey();
const keys = [sealingKey(), secondKey()];
const base: SealOptions = { publicKey, random: randomBytes };
const input = readSecret(parseDocuments(readFixture('upstream-input.yaml'))[0], 'input');
const upstream = (name: string): SealedSecret => readSealedSecret(parseDocuments(readFixture(name))[0], name);
/** Ciphertexts differ on every run; compare everything else. */
const masked = (yaml: string) => yaml.replace(/: Ag[A-Za-z0-9+/=]+$/gm, ': <sealed>');

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('sealSecret matches upstream kubeseal v0.36.6 output', () => {
  it.each([
    ['upstream-strict.yaml', undefined],
    ['upstream-namespace-wide.yaml', 'namespace-wide'],
    ['upstream-cluster-wide.yaml', 'cluster-wide'],
  ] as const)('%s', (fixture, scope) => {
    const sealed = sealSecret(input, { ...base, ...(scope ? { scope: scope as Scope } : {}) });
    expect(masked(formatYaml(sealed))).toBe(masked(readFixture(fixture)));
    // and what we seal, we (and therefore the controller) can open
    const { secret } = unsealSealedSecret(sealed, { keys });
    const recovered = readSecret(parseDocuments(readFixture('upstream-unsealed.yaml'))[0], 'x');
    expect(secret.data).toEqual(recovered.data);
  });
});

describe('unsealSealedSecret opens what upstream sealed', () => {
  it.each(['upstream-strict.yaml', 'upstream-namespace-wide.yaml', 'upstream-cluster-wide.yaml', 'upstream-second-key.yaml'])('%s', (fixture) => {
    const { secret, keysUsed } = unsealSealedSecret(upstream(fixture), { keys });
    expect(secret.data).toEqual(readSecret(parseDocuments(readFixture('upstream-unsealed.yaml'))[0], 'x').data);
    expect(keysUsed).toEqual([fixture === 'upstream-second-key.yaml' ? 1 : 0]);
  });

  it('gives exactly upstream\'s recovered Secret', () => {
    expect(formatYaml(unsealSealedSecret(upstream('upstream-strict.yaml'), { keys }).secret)).toBe(readFixture('upstream-unsealed.yaml'));
  });

  it('opens a raw value sealed by upstream', () => {
    const sealed = upstream('upstream-strict.yaml');
    sealed.spec.encryptedData = { raw: readFixture('upstream-raw-strict.txt') };
    expect(Buffer.from(unsealSealedSecret(sealed, { keys }).secret.data?.raw ?? '', 'base64').toString()).toBe('raw value\n');
  });
});

describe('scope is enforced when unsealing', () => {
  const renamed = (fixture: string, change: (s: SealedSecret) => void) => {
    const sealed = upstream(fixture);
    change(sealed);
    return sealed;
  };
  it('a renamed strict SealedSecret fails for every value', () => {
    const error = thrown(() => unsealSealedSecret(renamed('upstream-strict.yaml', (s) => { s.metadata.name = 'other'; }), { keys }));
    expect(error).toBeInstanceOf(DecryptError);
    expect(error.message).toBe('no key could decrypt secret (blob, password, username)');
  });
  it('a moved strict or namespace-wide SealedSecret fails', () => {
    for (const fixture of ['upstream-strict.yaml', 'upstream-namespace-wide.yaml']) {
      expect(thrown(() => unsealSealedSecret(renamed(fixture, (s) => { s.metadata.namespace = 'elsewhere'; }), { keys }))).toBeInstanceOf(DecryptError);
    }
  });
  it('a renamed namespace-wide and a moved cluster-wide SealedSecret open', () => {
    expect(unsealSealedSecret(renamed('upstream-namespace-wide.yaml', (s) => { s.metadata.name = 'other'; }), { keys }).secret.metadata?.name).toBe('other');
    expect(unsealSealedSecret(renamed('upstream-cluster-wide.yaml', (s) => { s.metadata.namespace = 'x'; }), { keys }).secret.metadata?.namespace).toBe('x');
  });
  it('only top-level annotations count: widening the template does not widen the scope', () => {
    const sealed = renamed('upstream-strict.yaml', (s) => {
      s.metadata.name = 'other';
      s.spec.template!.metadata!.annotations = { 'sealedsecrets.bitnami.com/cluster-wide': 'true' };
    });
    expect(thrown(() => unsealSealedSecret(sealed, { keys }))).toBeInstanceOf(DecryptError);
  });
  it('names each failing value and the kind of failure', () => {
    const sealed = upstream('upstream-strict.yaml');
    sealed.spec.encryptedData.blob = 'not base64!';
    sealed.spec.encryptedData.password = sealed.spec.encryptedData.password!.slice(0, 40);
    const error = thrown(() => unsealSealedSecret(sealed, { keys })) as DecryptError;
    expect(error.failure).toBe('malformed');
    expect(error.message).toMatch(/illegal base64 data \(blob\); ciphertext is too short: .* \(password\)/);
  });
  it('names a failing value by its key only when the key is fit to be shown', () => {
    const sealed = upstream('upstream-strict.yaml');
    sealed.spec.encryptedData['MARKER key with spaces'] = 'not base64!';
    const error = thrown(() => unsealSealedSecret(sealed, { keys })) as DecryptError;
    expect(error.message).toBe('illegal base64 data (a key of 22 characters)');
  });
});

describe('unseal output', () => {
  it('owner reference points at the SealedSecret unless the template opts out', () => {
    const sealed = upstream('upstream-strict.yaml');
    sealed.metadata.uid = 'abc-123';
    expect(unsealSealedSecret(sealed, { keys }).secret.metadata?.ownerReferences).toEqual([
      { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'db-creds', uid: 'abc-123', controller: true },
    ]);
    sealed.spec.template!.metadata!.annotations = { 'sealedsecrets.bitnami.com/skip-set-owner-references': 'true' };
    expect(unsealSealedSecret(sealed, { keys }).secret.metadata?.ownerReferences).toBeUndefined();
  });
  it('keeps type and immutable from the template; name and namespace from the SealedSecret', () => {
    const sealed = sealSecret({ ...input, immutable: true }, { ...base, scope: 'namespace-wide' });
    sealed.metadata.name = 'renamed';
    sealed.spec.template!.metadata!.name = 'ignored';
    const { secret } = unsealSealedSecret(sealed, { keys });
    expect(secret).toMatchObject({ immutable: true, type: 'kubernetes.io/basic-auth', metadata: { name: 'renamed', namespace: 'demo' } });
  });
  it('refuses template.data when no renderer is given (sealing code never loads the engine)', () => {
    const sealed = upstream('upstream-strict.yaml');
    sealed.spec.template!.data = { config: '{{ .password }}' };
    const error = thrown(() => unsealSealedSecret(sealed, { keys }));
    expect(error).toBeInstanceOf(UnsupportedError);
    expect(error.message).toMatch(/^spec.template.data cannot be rendered here/);
  });
  it('renders template.data over every decrypted value, as base64 data of the Secret', () => {
    const sealed = upstream('upstream-strict.yaml');
    sealed.spec.template!.data = { config: 'x', password: 'ignored' };
    const seen: unknown[] = [];
    const { secret } = unsealSealedSecret(sealed, {
      keys,
      renderTemplates: ({ templateData, decrypted }) => {
        seen.push({ templateData, names: Object.keys(decrypted).sort() });
        return { ...decrypted, config: Buffer.from(`pw=${Buffer.from(decrypted.password!).toString()}`) };
      },
    });
    expect(seen).toEqual([{ templateData: { config: 'x', password: 'ignored' }, names: Object.keys(sealed.spec.encryptedData).sort() }]);
    expect(Buffer.from(secret.data!.config!, 'base64').toString()).toMatch(/^pw=/);
    expect(Object.keys(secret.data!).sort()).toEqual([...Object.keys(sealed.spec.encryptedData), 'config'].sort());
  });
  it('with the real engine: plaintext template values in the context, encrypted wins, null omits, errors are TemplateErrors', async () => {
    const { renderTemplateData } = await import('./template/index.ts');
    const render: NonNullable<Parameters<typeof unsealSealedSecret>[1]['renderTemplates']> = ({ templateData, decrypted }) => {
      const r = renderTemplateData({ templateData: { ...templateData }, decrypted: { ...decrypted }, now: new Date(0), random: (n) => Buffer.alloc(n) });
      if (r.ok) return r.data;
      throw new TemplateError(r.errors.map((e) => `${e.message} (${e.key})`).join('; '));
    };
    const sealed = upstream('upstream-strict.yaml');
    const [first] = Object.keys(sealed.spec.encryptedData);
    sealed.spec.template!.data = { host: 'db', dsn: `{{ .host }}:{{ index . "${first}" | len }}`, [first!]: 'loses', gone: null };
    const { secret } = unsealSealedSecret(sealed, { keys, renderTemplates: render });
    const plain = unsealSealedSecret(upstream('upstream-strict.yaml'), { keys }).secret.data!;
    expect(secret.data![first!]).toBe(plain[first!]);
    expect(Buffer.from(secret.data!.dsn!, 'base64').toString()).toBe(`db:${Buffer.from(plain[first!]!, 'base64').length}`);
    expect(secret.data!.host).toBe(Buffer.from('db').toString('base64'));
    expect(secret.data).not.toHaveProperty('gone');
    sealed.spec.template!.data = { broken: '{{ .host' };
    const error = thrown(() => unsealSealedSecret(sealed, { keys, renderTemplates: render }));
    expect(error).toBeInstanceOf(TemplateError);
    expect(error.message).toMatch(/^template: broken:1: .*\(broken\)$/);
    for (const value of Object.values(plain)) expect(error.message).not.toContain(Buffer.from(value, 'base64').toString());
  });
  it('opens the deprecated single-blob spec.data only when asked to', () => {
    const inner = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'old' }, data: { a: 'YQ==' }, type: 'Opaque' };
    const blob = hybridEncrypt(publicKey, Buffer.from(JSON.stringify(inner)), encryptionLabel('strict', 'ns', 'old'), randomBytes);
    const sealed: SealedSecret = { metadata: { name: 'old', namespace: 'ns' }, spec: { data: blob.toString('base64'), encryptedData: {} } };
    expect(thrown(() => unsealSealedSecret(sealed, { keys }))).toBeInstanceOf(UnsupportedError);
    expect(unsealSealedSecret(sealed, { keys, acceptDeprecatedV1Data: true }).secret).toMatchObject({ data: { a: 'YQ==' }, type: 'Opaque', metadata: { name: 'old', namespace: 'ns' } });
  });
  it.each([
    ['a JSON number', '31337424242'],
    ['a JSON string', '"hunter2-Zx9pw"'],
    ['a JSON list', '["hunter2-Zx9pw"]'],
    ['a Secret whose value is a map', '{"kind":"Secret","stringData":{"pw":{"v":"hunter2-Zx9pw"}}}'],
    ['a Secret of another kind', '{"kind":"hunter2-Zx9pw","apiVersion":{"x":"hunter2-Zx9pw"}}'],
    ['text that is not JSON', 'hunter2-Zx9pw'],
  ])('a deprecated spec.data holding %s fails as malformed without the plaintext in the message', (_, plaintext) => {
    const blob = hybridEncrypt(publicKey, Buffer.from(plaintext), encryptionLabel('strict', 'ns', 'old'), randomBytes);
    const sealed: SealedSecret = { metadata: { name: 'old', namespace: 'ns' }, spec: { data: blob.toString('base64'), encryptedData: {} } };
    const error = thrown(() => unsealSealedSecret(sealed, { keys, acceptDeprecatedV1Data: true }));
    expect(error).toBeInstanceOf(DecryptError);
    expect((error as DecryptError).failure).toBe('malformed');
    // The controller writes <message> into status and `Failed to unseal: <message>` into Events.
    expect(error.message).not.toMatch(/31337424242|hunter2|Zx9pw/);
    expect(error.message).toMatch(/spec\.data/);
  });
});

describe('sealSecret rules', () => {
  const secret = (extra: Partial<Secret> = {}, meta: Secret['metadata'] = { name: 's', namespace: 'ns' }): Secret => ({ apiVersion: 'v1', kind: 'Secret', metadata: meta, stringData: { a: 'b' }, ...extra });
  const openAll = (sealed: SealedSecret) => unsealSealedSecret(sealed, { keys }).secret.data;

  it('stringData wins over data on the same key; data is decoded from base64', () => {
    const sealed = sealSecret(secret({ data: { a: 'eA==', c: 'AP8=' }, stringData: { a: 'from stringData' } }), base);
    expect(openAll(sealed)).toEqual({ a: Buffer.from('from stringData').toString('base64'), c: 'AP8=' });
  });

  it('strips last-applied annotations, owner references and server-set fields from the template', () => {
    const sealed = sealSecret(secret({}, {
      name: 's', namespace: 'ns', uid: 'u', resourceVersion: '1', generation: 3, creationTimestamp: '2020-01-01T00:00:00Z',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"stringData":{"a":"b"}}', 'kubecfg.ksonnet.io/last-applied-configuration': 'x', keep: 'me' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'x' }], managedFields: [{}],
    }), base);
    expect(sealed.spec.template?.metadata).toEqual({ name: 's', namespace: 'ns', annotations: { keep: 'me' } });
  });

  it('--name replaces the name; a missing name is refused', () => {
    expect(sealSecret(secret(), { ...base, name: 'other' }).metadata.name).toBe('other');
    expect(thrown(() => sealSecret(secret({}, { namespace: 'ns' }), base)).message).toMatch(/^missing metadata.name in input Secret; set metadata.name or pass --name$/);
  });

  it('namespace: the input\'s wins, else the default; an explicit different one is refused', () => {
    expect(sealSecret(secret({}, { name: 's' }), { ...base, defaultNamespace: 'dflt' }).metadata.namespace).toBe('dflt');
    expect(sealSecret(secret(), { ...base, defaultNamespace: 'dflt' }).metadata.namespace).toBe('ns');
    expect(thrown(() => sealSecret(secret(), { ...base, defaultNamespace: 'other', namespaceExplicit: true })).message)
      .toMatch(/^namespace mismatch: input secret is in namespace "ns" but "other" was specified/);
    expect(thrown(() => sealSecret(secret({}, { name: 's' }), base)).message).toMatch(/^secret must declare a namespace/);
    expect(sealSecret(secret({}, { name: 's' }), { ...base, scope: 'cluster-wide' }).metadata.namespace).toBeUndefined();
  });

  it('--scope rewrites the scope annotations, in metadata and template', () => {
    const annotated = secret({}, { name: 's', namespace: 'ns', annotations: { 'sealedsecrets.bitnami.com/cluster-wide': 'true' } });
    expect(scopeOf(sealSecret(annotated, base).metadata.annotations)).toBe('cluster-wide');
    const sealed = sealSecret(annotated, { ...base, scope: 'namespace-wide' });
    expect(sealed.metadata.annotations).toEqual({ 'sealedsecrets.bitnami.com/namespace-wide': 'true' });
    expect(sealed.spec.template?.metadata?.annotations).toEqual({ 'sealedsecrets.bitnami.com/namespace-wide': 'true' });
  });

  it.each([
    ['empty data', secret({ stringData: {} }), /has no data or stringData.*use --allow-empty-data$/],
    ['invalid base64', secret({ data: { k: 'not base64!' } }), /data\["k"\] is not valid base64; base64-encode it, or put plain text under stringData instead$/],
    ['an invalid key', secret({ stringData: { 'a b': 'x' } }), /a key of 3 characters has characters other than letters, digits/],
    ['the key "."', secret({ stringData: { '.': 'x' } }), /the key "\." cannot be "\."/],
    ['the key ".."', secret({ data: { '..': 'eA==' } }), /the key "\.\." cannot be "\.\."/],
    ['a key starting with ".."', secret({ stringData: { '..data': 'x' } }), /the key "\.\.data" cannot start with '\.\.'/],
    ['a key over 253 characters', secret({ stringData: { ['k'.repeat(254)]: 'x' } }), /a key of 254 characters is longer than 253 characters, so the API server would refuse it/],
    ['an empty key', secret({ stringData: { '': 'x' } }), /an empty key is not allowed/],
  ])('refuses %s', (_, s, message) => {
    const error = thrown(() => sealSecret(s, base));
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toMatch(message);
  });

  it('--allow-empty-data seals a Secret without values', () => {
    expect(sealSecret(secret({ stringData: undefined }), { ...base, allowEmptyData: true }).spec.encryptedData).toEqual({});
  });
});

describe('sealRawValue', () => {
  it('seals bytes unchanged under the requested label', () => {
    const text = sealRawValue(Buffer.from([0, 255, 10]), { ...base, scope: 'namespace-wide', namespace: 'ns', name: '' });
    const sealed: SealedSecret = { metadata: { name: 'any', namespace: 'ns', annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } }, spec: { encryptedData: { v: text } } };
    expect(unsealSealedSecret(sealed, { keys }).secret.data).toEqual({ v: 'AP8K' });
  });
});

describe('Secret keys and large values', () => {
  it('seals keys the API server accepts: 253 characters, a single leading dot, dots inside', () => {
    const keysOk = { ['k'.repeat(253)]: 'x', '.dotfile': 'x', 'a..b': 'x', 'a.': 'x' };
    const sealed = sealSecret({ metadata: { name: 's', namespace: 'ns' }, stringData: keysOk }, base);
    expect(Object.keys(sealed.spec.encryptedData).sort()).toEqual(Object.keys(keysOk).sort());
  });
  it('seals and opens a 6 MB value (a 8 MB base64 string) in linear time', () => {
    const value = randomBytes(6 * 1024 * 1024);
    const sealed = sealSecret({ metadata: { name: 's', namespace: 'ns' }, data: { big: value.toString('base64') } }, base);
    expect(Buffer.from(unsealSealedSecret(sealed, { keys }).secret.data?.big ?? '', 'base64').equals(value)).toBe(true);
  });
});
