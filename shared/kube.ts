/**
 * The Kubernetes objects sealed-secrets deals in, as plain JSON shapes, and the checks that turn an
 * untrusted parsed document into one of them. Field order follows the Go structs (and map keys are
 * sorted) so that what we print matches what upstream kubeseal prints.
 */
import { UserError } from './errors.ts';
import { kindOf, quoteName } from './untrusted.ts';

export type StringMap = Record<string, string>;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  selfLink?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: StringMap;
  annotations?: StringMap;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
}

export interface Secret {
  kind?: string;
  apiVersion?: string;
  metadata?: ObjectMeta;
  immutable?: boolean;
  /** base64 of the raw bytes, as on the wire. */
  data?: StringMap;
  stringData?: StringMap;
  type?: string;
}

export interface SecretTemplate {
  metadata?: ObjectMeta | null;
  type?: string;
  immutable?: boolean;
  /** Go text/template per key, rendered over the decrypted values; null omits the key. */
  data?: Readonly<Record<string, string | null>> | null;
}

export interface SealedSecretCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface SealedSecretStatus {
  observedGeneration?: number;
  conditions?: SealedSecretCondition[];
  /**
   * Fingerprints (shared/keys.ts keyFingerprint) of the sealing keys that opened the values,
   * sorted and unique: which keys this SealedSecret needs. Ours only; upstream's CRD prunes it.
   */
  keyFingerprints?: string[];
}

export interface SealedSecret {
  kind?: string;
  apiVersion?: string;
  metadata: ObjectMeta;
  spec: {
    template?: SecretTemplate;
    /** Deprecated v1 format: one blob sealing a whole JSON-encoded Secret. */
    data?: string;
    encryptedData: StringMap;
  };
  status?: SealedSecretStatus;
}

export const SEALED_SECRET_API_VERSION = 'bitnami.com/v1alpha1';
export const SEALED_SECRET_KIND = 'SealedSecret';

/** Keys of ObjectMeta in the order Go prints them. Unknown keys are dropped, as Go's decoder does. */
const META_ORDER = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation',
  'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations',
  'ownerReferences', 'finalizers', 'managedFields',
] as const;
const OWNER_ORDER = ['apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion'] as const;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of `map` with its keys sorted, as Go prints maps. */
export function sortedMap<T>(map: Readonly<Record<string, T>>): Record<string, T> {
  const result: Record<string, T> = {};
  for (const key of Object.keys(map).sort()) result[key] = map[key] as T;
  return result;
}

/**
 * A map of strings read from untrusted input. Like Kubernetes' YAML decoder, a number or boolean
 * where a string belongs is taken as its text (`port: 8080` seals "8080") and null as "".
 */
function readStringMap(value: unknown, where: string, hint: string): StringMap | undefined;
function readStringMap(value: unknown, where: string, hint: string, options: { keepNull: true }): Record<string, string | null> | undefined;
function readStringMap(value: unknown, where: string, hint: string, options?: { keepNull: true }): Record<string, string | null> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new UserError(`${where} must be a map of strings${hint}`);
  const result: Record<string, string | null> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') result[key] = item;
    else if (typeof item === 'number' || typeof item === 'boolean') result[key] = String(item);
    else if (item === null) result[key] = options?.keepNull ? null : '';
    else throw new UserError(`${where}[${quoteName(key)}] must be a string but is ${kindOf(item)}; quote the value${hint}`);
  }
  return result;
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new UserError(`${where} must be a string but is ${kindOf(value)}`);
  return value;
}

/** Validate and order an ObjectMeta read from untrusted input. */
export function readObjectMeta(value: unknown, where: string): ObjectMeta {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new UserError(`${where}.metadata must be a map`);
  for (const key of ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'selfLink'] as const) {
    optionalString(value[key], `${where}.metadata.${key}`);
  }
  if (value.ownerReferences !== undefined && value.ownerReferences !== null && !Array.isArray(value.ownerReferences)) {
    throw new UserError(`${where}.metadata.ownerReferences must be a list`);
  }
  return orderedMeta({
    ...(value as ObjectMeta),
    labels: readStringMap(value.labels, `${where}.metadata.labels`, ''),
    annotations: readStringMap(value.annotations, `${where}.metadata.annotations`, ''),
  });
}

/** ObjectMeta with Go's field order, sorted maps, and empty values left out. */
export function orderedMeta(meta: ObjectMeta): ObjectMeta {
  const result: Record<string, unknown> = {};
  for (const key of META_ORDER) {
    const value = meta[key];
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    if (key === 'creationTimestamp') {
      result[key] = value;
    } else if (key === 'labels' || key === 'annotations') {
      if (isObject(value) && Object.keys(value).length > 0) result[key] = sortedMap(value as StringMap);
    } else if (key === 'ownerReferences') {
      result[key] = (value as OwnerReference[]).map(orderedOwnerReference);
    } else if (value !== null) {
      result[key] = value;
    }
  }
  return result as ObjectMeta;
}

