/**
 * Scopes decide which names a SealedSecret may be unsealed under. The scope is bound into every
 * ciphertext through the RSA-OAEP label, so it cannot be changed after sealing:
 *
 *   strict          label "namespace/name"  only this name in this namespace (the default)
 *   namespace-wide  label "namespace"       any name in this namespace
 *   cluster-wide    label ""                any name in any namespace
 *
 * The scope is read from annotations; only the exact string "true" counts and cluster-wide wins
 * when both are set. When unsealing, only the SealedSecret's own top-level annotations count,
 * never its template's: the template is not covered by the label and anyone may edit it.
 */
import { UsageError } from './errors.ts';

export type Scope = 'strict' | 'namespace-wide' | 'cluster-wide';
export const SCOPES: readonly Scope[] = ['strict', 'namespace-wide', 'cluster-wide'];

export const ANNOTATION_PREFIX = 'sealedsecrets.bitnami.com/';
export const CLUSTER_WIDE_ANNOTATION = `${ANNOTATION_PREFIX}cluster-wide`;
export const NAMESPACE_WIDE_ANNOTATION = `${ANNOTATION_PREFIX}namespace-wide`;

/** Parse a --scope value as upstream does: "" means strict. */
export function parseScope(value: string): Scope {
  if (value === '') return 'strict';
  if ((SCOPES as readonly string[]).includes(value)) return value as Scope;
  throw new UsageError(`invalid --scope "${value}": must be one of: strict, namespace-wide, cluster-wide`);
}

/** The scope an object's annotations declare. */
export function scopeOf(annotations: Readonly<Record<string, string>> | undefined): Scope {
  if (annotations?.[CLUSTER_WIDE_ANNOTATION] === 'true') return 'cluster-wide';
  if (annotations?.[NAMESPACE_WIDE_ANNOTATION] === 'true') return 'namespace-wide';
  return 'strict';
}

/** A copy of `annotations` that declares `scope` and nothing else about scope. */
export function withScope(annotations: Readonly<Record<string, string>> | undefined, scope: Scope): Record<string, string> {
  const result: Record<string, string> = { ...annotations };
  delete result[NAMESPACE_WIDE_ANNOTATION];
  delete result[CLUSTER_WIDE_ANNOTATION];
  if (scope === 'namespace-wide') result[NAMESPACE_WIDE_ANNOTATION] = 'true';
  if (scope === 'cluster-wide') result[CLUSTER_WIDE_ANNOTATION] = 'true';
  return result;
}

/** The text of the label (sealed as its UTF-8 bytes); the one definition, also used by the browser page. */
export function labelText(scope: Scope, namespace: string, name: string): string {
  switch (scope) {
    case 'cluster-wide':
      return '';
    case 'namespace-wide':
      return namespace;
    case 'strict':
      return `${namespace}/${name}`;
  }
}

/** The RSA-OAEP label for a value sealed under `scope` for `namespace`/`name`. */
export function encryptionLabel(scope: Scope, namespace: string, name: string): Buffer {
  return Buffer.from(labelText(scope, namespace, name), 'utf8');
}
