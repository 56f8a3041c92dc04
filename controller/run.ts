/**
 * The composition root: wires configuration, the Kubernetes client, keys, the SealedSecret watch,
 * leader election and the HTTP servers, and runs until `signal` aborts. Every replica watches keys
 * and SealedSecrets and serves HTTP; only the leader unseals and renews keys (lead.ts).
 */
import { availableParallelism } from 'node:os';
import type { SealedSecret } from '../shared/kube.ts';
import { aborted, untilAborted } from './abort.ts';
import type { ControllerConfig } from './config.ts';
import { createEscrow, escrowEncrypter, type Escrow } from './escrow.ts';
import { createKubeClient, loadKubeAccess } from './kube-client.ts';
import { startKeyManager } from './key-manager.ts';
import { createKeyUsage, keyReport } from './key-usage.ts';
import { lead } from './lead.ts';
import { runLeaderElection } from './leader.ts';
import { createLeaseStore } from './lease-store.ts';
import type { Logger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { watchSealedSecrets } from './sealed-secrets.ts';
import { startServers, type Servers } from './server.ts';
import { DEFAULT_WEB_DIR } from './web.ts';
import { createUnsealPool } from './unseal-pool.ts';
import { createKeyTrialOrder, createUnsealer } from './unsealer.ts';

/** The event `renewRequests` carries: "make a new sealing key now" (SIGUSR1). */
export const RENEW_REQUEST = 'renew';

export interface RunOptions {
  readonly config: ControllerConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly version: string;
  readonly signal: AbortSignal;
  /** Dispatches RENEW_REQUEST events (the process shell: on SIGUSR1); the key manager answers them. */
  readonly renewRequests?: EventTarget;
  /** Reports the actual addresses once listening (tests listen on port 0). */
  readonly onListening?: (addresses: { http: string; metrics: string }) => void;
}

export async function runController(options: RunOptions): Promise<void> {
  const { config, log, signal } = options;
  const metrics = createMetrics(options.version, { omitSecretLabels: config.metricsOmitSecretLabels });
  const access = await loadKubeAccess(config.kubeconfig || undefined, options.env);
  const client = createKubeClient(access, { qps: config.kubeClientQps, burst: config.kubeClientBurst });
  const now = () => new Date();
  // Before anything starts: a recipient with a bad checksum stops the controller here, in one line.
  const backupEncrypter = config.keyBackupRecipients.length > 0 ? await escrowEncrypter(config.keyBackupRecipients) : undefined;
  log.info('starting', { version: options.version, namespace: config.namespace, identity: config.identity, server: access.server });

  // RSA runs on libuv's pool (4 threads by default): at most 3 for unsealing by default, so the
  // HTTP API's one always finds a thread (unseal-pool.ts).
  const pool = createUnsealPool({
    acceptDeprecatedV1Data: config.acceptDeprecatedV1Data,
    size: config.unsealThreads > 0 ? config.unsealThreads : Math.min(3, availableParallelism()),
  });
  const keys = startKeyManager({
    client, namespace: config.namespace, prefix: config.keyPrefix, order: config.keyOrderPriority, keySize: config.keySize, keyTtlMs: config.keyTtlMs,
    commonName: config.myCn, labels: config.privateKeyLabels, annotations: config.privateKeyAnnotations, log: log.with({ component: 'keys' }), signal, now,
  });
  options.renewRequests?.addEventListener(RENEW_REQUEST, () => keys.requestRenewal('renewal requested (SIGUSR1)'), { signal });
  const refreshKeys = () => {
    const list = keys.keys();
    pool.setKeys(list);
    metrics.keys.set(list.length);
    metrics.newestKeyTimestamp.set(list[0] ? list[0].orderingTime.getTime() / 1000 : 0);
  };
  keys.onChange(refreshKeys);
  const usage = createKeyUsage();
  const report = () => keyReport(keys.keys(), keys.retired(), usage.counts());
  metrics.setKeySource(report);
  const escrow: Escrow | undefined = backupEncrypter && createEscrow({
    client, namespace: config.namespace, name: config.keyBackupConfigMap, encrypter: backupEncrypter, metrics, log: log.with({ component: 'escrow' }),
    keys: () => [...keys.keys(), ...keys.retired()].flatMap((key) => {
      const secret = keys.secret(key.name);
      return secret ? [{ key, secret }] : [];
    }),
  });

  let servers: Servers | undefined;
  try {
    // HTTP first: probes and kubeseal work before the caches sync (upstream's slow start fails probes).
    servers = await startServers({
      capabilities: {
        newest: () => {
          const newest = keys.keys()[0];
          return newest ? { certificate: newest.certificate, publicKey: newest.privateKey } : undefined;
        },
        open: async (sealed) => {
          // Verify and re-encrypt never render template.data (upstream advisories, 2026).
          const withoutTemplateData: SealedSecret = { ...sealed, spec: { ...sealed.spec, template: { ...sealed.spec.template, data: null } } };
          return (await pool.unseal(withoutTemplateData, keys.keys().map((k) => k.fingerprint), 'http')).secret.data ?? {};
        },
        keyCount: () => keys.keys().length,
        keys: report,
      },
      listenAddr: config.listenAddr, listenMetricsAddr: config.listenMetricsAddr, readTimeoutMs: config.readTimeoutMs, writeTimeoutMs: config.writeTimeoutMs,
      rateLimit: config.rateLimit, rateLimitBurst: config.rateLimitBurst, trustedProxyHops: config.trustedProxyHops,
      rsaOpsPerSecond: config.rateLimitRsaOps, maxRequestRsaOps: config.maxRequestRsaOps, maxRequestBytes: config.maxRequestBytes,
      metrics,
      log: log.with({ component: 'http' }),
      ...(config.web ? { webDir: DEFAULT_WEB_DIR } : {}),
    });
    log.info('serving', { http: servers.http, metrics: servers.metrics });
    options.onListening?.({ http: servers.http, metrics: servers.metrics });

    const keyOrder = createKeyTrialOrder();
    const sealedSecrets = await watchSealedSecrets({
      client, namespaces: config.allNamespaces ? undefined : [config.namespace, ...config.additionalNamespaces], labelSelector: config.labelSelector,
      recreateDeleted: !config.skipRecreate, neverSyncedMeansMissing: config.updateStatus, oldGcBehavior: config.oldGcBehavior, forget: (uid) => keyOrder.forget(uid), usage, metrics, log, signal,
    });
    const unseal = createUnsealer({
      client, pool, keyOrder, keys: () => keys.keys(), probablyMissing: (key) => sealedSecrets.probablyMissing(key), lookup: (key) => sealedSecrets.lookup(key),
      updateStatus: config.updateStatus, oldGcBehavior: config.oldGcBehavior, identity: config.identity, metrics, log: log.with({ component: 'unsealer' }), now,
    });
    const leadTerm = (term: AbortSignal) => lead({
      client, keys, sealedSecrets, unseal, namespace: config.namespace, certConfigMap: config.certConfigMap, workers: config.workers,
      maxRetries: config.maxUnsealRetries, keyRenewPeriodMs: config.keyRenewPeriodMs, keyCutoffTime: config.keyCutoffTime, usage,
      ...(escrow ? { backUpKeys: (term: AbortSignal) => escrow.backUp(term) } : {}), metrics, log,
    }, term);

    // Keys that never load (a refused token) must not hold up shutdown.
    await untilAborted(keys.synced.then(refreshKeys), signal);
    if (signal.aborted) {
      // Stopped before the keys loaded: nothing to lead or hand over.
    } else if (config.leaderElect) {
      const election = runLeaderElection({
        store: createLeaseStore(client, { namespace: config.namespace, name: config.leaseName }),
        identity: config.identity, leaseDurationMs: config.leaseDurationMs, renewDeadlineMs: config.renewDeadlineMs, retryPeriodMs: config.retryPeriodMs,
        onStartedLeading: leadTerm,
        onNewLeader: (identity) => log.info('leader', { identity: identity || '(none)' }),
        log: log.with({ component: 'leader-election' }),
      });
      await aborted(signal);
      await election.stop();
    } else {
      await leadTerm(signal);
    }
  } finally {
    await servers?.close();
    await pool.close();
  }
  log.info('stopped');
}
