/**
 * The key backup (escrow) ConfigMap: every sealing key Secret, encrypted with age to the admins'
 * recipients (controller --key-backup-recipient), so that the ConfigMap is safe to keep anywhere,
 * git included. The controller writes it (controller/escrow.ts); kubeseal --recovery-private-key
 * reads it with an age identity. Pure: encryption and decryption come in as arguments
 * (shared/age.ts makes them from the age-encryption package).
 *
 * Layout, per key Secret named N (Secret names are DNS subdomains, so both keys are valid
 * ConfigMap keys, and the suffixes keep them apart whatever N is):
 *
 *   data["N.age"]   age ASCII armor of the key Secret as a JSON manifest (kubectl create -f takes it)
 *   data["N.json"]  {"fingerprint":"SHA256:…","notBefore":"RFC 3339","recipients":["age1…"]}
 *
 * Nothing but age ciphertext, fingerprints, dates and public recipients is in it.
 */
import { UserError } from './errors.ts';
import { privateKeyOfSecret } from './key-secret.ts';
import { keyFingerprint } from './keys.ts';
import { isObject, type Secret } from './kube.ts';

/** Default name of the escrow ConfigMap in the controller's namespace. */
export const KEY_BACKUP_CONFIGMAP = 'sealed-secrets-key-backup';
export const KEY_BACKUP_CIPHERTEXT_SUFFIX = '.age';
export const KEY_BACKUP_METADATA_SUFFIX = '.json';
/** Labels that mark the escrow ConfigMap (kubectl get configmap -l …). */
export const KEY_BACKUP_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': 'sealed-secrets',
  'app.kubernetes.io/component': 'key-backup',
};

/** Encrypts to a fixed set of recipients; `recipients` are their public `age1…` strings, in order. */
export interface BackupEncrypter {
  readonly recipients: readonly string[];
  /** age ASCII armor of `plaintext`. */
  encrypt(plaintext: Uint8Array): Promise<string>;
}

/** Opens age ASCII armor with the identities it holds; rejects when none of them fits. */
export interface BackupDecrypter {
  decrypt(armored: string): Promise<Uint8Array>;
}

/** The non-secret facts stored beside each ciphertext. */
export interface KeyBackupMetadata {
  readonly fingerprint: string;
  /** The certificate's NotBefore, RFC 3339 (UTC, whole seconds). */
  readonly notBefore: string;
  /** The recipients the ciphertext was encrypted to (tells the controller when to re-encrypt). */
  readonly recipients: readonly string[];
}

export interface KeyBackupEntry extends KeyBackupMetadata {
  /** The key Secret's name. */
  readonly name: string;
  /** age ASCII armor of the key Secret. */
  readonly ciphertext: string;
}

export interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string };
  data: Record<string, string>;
}

/** RFC 3339 in UTC with whole seconds, as Kubernetes writes times. */
function rfc3339Seconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * The key Secret as it goes into the backup: the manifest that recreates it (kubectl create -f),
 * without what the API server sets (uid, resourceVersion, managedFields, ...). Labels and
 * annotations are kept: a restored key is active only if it was.
 */
export function backupManifest(secret: Secret): Secret {
  const meta = secret.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      ...(meta.name !== undefined ? { name: meta.name } : {}),
      ...(meta.namespace !== undefined ? { namespace: meta.namespace } : {}),
      ...(meta.labels ? { labels: { ...meta.labels } } : {}),
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
    },
    type: secret.type ?? 'kubernetes.io/tls',
    data: { ...(secret.data ?? {}) },
  };
}

/** Encrypt one key Secret for the backup. `key` names it and says what it is (its fingerprint, NotBefore). */
export async function encryptKeyBackupEntry(
  secret: Secret,
  key: { readonly name: string; readonly fingerprint: string; readonly notBefore: Date },
  encrypter: BackupEncrypter,
): Promise<KeyBackupEntry> {
  const plaintext = new TextEncoder().encode(`${JSON.stringify(backupManifest(secret))}\n`);
  return {
    name: key.name,
    fingerprint: key.fingerprint,
    notBefore: rfc3339Seconds(key.notBefore),
    recipients: [...encrypter.recipients],
    ciphertext: await encrypter.encrypt(plaintext),
  };
}

/** The ConfigMap holding `entries` (sorted by name, so the same keys give the same object). */
export function keyBackupConfigMap(options: { name: string; namespace: string; entries: Iterable<KeyBackupEntry> }): ConfigMap {
  const data: Record<string, string> = {};
  for (const entry of [...options.entries].sort((a, b) => a.name.localeCompare(b.name))) {
    data[`${entry.name}${KEY_BACKUP_CIPHERTEXT_SUFFIX}`] = entry.ciphertext;
    const metadata: KeyBackupMetadata = { fingerprint: entry.fingerprint, notBefore: entry.notBefore, recipients: [...entry.recipients] };
    data[`${entry.name}${KEY_BACKUP_METADATA_SUFFIX}`] = JSON.stringify(metadata);
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: options.name, namespace: options.namespace, labels: { ...KEY_BACKUP_LABELS } },
    data,
  };
}

const stringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');

/**
 * The entries of an escrow ConfigMap (parsed YAML or JSON, untrusted), without decrypting them.
 * Throws a UserError naming `where` and the entry; never quotes a value.
 */
export function readKeyBackupEntries(configMap: unknown, where: string): KeyBackupEntry[] {
  if (!isObject(configMap) || configMap.kind !== 'ConfigMap') throw new UserError(`${where} is not a ConfigMap; pass the key backup ConfigMap (kubectl get configmap ${KEY_BACKUP_CONFIGMAP} -o yaml)`);
  const data = isObject(configMap.data) ? configMap.data : {};
  const entries: KeyBackupEntry[] = [];
  for (const [dataKey, ciphertext] of Object.entries(data)) {
    if (!dataKey.endsWith(KEY_BACKUP_CIPHERTEXT_SUFFIX)) continue;
    const name = dataKey.slice(0, -KEY_BACKUP_CIPHERTEXT_SUFFIX.length);
    const metaKey = `${name}${KEY_BACKUP_METADATA_SUFFIX}`;
    if (typeof ciphertext !== 'string') throw new UserError(`${where}: data["${dataKey}"] must be a string (age armor)`);
    const rawMeta = data[metaKey];
    if (typeof rawMeta !== 'string') throw new UserError(`${where}: data["${dataKey}"] has no data["${metaKey}"]; restore the whole ConfigMap as the controller wrote it`);
    let meta: unknown;
    try {
      meta = JSON.parse(rawMeta);
    } catch {
      throw new UserError(`${where}: data["${metaKey}"] is not JSON; restore the ConfigMap as the controller wrote it`);
    }
    if (!isObject(meta) || typeof meta.fingerprint !== 'string' || typeof meta.notBefore !== 'string' || !stringArray(meta.recipients ?? [])) {
      throw new UserError(`${where}: data["${metaKey}"] needs "fingerprint" and "notBefore" strings; restore the ConfigMap as the controller wrote it`);
    }
    entries.push({ name, fingerprint: meta.fingerprint, notBefore: meta.notBefore, recipients: [...((meta.recipients as string[] | undefined) ?? [])], ciphertext });
  }
  if (entries.length === 0) throw new UserError(`${where} holds no key backup entries (data["<key Secret>${KEY_BACKUP_CIPHERTEXT_SUFFIX}"]); pass the ConfigMap named by the controller's --key-backup-configmap`);
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Decrypt every entry of an escrow ConfigMap to the key Secret it holds (kubeseal
 * --recovery-private-key takes those Secrets as it takes a kubectl backup). An entry whose key
 * does not match its recorded fingerprint is refused. Errors name the entry, never its content.
 */
export async function openKeyBackup(
  configMap: unknown,
  options: { decrypter: BackupDecrypter; where: string },
): Promise<{ entry: KeyBackupEntry; secret: Secret }[]> {
  const opened: { entry: KeyBackupEntry; secret: Secret }[] = [];
  for (const entry of readKeyBackupEntries(configMap, options.where)) {
    const at = `${options.where}: data["${entry.name}${KEY_BACKUP_CIPHERTEXT_SUFFIX}"]`;
    let plaintext: Uint8Array;
    try {
      plaintext = await options.decrypter.decrypt(entry.ciphertext);
    } catch {
      throw new UserError(`${at} cannot be decrypted with the given age identity; pass the identity of one of its recipients (${entry.recipients.join(', ') || 'unknown'})`);
    }
    let secret: unknown;
    try {
      secret = JSON.parse(new TextDecoder().decode(plaintext));
    } catch {
      throw new UserError(`${at} does not decrypt to a JSON key Secret; restore the ConfigMap as the controller wrote it`);
    }
    if (!isObject(secret) || secret.kind !== 'Secret') throw new UserError(`${at} does not decrypt to a key Secret; restore the ConfigMap as the controller wrote it`);
    const fingerprint = keyFingerprint(privateKeyOfSecret(secret, at));
    if (fingerprint !== entry.fingerprint) {
      throw new UserError(`${at} holds key ${fingerprint}, not ${entry.fingerprint} as data["${entry.name}${KEY_BACKUP_METADATA_SUFFIX}"] says; the ConfigMap was altered`);
    }
    opened.push({ entry, secret: secret as Secret });
  }
  return opened;
}
