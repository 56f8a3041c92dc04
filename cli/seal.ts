/** Sealing modes of the CLI: whole Secrets, --merge-into an existing file, and --raw single values. */
import type { KeyObject } from 'node:crypto';
import { UsageError, UserError } from '../shared/errors.ts';
import { readSealedSecret, readSecret, SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND, sortedMap, type SealedSecret } from '../shared/kube.ts';
import { formatManifest, parseDocuments, type OutputFormat } from '../shared/manifest.ts';
import { scopeOf, type Scope } from '../shared/scope.ts';
import { sealRawValue, sealSecret, type SealOptions } from '../shared/sealed-secret.ts';
import type { NamespaceChoice } from './kubeconfig.ts';

export interface SealRequest {
  readonly publicKey: KeyObject;
  readonly random: (size: number) => Uint8Array;
  readonly format: OutputFormat;
  /** --scope, when given. */
  readonly scope?: Scope;
  readonly name: string;
  readonly allowEmptyData: boolean;
  /** -n/--namespace, or else the kubeconfig context's namespace (read only when needed). */
  readonly namespace: () => NamespaceChoice;
  /** -n/--namespace was given. */
  readonly namespaceGiven: boolean;
}

function sealOptions(request: SealRequest, secretNamespace: string | undefined, scope: Scope): SealOptions {
  // The kubeconfig is read only when it matters: a namespaced Secret without namespace, or -n given.
  const needed = scope !== 'cluster-wide' && (!secretNamespace || request.namespaceGiven);
  const choice: NamespaceChoice = needed ? request.namespace() : { explicit: false };
  return {
    publicKey: request.publicKey,
    random: request.random,
    ...(request.scope ? { scope: request.scope } : {}),
    ...(request.name ? { name: request.name } : {}),
    ...(choice.namespace ? { defaultNamespace: choice.namespace } : {}),
    namespaceExplicit: choice.explicit,
    allowEmptyData: request.allowEmptyData,
  };
}

/** Seal every Secret of `input` and return the printed SealedSecrets, one document each. */
export function sealInput(input: Buffer, request: SealRequest, what: string): string {
  const docs = parseDocuments(input, what);
  if (docs.length === 0) throw new UserError(`no secrets found in ${what}; pass a Secret manifest in YAML or JSON (UTF-8)`);
  return docs
    .map((doc, index) => {
      const secret = readSecret(doc, docs.length > 1 ? `${what} document ${index + 1}` : what);
      const scope = request.scope ?? scopeOf(secret.metadata?.annotations);
      return formatManifest(sealSecret(secret, sealOptions(request, secret.metadata?.namespace, scope)), request.format);
    })
    .join('');
}

/**
 * --merge-into: seal the input's items for the name, namespace and (unless --scope says otherwise)
 * scope of an existing SealedSecret and add them to it, replacing items of the same name. Returns
 * the new file content, in the file's own format unless -o was given.
 */
export function mergeInto(
  input: Buffer,
  existingBytes: Buffer,
  request: SealRequest & { formatExplicit: boolean },
  file: string,
): string {
  const docs = parseDocuments(existingBytes, `--merge-into file "${file}"`);
  if (docs.length !== 1) throw new UserError(`--merge-into file "${file}" must hold exactly one SealedSecret, it holds ${docs.length} documents`);
  const existing: SealedSecret = readSealedSecret(docs[0], `--merge-into file "${file}"`);
  const inputs = parseDocuments(input, 'input');
  if (inputs.length !== 1) throw new UserError(`--merge-into takes exactly one input Secret, got ${inputs.length}`);
  const secret = readSecret(inputs[0], 'input');
  // Items sealed under another scope than the file's would never open together with its others.
  const scope = request.scope ?? scopeOf(existing.metadata.annotations);
  const sealed = sealSecret(secret, {
    ...sealOptions({ ...request, scope }, existing.metadata.namespace, scope),
    ...(existing.metadata.name ? { name: existing.metadata.name } : {}),
    ...(existing.metadata.namespace ? { namespace: existing.metadata.namespace } : {}),
    namespaceExplicit: false,
  });
  const template = existing.spec.template ?? {};
  const templateMeta = template.metadata ?? {};
  const added = sealed.spec.template?.metadata ?? {};
  const merged: SealedSecret = {
    kind: existing.kind ?? SEALED_SECRET_KIND,
    apiVersion: existing.apiVersion ?? SEALED_SECRET_API_VERSION,
    metadata: existing.metadata,
    spec: {
      ...existing.spec,
      template: {
        ...template,
        metadata: {
          ...templateMeta,
          ...(templateMeta.annotations || added.annotations ? { annotations: sortedMap({ ...templateMeta.annotations, ...added.annotations }) } : {}),
          ...(templateMeta.labels || added.labels ? { labels: sortedMap({ ...templateMeta.labels, ...added.labels }) } : {}),
        },
      },
      encryptedData: sortedMap({ ...existing.spec.encryptedData, ...sealed.spec.encryptedData }),
    },
  };
  const format = request.formatExplicit ? request.format : existingBytes.toString('utf8').trimStart().startsWith('{') ? 'json' : 'yaml';
  return formatManifest(merged, format);
}

/** --raw: seal one value; base64 without a trailing newline, as upstream. */
export function sealRaw(value: Buffer, request: SealRequest & { scope: Scope }): string {
  let namespace = '';
  if (request.scope !== 'cluster-wide') {
    namespace = request.namespace().namespace ?? '';
    if (!namespace) throw new UsageError(`must provide the --namespace flag with --raw and --scope ${request.scope}`);
    if (request.scope === 'strict' && !request.name) throw new UsageError('must provide the --name flag with --raw and --scope strict');
  }
  return sealRawValue(value, { publicKey: request.publicKey, random: request.random, scope: request.scope, namespace, name: request.name });
}
