/**
 * `kubeseal --re-encrypt <file|directory>...`: re-seal the SealedSecrets of many files with the
 * newest key, each file rewritten in place, atomically (temporary file + rename), in its own format
 * (JSON stays JSON, YAML stays YAML, every document in its place). The re-sealing itself is a
 * `Reencrypter`: through the controller (cli/remote.ts) or offline (below).
 *
 * Invariants: a file is written only when every SealedSecret in it was re-encrypted, and only when
 * something changed (a file whose SealedSecrets are all already current is left as it is); one
 * file failing does not stop the others; the summary counts SealedSecrets; the exit is non-zero
 * when any file failed. Files found in a directory that hold no SealedSecret are left alone (a
 * warning when they are not even YAML or JSON). Progress goes to stderr, and only on a terminal.
 */
import type { KeyObject } from 'node:crypto';
import { UserError, errorMessage } from '../shared/errors.ts';
import { isObject, readSealedSecret, SEALED_SECRET_KIND, type SealedSecret } from '../shared/kube.ts';
import { keyFingerprint } from '../shared/keys.ts';
import { formatManifest, parseDocuments, type OutputFormat } from '../shared/manifest.ts';
import { reencryptSealedSecret } from '../shared/re-encrypt.ts';
import { unsealSealedSecret } from '../shared/sealed-secret.ts';
import type { Io } from './io.ts';
import type { ManifestFile } from './manifest-files.ts';

/** One SealedSecret re-sealed with the newest key (a manifest object to print), or already sealed with it. */
export type Reencrypted = { readonly current: true } | { readonly current: false; readonly manifest: unknown };

export interface Reencrypter {
  reencrypt(sealed: SealedSecret): Promise<Reencrypted>;
}

export interface ReencryptSummary {
  readonly reencrypted: number;
  readonly current: number;
  /** SealedSecrets in files that failed (a file fails as a whole). */
  readonly failed: number;
  readonly failedFiles: number;
}

/** The format a file is in: JSON when it starts with "{" (as shared/manifest.ts parses), else YAML. */
export function fileFormat(text: string): OutputFormat {
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

const isSealedSecretDoc = (doc: unknown): boolean => isObject(doc) && doc.kind === SEALED_SECRET_KIND;

/** The new content of one file, or undefined when nothing in it changed. Throws on the first failure. */
async function reencryptFile(text: string, docs: readonly unknown[], file: ManifestFile, reencrypter: Reencrypter): Promise<{ content?: string; reencrypted: number; current: number }> {
  const what = `"${file.path}"`;
  if (!docs.some(isSealedSecretDoc)) {
    if (file.explicit) throw new UserError(`${what} holds no SealedSecret; name SealedSecret manifests or directories of them`);
    return { reencrypted: 0, current: 0 };
  }
  const format = fileFormat(text);
  let reencrypted = 0;
  let current = 0;
  const printed: string[] = [];
  for (const [index, doc] of docs.entries()) {
    if (!isSealedSecretDoc(doc)) {
      // Other objects beside SealedSecrets (a kustomize directory) stay, printed in the file's format.
      printed.push(formatManifest(doc, format));
      continue;
    }
    const sealed = readSealedSecret(doc, docs.length > 1 ? `${what} document ${index + 1}` : what);
    const result = await reencrypter.reencrypt(sealed);
    if (result.current) {
      current++;
      printed.push(formatManifest(doc, format));
    } else {
      reencrypted++;
      printed.push(formatManifest(result.manifest, format));
    }
  }
  if (reencrypted === 0) return { reencrypted, current };
  let content = printed.join('');
  // formatManifest starts every YAML document with "---"; a file that did not, keeps not doing so.
  if (format === 'yaml' && !text.trimStart().startsWith('---')) content = content.replace(/^---\n/, '');
  return { content, reencrypted, current };
}

/** Re-encrypt every file; per-file errors go to stderr as they happen, the summary at the end. */
export async function reencryptFiles(files: readonly ManifestFile[], reencrypter: Reencrypter, io: Io): Promise<ReencryptSummary> {
  let reencrypted = 0;
  let current = 0;
  let failed = 0;
  let failedFiles = 0;
  const progress = io.stderrIsTty && files.length > 1;
  const clearLine = (): void => {
    if (progress) io.writeStderr('\r\x1b[K');
  };
  for (const [index, file] of files.entries()) {
    if (progress) io.writeStderr(`\r\x1b[Kre-encrypting ${index + 1}/${files.length}: ${file.path}`);
    let sealedInFile = 0;
    try {
      const bytes = io.readFile(file.path, 'file');
      let docs: unknown[];
      try {
        docs = parseDocuments(bytes, `"${file.path}"`);
      } catch (error) {
        // A file found in a directory that is not YAML or JSON (a Helm template, say) holds no
        // SealedSecret this could rewrite: said, but not a failure. A file named by the user is.
        if (file.explicit || !(error instanceof UserError)) throw error;
        clearLine();
        io.warn(`warning: skipped ${file.path}: ${errorMessage(error)}`);
        continue;
      }
      sealedInFile = docs.filter(isSealedSecretDoc).length;
      const result = await reencryptFile(bytes.toString('utf8'), docs, file, reencrypter);
      if (result.content !== undefined) io.writeFileAtomic(file.path, result.content);
      reencrypted += result.reencrypted;
      current += result.current;
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      clearLine();
      failed += sealedInFile;
      failedFiles++;
      io.warn(`error: ${file.path}: ${errorMessage(error)}`);
    }
  }
  clearLine();
  const summary = { reencrypted, current, failed, failedFiles };
  io.warn(summaryLine(summary));
  return summary;
}

export function summaryLine(summary: ReencryptSummary): string {
  const failures = summary.failedFiles === 0 ? '0 failed'
    : `${summary.failed} failed (in ${summary.failedFiles} file${summary.failedFiles === 1 ? '' : 's'}, left unchanged)`;
  return `re-encrypted ${summary.reencrypted} SealedSecret${summary.reencrypted === 1 ? '' : 's'}, ${summary.current} already current, ${failures}`;
}

/**
 * Offline re-encryption (upstream #1453): open each SealedSecret with the backed-up keys, re-seal
 * it for `publicKey` (--cert). Already current: every value was opened by the key of --cert.
 */
export function offlineReencrypter(options: { keys: readonly KeyObject[]; publicKey: KeyObject; random: (size: number) => Uint8Array }): Reencrypter {
  const target = keyFingerprint(options.publicKey);
  const fingerprints = options.keys.map((key) => keyFingerprint(key));
  return {
    reencrypt: async (sealed) => {
      // As the controller's /v1/rotate: template.data is carried over, never rendered.
      const withoutTemplateData: SealedSecret = { ...sealed, spec: { ...sealed.spec, template: { ...sealed.spec.template, data: null } } };
      const { secret, keysUsed } = unsealSealedSecret(withoutTemplateData, { keys: options.keys, acceptDeprecatedV1Data: true });
      const usesOnlyTarget = keysUsed.length > 0 && keysUsed.every((index) => fingerprints[index] === target);
      if (usesOnlyTarget && (sealed.spec.data === undefined || sealed.spec.data === null)) return { current: true };
      return { current: false, manifest: reencryptSealedSecret(sealed, secret.data ?? {}, { publicKey: options.publicKey, random: options.random }) };
    },
  };
}
