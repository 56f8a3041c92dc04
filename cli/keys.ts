/**
 * `kubeseal keys`: the sealing keys, for admins. A subcommand (like `kubeseal completion`), because
 * upstream kubeseal has none, so no upstream flag or argument can mean it. It takes kubeseal's
 * flags (--controller-name, --controller-namespace, the kubeconfig flags, -o, -w).
 *
 *   kubeseal keys                                   the controller's keys (GET /v1/keys): name,
 *                                                   fingerprint, NotBefore, sealing, retired, and
 *                                                   how many SealedSecrets need each
 *   kubeseal keys --recovery-private-key K [PATH]...
 *                                                   offline: which key opens each SealedSecret of
 *                                                   the files and directories (or stdin, or -f)
 *   kubeseal keys restore --recovery-private-key BACKUP --recovery-age-identity ID
 *                                                   the key Secrets of an escrow ConfigMap, for
 *                                                   kubectl apply (key material: -w writes 0600)
 */
import { DecryptError, UsageError, UserError } from '../shared/errors.ts';
import { isObject, readSealedSecret, SEALED_SECRET_KIND, type SealedSecret, type Secret } from '../shared/kube.ts';
import { formatManifest, parseDocuments, parseOutputFormat, type OutputFormat } from '../shared/manifest.ts';
import { unsealSealedSecret } from '../shared/sealed-secret.ts';
import { backupManifest } from '../shared/key-backup.ts';
import type { Io } from './io.ts';
import { printKeyListing, table } from './key-list.ts';
import { manifestFiles } from './manifest-files.ts';
import type { CliOptions } from './options.ts';
import { readRecoveryKeyring, type RecoveryKey } from './recovery-keys.ts';
import { printableName } from '../shared/untrusted.ts';

export const KEYS_HELP = `Usage: kubeseal keys [flags] [file or directory]...

List the sealing keys and what needs them (beyond upstream kubeseal).

  kubeseal keys
      The controller's sealing keys through the API server (as --fetch-cert reaches it):
      NAME, FINGERPRINT, NOT BEFORE, SEALING, RETIRED, and SEALED SECRETS (how many need it).
  kubeseal keys --recovery-private-key <backup> [file or directory]...
      Offline: which key opens each SealedSecret of the files, the directories' *.yaml, *.yml
      and *.json files (or -f, or stdin). Exits 1 if a SealedSecret opens with none of them.
  kubeseal keys restore --recovery-private-key <backup ConfigMap> --recovery-age-identity <file>
      The key Secrets of a key backup (escrow) ConfigMap, for the controller's namespace
      (--controller-namespace): pipe to kubectl apply -f -, or -w keys.yaml (mode 0600).

Flags: --controller-name, --controller-namespace, --kubeconfig and the kubectl connection flags,
-o json|yaml (default: a table), -w, --recovery-private-key, --recovery-age-identity.
See docs/keys.md for backup, restore, rotation and retirement.
`;

/** Which key opened one SealedSecret; `keys` is empty when none did. */
interface Opened {
  readonly file: string;
  readonly namespace: string;
  readonly name: string;
  readonly keys: readonly { name?: string; fingerprint: string }[];
  /** Why it did not open (kind of failure only; never content). */
  readonly problem?: string;
}

/** The problem of a SealedSecret with no encrypted values: no key is needed, so it is not "unopened". */
const NO_VALUES = 'it holds no encrypted values';

function whichKeys(sealed: SealedSecret, keys: readonly RecoveryKey[]): Pick<Opened, 'keys' | 'problem'> {
  // template.data needs no rendering to know which key opens the values.
  const bare: SealedSecret = { ...sealed, spec: { ...sealed.spec, template: { ...sealed.spec.template, data: null } } };
  try {
    const { keysUsed } = unsealSealedSecret(bare, { keys: keys.map((k) => k.key), acceptDeprecatedV1Data: true });
    if (keysUsed.length === 0) return { keys: [], problem: NO_VALUES };
    return { keys: keysUsed.map((index) => keys[index] as RecoveryKey).map((k) => ({ ...(k.name ? { name: k.name } : {}), fingerprint: k.fingerprint })) };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    const problem = error instanceof DecryptError && error.failure === 'no-key' ? 'no given key opens it'
      : error instanceof DecryptError && error.failure === 'tampered' ? 'a key matches but the value was altered'
        : 'it cannot be opened';
    return { keys: [], problem };
  }
}

