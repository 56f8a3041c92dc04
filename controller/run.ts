/**
 * The composition root: wires configuration, the Kubernetes client, keys, informers, the work
 * queue, leader election and the HTTP servers, and runs until `signal` aborts. Every replica
 * watches keys and SealedSecrets and serves HTTP; only the leader unseals and renews keys.
 */
import { createServer, type Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SealedSecret, Secret } from '../shared/kube.ts';
import { errorMessage } from '../shared/errors.ts';
import { aborted, untilAborted } from './abort.ts';
import type { ControllerConfig } from './config.ts';
import { objectKey, startInformer, type Informer } from './informer.ts';
import { createKubeClient, isNotFound, loadKubeConfig, type KubeClient } from './kube-client.ts';
import { publishCertificate, runKeyRenewal, startKeyManager, type KeyManager } from './key-manager.ts';
import { createLeaseStore, runLeaderElection } from './leader.ts';
import type { Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createWorkQueue, defaultBackoff, type WorkQueue } from './queue.ts';
import { needsReconcile } from './reconcile.ts';
import { createApp, createMetricsApp, parseListenAddress } from './server.ts';
import { createUnsealPool, type UnsealPool } from './unseal-pool.ts';
import { createKeyOrder, createUnsealer } from './unsealer.ts';

export interface RunOptions {
  readonly config: ControllerConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  readonly version: string;
  readonly signal: AbortSignal;
  /** Ask for a new key now (SIGUSR1): set by run, called by the process shell. */
  readonly onRenewRequest?: (renew: () => void) => void;
  /** Reports the actual addresses once listening (tests listen on port 0). */
  readonly onListening?: (addresses: { http: string; metrics: string }) => void;
}

const SEALED_SECRETS = '/apis/bitnami.com/v1alpha1';

