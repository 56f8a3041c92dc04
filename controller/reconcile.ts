/**
 * The controller's decisions, as pure functions: what to do with the Secret a SealedSecret stands
 * for (create, update, leave alone, or refuse), what its status becomes, and what Event to record.
 * unsealer.ts carries them out. Semantics follow upstream's controller.go: a Secret not controlled
 * by the SealedSecret is left alone unless annotated `managed` (take it over) or `patch` (merge
 * into it); `immutable` is applied only when creating.
 */
import type { ObjectMeta, OwnerReference, SealedSecret, SealedSecretCondition, SealedSecretStatus, Secret, StringMap } from '../shared/kube.ts';
import { MANAGED_ANNOTATION, PATCH_ANNOTATION } from '../shared/sealed-secret.ts';
import { quoteName } from '../shared/untrusted.ts';
import { rfc3339 } from './time.ts';

export type SecretPlan =
  | { readonly action: 'create'; readonly secret: Secret }
  | { readonly action: 'update'; readonly secret: Secret }
  | { readonly action: 'none' }
  /** `retry`: whether trying again later can help (someone may annotate the Secret). */
  | { readonly action: 'refuse'; readonly message: string; readonly retry: boolean };

const empty = (map: StringMap | undefined): StringMap => map ?? {};
const sameMap = (a: StringMap | undefined, b: StringMap | undefined): boolean => {
  const x = empty(a);
  const y = empty(b);
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
};
const sameOwners = (a: OwnerReference[] | undefined, b: OwnerReference[] | undefined): boolean => {
  const norm = (refs: OwnerReference[] | undefined) => (refs ?? []).map((r) => [r.apiVersion, r.kind, r.name, r.uid, r.controller === true].join('|')).sort().join(',');
  return norm(a) === norm(b);
};

/** Whether the object with `uid` (a SealedSecret) is the Secret's controlling owner. */
export function isControlledBy(secret: Secret, uid: string | undefined): boolean {
  return uid !== undefined && uid !== '' && (secret.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid);
}

/** Whether the Secret is annotated `managed`: its SealedSecret may take it over. */
export function isManaged(secret: Secret): boolean {
  return secret.metadata?.annotations?.[MANAGED_ANNOTATION] === 'true';
}

/** The Secret to create: the unsealed one, minus anything the API server sets itself. */
function forCreate(desired: Secret): Secret {
  const { uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, generation: _g, selfLink: _sl, managedFields: _mf, ...metadata } = desired.metadata ?? {};
  return { ...desired, apiVersion: 'v1', kind: 'Secret', metadata };
}

export function planSecret(desired: Secret, existing: Secret | undefined, ownerUid: string | undefined): SecretPlan {
  if (existing === undefined) return { action: 'create', secret: forCreate(desired) };
  const meta: ObjectMeta = existing.metadata ?? {};
  const annotations = empty(meta.annotations);
  const managed = isManaged(existing);
  const patch = annotations[PATCH_ANNOTATION] === 'true';
  if (!isControlledBy(existing, ownerUid) && !managed && !patch) {
    return { action: 'refuse', message: `Resource "${meta.name}" already exists and is not managed by SealedSecret`, retry: true };
  }
  const want = desired.metadata ?? {};
  const next: Secret = { ...existing, metadata: { ...meta } };
  const nextMeta = next.metadata as ObjectMeta;
  if (patch) {
    next.data = { ...empty(existing.data), ...empty(desired.data) };
    nextMeta.labels = { ...empty(meta.labels), ...empty(want.labels) };
    nextMeta.annotations = { ...annotations, ...empty(want.annotations) };
    if (managed) nextMeta.ownerReferences = want.ownerReferences ?? [];
  } else {
    next.data = { ...empty(desired.data) };
    nextMeta.labels = { ...empty(want.labels) };
    nextMeta.annotations = { ...empty(want.annotations) };
    nextMeta.ownerReferences = want.ownerReferences ?? [];
  }
  const type = desired.type || 'Opaque';
  if ((existing.type || 'Opaque') !== type) {
    return {
      action: 'refuse',
      // spec.template.type is any string the CRD allows: quoted only when identifier-like.
      message: `Secret "${meta.name}" has type ${quoteName(existing.type || 'Opaque')} but the SealedSecret's template says ${quoteName(type)}; a Secret's type cannot change: delete the Secret and it is recreated`,
      retry: false,
    };
  }
  const dataChanged = !sameMap(existing.data, next.data);
  if (existing.immutable === true && dataChanged) {
    return {
      action: 'refuse',
      message: `Error updating ${meta.namespace}/${meta.name}: the target Secret is immutable; delete it and it is recreated with the new data`,
      retry: false,
    };
  }
  const unchanged = !dataChanged && sameMap(meta.labels, nextMeta.labels) && sameMap(meta.annotations, nextMeta.annotations) && sameOwners(meta.ownerReferences, nextMeta.ownerReferences);
  return unchanged ? { action: 'none' } : { action: 'update', secret: next };
}

