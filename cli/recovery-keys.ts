/**
 * The sealing keys that --recovery-private-key files hold, for --recovery-unseal, offline
 * --re-encrypt and `kubeseal keys`: PEM private keys, key Secrets and Lists of them (a kubectl
 * backup, cli/recover.ts), and the key backup (escrow) ConfigMap the controller publishes with
 * --key-backup-recipient, opened with the age identities of --recovery-age-identity
 * (shared/key-backup.ts, shared/age.ts). The age package loads only when an escrow ConfigMap is given.
 */
import type { KeyObject } from 'node:crypto';
import { UsageError } from '../shared/errors.ts';
import { privateKeyOfSecret } from '../shared/key-secret.ts';
import { keyFingerprint, pemBlocks } from '../shared/keys.ts';
import { isObject, type Secret } from '../shared/kube.ts';
import { decodeManifest, parseDocuments } from '../shared/manifest.ts';
import type { Io } from './io.ts';
import { readNamedRecoveryKeys } from './recover.ts';

export interface RecoveryKey {
  readonly key: KeyObject;
  readonly fingerprint: string;
  /** The key Secret's name, when the file says it. */
  readonly name?: string;
  /** The key Secret as the controller stored it (escrow entries only): what `kubeseal keys restore` prints. */
  readonly secret?: Secret;
}

const isConfigMap = (doc: unknown): boolean => isObject(doc) && doc.kind === 'ConfigMap';

/** Every key of every file, in order, each key once (a key in two backups is one key). */
export async function readRecoveryKeyring(options: { files: readonly string[]; identityFiles: readonly string[]; io: Pick<Io, 'readFile'> }): Promise<RecoveryKey[]> {
  const { io } = options;
  const keys: RecoveryKey[] = [];
  const seen = new Set<string>();
  const add = (key: Omit<RecoveryKey, 'fingerprint'>): void => {
    const fingerprint = keyFingerprint(key.key);
    if (seen.has(fingerprint)) return;
    seen.add(fingerprint);
    keys.push({ ...key, fingerprint });
  };
  let decrypter: Promise<import('../shared/key-backup.ts').BackupDecrypter> | undefined;
  const openWith = async () => {
    if (options.identityFiles.length === 0) {
      throw new UsageError('a key backup ConfigMap was given to --recovery-private-key; pass the admin\'s age identity file with --recovery-age-identity <file>');
    }
    const { ageDecrypter, parseAgeIdentities } = await import('../shared/age.ts');
    const identities = options.identityFiles.flatMap((file) => {
      const where = `--recovery-age-identity "${file}"`;
      return parseAgeIdentities(decodeManifest(io.readFile(file, '--recovery-age-identity'), where), where);
    });
    return ageDecrypter(identities, '--recovery-age-identity');
  };
  for (const file of options.files) {
    const content = io.readFile(file, '--recovery-private-key');
    const where = `--recovery-private-key "${file}"`;
    const text = decodeManifest(content, where);
    // PEM private keys first, as cli/recover.ts reads them (an escrow ConfigMap holds age armor, not keys).
    const pem = pemBlocks(text).some((b) => b.type.endsWith('PRIVATE KEY'));
    const docs = pem ? [] : parseDocuments(text, where);
    if (docs.length === 0 || !docs.some(isConfigMap)) {
      for (const key of readNamedRecoveryKeys(content, file)) add(key);
      continue;
    }
    if (!docs.every(isConfigMap)) {
      throw new UsageError(`${where} mixes a key backup ConfigMap with other objects; pass each backup in a file of its own`);
    }
    const { openKeyBackup } = await import('../shared/key-backup.ts');
    // Made only after that import: a rejected promise must not wait unawaited across it.
    decrypter ??= openWith();
    for (const [index, doc] of docs.entries()) {
      const at = docs.length > 1 ? `${where} document ${index + 1}` : where;
      for (const { entry, secret } of await openKeyBackup(doc, { decrypter: await decrypter, where: at })) {
        add({ key: privateKeyOfSecret(secret, `${at}: data["${entry.name}.age"]`), name: entry.name, secret });
      }
    }
  }
  return keys;
}