function listen(server: Server, address: string): Promise<string> {
  const { host, port } = parseListenAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}` : address);
    });
  });
}

/** Namespaces whose SealedSecrets this controller unseals (undefined: all). */
function watchedNamespaces(config: ControllerConfig): string[] | undefined {
  if (config.allNamespaces) return undefined;
  return [...new Set([config.namespace, ...config.additionalNamespaces])];
}

/**
 * Wait until namespace `name` can be read, then call `onFound`. Only NotFound means "not there
 * (yet)"; any other failure (401, a transient 5xx, unreachable) is retried too, never taken as a
 * reason to skip the namespace for the life of the process. Retries back off to 30 s; a namespace
 * created later is picked up then. Stops when `signal` aborts. Needs only `get` on namespaces.
 * `firstAnswer` is called once the first probe has an answer, whatever it is.
 */
async function whenNamespaceReadable(
  client: KubeClient,
  name: string,
  on: { onFound: () => void; firstAnswer: () => void },
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      await client.request('GET', `/api/v1/namespaces/${encodeURIComponent(name)}`, { signal });
      if (attempt > 0) log.info('namespace now readable: watching it', { namespace: name });
      on.onFound();
      on.firstAnswer();
      return;
    } catch (error) {
      on.firstAnswer();
      if (signal.aborted) return;
      if (attempt === 0) {
        if (isNotFound(error)) log.warn('namespace does not exist (yet): watching it once it does', { namespace: name });
        else log.warn('cannot read namespace; retrying', { namespace: name, error: errorMessage(error) });
      }
    }
    await sleep(Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5)), undefined, { signal }).catch(() => undefined);
  }
}

export async function runController(options: RunOptions): Promise<void> {
  const { config, log, signal } = options;
  const metrics: Metrics = createMetrics(options.version);
  const kubeConfig = loadKubeConfig(config.kubeconfig || undefined, options.env);
  const client = createKubeClient(kubeConfig, { qps: config.kubeClientQps, burst: config.kubeClientBurst });
  const now = () => new Date();
  log.info('starting', { version: options.version, namespace: config.namespace, identity: config.identity, server: kubeConfig.getCurrentCluster()?.server });

  const pool: UnsealPool = createUnsealPool({
    acceptDeprecatedV1Data: config.acceptDeprecatedV1Data,
    size: config.unsealThreads > 0 ? config.unsealThreads : Math.min(4, availableParallelism()),
  });
  const keys: KeyManager = startKeyManager({
    client,
    namespace: config.namespace,
    prefix: config.keyPrefix,
    order: config.keyOrderPriority,
    keySize: config.keySize,
    keyTtlMs: config.keyTtlMs,
    commonName: config.myCn,
    labels: config.privateKeyLabels,
    annotations: config.privateKeyAnnotations,
    log: log.with({ component: 'keys' }),
    signal,
    now,
  });

  // HTTP first: probes and kubeseal work before the caches sync (upstream's slow start fails probes).
  const app = createApp({
    capabilities: {
      newest: () => {
        const newest = keys.keys()[0];
        return newest ? { certificate: newest.certificate, publicKey: newest.privateKey } : undefined;
      },
      open: async (sealed) => {
        // Verify and re-encrypt never render template.data (upstream advisories, 2026).
        const withoutTemplateData: SealedSecret = { ...sealed, spec: { ...sealed.spec, template: { ...sealed.spec.template, data: null } } };
        const fingerprints = keys.keys().map((k) => k.fingerprint);
        return (await pool.unseal(withoutTemplateData, fingerprints, 'http')).secret.data ?? {};
      },
      keyCount: () => keys.keys().length,
    },
    rateLimit: config.rateLimit,
    rateLimitBurst: config.rateLimitBurst,
    trustedProxyHops: config.trustedProxyHops,
    rsaOpsPerSecond: config.rateLimitRsaOps,
    maxRequestRsaOps: config.maxRequestRsaOps,
    maxRequestBytes: config.maxRequestBytes,
    metrics,
    log: log.with({ component: 'http' }),
  });
  const httpServer = createServer({ requestTimeout: config.readTimeoutMs, headersTimeout: Math.min(config.readTimeoutMs, 60_000) }, app);
  httpServer.setTimeout(config.writeTimeoutMs);
  const metricsServer = createServer({ requestTimeout: config.readTimeoutMs }, createMetricsApp(metrics));
  const [httpAddress, metricsAddress] = await Promise.all([listen(httpServer, config.listenAddr), listen(metricsServer, config.listenMetricsAddr)]);
  log.info('serving', { http: httpAddress, metrics: metricsAddress });
  options.onListening?.({ http: httpAddress, metrics: metricsAddress });

  const refreshKeys = () => {
    const list = keys.keys();
    pool.setKeys(list);
    metrics.keys.set(list.length);
    metrics.newestKeyTimestamp.set(list[0] ? list[0].orderingTime.getTime() / 1000 : 0);
  };
  keys.onChange(refreshKeys);

  // SealedSecrets, from all namespaces or from ours plus --additional-namespaces.
  const namespaces = watchedNamespaces(config);
  const keyOrder = createKeyOrder();
  /** Keys whose Secret was just deleted, or whose SealedSecret appeared after the first list. */
  const missing = new Set<string>();
  let listed = false;
  let queue: WorkQueue | undefined;
  const enqueue = (key: string, fresh = false) => queue?.add(key, { fresh });
  const informers: Informer<SealedSecret>[] = [];
  /** Watch the SealedSecrets (and, unless --skip-recreate, the Secrets) of one namespace or of all. */
  const watch = (namespace: string | undefined): Informer<SealedSecret> => {
    const scope = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
    const informer = startInformer<SealedSecret>({
      client,
      path: `${SEALED_SECRETS}${scope}/sealedsecrets`,
      labelSelector: config.labelSelector,
      cache: true,
      log: log.with({ component: 'informer' }),
      signal,
      onAdd: (sealed) => {
        if (listed) missing.add(objectKey(sealed));
        enqueue(objectKey(sealed), true);
      },
      onUpdate: (sealed, old) => {
        if (needsReconcile(sealed, old)) enqueue(objectKey(sealed), true);
      },
      onDelete: (sealed) => {
        keyOrder.forget(sealed.metadata?.uid);
        metrics.conditionInfo.remove({ namespace: sealed.metadata?.namespace ?? '', name: sealed.metadata?.name ?? '', condition: 'Synced', ss_app_kubernetes_io_instance: sealed.metadata?.labels?.['app.kubernetes.io/instance'] ?? '' });
        if (config.oldGcBehavior) enqueue(objectKey(sealed));
      },
    });
    informers.push(informer);
    if (!config.skipRecreate) watchDeletedSecrets(`/api/v1${scope}/secrets`);
    return informer;
  };
  const lookup = (key: string): SealedSecret | undefined => {
    for (const informer of informers) {
      const found = informer.cache.get(key);
      if (found) return found;
    }
    return undefined;
  };
  const enqueueAll = () => {
    for (const informer of informers) for (const key of informer.cache.keys()) enqueue(key);
  };

  // Deleted Secrets: a metadata-only watch with no cache, so memory does not grow with the
  // cluster's Secrets. A deleted Secret owned by (or managed for) a SealedSecret is recreated.
  function watchDeletedSecrets(path: string): void {
    let first = true;
    startInformer<Secret>({
      client,
      path,
      labelSelector: config.labelSelector,
      metadataOnly: true,
      cache: false,
      log: log.with({ component: 'secret-watch' }),
      signal,
      onDelete: (secret) => {
        const key = objectKey(secret);
        const sealed = lookup(key);
        if (!sealed) return;
        const owned = (secret.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.kind === 'SealedSecret' && r.uid === sealed.metadata.uid);
        const managed = secret.metadata?.annotations?.['sealedsecrets.bitnami.com/managed'] === 'true';
        if (owned || managed) {
          missing.add(key);
          enqueue(key, true);
        }
      },
      // After a gap (410 Gone) deletions may have been missed: check every SealedSecret again.
      onSync: () => {
        if (!first) enqueueAll();
        first = false;
      },
    });
  }

  // Namespaces that exist now are watched before leading starts (its first sync waits for them);
  // the others as soon as they can be read (whenNamespaceReadable).
  if (namespaces === undefined) {
    watch(undefined);
  } else {
    // Wait for the first answer about each; a namespace found later joins on its own.
    await Promise.all(namespaces.map((namespace) => new Promise<void>((firstAnswer) => {
      void whenNamespaceReadable(client, namespace, { onFound: () => watch(namespace), firstAnswer }, log, signal);
    })));
  }
  void Promise.all(informers.map((i) => i.synced)).then(() => { listed = true; });

  const unseal = createUnsealer({
    client,
    pool,
    keyOrder,
    keys: () => keys.keys(),
    probablyMissing: (key) => missing.delete(key),
    lookup,
    updateStatus: config.updateStatus,
    oldGcBehavior: config.oldGcBehavior,
    identity: config.identity,
    metrics,
    log: log.with({ component: 'unsealer' }),
    now,
  });

  /** The leader's work: unseal, renew keys, publish the certificate. Runs until `term` aborts. */
  const lead = async (term: AbortSignal): Promise<void> => {
    metrics.isLeader.set(1);
    log.info('leading: unsealing and renewing keys');
    const q = createWorkQueue({
      concurrency: config.workers,
      maxRetries: config.maxUnsealRetries,
      backoffMs: defaultBackoff(),
      handle: (key, workSignal) => {
        metrics.queueDepth.set(q.size);
        return unseal(key, workSignal);
      },
    });
    queue = q;
    const publish = () => {
      const newest = keys.keys()[0];
      if (!newest || !config.certConfigMap) return;
      publishCertificate(client, { namespace: config.namespace, name: config.certConfigMap, certificate: newest.certificate, signal: term })
        .catch((error: unknown) => { if (!term.aborted) log.warn('could not publish the certificate ConfigMap', { error: errorMessage(error) }); });
    };
    // New keys can open what failed before (a restored backup): try the failed ones again.
    const unsubscribe = keys.onChange(() => {
      publish();
      for (const informer of informers) {
        for (const [key, sealed] of informer.cache) {
          if (sealed.status?.conditions?.some((c) => c.type === 'Synced' && c.status === 'False')) enqueue(key, true);
        }
      }
    });
    const renewal = runKeyRenewal({ manager: keys, periodMs: config.keyRenewPeriodMs, cutoff: config.keyCutoffTime, log: log.with({ component: 'renewal' }), signal: term, now });
    options.onRenewRequest?.(() => {
      if (!term.aborted) keys.generate('renewal requested (SIGUSR1)').catch((error: unknown) => log.error('could not generate a sealing key', { error: errorMessage(error) }));
    });
    // Keys or SealedSecrets that never load (a bad token) must not hold up losing the lead or shutdown.
    await untilAborted(keys.synced, term);
    if (!term.aborted) publish();
    await untilAborted(Promise.all(informers.map((i) => i.synced)), term);
    if (!term.aborted) {
      q.start(term);
      enqueueAll();
    }
    await aborted(term);
    unsubscribe();
    queue = undefined;
    metrics.isLeader.set(0);
    metrics.queueDepth.set(0);
    options.onRenewRequest?.(() => log.warn('not the leader: send SIGUSR1 to the leading replica to renew the key'));
    await renewal.catch(() => undefined);
    log.info('stopped leading');
  };

  options.onRenewRequest?.(() => log.warn('not the leader (yet): send SIGUSR1 to the leading replica to renew the key'));
  await untilAborted(keys.synced.then(refreshKeys), signal);
  if (signal.aborted) {
    // Stopped before the keys loaded: nothing to lead or hand over.
  } else if (config.leaderElect) {
    const election = runLeaderElection({
      store: createLeaseStore(client, { namespace: config.namespace, name: config.leaseName }),
      identity: config.identity,
      leaseDurationMs: config.leaseDurationMs,
      renewDeadlineMs: config.renewDeadlineMs,
      retryPeriodMs: config.retryPeriodMs,
      onStartedLeading: lead,
      onNewLeader: (identity) => log.info('leader', { identity: identity || '(none)' }),
      log: log.with({ component: 'leader-election' }),
    });
    await aborted(signal);
    await election.stop();
  } else {
    const term = new AbortController();
    signal.addEventListener('abort', () => term.abort(), { once: true });
    await lead(term.signal);
  }
  await Promise.all([
    new Promise((resolve) => httpServer.close(resolve)),
    new Promise((resolve) => metricsServer.close(resolve)),
  ]);
  httpServer.closeAllConnections();
  metricsServer.closeAllConnections();
  await pool.close();
  log.info('stopped');
}
