import { describe, expect, it } from 'vitest';
import type { SealedSecret, Secret } from '../shared/kube.ts';
import { needsReconcile, nextStatus, planSecret, sealedSecretEvent } from './reconcile.ts';

const UID = 'ss-uid';
const owner = { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 's', uid: UID, controller: true };
const desired: Secret = { metadata: { name: 's', namespace: 'n', labels: { a: '1' }, annotations: { x: 'y' }, ownerReferences: [owner] }, data: { k: 'dg==' }, type: 'Opaque' };
const existing = (extra: Partial<Secret> & { meta?: Secret['metadata'] } = {}): Secret => ({
  metadata: { name: 's', namespace: 'n', uid: 'secret-uid', resourceVersion: '7', ownerReferences: [owner], labels: { a: '1' }, annotations: { x: 'y' }, ...extra.meta },
  data: { k: 'dg==' },
  type: 'Opaque',
  ...extra,
});

describe('planSecret', () => {
  it('refuses a change of type, quoting the template\'s type only when it looks like a name', () => {
    const odd = planSecret({ ...desired, type: 'kubernetes.io/tls\u001b[2J s3cr3t' }, existing(), UID);
    expect(odd).toMatchObject({ action: 'refuse', retry: false });
    const message = odd.action === 'refuse' ? odd.message : '';
    expect(message).toMatch(/has type "Opaque" but the SealedSecret's template says a string of \d+ characters;/);
    expect(message).not.toMatch(/s3cr3t|\u001b/);
    const plain = planSecret({ ...desired, type: 'kubernetes.io/tls' }, existing(), UID);
    expect(plain.action === 'refuse' && plain.message).toMatch(/template says "kubernetes.io\/tls"/);
  });
  it('creates a missing Secret without server-set fields', () => {
    const plan = planSecret({ ...desired, metadata: { ...desired.metadata, uid: 'x', resourceVersion: '1' } }, undefined, UID);
    expect(plan.action).toBe('create');
    expect(plan.action === 'create' && plan.secret.metadata).not.toHaveProperty('uid');
  });
  it('does nothing when the owned Secret already matches', () => {
    expect(planSecret(desired, existing(), UID)).toEqual({ action: 'none' });
  });
  it('replaces data, labels, annotations and owners of an owned Secret', () => {
    const plan = planSecret(desired, existing({ data: { k: 'b2xk', stale: 'eA==' }, meta: { labels: { old: 'l' } } }), UID);
    expect(plan).toMatchObject({ action: 'update', secret: { data: { k: 'dg==' }, metadata: { labels: { a: '1' }, resourceVersion: '7' } } });
    expect(plan.action === 'update' && plan.secret.data).not.toHaveProperty('stale');
  });
  it('refuses a Secret it does not own, with upstream\'s message, and retries later', () => {
    expect(planSecret(desired, existing({ meta: { ownerReferences: [] } }), UID)).toEqual({
      action: 'refuse', retry: true, message: 'Resource "s" already exists and is not managed by SealedSecret',
    });
  });
  it('takes over a Secret annotated managed', () => {
    const plan = planSecret(desired, existing({ meta: { ownerReferences: [], annotations: { 'sealedsecrets.bitnami.com/managed': 'true' } } }), UID);
    expect(plan).toMatchObject({ action: 'update', secret: { metadata: { ownerReferences: [owner], annotations: { x: 'y' } } } });
  });
  it('merges into a Secret annotated patch, keeping its other keys and owners', () => {
    const plan = planSecret(desired, existing({ data: { other: 'bw==' }, meta: { ownerReferences: [], labels: { keep: 'me' }, annotations: { 'sealedsecrets.bitnami.com/patch': 'true' } } }), UID);
    expect(plan).toMatchObject({ action: 'update', secret: { data: { other: 'bw==', k: 'dg==' }, metadata: { labels: { keep: 'me', a: '1' }, ownerReferences: [] } } });
  });
  it('refuses to change an immutable Secret\'s data or a Secret\'s type, without retrying', () => {
    expect(planSecret(desired, existing({ immutable: true, data: { k: 'b2xk' } }), UID)).toMatchObject({ action: 'refuse', retry: false, message: expect.stringMatching(/the target Secret is immutable/) });
    expect(planSecret(desired, existing({ type: 'kubernetes.io/tls' }), UID)).toMatchObject({ action: 'refuse', retry: false });
  });
});

describe('nextStatus', () => {
  const sealed = (status?: SealedSecret['status'], generation = 2): SealedSecret => ({ metadata: { name: 's', namespace: 'n', generation }, spec: { encryptedData: {} }, ...(status ? { status } : {}) });
  const now = new Date('2026-01-01T00:00:00.123Z');
  it('sets Synced=True with observedGeneration on first success', () => {
    expect(nextStatus(sealed(), { ok: true, message: '' }, now)).toEqual({
      observedGeneration: 2,
      conditions: [{ type: 'Synced', status: 'True', lastUpdateTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    });
  });
  it('writes nothing when nothing changed', () => {
    const first = nextStatus(sealed(), { ok: false, message: 'no key could decrypt secret (a)' }, now);
    expect(nextStatus(sealed(first), { ok: false, message: 'no key could decrypt secret (a)' }, new Date())).toBeUndefined();
  });
  it('sets keyFingerprints sorted and unique when told, and keeps them when not (a failure to open)', () => {
    const first = nextStatus(sealed(), { ok: true, message: '', keyFingerprints: ['SHA256:b', 'SHA256:a', 'SHA256:b'] }, now);
    expect(first?.keyFingerprints).toEqual(['SHA256:a', 'SHA256:b']);
    expect(nextStatus(sealed(first), { ok: true, message: '', keyFingerprints: ['SHA256:b', 'SHA256:a'] }, now)).toBeUndefined();
    const failed = nextStatus(sealed(first), { ok: false, message: 'no key could decrypt secret (a)' }, now);
    expect(failed?.keyFingerprints).toEqual(['SHA256:a', 'SHA256:b']);
    expect(nextStatus(sealed(failed), { ok: true, message: '', keyFingerprints: ['SHA256:c'] }, now)?.keyFingerprints).toEqual(['SHA256:c']);
  });
  it('keeps lastTransitionTime unless the status flips; follows a new generation', () => {
    const first = nextStatus(sealed(), { ok: false, message: 'a' }, now);
    const second = nextStatus(sealed(first), { ok: false, message: 'b' }, new Date('2026-02-01T00:00:00Z'));
    expect(second?.conditions?.[0]).toMatchObject({ lastTransitionTime: '2026-01-01T00:00:00Z', lastUpdateTime: '2026-02-01T00:00:00Z', message: 'b' });
    expect(nextStatus(sealed(first, 3), { ok: false, message: 'a' }, now)?.observedGeneration).toBe(3);
  });
});

describe('events and update filtering', () => {
  it('records events on the SealedSecret as upstream does', () => {
    const event = sealedSecretEvent({ sealed: { metadata: { name: 's', namespace: 'n', uid: UID }, spec: { encryptedData: {} } }, type: 'Warning', reason: 'ErrUnsealFailed', message: 'Failed to unseal: x', now: new Date(0), instance: 'pod' });
    expect(event).toMatchObject({ involvedObject: { kind: 'SealedSecret', name: 's', uid: UID }, reason: 'ErrUnsealFailed', type: 'Warning', source: { component: 'sealed-secrets' } });
  });
  it('ignores status-only updates', () => {
    const a: SealedSecret = { metadata: { name: 's', generation: 1 }, spec: { encryptedData: { k: 'x' } } };
    expect(needsReconcile({ ...a, status: { observedGeneration: 1 } }, a)).toBe(false);
    expect(needsReconcile({ ...a, spec: { encryptedData: { k: 'y' } } }, a)).toBe(true);
    expect(needsReconcile({ ...a, metadata: { ...a.metadata, annotations: { 'sealedsecrets.bitnami.com/cluster-wide': 'true' } } }, a)).toBe(true);
  });
});
