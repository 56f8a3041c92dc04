import { describe, expect, it } from 'vitest';
import { sealingKey } from '../test/fixtures/fixtures.ts';
import type { SealingKey } from '../shared/key-secret.ts';
import { createKeyUsage, keyReport } from './key-usage.ts';

describe('key usage', () => {
  it('counts, per fingerprint, the SealedSecrets whose status names it, as they change and go', () => {
    const usage = createKeyUsage();
    usage.set('a/one', ['SHA256:x']);
    usage.set('a/two', ['SHA256:x', 'SHA256:y']);
    usage.set('a/three', undefined);
    expect([...usage.counts()]).toEqual([['SHA256:x', 2], ['SHA256:y', 1]]);
    usage.set('a/two', ['SHA256:y']); // re-encrypted with y only
    usage.set('a/two', ['SHA256:y']);
    expect([usage.count('SHA256:x'), usage.count('SHA256:y')]).toEqual([1, 1]);
    expect(usage.needing(new Set(['SHA256:y']))).toEqual(['a/two']);
    usage.delete('a/one');
    usage.delete('a/never');
    expect([...usage.counts()]).toEqual([['SHA256:y', 1]]);
  });
});

describe('keyReport (GET /v1/keys)', () => {
  const key = (name: string, fingerprint: string, notBefore: string): SealingKey => ({
    name, fingerprint, privateKey: sealingKey(), certificate: '', notBefore: new Date(notBefore), notAfter: new Date(notBefore), orderingTime: new Date(notBefore),
  });
  it('lists active keys (the first seals), then retired ones, with counts; missing: needed but not active', () => {
    const active = [key('k3', 'SHA256:c', '2026-03-01T00:00:00.250Z'), key('k2', 'SHA256:b', '2026-02-01T00:00:00Z')];
    const retired = [key('k1', 'SHA256:a', '2026-01-01T00:00:00Z')];
    const report = keyReport(active, retired, new Map([['SHA256:a', 2], ['SHA256:c', 1], ['SHA256:gone', 4]]));
    expect(report).toEqual({
      keys: [
        { name: 'k3', fingerprint: 'SHA256:c', notBefore: '2026-03-01T00:00:00Z', sealing: true, retired: false, sealedSecrets: 1 },
        { name: 'k2', fingerprint: 'SHA256:b', notBefore: '2026-02-01T00:00:00Z', sealing: false, retired: false, sealedSecrets: 0 },
        { name: 'k1', fingerprint: 'SHA256:a', notBefore: '2026-01-01T00:00:00Z', sealing: false, retired: true, sealedSecrets: 2 },
      ],
      missing: [{ fingerprint: 'SHA256:a', sealedSecrets: 2 }, { fingerprint: 'SHA256:gone', sealedSecrets: 4 }],
    });
  });
});
