/**
 * The Kubernetes objects sealed-secrets deals in, as plain JSON shapes, and the checks that turn an
 * untrusted parsed document into one of them. Field order follows the Go structs (and map keys are
 * sorted) so that what we print matches what upstream kubeseal prints.
 */
import { UserError } from './errors.ts';

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
  /** Go text/template per key, rendered over the decrypted values (not supported yet). */
  data?: StringMap | null;
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
function readStringMap(value: unknown, where: string, hint: string): StringMap | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new UserError(`${where} must be a map of strings${hint}`);
  const result: StringMap = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') result[key] = item;
    else if (typeof item === 'number' || typeof item === 'boolean') result[key] = String(item);
    else if (item === null) result[key] = '';
    else throw new UserError(`${where}["${key}"] must be a string but is ${describe(item)}; quote the value${hint}`);
  }
  return result;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a map' : `the ${typeof value} ${String(value)}`;
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new UserError(`${where} must be a string but is ${describe(value)}`);
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

/** A one-word description of a parsed document, for error messages. */
function kindOf(doc: Record<string, unknown>): string {
  return typeof doc.kind === 'string' ? doc.kind : 'object without a kind';
}

/**
 * Check that `doc` is a v1 Secret. Like upstream, a document without `kind` is read as a Secret;
 * a document of another kind is refused rather than silently sealed as an empty Secret.
 */
export function readSecret(doc: unknown, where: string): Secret {
  if (!isObject(doc)) throw new UserError(`${where} is not a Kubernetes object (got ${describe(doc)}); pass a Secret manifest`);
  if (doc.kind !== undefined && (doc.kind !== 'Secret' || (doc.apiVersion !== undefined && doc.apiVersion !== 'v1'))) {
    throw new UserError(`${where} is a ${kindOf(doc)} (${String(doc.apiVersion ?? 'no apiVersion')}), not a v1 Secret; pass a Secret manifest`);
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
  if (!isObject(doc)) throw new UserError(`${where} is not a Kubernetes object (got ${describe(doc)}); pass a SealedSecret manifest`);
  if (doc.kind !== undefined && doc.kind !== SEALED_SECRET_KIND) {
    throw new UserError(`${where} is a ${kindOf(doc)}, not a SealedSecret; pass a SealedSecret manifest`);
  }
  if (doc.apiVersion !== undefined && doc.apiVersion !== SEALED_SECRET_API_VERSION) {
    throw new UserError(`${where} has apiVersion ${String(doc.apiVersion)}; SealedSecrets are ${SEALED_SECRET_API_VERSION}`);
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
      data: readStringMap(template.data, `${where}: spec.template.data`, ''),
    };
  }
  return result;
}
