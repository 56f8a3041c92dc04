import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { readFixture, sealingKey, secondKey } from '../test/fixtures/fixtures.ts';
import { DecryptError } from '../shared/errors.ts';
import { keyFingerprint } from '../shared/keys.ts';
import { readSealedSecret } from '../shared/kube.ts';
import { parseDocuments } from '../shared/manifest.ts';
import { TemplateError } from '../shared/sealed-secret.ts';
import { createUnsealPool } from './unseal-pool.ts';

const sealed = (name: string) => readSealedSecret(parseDocuments(readFixture(name))[0], name);
const keys = [sealingKey(), secondKey()].map((privateKey) => ({ privateKey, fingerprint: keyFingerprint(privateKey) }));
const pool = createUnsealPool({ size: 2, acceptDeprecatedV1Data: true });
pool.setKeys(keys);
afterAll(() => pool.close());

describe('unseal pool', () => {
  it('unseals (RSA through WebCrypto) and reports which key opened the values', async () => {
    const results = await Promise.all(['upstream-strict.yaml', 'upstream-second-key.yaml', 'upstream-cluster-wide.yaml'].map((f) => pool.unseal(sealed(f), [])));
    expect(results.map((r) => r.keysUsed)).toEqual([[keys[0]?.fingerprint], [keys[1]?.fingerprint], [keys[0]?.fingerprint]]);
    expect(results[0]?.secret.data?.username).toBe(Buffer.from('admin').toString('base64'));
  });

  it('brings typed errors back, from the template thread too', async () => {
    const renamed = sealed('upstream-strict.yaml');
    renamed.metadata.name = 'other';
    await expect(pool.unseal(renamed, [])).rejects.toBeInstanceOf(DecryptError);
    const templated = sealed('upstream-strict.yaml');
    templated.spec.template = { ...templated.spec.template, data: { x: '{{ .a' } };
    await expect(pool.unseal(templated, [])).rejects.toBeInstanceOf(TemplateError);
  });

  it('HTTP work never delays unsealing: it goes through a gate of its own, behind which unseal work does not queue', async () => {
    // Values no key opens: every one costs an RSA-4096 private operation per key, as a verify flood's do.
    const heavy = sealed('upstream-strict.yaml');
    heavy.spec.encryptedData = {};
    for (let i = 0; i < 60; i++) {
      heavy.spec.encryptedData[`v${i}`] = Buffer.concat([Buffer.from([2, 0]), randomBytes(512 + 16)]).toString('base64');
    }
    const finished: string[] = [];
    const floods = [1, 2, 3].map((i) => pool.unseal(heavy, [], 'http').catch(() => undefined).then(() => { finished.push(`http-${i}`); }));
    const unsealed = pool.unseal(sealed('upstream-strict.yaml'), [keys[0]!.fingerprint]).then((r) => { finished.push('unseal'); return r; });
    await Promise.all([...floods, unsealed]);
    expect(finished[0]).toBe('unseal');
    expect((await unsealed).keysUsed).toEqual([keys[0]?.fingerprint]);
  });

  it('uses new keys as soon as they are set', async () => {
    pool.setKeys([keys[0]!]);
    await expect(pool.unseal(sealed('upstream-second-key.yaml'), [])).rejects.toBeInstanceOf(DecryptError);
    pool.setKeys(keys);
    await expect(pool.unseal(sealed('upstream-second-key.yaml'), [keys[1]!.fingerprint])).resolves.toMatchObject({ keysUsed: [keys[1]?.fingerprint] });
  });
});
