import { afterEach, describe, expect, it } from 'vitest';
import { fakeKube, until } from '../test/fake-kube-client.ts';
import { readFixture, sealingKey, secondKey } from '../test/fixtures/fixtures.ts';
import { keySecret } from '../shared/key-secret.ts';
import { startKeyManager } from './key-manager.ts';
import { lead } from './lead.ts';
import { silentLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { watchSealedSecrets } from './sealed-secrets.ts';

const SECRETS = '/api/v1/namespaces/home/secrets';
const SEALED = '/apis/bitnami.com/v1alpha1/namespaces/app/sealedsecrets';
const keyFor = (name: string, privateKey = sealingKey(), certificate = readFixture('sealing-cert.pem')) => {
  const secret = keySecret({ prefix: 'k', namespace: 'home', labels: {}, annotations: {}, privateKey, certificate });
  return { ...secret, metadata: { ...secret.metadata, name } };
};

const stops: AbortController[] = [];
afterEach(() => stops.splice(0).forEach((c) => c.abort()));

describe('a leader\'s term', () => {
  it('publishes the certificate, unseals every SealedSecret, retries failed ones on new keys, and stops with its term', async () => {
    const kube = fakeKube();
    kube.seed('/api/v1/namespaces', { metadata: { name: 'app' } });
    kube.seed(SECRETS, keyFor('k1'));
    kube.seed(SEALED, { metadata: { name: 'fine', namespace: 'app' }, spec: { encryptedData: {} }, status: { conditions: [{ type: 'Synced', status: 'True' }] } });
    kube.seed(SEALED, { metadata: { name: 'failed', namespace: 'app' }, spec: { encryptedData: {} }, status: { conditions: [{ type: 'Synced', status: 'False' }] } });
    const stop = new AbortController();
    stops.push(stop);
    const metrics = createMetrics('test');
    const keys = startKeyManager({ client: kube.client, namespace: 'home', prefix: 'k', order: 'CertNotBefore', keySize: 2048, keyTtlMs: 1e9, commonName: '', labels: {}, annotations: {}, log: silentLogger, signal: stop.signal, now: () => new Date() });
    const sealedSecrets = await watchSealedSecrets({ client: kube.client, namespaces: ['app'], labelSelector: '', recreateDeleted: false, oldGcBehavior: false, forget: () => undefined, metrics, log: silentLogger, signal: stop.signal });
    const passes: string[] = [];
    const term = new AbortController();
    const leading = lead({
      client: kube.client, keys, sealedSecrets, unseal: async (key) => { passes.push(key); return { retry: false }; },
      namespace: 'home', certConfigMap: 'sealed-secrets-cert', workers: 2, maxRetries: 0, keyRenewPeriodMs: 0, metrics, log: silentLogger,
    }, term.signal);

    await until(() => passes.length === 2);
    expect(passes.sort()).toEqual(['app/failed', 'app/fine']);
    expect((await metrics.isLeader.get()).values[0]?.value).toBe(1);
    await until(() => kube.object('/api/v1/namespaces/home/configmaps', 'sealed-secrets-cert') !== undefined);
    expect(kube.object('/api/v1/namespaces/home/configmaps', 'sealed-secrets-cert')?.data).toEqual({ 'cert.pem': keys.keys()[0]?.certificate });

    // a restored key: what failed before is tried again (only that)
    passes.length = 0;
    kube.seed(SECRETS, keyFor('k2', secondKey(), readFixture('second-cert.pem')));
    await until(() => passes.length === 1);
    expect(passes).toEqual(['app/failed']);

    term.abort();
    await leading;
    expect((await metrics.isLeader.get()).values[0]?.value).toBe(0);
    passes.length = 0;
    sealedSecrets.enqueueAll();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(passes).toEqual([]);
  });
});