export interface SyncResult {
  readonly ok: boolean;
  /** "" on success; the error otherwise (never plaintext). */
  readonly message: string;
  /**
   * Fingerprints of the keys that opened the values, when unsealing got that far (even if the
   * Secret could not be written); undefined keeps what status.keyFingerprints says.
   */
  readonly keyFingerprints?: readonly string[] | undefined;
}

/** The form status.keyFingerprints takes: sorted, unique. */
export function normalizeFingerprints(fingerprints: Iterable<string>): string[] {
  return [...new Set(fingerprints)].filter((fp) => fp !== '').sort();
}

/**
 * The status after a pass, or undefined when it would not change: then nothing is written.
 * lastTransitionTime moves only when Synced flips; observedGeneration follows metadata.generation;
 * keyFingerprints changes only when an unseal says which keys opened the values (a failure to
 * open keeps the last known ones: they name the key that is missing).
 */
export function nextStatus(sealed: SealedSecret, result: SyncResult, now: Date): SealedSecretStatus | undefined {
  const current = sealed.status;
  const previous = (current?.conditions ?? []).find((c) => c.type === 'Synced');
  const status: SealedSecretCondition['status'] = result.ok ? 'True' : 'False';
  const generation = sealed.metadata.generation;
  const fingerprints = result.keyFingerprints === undefined ? current?.keyFingerprints : normalizeFingerprints(result.keyFingerprints);
  const sameFingerprints = (fingerprints ?? []).join(',') === (current?.keyFingerprints ?? []).join(',');
  const same = previous?.status === status && (previous.message ?? '') === result.message && current?.observedGeneration === generation && sameFingerprints;
  if (same) return undefined;
  const time = rfc3339(now);
  const condition: SealedSecretCondition = {
    type: 'Synced',
    status,
    lastUpdateTime: time,
    lastTransitionTime: previous?.status === status && previous.lastTransitionTime ? previous.lastTransitionTime : time,
    ...(result.message ? { message: result.message } : {}),
  };
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: [condition, ...(current?.conditions ?? []).filter((c) => c.type !== 'Synced')],
    ...(fingerprints !== undefined ? { keyFingerprints: fingerprints } : {}),
  };
}

export const EVENT_UNSEALED = 'Unsealed';
export const EVENT_UNSEAL_FAILED = 'ErrUnsealFailed';
export const EVENT_UPDATE_FAILED = 'ErrUpdateFailed';

/** A core/v1 Event about a SealedSecret, as client-go's recorder writes them. */
export function sealedSecretEvent(options: {
  sealed: SealedSecret;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  now: Date;
  instance: string;
}): Record<string, unknown> {
  const { sealed, now } = options;
  const time = rfc3339(now);
  const nanos = BigInt(now.getTime()) * 1_000_000n;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${sealed.metadata.name}.${nanos.toString(16)}`, namespace: sealed.metadata.namespace },
    involvedObject: {
      apiVersion: 'bitnami.com/v1alpha1',
      kind: 'SealedSecret',
      name: sealed.metadata.name,
      namespace: sealed.metadata.namespace,
      uid: sealed.metadata.uid,
      resourceVersion: sealed.metadata.resourceVersion,
    },
    reason: options.reason,
    message: options.message,
    type: options.type,
    source: { component: 'sealed-secrets' },
    reportingComponent: 'sealed-secrets',
    reportingInstance: options.instance,
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
}

/** Whether an informer update of a SealedSecret is worth a pass: spec or top-level metadata changed, not only status. */
export function needsReconcile(next: SealedSecret, old: SealedSecret): boolean {
  const relevant = (s: SealedSecret) => JSON.stringify([s.spec, s.metadata.annotations ?? {}, s.metadata.generation]);
  return relevant(next) !== relevant(old);
}
