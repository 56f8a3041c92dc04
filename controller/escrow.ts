/**
 * Escrow, on the leader: every sealing key Secret (active and retired), when created or loaded,
 * is encrypted with age to --key-backup-recipient and published in the --key-backup-configmap
 * ConfigMap (format: shared/key-backup.ts). Only ciphertext, fingerprints, dates and public
 * recipients go there, so admins may keep it in git; kubeseal --recovery-private-key opens it.
 *
 * Invariants: an entry is written only for a key whose Secret is stored; entries are never
 * removed (a key deleted from the cluster stays recoverable: removing an entry is the admin's
 * call); an entry is re-encrypted when its key or the recipients change, and left alone
 * otherwise, so an unchanged set of keys writes nothing.
 */
import { ageEncrypter } from '../shared/age.ts';
import { apiPath, CONFIG_MAPS } from '../shared/api-path.ts';
import { errorMessage } from '../shared/errors.ts';
import {
  encryptKeyBackupEntry, KEY_BACKUP_CIPHERTEXT_SUFFIX, KEY_BACKUP_LABELS, KEY_BACKUP_METADATA_SUFFIX, keyBackupConfigMap,
  type BackupEncrypter, type ConfigMap, type KeyBackupEntry,
} from '../shared/key-backup.ts';
import type { SealingKey } from '../shared/key-secret.ts';
import type { Secret } from '../shared/kube.ts';
import { isConflict, isNotFound, type KubeClient } from './kube-client.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { sleep } from './time.ts';


/** Conflicts retried at once before the backoff applies. */
const CONFLICTS_IN_A_ROW = 3;
export interface EscrowOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  /** The ConfigMap's name. */
  readonly name: string;
  readonly encrypter: BackupEncrypter;
  /** Every key to back up (active and retired) with its stored Secret. */
  readonly keys: () => readonly { key: SealingKey; secret: Secret }[];
  readonly metrics: Metrics;
  readonly log: Logger;
}

export interface Escrow {
  /**
   * Bring the ConfigMap up to date with the keys, now or right after the run in progress; retried
   * with backoff after a failure while `signal` (the leader's term) lasts. Never throws.
   */
  backUp(signal: AbortSignal): void;
  /** Resolves when no run is in progress or queued (tests, shutdown). */
  idle(): Promise<void>;
}

/** Make the encrypter up front, so that a recipient with a bad checksum stops start-up with a one-line error. */
export function escrowEncrypter(recipients: readonly string[]): Promise<BackupEncrypter> {
  return ageEncrypter(recipients, '--key-backup-recipient');
}

const sameRecipients = (a: readonly string[], b: readonly string[]) => [...a].sort().join(',') === [...b].sort().join(',');

/** Whether data[N.json] already describes `key` encrypted to `recipients` (and data[N.age] is there). */
function isCurrent(data: Readonly<Record<string, string>>, key: SealingKey, recipients: readonly string[]): boolean {
  if (typeof data[`${key.name}${KEY_BACKUP_CIPHERTEXT_SUFFIX}`] !== 'string') return false;
  try {
    const meta = JSON.parse(data[`${key.name}${KEY_BACKUP_METADATA_SUFFIX}`] ?? '') as { fingerprint?: unknown; recipients?: unknown };
    return meta.fingerprint === key.fingerprint && Array.isArray(meta.recipients) && sameRecipients(meta.recipients as string[], recipients);
  } catch {
    return false;
  }
}

export function createEscrow(options: EscrowOptions): Escrow {
  const { client, namespace, name, encrypter, metrics, log } = options;
  const path = apiPath(CONFIG_MAPS, { namespace, name });
  const collection = apiPath(CONFIG_MAPS, { namespace });
  let running: Promise<void> | undefined;
  let again = false;

  /** One attempt: read, encrypt what is missing or stale, write if anything changed. */
  async function syncOnce(signal: AbortSignal): Promise<void> {
    let existing: ConfigMap | undefined;
    try {
      existing = await client.request<ConfigMap>('GET', path, { signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const data: Record<string, string> = { ...(existing?.data ?? {}) };
    const written: string[] = [];
    for (const { key, secret } of options.keys()) {
      if (isCurrent(data, key, encrypter.recipients)) continue;
      const entry: KeyBackupEntry = await encryptKeyBackupEntry(secret, key, encrypter);
      Object.assign(data, keyBackupConfigMap({ name, namespace, entries: [entry] }).data);
      written.push(key.name);
    }
    if (existing !== undefined && written.length === 0) return;
    const body: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        ...(existing?.metadata ?? {}),
        name,
        namespace,
        labels: { ...(existing?.metadata?.labels ?? {}), ...KEY_BACKUP_LABELS },
      },
      data,
    };
    if (existing === undefined) await client.request('POST', collection, { body, signal });
    else await client.request('PUT', path, { body, signal });
    if (written.length > 0) log.info('sealing keys backed up (escrow)', { configmap: name, keys: written.join(','), recipients: encrypter.recipients.length });
  }

  async function run(signal: AbortSignal): Promise<void> {
    for (let failures = 0, conflicts = 0; !signal.aborted;) {
      again = false;
      try {
        await syncOnce(signal);
        metrics.keyBackupTimestamp.set(Date.now() / 1000);
        failures = 0;
        conflicts = 0;
        if (!again) return;
      } catch (error) {
        if (signal.aborted) return;
        // A conflict is someone else's write meanwhile: read again at once, a few times in a row;
        // beyond that, another writer keeps winning (a loop elsewhere): back off like any failure.
        if (isConflict(error) && ++conflicts <= CONFLICTS_IN_A_ROW) continue;
        conflicts = 0;
        failures++;
        metrics.keyBackupErrors.inc();
        log.warn('could not back up the sealing keys (escrow); retrying', { configmap: name, error: errorMessage(error), attempt: failures });
        await sleep(Math.min(300_000, 5000 * 2 ** (failures - 1)), signal);
      }
    }
  }

  return {
    backUp(signal) {
      if (running) {
        again = true;
        return;
      }
      running = run(signal).finally(() => {
        running = undefined;
      });
    },
    idle: async () => {
      while (running) await running;
    },
  };
}