async function offline(options: CliOptions, io: Io, format: OutputFormat | 'table'): Promise<void> {
  const keys = await readRecoveryKeyring({ files: options.recoveryPrivateKey, identityFiles: options.recoveryAgeIdentity, io });
  // Each file is read when its turn comes, so memory holds one file, not a whole directory's.
  const inputs: { file: string; read: () => Promise<Buffer>; explicit: boolean }[] = [];
  const paths = [...(options.secretFile ? [options.secretFile] : []), ...options.operands];
  if (paths.length === 0) {
    if (io.stdinIsTty) io.warn('(tty detected: expecting SealedSecret manifests in stdin)');
    inputs.push({ file: '-', read: () => io.readStdin(), explicit: true });
  } else {
    for (const file of manifestFiles(paths, io, 'file arguments')) inputs.push({ file: file.path, read: async () => io.readFile(file.path, 'file'), explicit: file.explicit });
  }
  const rows: Opened[] = [];
  for (const input of inputs) {
    const what = input.file === '-' ? 'input' : `"${input.file}"`;
    const bytes = await input.read();
    let parsed: unknown[];
    try {
      parsed = parseDocuments(bytes, what);
    } catch (error) {
      // As --re-encrypt of a directory: a file found there that is not YAML or JSON is skipped.
      if (input.explicit || !(error instanceof UserError)) throw error;
      io.warn(`warning: skipped ${input.file}: ${error.message}`);
      continue;
    }
    const docs = parsed.filter((doc) => isObject(doc) && doc.kind === SEALED_SECRET_KIND);
    if (docs.length === 0 && input.explicit) throw new UserError(`${what} holds no SealedSecret; name SealedSecret manifests or directories of them`);
    for (const [index, doc] of docs.entries()) {
      const sealed = readSealedSecret(doc, docs.length > 1 ? `${what} SealedSecret ${index + 1}` : what);
      // Names from the files: shown only when identifier-like (a table cell must not carry escapes).
      rows.push({ file: input.file, namespace: printableName(sealed.metadata.namespace), name: printableName(sealed.metadata.name), ...whichKeys(sealed, keys) });
    }
  }
  const text = format === 'table'
    ? table(['FILE', 'NAMESPACE', 'NAME', 'KEY', 'FINGERPRINT'], rows.map((r) => [
      r.file, r.namespace, r.name,
      r.keys.length === 0 ? `(none: ${r.problem ?? ''})` : r.keys.map((k) => k.name ?? '-').join(','),
      r.keys.map((k) => k.fingerprint).join(',') || '-',
    ]))
    : formatManifest({ sealedSecrets: rows.map((r) => ({ ...r, keys: r.keys.map((k) => ({ ...k })) })) }, format);
  const output = options.sealedSecretFile;
  if (output) io.writeFileAtomic(output, text);
  else io.writeStdout(text);
  const unopened = rows.filter((r) => r.keys.length === 0 && r.problem !== NO_VALUES).length;
  if (unopened > 0) throw new UserError(`${unopened} of ${rows.length} SealedSecrets open with none of the given keys; pass the backup that holds their key`);
}

/** The key Secrets of escrow entries, as kubectl apply creates them in the controller's namespace. */
function restoredSecrets(keys: readonly RecoveryKey[], namespace: string): Secret[] {
  return keys.flatMap((k) => (k.secret ? [backupManifest(k.secret, namespace)] : []));
}

async function restore(options: CliOptions, io: Io, format: OutputFormat): Promise<void> {
  if (options.recoveryPrivateKey.length === 0) {
    throw new UsageError('kubeseal keys restore needs --recovery-private-key <key backup ConfigMap> and --recovery-age-identity <file>');
  }
  const keys = await readRecoveryKeyring({ files: options.recoveryPrivateKey, identityFiles: options.recoveryAgeIdentity, io });
  const secrets = restoredSecrets(keys, options.controllerNamespace || 'kube-system');
  if (secrets.length === 0) {
    throw new UserError('kubeseal keys restore reads key backup ConfigMaps (controller --key-backup-recipient); a kubectl backup of the key Secrets is restored with kubectl apply -f as it is');
  }
  const text = formatManifest({ apiVersion: 'v1', kind: 'List', items: secrets, metadata: { resourceVersion: '' } }, format);
  if (options.sealedSecretFile) io.writeFileAtomic(options.sealedSecretFile, text, { secret: true });
  else io.writeStdout(text);
  io.warn(`${secrets.length} key Secret${secrets.length === 1 ? '' : 's'} for namespace "${options.controllerNamespace || 'kube-system'}": ${keys.filter((k) => k.secret).map((k) => `${k.name ?? ''} (${k.fingerprint})`).join(', ')}`);
}

/** Runs `kubeseal keys ...` (argv after "keys", parsed as kubeseal's flags). */
export async function keysCommand(options: CliOptions, io: Io): Promise<void> {
  if (options.help) {
    io.writeStdout(KEYS_HELP);
    return;
  }
  const format = parseOutputFormat(options.format);
  const shown: OutputFormat | 'table' = options.formatExplicit ? format : 'table';
  if (options.operands[0] === 'restore') {
    if (options.operands.length > 1) throw new UsageError('kubeseal keys restore takes no file arguments; pass the backup with --recovery-private-key');
    await restore(options, io, format);
    return;
  }
  if (options.recoveryPrivateKey.length > 0) {
    await offline(options, io, shown);
    return;
  }
  if (options.operands.length > 0 || options.secretFile) {
    throw new UsageError('kubeseal keys with files needs --recovery-private-key <backup> to tell which key opens them');
  }
  const { listKeys } = await import('./remote.ts');
  const text = printKeyListing(await listKeys(options, { env: io.env, warn: io.warn }), shown);
  if (options.sealedSecretFile) io.writeFileAtomic(options.sealedSecretFile, text);
  else io.writeStdout(text);
}
