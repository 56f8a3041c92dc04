/**
 * Prometheus metrics under upstream's names and labels (pkg/controller/metrics.go), plus what an
 * operator of a highly available controller with renewing keys needs. One registry per process,
 * created here and passed around (never the library's global registry).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ControllerKeys } from '../shared/controller-api.ts';
import type { SealedSecret } from '../shared/kube.ts';

const NS = 'sealed_secrets_controller';

export interface Metrics {
  readonly registry: Registry;
  readonly unsealRequests: Counter;
  /** reason: fetch | unseal | update | unmanaged | status */
  readonly unsealErrors: Counter<'reason' | 'namespace'>;
  readonly conditionInfo: Gauge<'namespace' | 'name' | 'condition' | 'ss_app_kubernetes_io_instance'>;
  readonly httpRequests: Counter<'path' | 'code' | 'method'>;
  readonly httpDuration: Histogram<'path' | 'method'>;
  readonly isLeader: Gauge;
  readonly keys: Gauge;
  readonly newestKeyTimestamp: Gauge;
  readonly unsealDuration: Histogram<'result'>;
  readonly queueDepth: Gauge;
  /** resource: sealedsecrets | secrets */
  readonly informerLists: Counter<'resource'>;
  /**
   * Where the per-key gauges (key_sealed_secrets, key_age_seconds, missing_key_sealed_secrets)
   * read from at each scrape: controller/key-usage.ts keyReport. Until set they are empty.
   */
  setKeySource(source: () => ControllerKeys): void;
  /** Escrow: 1 when the key backup ConfigMap holds every key, 0 when the last write failed. */
  readonly keyBackupUpToDate: Gauge;
}

export function createMetrics(version: string): Metrics {
  const registry = new Registry();
  let keySource: (() => ControllerKeys) | undefined;
  // Set at scrape time from the report: a key that goes away takes its series with it.
  new Gauge({
    name: `${NS}_key_sealed_secrets`,
    help: 'SealedSecrets that need this sealing key (their status.keyFingerprints name it), per key Secret',
    labelNames: ['key', 'fingerprint'],
    registers: [registry],
    collect() {
      this.reset();
      for (const key of keySource?.().keys ?? []) this.set({ key: key.name, fingerprint: key.fingerprint }, key.sealedSecrets);
    },
  });
  new Gauge({
    name: `${NS}_key_age_seconds`,
    help: 'Seconds since the NotBefore of each sealing key (active and retired)',
    labelNames: ['key', 'fingerprint'],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const key of keySource?.().keys ?? []) this.set({ key: key.name, fingerprint: key.fingerprint }, Math.max(0, (now - Date.parse(key.notBefore)) / 1000));
    },
  });
  new Gauge({
    name: `${NS}_missing_key_sealed_secrets`,
    help: 'SealedSecrets that need a sealing key that is retired or deleted (they cannot be unsealed again until it is restored), per key fingerprint',
    labelNames: ['fingerprint'],
    registers: [registry],
    collect() {
      this.reset();
      for (const missing of keySource?.().missing ?? []) this.set({ fingerprint: missing.fingerprint }, missing.sealedSecrets);
    },
  });
  collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({ name: `${NS}_build_info`, help: 'Build information.', labelNames: ['revision'], registers: [registry] });
  buildInfo.set({ revision: version }, 1);
  return {
    registry,
    unsealRequests: new Counter({ name: `${NS}_unseal_requests_total`, help: 'Total number of sealed secret unseal requests', registers: [registry] }),
    unsealErrors: new Counter({ name: `${NS}_unseal_errors_total`, help: 'Total number of sealed secret unseal errors by reason', labelNames: ['reason', 'namespace'], registers: [registry] }),
    conditionInfo: new Gauge({
      name: `${NS}_condition_info`,
      help: 'Current SealedSecret condition status. Values are -1 (false), 0 (unknown or absent), 1 (true)',
      labelNames: ['namespace', 'name', 'condition', 'ss_app_kubernetes_io_instance'],
      registers: [registry],
    }),
    httpRequests: new Counter({ name: `${NS}_http_requests_total`, help: 'Total number of HTTP requests by path, code and method', labelNames: ['path', 'code', 'method'], registers: [registry] }),
    httpDuration: new Histogram({ name: `${NS}_http_request_duration_seconds`, help: 'HTTP request duration in seconds', labelNames: ['path', 'method'], registers: [registry] }),
    isLeader: new Gauge({ name: `${NS}_leader`, help: '1 when this replica holds the leader Lease and unseals, else 0', registers: [registry] }),
    keys: new Gauge({ name: `${NS}_keys`, help: 'Sealing keys loaded (every one can unseal)', registers: [registry] }),
    newestKeyTimestamp: new Gauge({ name: `${NS}_newest_key_timestamp_seconds`, help: 'Creation time (NotBefore) of the newest sealing key, the one that seals', registers: [registry] }),
    unsealDuration: new Histogram({
      name: `${NS}_unseal_duration_seconds`,
      help: 'Time to unseal one SealedSecret and write its Secret, by result',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: `${NS}_queue_depth`, help: 'SealedSecrets waiting to be unsealed (queued, running or waiting to retry)', registers: [registry] }),
    informerLists: new Counter({
      name: `${NS}_informer_lists_total`,
      help: 'Full lists of a watched collection: one per namespace at start, then one after each expired watch (410 Gone)',
      labelNames: ['resource'],
      registers: [registry],
    }),
    setKeySource(source) {
      keySource = source;
    },
    keyBackupUpToDate: new Gauge({ name: `${NS}_key_backup_up_to_date`, help: 'Escrow (--key-backup-recipient): 1 when the key backup ConfigMap holds every sealing key, 0 when the last attempt failed', registers: [registry] }),
  };
}

/**
 * The labels of a SealedSecret's condition_info series. The one builder for setting and removing
 * them: a series set with labels that removal does not rebuild exactly would never go away.
 */
export function conditionLabels(sealed: Pick<SealedSecret, 'metadata'>): Record<'namespace' | 'name' | 'condition' | 'ss_app_kubernetes_io_instance', string> {
  return {
    namespace: sealed.metadata?.namespace ?? '',
    name: sealed.metadata?.name ?? '',
    condition: 'Synced',
    ss_app_kubernetes_io_instance: sealed.metadata?.labels?.['app.kubernetes.io/instance'] ?? '',
  };
}