function orderedOwnerReference(ref: OwnerReference): OwnerReference {
  const result: Record<string, unknown> = {};
  for (const key of OWNER_ORDER) if (ref[key] !== undefined) result[key] = ref[key];
  return result as unknown as OwnerReference;
}

/** What Kubernetes kinds and apiVersions look like; only such values are shown in messages. */
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
const API_VERSION = /^(?:[a-z0-9][a-z0-9.-]{0,252}\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/;

/** A parsed document's kind for error messages: its name when it looks like one, else what it is. */
function documentKind(doc: Record<string, unknown>): string {
  return typeof doc.kind === 'string' && KIND.test(doc.kind) ? doc.kind : `document whose kind is not a Kubernetes kind (${kindOf(doc.kind)})`;
}

/** An apiVersion for error messages, never more than a name. */
function apiVersionOf(doc: Record<string, unknown>): string {
  if (doc.apiVersion === undefined) return 'no apiVersion';
  if (typeof doc.apiVersion === 'string' && API_VERSION.test(doc.apiVersion)) return `apiVersion ${doc.apiVersion}`;
  return `an apiVersion that is ${typeof doc.apiVersion === 'string' ? 'not of the form group/version' : `${kindOf(doc.apiVersion)}, not a string`}`;
}

/**
 * Check that `doc` is a v1 Secret. Like upstream, a document without `kind` is read as a Secret;
 * a document of another kind is refused rather than silently sealed as an empty Secret.
 */
export function readSecret(doc: unknown, where: string): Secret {
  if (!isObject(doc)) throw new UserError(`${where} is not a Kubernetes object (it is ${kindOf(doc)}); pass a Secret manifest`);
  if (doc.kind !== undefined && (doc.kind !== 'Secret' || (doc.apiVersion !== undefined && doc.apiVersion !== 'v1'))) {
    throw new UserError(`${where} is a ${documentKind(doc)} (${apiVersionOf(doc)}), not a v1 Secret; pass a Secret manifest (kind: Secret, apiVersion: v1)`);
  }
  optionalString(doc.type, `${where}: type`);
  if (doc.immutable !== undefined && doc.immutable !== null && typeof doc.immutable !== 'boolean') {
    throw new UserError(`${where}: immutable must be true or false`);
  }
  return {
    ...(doc as Secret),
    metadata: readObjectMeta(doc.metadata, where),
    data: readStringMap(doc.data, `${where}: data`, '; data values are base64, plain text goes under stringData'),
    stringData: readStringMap(doc.stringData, `${where}: stringData`, ''),
  };
}

/** Check that `doc` is a SealedSecret with well-formed encryptedData. */
export function readSealedSecret(doc: unknown, where: string): SealedSecret {
  if (!isObject(doc)) throw new UserError(`${where} is not a Kubernetes object (it is ${kindOf(doc)}); pass a SealedSecret manifest`);
  if (doc.kind !== undefined && doc.kind !== SEALED_SECRET_KIND) {
    throw new UserError(`${where} is a ${documentKind(doc)}, not a SealedSecret; pass a SealedSecret manifest`);
  }
  if (doc.apiVersion !== undefined && doc.apiVersion !== SEALED_SECRET_API_VERSION) {
    throw new UserError(`${where} has ${apiVersionOf(doc)}; SealedSecrets are apiVersion ${SEALED_SECRET_API_VERSION}`);
  }
  const spec = doc.spec;
  if (!isObject(spec)) throw new UserError(`${where} has no spec; a SealedSecret needs spec.encryptedData`);
  optionalString(spec.data, `${where}: spec.data`);
  const template = spec.template;
  if (template !== undefined && template !== null && !isObject(template)) {
    throw new UserError(`${where}: spec.template must be a map`);
  }
  const result: SealedSecret = {
    ...(doc as unknown as SealedSecret),
    metadata: readObjectMeta(doc.metadata, where),
    spec: {
      ...(spec as SealedSecret['spec']),
      encryptedData: readStringMap(spec.encryptedData, `${where}: spec.encryptedData`, '') ?? {},
    },
  };
  if (isObject(template)) {
    result.spec.template = {
      ...(template as SecretTemplate),
      metadata: readObjectMeta(template.metadata, `${where}: spec.template`),
      data: readStringMap(template.data, `${where}: spec.template.data`, '', { keepNull: true }),
    };
  }
  return result;
}
