import { afterEach, describe, expect, it } from 'vitest';
import { fakeKube, until, type FakeKube } from '../test/fake-kube-client.ts';
import { silentLogger } from './log.ts';
import { conditionLabels, createMetrics } from './metrics.ts';
import { watchSealedSecrets, type SealedSecretWatchOptions } from './sealed-secrets.ts';

const SEALED = (ns: string) => `/apis/bitnami.com/v1alpha1/namespaces/${ns}/sealedsecrets`;
const SECRETS = (ns: string) => `/api/v1/namespaces/${ns}/secrets`;
const sealed = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name, namespace: 'app', ...extra }, spec: { encryptedData: { a: 'AAAA' } } });

const stops: AbortController[] = [];
afterEach(() => stops.splice(0).forEach((c) => c.abort()));

async function start(kube: FakeKube, options: Partial<SealedSecretWatchOptions> = {}) {
  const stop = new AbortController();
  stops.push(stop);
  const forgotten: (string | undefined)[] = [];
  const metrics = createMetrics('test');
  const watch = await watchSealedSecrets({
    client: kube.client, namespaces: ['app'], labelSelector: '', recreateDeleted: true, oldGcBehavior: false,
    forget: (uid) => forgotten.push(uid), metrics, log: silentLogger, signal: stop.signal, ...options,
  });
  const queued: string[] = [];
  const detach = watch.attach({ add: (key, o) => queued.push(`${key}${o?.fresh ? ' fresh' : ''}`) });
  await watch.synced;
  return { watch, queued, detach, forgotten, metrics };
}

