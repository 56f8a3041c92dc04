import { describe, expect, it } from 'vitest';
import { fakeKube } from '../test/fake-kube-client.ts';
import { DecryptError } from '../shared/errors.ts';
import type { SealedSecret, Secret } from '../shared/kube.ts';
import { TemplateError, UnsupportedError } from '../shared/sealed-secret.ts';
import { KubeApiError } from './kube-client.ts';
import { silentLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import type { UnsealPool } from './unseal-pool.ts';
import { createKeyTrialOrder, createUnsealer } from './unsealer.ts';

const day = 86_400_000;
const keys = ['k3', 'k2', 'k1'].map((fingerprint, i) => ({ fingerprint, orderingTime: new Date(Date.UTC(2026, 0, 30) - i * 30 * day) }));

describe('key order', () => {
  it('tries the newest key first for an unknown SealedSecret created now', () => {
    expect(createKeyTrialOrder().orderFor({ uid: 'a', createdAt: new Date(Date.UTC(2026, 1, 1)) }, keys)).toEqual(['k3', 'k2', 'k1']);
  });
  it('guesses the key that was newest when the SealedSecret was created', () => {
    expect(createKeyTrialOrder().orderFor({ uid: 'a', createdAt: new Date(Date.UTC(2026, 0, 10)) }, keys)).toEqual(['k2', 'k3', 'k1']);
  });
  it('remembers which key opened a SealedSecret, and prefers keys that opened many', () => {
    const order = createKeyTrialOrder();
    order.learn('a', ['k1']);
    order.learn('b', ['k1']);
    expect(order.orderFor({ uid: 'a' }, keys)).toEqual(['k1', 'k3', 'k2']);
    expect(order.orderFor({ uid: 'c' }, keys)).toEqual(['k1', 'k3', 'k2']);
    order.forget('a');
    order.learn('c', ['k2']);
    expect(order.orderFor({ uid: 'c', createdAt: new Date(Date.UTC(2026, 1, 1)) }, keys)).toEqual(['k2', 'k3', 'k1']);
  });
  it('tries the keys of status.keyFingerprints first on a cold start, after what this process learned', () => {
    const created = new Date(Date.UTC(2026, 1, 1));
    expect(createKeyTrialOrder().orderFor({ uid: 'a', createdAt: created, hint: ['k1'] }, keys)).toEqual(['k1', 'k3', 'k2']);
    const order = createKeyTrialOrder();
    order.learn('a', ['k2']);
    expect(order.orderFor({ uid: 'a', createdAt: created, hint: ['k1'] }, keys)).toEqual(['k2', 'k1', 'k3']);
  });
  it('keeps a wrong or stale hint harmless: unknown keys and non-strings are ignored, at most two go first, every key stays', () => {
    const created = new Date(Date.UTC(2026, 1, 1));
    expect(createKeyTrialOrder().orderFor({ uid: 'a', createdAt: created, hint: ['gone', 42, { k: 1 }, 'k1', 'k2', 'k3'] }, keys)).toEqual(['k1', 'k2', 'k3']);
    expect(createKeyTrialOrder().orderFor({ uid: 'a', createdAt: created, hint: ['gone'] }, keys)).toEqual(['k3', 'k2', 'k1']);
  });
});

// ---- one pass, against an in-memory API and a scripted pool -----------------------------------

const SECRETS = '/api/v1/namespaces/app/secrets';
const SEALED = '/apis/bitnami.com/v1alpha1/namespaces/app/sealedsecrets';
const EVENTS = '/api/v1/namespaces/app/events';

function sealedSecret(name: string, status?: SealedSecret['status']): SealedSecret {
  return { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name, namespace: 'app', uid: `uid-${name}`, generation: 1 }, spec: { encryptedData: { a: 'AAAA' } }, ...(status ? { status } : {}) };
}

/** The Secret the pool "unseals" for `sealed`: owned by it, as shared/sealed-secret.ts makes it. */
function unsealed(sealed: SealedSecret, value = 'dmFsdWU='): Secret {
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque', data: { a: value },
    metadata: { name: sealed.metadata.name, namespace: 'app', ownerReferences: [{ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: sealed.metadata.name ?? '', uid: sealed.metadata.uid ?? '', controller: true }] },
  };
}

