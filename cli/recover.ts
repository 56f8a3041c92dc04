/**
 * --recovery-unseal: open SealedSecrets offline with backed-up sealing keys, for disaster recovery.
 * A key file may be a PEM private key, a key Secret (YAML or JSON, its data["tls.key"]), or a List
 * of them: exactly what `kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`
 * writes as a backup.
 */
import type { KeyObject } from 'node:crypto';
import { DecryptError, UserError } from '../shared/errors.ts';
import { isObject, readSealedSecret } from '../shared/kube.ts';
import { privateKeyOfSecret } from '../shared/key-secret.ts';
import { pemBlocks, parsePrivateKey } from '../shared/keys.ts';
import { decodeManifest, formatManifest, parseDocuments, type OutputFormat } from '../shared/manifest.ts';
import { TemplateError, unsealSealedSecret } from '../shared/sealed-secret.ts';
import { shownName, shownObject } from '../shared/untrusted.ts';

/** The private keys in one --recovery-private-key file. */
export function readRecoveryKeys(content: Buffer, file: string): KeyObject[] {
  return readNamedRecoveryKeys(content, file).map((k) => k.key);
}

/** The private keys in one --recovery-private-key file, each with its key Secret's name when the file names it. */
export function readNamedRecoveryKeys(content: Buffer, file: string): { key: KeyObject; name?: string }[] {
  const text = decodeManifest(content, `--recovery-private-key "${file}"`);
  const pems = pemBlocks(text).filter((b) => b.type.endsWith('PRIVATE KEY'));
  if (pems.length > 0) {
    return pems.map((b, i) => ({ key: parsePrivateKey(b.pem, pems.length > 1 ? `--recovery-private-key "${file}" key ${i + 1}` : `--recovery-private-key "${file}"`) }));
  }
  const docs = parseDocuments(text, `--recovery-private-key "${file}"`);
  const secrets = docs.flatMap((doc) => (isObject(doc) && doc.kind === 'List' && Array.isArray(doc.items) ? doc.items : [doc]));
  if (secrets.length === 0) throw new UserError(`--recovery-private-key "${file}" holds no key; pass a PEM private key or a backup of the sealing key Secrets`);
  return secrets.map((secret, index) => {
    const where = `--recovery-private-key "${file}"${secrets.length > 1 ? ` item ${index + 1}` : ''}`;
    const name = isObject(secret) && isObject(secret.metadata) ? shownName(secret.metadata.name) : undefined;
    return { key: privateKeyOfSecret(secret, where), ...(name ? { name } : {}) };
  });
}

/** What rendering spec.template.data needs from the shell (cli/io.ts): Sprig's clock and randomness. */
export interface RecoverOptions {
  readonly now: () => Date;
  readonly random: (n: number) => Uint8Array;
}

/** Unseal every SealedSecret of `input` with `keys` and print the Secrets. */
export async function recover(input: Buffer, keys: readonly KeyObject[], format: OutputFormat, options: RecoverOptions): Promise<string> {
  const docs = parseDocuments(input, 'input');
  if (docs.length === 0) throw new UserError('no SealedSecret found in the input; pass a SealedSecret manifest on stdin or with -f');
  const sealedSecrets = docs.map((doc, index) => readSealedSecret(doc, docs.length > 1 ? `input document ${index + 1}` : 'input'));
  // The template engine loads only when some SealedSecret has template.data (kubeseal's bundle
  // leaves it outside, scripts/bundle.ts); then it renders as the controller does (the same
  // renderer, limits and messages).
  const renderTemplates = sealedSecrets.some((s) => Object.keys(s.spec.template?.data ?? {}).length > 0)
    ? (await import('../shared/template/unseal-renderer.ts')).templateRenderer({ ...options, clock: () => performance.now(), templateError: (message) => new TemplateError(message) })
    : undefined;
  return sealedSecrets
    .map((sealed) => {
      const name = shownObject(sealed.metadata.namespace, sealed.metadata.name);
      try {
        // Disaster recovery should open everything the controller could, old v1 blobs included.
        return formatManifest(unsealSealedSecret(sealed, { keys, acceptDeprecatedV1Data: true, ...(renderTemplates ? { renderTemplates } : {}) }).secret, format);
      } catch (error) {
        if (error instanceof DecryptError) {
          throw new DecryptError(error.failure, `cannot unseal SealedSecret ${name}: ${error.message}${error.failure === 'no-key' ? '; pass the key that sealed it, and check the SealedSecret was not renamed or moved' : ''}`);
        }
        if (error instanceof TemplateError) throw new TemplateError(`cannot unseal SealedSecret ${name}: ${error.message}`);
        throw error;
      }
    })
    .join('');
}
