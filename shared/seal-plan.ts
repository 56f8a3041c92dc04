/**
 * Secret -> SealedSecret without the encryption: every rule of upstream kubeseal's `Seal` and
 * `NewSealedSecret` that decides what gets sealed, under which label, and what the SealedSecret
 * around the ciphertexts looks like. sealed-secret.ts's sealSecret seals a plan with node:crypto
 * (the CLI, the controller's /v1/rotate); the browser page seals the same plan with WebCrypto
 * (wire-format.ts). So both produce the same SealedSecret, and this file stays free of node:
 * imports and of Buffer.
 */
import { decodeBase64Bytes } from './base64.ts';
import { UserError } from './errors.ts';
import { orderedMeta, SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND, sortedMap, type ObjectMeta, type SealedSecret, type Secret, type StringMap } from './kube.ts';
import { labelText, scopeOf, withScope, type Scope } from './scope.ts';
import { describeKey, quoteName, shownName } from './untrusted.ts';

/** Annotations that kubectl and kubecfg fill with a full copy of the object, plaintext included. */
const LAST_APPLIED_ANNOTATIONS = [
  'kubectl.kubernetes.io/last-applied-configuration',
  'kubecfg.ksonnet.io/last-applied-configuration',
];
/** Metadata the API server sets; meaningless (and refused on create) in a template. */
const SERVER_SET_FIELDS = [
  'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'managedFields',
] as const;

/** Secret data keys the API server accepts (validation.IsConfigMapKey): charset, length, no "." or ".." prefix. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
export const MAX_SECRET_KEY_LENGTH = 253;

/** Why the API server would refuse `key` as a Secret data key, or undefined when it is fine. */
export function secretKeyProblem(key: string): string | undefined {
  if (key === '') return 'is not allowed';
  if (key.length > MAX_SECRET_KEY_LENGTH) return `is longer than ${MAX_SECRET_KEY_LENGTH} characters`;
  if (!SECRET_KEY.test(key)) return "has characters other than letters, digits, '-', '_' and '.'";
  if (key === '.' || key === '..') return `cannot be "${key}"`;
  if (key.startsWith('..')) return "cannot start with '..'";
  return undefined;
}

export interface PlanOptions {
  /** --scope when given; replaces the input's scope annotations. Undefined: the annotations decide. */
  readonly scope?: Scope;
  /** --name: replaces the input's name. */
  readonly name?: string;
  /** Replaces the input's namespace (used by --merge-into to keep the target's namespace). */
  readonly namespace?: string;
  /** Namespace for a Secret that has none: -n, else the kubeconfig context's. */
  readonly defaultNamespace?: string;
  /** -n was given on the command line: a Secret in another namespace is then refused. */
  readonly namespaceExplicit?: boolean;
  readonly allowEmptyData?: boolean;
}

/** What to seal and how to wrap it: seal every value of `values` with `label`, then call finish. */
export interface SealPlan {
  readonly scope: Scope;
  /** The RSA-OAEP label, UTF-8. */
  readonly label: Uint8Array;
  /** Every value's bytes, by key (stringData wins over data on the same key, as in Kubernetes). */
  readonly values: ReadonlyMap<string, Uint8Array>;
  /** The SealedSecret around the sealed values (standard base64, by key). */
  finish(encryptedData: StringMap): SealedSecret;
}

function secretName(secret: Secret): string {
  const meta = secret.metadata ?? {};
  const name = meta.name ? (shownName(meta.name) ?? '(unprintable name)') : '(unnamed)';
  return meta.namespace ? `${shownName(meta.namespace) ?? '(unprintable namespace)'}/${name}` : name;
}