function setUp(options: { outcome?: (sealed: SealedSecret) => Secret | Error; missing?: boolean; updateStatus?: boolean } = {}) {
  const kube = fakeKube();
  const objects = new Map<string, SealedSecret>();
  const metrics = createMetrics('test');
  const pool: UnsealPool = {
    setKeys: () => undefined,
    async unseal(sealed) {
      const result = (options.outcome ?? unsealed)(sealed);
      if (result instanceof Error) throw result;
      return { secret: result, keysUsed: ['fp'] };
    },
    close: async () => undefined,
  };
  const pass = createUnsealer({
    client: kube.client, pool, keyOrder: createKeyTrialOrder(), keys: () => [], probablyMissing: () => options.missing ?? false,
    lookup: (key) => objects.get(key), updateStatus: options.updateStatus ?? true, oldGcBehavior: false, identity: 'me', metrics,
    log: silentLogger, now: () => new Date('2026-01-01T00:00:00Z'),
  });
  const add = (sealed: SealedSecret) => {
    objects.set(`app/${sealed.metadata.name}`, sealed);
    kube.seed(SEALED, sealed as never);
    return sealed;
  };
  const run = (name: string) => pass(`app/${name}`, new AbortController().signal);
  /** Writes only (events are posted without waiting: give them a moment). */
  const writes = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return kube.calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`);
  };
  return { kube, metrics, add, run, writes };
}

describe('one unseal pass', () => {
  it('creates a missing Secret after reading it, then records an Event and the Synced condition', async () => {
    const t = setUp();
    t.add(sealedSecret('db'));
    expect(await t.run('db')).toEqual({ retry: false });
    expect(t.kube.calls.filter((c) => c.path.startsWith(SECRETS)).map((c) => `${c.method} ${c.path}`)).toEqual([`GET ${SECRETS}/db`, `POST ${SECRETS}`]);
    expect(t.kube.object(SECRETS, 'db')?.data).toEqual({ a: 'dmFsdWU=' });
    expect((await t.writes()).sort()).toEqual([`POST ${SECRETS}`, `PATCH ${SEALED}/db/status`, `POST ${EVENTS}`].sort());
    expect(t.kube.object(SEALED, 'db')?.status).toMatchObject({ observedGeneration: 1, conditions: [{ type: 'Synced', status: 'True' }] });
  });

  it('when the Secret is probably missing, creates it straight away, without reading it first', async () => {
    const t = setUp({ missing: true });
    t.add(sealedSecret('db'));
    await t.run('db');
    expect(t.kube.calls.filter((c) => c.path.startsWith(SECRETS)).map((c) => `${c.method} ${c.path}`)).toEqual([`POST ${SECRETS}`]);
  });

  it('when a Secret thought missing exists after all (409), reads it and goes on as usual', async () => {
    const t = setUp({ missing: true });
    const sealed = t.add(sealedSecret('db'));
    t.kube.seed(SECRETS, unsealed(sealed, 'b2xk') as never);
    expect(await t.run('db')).toEqual({ retry: false });
    expect(t.kube.calls.filter((c) => c.path.startsWith(SECRETS)).map((c) => `${c.method} ${c.path}`)).toEqual([`POST ${SECRETS}`, `GET ${SECRETS}/db`, `PUT ${SECRETS}/db`]);
    expect(t.kube.object(SECRETS, 'db')?.data).toEqual({ a: 'dmFsdWU=' });
  });

  it('writes nothing when nothing changed: no Secret update, no Event, no status', async () => {
    const t = setUp();
    const sealed = t.add(sealedSecret('db', { observedGeneration: 1, conditions: [{ type: 'Synced', status: 'True', lastUpdateTime: 'x', lastTransitionTime: 'x' }], keyFingerprints: ['fp'] }));
    t.kube.seed(SECRETS, unsealed(sealed) as never);
    expect(await t.run('db')).toEqual({ retry: false });
    expect(await t.writes()).toEqual([]);
  });

  it('records which keys opened the values in status.keyFingerprints (a status without them is written once)', async () => {
    const t = setUp();
    const sealed = t.add(sealedSecret('db', { observedGeneration: 1, conditions: [{ type: 'Synced', status: 'True', lastUpdateTime: 'x', lastTransitionTime: 'x' }] }));
    t.kube.seed(SECRETS, unsealed(sealed) as never);
    await t.run('db');
    expect(await t.writes()).toEqual([`PATCH ${SEALED}/db/status`]);
    expect(t.kube.object(SEALED, 'db')?.status).toMatchObject({ keyFingerprints: ['fp'], conditions: [{ type: 'Synced', status: 'True', lastTransitionTime: 'x' }] });
  });

  it.each([
    ['no key fits (a key may be restored)', true, new DecryptError('no-key', 'no key could decrypt secret (a)')],
    ['tampered content', false, new DecryptError('tampered', 'message authentication failed')],
    ['malformed content', false, new DecryptError('malformed', 'ciphertext too short')],
    ['unsupported content', false, new UnsupportedError('using deprecated data field')],
    ['a template that fails', false, new TemplateError('template: config:1: unclosed action (config)')],
    ['an unexpected failure', true, new Error('unseal thread exited with code 1')],
  ])('%s: retry %s, with a Warning Event and a False condition', async (_name, retry, error) => {
    const t = setUp({ outcome: () => error });
    t.add(sealedSecret('db'));
    expect(await t.run('db')).toEqual({ retry });
    expect((await t.writes()).sort()).toEqual([`PATCH ${SEALED}/db/status`, `POST ${EVENTS}`].sort());
    const event = t.kube.calls.find((c) => c.path === EVENTS)?.body as { type: string; reason: string; message: string };
    expect(event).toMatchObject({ type: 'Warning', reason: 'ErrUnsealFailed', message: `Failed to unseal: ${error.message}` });
    expect(t.kube.object(SEALED, 'db')?.status).toMatchObject({ conditions: [{ type: 'Synced', status: 'False', message: error.message }] });
  });

  const GONE = `SHA256:${'g'.repeat(43)}`;
  it('names in the Synced message only a missing fingerprint of the form (status is read back from the API)', async () => {
    const t = setUp({ outcome: () => new DecryptError('no-key', 'no key could decrypt secret (a)') });
    t.add(sealedSecret('db', { observedGeneration: 1, conditions: [{ type: 'Synced', status: 'True' }], keyFingerprints: ['MARKER text'] }));
    expect(await t.run('db')).toEqual({ retry: true });
    expect(JSON.stringify(t.kube.object(SEALED, 'db')?.status)).not.toMatch(/MARKER.*it needs|it needs sealing key MARKER/);
    expect(t.kube.calls.map((c) => JSON.stringify(c.body ?? '')).join('')).not.toContain('sealing key MARKER');
  });
  it('when no key fits and status.keyFingerprints names a key that is not loaded, says which key is missing and keeps the fingerprints', async () => {
    const t = setUp({ outcome: () => new DecryptError('no-key', 'no key could decrypt secret (a)') });
    t.add(sealedSecret('db', { observedGeneration: 1, conditions: [{ type: 'Synced', status: 'True' }], keyFingerprints: [GONE] }));
    expect(await t.run('db')).toEqual({ retry: true });
    expect(t.kube.object(SEALED, 'db')?.status).toMatchObject({
      keyFingerprints: [GONE],
      conditions: [{ type: 'Synced', status: 'False', message: `no key could decrypt secret (a); it needs sealing key ${GONE}, which is retired or deleted: restore that key (from a backup, or label it active again) or seal the Secret again` }],
    });
  });

  it('records the same failure only once: no second Event when the condition already says so', async () => {
    const error = new DecryptError('no-key', 'no key could decrypt secret (a)');
    const t = setUp({ outcome: () => error });
    t.add(sealedSecret('db', { observedGeneration: 1, conditions: [{ type: 'Synced', status: 'False', message: error.message }] }));
    expect(await t.run('db')).toEqual({ retry: true });
    expect(await t.writes()).toEqual([]);
    expect(await t.metrics.unsealErrors.get()).toMatchObject({ values: [{ labels: { reason: 'unseal', namespace: 'app' }, value: 1 }] });
  });

  it('refuses a Secret it does not own (retry: someone may annotate it managed), and retries failed writes', async () => {
    const t = setUp();
    t.add(sealedSecret('db'));
    t.kube.seed(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'app' }, data: { a: 'b3RoZXI=' } } as never);
    expect(await t.run('db')).toEqual({ retry: true });
    expect(t.kube.object(SECRETS, 'db')?.data).toEqual({ a: 'b3RoZXI=' });
    const event = t.kube.calls.find((c) => c.path === EVENTS)?.body as { reason: string; message: string };
    expect(event).toMatchObject({ reason: 'ErrUpdateFailed', message: 'Resource "db" already exists and is not managed by SealedSecret' });

    const u = setUp();
    u.add(sealedSecret('db'));
    u.kube.failNext('POST', SECRETS, new KubeApiError(500, 'InternalError', 'etcd is down'));
    expect(await u.run('db')).toEqual({ retry: true });
    expect(await u.metrics.unsealErrors.get()).toMatchObject({ values: [{ labels: { reason: 'update' }, value: 1 }] });
  });

  it('does nothing for a SealedSecret that is gone or being deleted', async () => {
    const t = setUp();
    t.add({ ...sealedSecret('db'), metadata: { ...sealedSecret('db').metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } });
    expect(await t.run('db')).toEqual({ retry: false });
    expect(await t.run('never-seen')).toEqual({ retry: false });
    expect(await t.writes()).toEqual([]);
  });
});
