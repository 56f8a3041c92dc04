/**
 * The leader's work, for one term: unseal (a work queue fed by the SealedSecret watch), renew
 * keys, publish the newest certificate. Everything stops when the term's signal aborts; `lead`
 * resolves once it has (the elector waits for that before releasing the Lease).
 */
import { errorMessage } from '../shared/errors.ts';
import { aborted, untilAborted } from './abort.ts';
import { publishCertificate, type KeyManager } from './key-manager.ts';
import type { KubeClient } from './kube-client.ts';
import type { KeyUsage } from './key-usage.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { createWorkQueue, defaultBackoff, type Outcome } from './queue.ts';
import type { SealedSecretWatch } from './sealed-secrets.ts';

export interface LeadOptions {
  readonly client: KubeClient;
  readonly keys: KeyManager;
  readonly sealedSecrets: SealedSecretWatch;
  /** One pass over one SealedSecret (unsealer.ts). */
  readonly unseal: (key: string, signal: AbortSignal) => Promise<Outcome>;
  /** The controller's namespace, where the certificate ConfigMap lives. */
  readonly namespace: string;
  /** The certificate ConfigMap's name; '' publishes none. */
  readonly certConfigMap: string;
  readonly workers: number;
  readonly maxRetries: number;
  readonly keyRenewPeriodMs: number;
  readonly keyCutoffTime?: Date | undefined;
  /** Which SealedSecrets need which key (status.keyFingerprints): warn about, and re-check, those needing a retired or deleted key. */
  readonly usage?: KeyUsage;
  /** Escrow, while leading: back up every key (controller/escrow.ts). */
  readonly backUpKeys?: (signal: AbortSignal) => void;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** Lead until `term` aborts. */
export async function lead(options: LeadOptions, term: AbortSignal): Promise<void> {
  const { keys, sealedSecrets, metrics, log } = options;
  metrics.isLeader.set(1);
  log.info('leading: unsealing and renewing keys');
  const queue = createWorkQueue({
    concurrency: options.workers,
    maxRetries: options.maxRetries,
    backoffMs: defaultBackoff(),
    log: log.with({ component: 'queue' }),
    handle: (key, workSignal) => {
      metrics.queueDepth.set(queue.size);
      return options.unseal(key, workSignal);
    },
  });
  const detach = sealedSecrets.attach(queue);
  const publish = () => {
    const newest = keys.keys()[0];
    if (!newest || !options.certConfigMap) return;
    publishCertificate(options.client, { namespace: options.namespace, name: options.certConfigMap, certificate: newest.certificate, signal: term })
      .catch((error: unknown) => { if (!term.aborted) log.warn('could not publish the certificate ConfigMap', { error: errorMessage(error) }); });
  };
  /** Fingerprints needed by SealedSecrets but not among the active keys, as last reported. */
  let missing = new Set<string>();
  const checkMissing = () => {
    if (!options.usage) return;
    const active = new Set(keys.keys().map((k) => k.fingerprint));
    const retired = new Set(keys.retired().map((k) => k.fingerprint));
    const now = new Set([...options.usage.counts().keys()].filter((fp) => !active.has(fp)));
    const gone = new Set([...now].filter((fp) => !missing.has(fp)));
    for (const fingerprint of gone) {
      log.warn('a sealing key that SealedSecrets need is retired or deleted: they cannot be unsealed until it is restored', {
        fingerprint, sealedSecrets: options.usage.count(fingerprint), key: retired.has(fingerprint) ? 'retired' : 'deleted',
      });
    }
    missing = now;
    // Their Secrets are still there: a pass marks them Synced=False, naming the key.
    if (gone.size > 0) sealedSecrets.enqueueKeys(options.usage.needing(gone));
  };
  // New keys can open what failed before (a restored backup): try the failed ones again.
  const unsubscribe = keys.onChange(() => {
    publish();
    sealedSecrets.enqueueFailed();
    if (!term.aborted) options.backUpKeys?.(term);
    checkMissing();
  });
  const renewal = keys.runRenewal({ periodMs: options.keyRenewPeriodMs, cutoff: options.keyCutoffTime, signal: term });
  try {
    // Both lists can hang while the API server is away: the term may end first.
    await untilAborted(keys.synced, term);
    if (!term.aborted) {
      publish();
      options.backUpKeys?.(term);
    }
    await untilAborted(sealedSecrets.synced, term);
    if (!term.aborted) {
      queue.start(term);
      sealedSecrets.enqueueAll();
      checkMissing();
    }
    await aborted(term);
  } finally {
    unsubscribe();
    detach();
    metrics.isLeader.set(0);
    metrics.queueDepth.set(0);
    await renewal.catch(() => undefined);
    log.info('stopped leading');
  }
}