/** The bytes of every value of `secret`; stringData wins over data on the same key, as in Kubernetes. */
function secretValues(secret: Secret): Map<string, Uint8Array> {
  const values = new Map<string, Uint8Array>();
  const where = `Secret "${secretName(secret)}"`;
  for (const [key, text] of Object.entries(secret.data ?? {})) {
    const bytes = decodeBase64Bytes(text);
    if (bytes === undefined) {
      throw new UserError(`${where}: data[${quoteName(key)}] is not valid base64; base64-encode it, or put plain text under stringData instead`);
    }
    values.set(key, bytes);
  }
  const utf8 = new TextEncoder();
  for (const [key, text] of Object.entries(secret.stringData ?? {})) values.set(key, utf8.encode(text));
  for (const key of values.keys()) {
    const problem = secretKeyProblem(key);
    if (problem !== undefined) {
      throw new UserError(`${where}: ${describeKey(key)} ${problem}, so the API server would refuse it; use at most ${MAX_SECRET_KEY_LENGTH} letters, digits, '-', '_' and '.', not starting with '..'`);
    }
  }
  return values;
}

/** The template metadata: the input's, minus what would leak plaintext or what the server owns. */
function templateMeta(meta: ObjectMeta): ObjectMeta {
  const copy: ObjectMeta = structuredClone(meta);
  for (const field of SERVER_SET_FIELDS) delete copy[field];
  delete copy.ownerReferences;
  if (copy.annotations) for (const key of LAST_APPLIED_ANNOTATIONS) delete copy.annotations[key];
  return orderedMeta(copy);
}

/**
 * Plan the sealing of one Secret. Applies, in upstream's order: the empty-data check, --name, the
 * missing-name check, --scope, the namespace rules (mismatch with an explicit -n, default
 * namespace); the label is that of the resulting scope.
 */
export function planSeal(input: Secret, options: PlanOptions): SealPlan {
  const secret: Secret = { ...input, metadata: { ...input.metadata } };
  const meta = secret.metadata as ObjectMeta;
  const dataCount = Object.keys(secret.data ?? {}).length + Object.keys(secret.stringData ?? {}).length;
  if (dataCount === 0 && !options.allowEmptyData) {
    throw new UserError(
      `Secret "${secretName(secret)}" has no data or stringData, assuming this is an error and aborting; to seal it anyway use --allow-empty-data`,
    );
  }
  if (options.name) meta.name = options.name;
  if (!meta.name) throw new UserError('missing metadata.name in input Secret; set metadata.name or pass --name');
  if (options.namespace) meta.namespace = options.namespace;
  if (options.scope !== undefined) meta.annotations = withScope(meta.annotations, options.scope);

  const scope = scopeOf(meta.annotations);
  if (scope !== 'cluster-wide') {
    const wanted = options.defaultNamespace;
    if (options.namespaceExplicit && meta.namespace && wanted && meta.namespace !== wanted) {
      throw new UserError(
        `namespace mismatch: input secret is in namespace ${quoteName(meta.namespace)} but "${wanted}" was specified; drop --namespace or fix metadata.namespace`,
      );
    }
    if (!meta.namespace && wanted) meta.namespace = wanted;
    if (!meta.namespace) {
      throw new UserError(`secret must declare a namespace: set metadata.namespace, pass --namespace, or seal with --scope cluster-wide`);
    }
  }
  const name = meta.name;
  const label = new TextEncoder().encode(labelText(scope, meta.namespace ?? '', name));
  const values = secretValues(secret);
  return {
    scope,
    label,
    values,
    finish(encryptedData) {
      const template: NonNullable<SealedSecret['spec']['template']> = { metadata: templateMeta(meta) };
      if (secret.type) template.type = secret.type;
      if (secret.immutable !== undefined && secret.immutable !== null) template.immutable = secret.immutable;
      return {
        kind: SEALED_SECRET_KIND,
        apiVersion: SEALED_SECRET_API_VERSION,
        metadata: orderedMeta({ name, namespace: meta.namespace, annotations: withScope(undefined, scope) }),
        spec: { template, encryptedData: sortedMap(encryptedData) },
      };
    },
  };
}

/** The label of a raw value (--raw), after upstream's checks are done by the caller. */
export function rawLabel(scope: Scope, namespace: string, name: string): Uint8Array {
  return new TextEncoder().encode(labelText(scope, namespace, name));
}