describe('the SealedSecret watch', () => {
  it('watches the namespaces it can read at once, and one that appears later as soon as it does', async () => {
    const kube = fakeKube();
    kube.seed('/api/v1/namespaces', { metadata: { name: 'app' } });
    const { metrics } = await start(kube, { namespaces: ['app', 'later', 'app'] });
    await until(() => kube.watching(SEALED('app')) && kube.watching(SECRETS('app')));
    expect(kube.calls.filter((c) => c.method === 'GET' && c.path.startsWith('/api/v1/namespaces/') && !c.path.includes('/secrets')).map((c) => c.path))
      .toEqual(['/api/v1/namespaces/app', '/api/v1/namespaces/later']);
    expect(kube.calls.filter((c) => c.method === 'WATCH').map((c) => c.path).sort()).toEqual([SECRETS('app'), SEALED('app')].sort());
    expect((await metrics.informerLists.get()).values.map((v) => `${v.labels.resource} ${v.value}`).sort()).toEqual(['sealedsecrets 1', 'secrets 1']);
    kube.seed('/api/v1/namespaces', { metadata: { name: 'later' } });
    await until(() => kube.watching(SEALED('later')) && kube.watching(SECRETS('later')), 5000); // the first retry is after 1 s
  });

  it('watches all namespaces with one informer each when no namespaces are given', async () => {
    const kube = fakeKube();
    await start(kube, { namespaces: undefined });
    await until(() => kube.watching('/apis/bitnami.com/v1alpha1/sealedsecrets') && kube.watching('/api/v1/secrets'));
  });

  it('takes a listed SealedSecret that no controller ever synced as missing its Secret, only while statuses are written', async () => {
    const seeded = () => {
      const kube = fakeKube();
      kube.seed('/api/v1/namespaces', { metadata: { name: 'app' } });
      kube.seed(SEALED('app'), sealed('never'));
      kube.seed(SEALED('app'), { ...sealed('synced'), status: { conditions: [{ type: 'Synced', status: 'True' }] } });
      kube.seed(SEALED('app'), { ...sealed('failed'), status: { conditions: [{ type: 'Synced', status: 'False', message: 'no key' }] } });
      return kube;
    };
    const { watch } = await start(seeded(), { neverSyncedMeansMissing: true });
    expect(['never', 'synced', 'failed'].map((name) => watch.probablyMissing(`app/${name}`))).toEqual([true, false, false]);
    expect(watch.probablyMissing('app/never')).toBe(false); // used once
    const off = await start(seeded(), { neverSyncedMeansMissing: false });
    expect(['never', 'synced', 'failed'].map((name) => off.watch.probablyMissing(`app/${name}`))).toEqual([false, false, false]);
  });

  it('queues what it lists, what appears (its Secret is then probably missing) and what changes in spec, not in status', async () => {
    const kube = fakeKube();
    kube.seed('/api/v1/namespaces', { metadata: { name: 'app' } });
    kube.seed(SEALED('app'), sealed('listed'));
    const { watch, queued } = await start(kube);
    // What the first list finds is queued by the leader when it starts (enqueueAll).
    queued.length = 0;
    expect(watch.lookup('app/listed')?.metadata.name).toBe('listed');
    expect(watch.probablyMissing('app/listed')).toBe(false);
    await until(() => kube.watching(SEALED('app')));

    await kube.client.request('POST', SEALED('app'), { body: sealed('new') });
    await until(() => queued.length === 1);
    expect(queued[0]).toBe('app/new fresh');
    expect(watch.probablyMissing('app/new')).toBe(true);
    expect(watch.probablyMissing('app/new')).toBe(false); // the hint is used once

    const current = kube.object(SEALED('app'), 'new');
    await kube.client.request('PATCH', `${SEALED('app')}/new/status`, { body: { status: { conditions: [{ type: 'Synced', status: 'True' }] } } });
    await kube.client.request('PUT', `${SEALED('app')}/new`, { body: { ...current, spec: { encryptedData: { a: 'BBBB' } } } });
    await until(() => queued.length === 2);
    expect(queued).toEqual(['app/new fresh', 'app/new fresh']);
  });

  it('recreates a deleted Secret controlled by or managed for a SealedSecret, not one of its own', async () => {
    const kube = fakeKube();
    kube.seed('/api/v1/namespaces', { metadata: { name: 'app' } });
    const owner = kube.seed(SEALED('app'), sealed('owner'));
    kube.seed(SEALED('app'), sealed('managed'));
    kube.seed(SEALED('app'), sealed('foreign'));
    const uid = String(owner.metadata?.uid);
    kube.seed(SECRETS('app'), { metadata: { name: 'owner', namespace: 'app', ownerReferences: [{ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'owner', uid, controller: true }] } });
    kube.seed(SECRETS('app'), { metadata: { name: 'managed', namespace: 'app', annotations: { 'sealedsecrets.bitnami.com/managed': 'true' } } });
    kube.seed(SECRETS('app'), { metadata: { name: 'foreign', namespace: 'app', ownerReferences: [{ apiVersion: 'v1', kind: 'Thing', name: 'x', uid: 'other', controller: true }] } });
    kube.seed(SECRETS('app'), { metadata: { name: 'unrelated', namespace: 'app' } });
    const { watch, queued } = await start(kube);
    await until(() => kube.watching(SECRETS('app')));
    queued.length = 0;
    for (const name of ['owner', 'managed', 'foreign', 'unrelated']) kube.remove(SECRETS('app'), name);
    await until(() => queued.length >= 2);
    expect(queued).toEqual(['app/owner fresh', 'app/managed fresh']);
    expect(watch.probablyMissing('app/owner')).toBe(true);
    expect(watch.probablyMissing('app/foreign')).toBe(false);
  });

  it('does not watch Secrets with --skip-recreate', async () => {
    const kube = fakeKube();
    kube.seed('/api/v1/namespaces', { metadata: { name: 'app' } });
    await start(kube, { recreateDeleted: false });
    await until(() => kube.watching(SEALED('app')));
    expect(kube.calls.some((c) => c.path.startsWith(SECRETS('app')))).toBe(false);
  });

  it('on deletion forgets the SealedSecret and drops its condition series; queues it only with --old-gc-behavior', async () => {
    for (const oldGcBehavior of [false, true]) {
      const kube = fakeKube();
      kube.seed('/api/v1/namespaces', { metadata: { name: 'app' } });
      const gone = kube.seed(SEALED('app'), sealed('gone', { labels: { 'app.kubernetes.io/instance': 'i' } }));
      const { queued, forgotten, metrics } = await start(kube, { oldGcBehavior });
      await until(() => kube.watching(SEALED('app')));
      metrics.conditionInfo.set(conditionLabels(gone as never), 1);
      queued.length = 0;
      kube.remove(SEALED('app'), 'gone');
      await until(() => forgotten.length === 1);
      expect(forgotten).toEqual([gone.metadata?.uid]);
      expect((await metrics.conditionInfo.get()).values).toEqual([]);
      expect(queued).toEqual(oldGcBehavior ? ['app/gone'] : []);
    }
  });

  it('queues nothing once detached, and re-queues the failed ones on request', async () => {
    const kube = fakeKube();
    kube.seed('/api/v1/namespaces', { metadata: { name: 'app' } });
    kube.seed(SEALED('app'), { ...sealed('failed'), status: { conditions: [{ type: 'Synced', status: 'False', message: 'no key' }] } });
    kube.seed(SEALED('app'), { ...sealed('fine'), status: { conditions: [{ type: 'Synced', status: 'True' }] } });
    const { watch, queued, detach } = await start(kube);
    queued.length = 0;
    watch.enqueueFailed();
    expect(queued).toEqual(['app/failed fresh']);
    watch.enqueueAll();
    expect(queued.slice(1).sort()).toEqual(['app/failed', 'app/fine']);
    detach();
    queued.length = 0;
    watch.enqueueAll();
    expect(queued).toEqual([]);
  });
});
