/**
 * Re-encrypt: re-seal an existing SealedSecret's values with the newest key (`/v1/rotate`, which
 * `kubeseal --re-encrypt` calls). Like upstream's `Rotate`, which unseals and then reuses
 * `NewSealedSecret`, this goes through the one sealing path kubeseal uses (`sealSecret`).
 *
 * Invariant: the scope, name and namespace of the result are the SealedSecret's top-level ones,
 * the ones its ciphertexts were bound to — never the template's, which anyone may edit. That is
 * upstream's fix for CVE-2026-22728 (v0.36.0, #1886: the top-level metadata wins over the
 * template's). Where upstream then replaces the whole template metadata with the top-level one,
 * we keep the template's own labels, annotations, type, immutability and data: dropping them would
 * silently change the Secret the result unseals to. For the forms upstream's README shows (no
 * template, or a template without scope annotations) the result is upstream's, field for field.
 */
import type { KeyObject } from 'node:crypto';
import type { Random } from './crypto.ts';
import { UserError } from './errors.ts';
import type { SealedSecret, Secret, StringMap } from './kube.ts';
import { SCOPES, scopeOf, withScope } from './scope.ts';
import { sealSecret } from './sealed-secret.ts';

/** What a re-encrypt request's template disagrees on; nothing of the values, names or bytes. */
export interface TemplateDisagreement {
  /** The template declares a wider scope than the SealedSecret: refused (the CVE-2026-22728 attack). */
  readonly widens: boolean;
  /** The template's name, namespace or scope differ (narrower or equal scope): corrected, worth a warning. */
  readonly differs: boolean;
}

/** How the template's metadata compares with the top-level metadata the ciphertexts are bound to. */
export function compareTemplate(sealed: SealedSecret): TemplateDisagreement {
  const top = sealed.metadata;
  const template = sealed.spec.template?.metadata ?? {};
  const topScope = scopeOf(top.annotations);
  const templateScope = scopeOf(template.annotations);
  const widens = SCOPES.indexOf(templateScope) > SCOPES.indexOf(topScope);
  const named = (a: string | undefined, b: string | undefined) => a !== undefined && a !== '' && a !== (b ?? '');
  const differs = widens || templateScope !== topScope || named(template.name, top.name) || named(template.namespace, top.namespace);
  return { widens, differs };
}

/**
 * Refuse a template that widens the scope. A template that repeats, narrows or omits the scope
 * is accepted: the top-level scope decides (upstream's README form has no template at all).
 */
export function checkTemplateScope(sealed: SealedSecret): void {
  if (compareTemplate(sealed).widens) {
    throw new UserError('spec.template.metadata declares a wider scope than metadata; re-encrypting keeps the scope the values were sealed with, so align the template\'s scope annotations with metadata');
  }
}

export interface ReencryptOptions {
  readonly publicKey: KeyObject;
  readonly random: Random;
}

/**
 * Re-seal `values` (base64, as unsealed from `sealed.spec.encryptedData`) for `sealed`'s own name,
 * namespace and scope. Throws UserError when the template widens the scope.
 */
export function reencryptSealedSecret(sealed: SealedSecret, values: Readonly<StringMap>, options: ReencryptOptions): SealedSecret {
  checkTemplateScope(sealed);
  const top = sealed.metadata;
  const template = sealed.spec.template ?? {};
  // The Secret the SealedSecret stands for, as unsealing builds it (template metadata, forced name
  // and namespace), with the top-level scope: sealSecret then labels every value with that scope.
  const metadata = structuredClone(template.metadata ?? {});
  metadata.annotations = withScope(metadata.annotations, scopeOf(top.annotations));
  if (top.name !== undefined) metadata.name = top.name;
  else delete metadata.name;
  if (top.namespace !== undefined) metadata.namespace = top.namespace;
  else delete metadata.namespace;
  const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata, data: { ...values } };
  if (template.type) secret.type = template.type;
  if (template.immutable !== undefined && template.immutable !== null) secret.immutable = template.immutable;
  const resealed = sealSecret(secret, { ...options, allowEmptyData: true });
  // template.data is never rendered here (upstream #2049): it is carried over as it came.
  if (template.data && Object.keys(template.data).length > 0 && resealed.spec.template) {
    resealed.spec.template.data = template.data;
  }
  return resealed;
}
