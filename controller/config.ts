/**
 * The controller's configuration: upstream's flags and defaults (cmd/controller), each also
 * settable as SEALED_SECRETS_<FLAG>, plus the flags for what upstream lacks (kubeconfig, leader
 * election, concurrency). `loadConfig` reads nothing itself: arguments, environment and the namespace
 * file come in as inputs. Not pure, though: unless `random` is given, the identity takes a random
 * suffix, and without POD_NAME the host name.
 */
import { hostname } from 'node:os';
import { UsageError } from '../shared/errors.ts';
import { buildProgram, parseDuration, parseFlags, type FlagSpec } from '../shared/flags.ts';
import { CERT_CONFIGMAP } from '../shared/controller-api.ts';
import { checkAgeRecipient } from '../shared/age.ts';
import { KEY_BACKUP_CONFIGMAP } from '../shared/key-backup.ts';
import type { KeyOrderPriority } from '../shared/key-secret.ts';
import { validateDurations } from './leader.ts';
import { parseLevel, type Level } from './log.ts';

export const ENV_PREFIX = 'SEALED_SECRETS_';
const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface ControllerConfig {
  readonly keyPrefix: string;
  readonly keySize: number;
  readonly keyTtlMs: number;
  readonly myCn: string;
  readonly keyRenewPeriodMs: number;
  readonly keyOrderPriority: KeyOrderPriority;
  readonly acceptDeprecatedV1Data: boolean;
  readonly keyCutoffTime?: Date;
  readonly allNamespaces: boolean;
  readonly additionalNamespaces: readonly string[];
  readonly labelSelector: string;
  readonly rateLimit: number;
  readonly rateLimitBurst: number;
  /** --metrics-omit-secret-labels: no condition_info series (they name every SealedSecret). */
  readonly metricsOmitSecretLabels: boolean;
  /** Proxies that append to X-Forwarded-For in front of the HTTP API; the rate limits key on the address that many hops back. */
  readonly trustedProxyHops: number;
  /** RSA private operations /v1/verify and /v1/rotate may spend per second (all clients) and per request. */
  readonly rateLimitRsaOps: number;
  readonly maxRequestRsaOps: number;
  readonly privateKeyAnnotations: Readonly<Record<string, string>>;
  readonly privateKeyLabels: Readonly<Record<string, string>>;
  readonly oldGcBehavior: boolean;
  readonly updateStatus: boolean;
  readonly skipRecreate: boolean;
  readonly logInfoStdout: boolean;
  readonly logLevel: Level;
  readonly logFormat: 'text' | 'json';
  readonly maxUnsealRetries: number;
  readonly kubeClientQps: number;
  readonly kubeClientBurst: number;
  readonly listenAddr: string;
  readonly listenMetricsAddr: string;
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly maxRequestBytes: number;
  readonly version: boolean;
  readonly help: boolean;
  // beyond upstream
  readonly kubeconfig: string;
  /** The controller's own namespace: keys, Lease and certificate ConfigMap live here. */
  readonly namespace: string;
  readonly leaderElect: boolean;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly identity: string;
  readonly workers: number;
  /** Threads doing RSA work (0: one per available core, at most 4). */
  readonly unsealThreads: number;
  readonly certConfigMap: string;
  /** Escrow: age X25519 recipients every sealing key is encrypted to (none: no escrow). */
  readonly keyBackupRecipients: readonly string[];
  /** The escrow ConfigMap in the controller namespace. */
  readonly keyBackupConfigMap: string;
  /** Serve the sealing page at / (--web). */
  readonly web: boolean;
}

const SPECS: readonly FlagSpec[] = [
  { flags: '--key-prefix <prefix>', kind: 'string', default: 'sealed-secrets-key', help: 'Prefix used to name keys.' },
  { flags: '--key-size <bits>', kind: 'string', default: '4096', help: 'Size of encryption key.' },
  { flags: '--key-ttl <duration>', kind: 'string', default: '87600h', help: 'Duration that certificate is valid for.' },
  { flags: '--my-cn <cn>', kind: 'string', default: '', help: 'Common name to be used as issuer/subject DN in generated certificate.' },
  { flags: '--key-renew-period <duration>', kind: 'string', default: '720h', help: 'New key generation period (automatic rotation deactivated if 0)' },
  { flags: '--rotate-period <duration>', kind: 'string', help: 'Deprecated: use --key-renew-period', hidden: true },
  { flags: '--key-order-priority <order>', kind: 'string', default: 'CertNotBefore', help: 'Ordering of keys based on NotBefore certificate attribute or secret creation timestamp (CertNotBefore or SecretCreationTimestamp).' },
  { flags: '--accept-deprecated-v1-data', kind: 'bool', default: true, help: 'Accept deprecated V1 data field.' },
  { flags: '--key-cutoff-time <time>', kind: 'string', default: '', help: 'Create a new key if latest one is older than this cutoff time. RFC1123 format with numeric timezone expected (the output of `date -R`).' },
  { flags: '--all-namespaces', kind: 'bool', default: true, help: 'Scan all namespaces or only the current namespace (default=true).' },
  { flags: '--additional-namespaces <list>', kind: 'string', default: '', help: 'Comma-separated list of additional namespaces to be watched (switches off --all-namespaces).' },
  { flags: '--label-selector <selector>', kind: 'string', default: '', help: 'Label selector which can be used to filter sealed secrets.' },
  { flags: '--rate-limit <n>', kind: 'string', default: '2', help: 'Number of allowed sustained request per second for the decrypting endpoints (/v1/verify, /v1/rotate)' },
  { flags: '--rate-limit-burst <n>', kind: 'string', default: '2', help: 'Number of requests allowed to exceed the rate limit per second for the decrypting endpoints' },
  { flags: '--metrics-omit-secret-labels', kind: 'bool', default: false, help: 'Do not export sealed_secrets_controller_condition_info, so the metrics endpoint does not list SealedSecret namespaces and names.' },
  { flags: '--rate-limit-rsa-ops <n>', kind: 'string', default: '100', help: 'RSA private operations per second the decrypting endpoints may spend, all clients together (a request is charged its values times the sealing keys). They run on a thread of their own, so unsealing keeps its threads.' },
  { flags: '--max-request-rsa-ops <n>', kind: 'string', default: '1000', help: 'Most RSA private operations one request to the decrypting endpoints may need (values times sealing keys); larger requests get 413.' },
  { flags: '--trusted-proxy-hops <n>', kind: 'string', default: '1', help: 'Proxies in front of the HTTP API that append the caller\'s address to X-Forwarded-For (1: the API server\'s service proxy). The rate limits key on the address that many hops back from the peer; 0 keys on the peer address and ignores the header.' },
  { flags: '--privatekey-annotations <k=v,...>', kind: 'string', default: '', help: 'Comma-separated list of additional annotations to be put on renewed sealing keys.' },
  { flags: '--privatekey-labels <k=v,...>', kind: 'string', default: '', help: 'Comma-separated list of additional labels to be put on renewed sealing keys.' },
  { flags: '--old-gc-behavior', kind: 'bool', default: false, help: 'Revert to old GC behavior where the controller deletes secrets instead of delegating that to k8s itself.' },
  { flags: '--update-status', kind: 'bool', default: true, help: 'Update the status of the sealed secret.' },
  { flags: '--watch-for-secrets', kind: 'bool', default: false, help: 'Accepted for compatibility: key Secrets are always watched, so new, relabelled and deleted keys are picked up without a restart.' },
  { flags: '--skip-recreate', kind: 'bool', default: false, help: 'Do not watch Secrets: a deleted Secret is not recreated until its SealedSecret changes (no watch permission on secrets needed).' },
  { flags: '--log-info-stdout', kind: 'bool', default: true, help: 'Write INFO and below to stdout, WARN and ERROR to stderr.' },
  { flags: '--log-level <level>', kind: 'string', default: 'INFO', help: 'Log level (DEBUG|INFO|WARN|ERROR).' },
  { flags: '--log-format <format>', kind: 'string', default: 'text', help: 'Log format (text|json).' },
  { flags: '--max-unseal-retries <n>', kind: 'string', default: '5', help: 'Max unsealing retries, spread over minutes with exponential backoff.' },
  { flags: '--kubeclient-qps <qps>', kind: 'string', default: '-1', help: 'Client-side rate limit of Kubernetes API requests per second (negative disables it: the API server\'s priority and fairness applies).' },
  { flags: '--kubeclient-burst <n>', kind: 'string', default: '10', help: 'Burst of the client-side rate limit.' },
  { flags: '--listen-addr <addr>', kind: 'string', default: ':8080', help: 'HTTP serving address.' },
  { flags: '--listen-metrics-addr <addr>', kind: 'string', default: ':8081', help: 'HTTP metrics serving address.' },
  { flags: '--read-timeout <duration>', kind: 'string', default: '2m', help: 'HTTP request timeout.' },
  { flags: '--write-timeout <duration>', kind: 'string', default: '2m', help: 'HTTP response timeout.' },
  { flags: '--max-request-bytes <n>', kind: 'string', default: '1048576', help: 'Largest request body the decrypting endpoints accept.' },
  { flags: '--version', kind: 'bool', help: 'Print version information and exit' },
  { flags: '--help', kind: 'bool', help: 'Print this help message' },
  { flags: '--kubeconfig <file>', kind: 'string', default: '', help: 'Path to a kubeconfig, to run outside a cluster (default: $KUBECONFIG, else in-cluster).' },
  { flags: '--leader-elect', kind: 'bool', default: true, help: 'Elect one active replica with a coordination.k8s.io Lease; the others stand by and serve HTTP.' },
  { flags: '--leader-elect-lease-name <name>', kind: 'string', default: 'sealed-secrets-controller', help: 'Name of the leader election Lease in the controller namespace.' },
  { flags: '--leader-elect-lease-duration <duration>', kind: 'string', default: '15s', help: 'How long a Lease is valid without renewal.' },
  { flags: '--leader-elect-renew-deadline <duration>', kind: 'string', default: '10s', help: 'How long the leader keeps trying to renew before it stops acting.' },
  { flags: '--leader-elect-retry-period <duration>', kind: 'string', default: '2s', help: 'Interval between attempts to acquire or renew the Lease.' },
  { flags: '--workers <n>', kind: 'string', default: '8', help: 'SealedSecrets reconciled concurrently (RSA work runs on a thread pool of one thread per core).' },
  { flags: '--unseal-threads <n>', kind: 'string', default: '0', help: 'RSA operations in flight for unsealing, on libuv\'s thread pool (0: one per available CPU, which follows the container CPU limit, at most 3; more than 3 needs UV_THREADPOOL_SIZE raised).' },
  { flags: '--web', kind: 'bool', default: true, help: 'Serve the sealing page at / on the HTTP port: the browser seals with the certificate, no value reaches the controller (--web=false turns it off).' },
  { flags: '--cert-configmap <name>', kind: 'string', default: CERT_CONFIGMAP, help: 'ConfigMap in the controller namespace where the newest certificate is published for kubeseal ("" disables).' },
  { flags: '--key-backup-recipient <age1...>', kind: 'list', help: 'Escrow: encrypt every sealing key, when created or loaded, to this age X25519 recipient (repeatable or comma-separated) and publish the result in --key-backup-configmap, safe to keep in git. kubeseal --recovery-private-key opens it with the matching age identity.' },
  { flags: '--key-backup-configmap <name>', kind: 'string', default: KEY_BACKUP_CONFIGMAP, help: 'Escrow: ConfigMap in the controller namespace that holds the age-encrypted key backups.' },
];

export const DESCRIPTION = 'The sealed-secrets controller: unseals SealedSecrets into Secrets, holds and renews the sealing keys, serves the certificate.';

export function helpText(): string {
  return buildProgram('sealed-secrets-controller', DESCRIPTION, SPECS).helpInformation({ error: false });
}

function integer(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`invalid value "${value}" for ${flag}: use a whole number >= ${min}`);
  return n;
}

function number(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`invalid value "${value}" for ${flag}: use a number`);
  return n;
}

/** "k=v,k2=v2" as upstream's --privatekey-labels/--privatekey-annotations. */
export function parseKeyValues(value: string, flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const item of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const at = item.indexOf('=');
    if (at <= 0) throw new UsageError(`invalid entry "${item}" in ${flag}: use key=value pairs separated by commas`);
    result[item.slice(0, at)] = item.slice(at + 1);
  }
  return result;
}

/** Go's time.RFC1123Z, the output of `date -R`: "Mon, 02 Jan 2006 15:04:05 -0700". */
export function parseCutoffTime(value: string): Date | undefined {
  if (value === '') return undefined;
  const ok = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [-+]\d{4}$/.test(value.trim());
  const date = new Date(value);
  if (!ok || Number.isNaN(date.getTime())) {
    throw new UsageError(`invalid --key-cutoff-time "${value}": use RFC1123 with a numeric zone, e.g. "$(date -R)" = "Mon, 02 Jan 2006 15:04:05 -0700"`);
  }
  return date;
}

const KEY_PREFIX = /^[a-z0-9-]{0,245}$/;

export interface ConfigInputs {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads the service account namespace file; undefined when absent. */
  readonly readNamespaceFile?: () => string | undefined;
  readonly random?: () => string;
}

export function loadConfig(inputs: ConfigInputs): ControllerConfig {
  const { values: v, explicit } = parseFlags({ name: 'sealed-secrets-controller', specs: SPECS, args: inputs.args, env: inputs.env, envPrefix: ENV_PREFIX });
  const s = (k: string): string => String(v[k] ?? '');
  const b = (k: string): boolean => v[k] === true;
  const keyPrefix = s('keyPrefix');
  if (!KEY_PREFIX.test(keyPrefix)) {
    throw new UsageError(`invalid --key-prefix "${keyPrefix}": use at most 245 lower-case letters, digits and '-'`);
  }
  const logLevel = parseLevel(s('logLevel'));
  if (!logLevel) throw new UsageError(`invalid --log-level "${s('logLevel')}": use DEBUG, INFO, WARN or ERROR`);
  const logFormat = s('logFormat');
  if (logFormat !== 'text' && logFormat !== 'json') throw new UsageError(`invalid --log-format "${logFormat}": use text or json`);
  const order = s('keyOrderPriority');
  if (order !== 'CertNotBefore' && order !== 'SecretCreationTimestamp') {
    throw new UsageError(`invalid --key-order-priority "${order}": use CertNotBefore or SecretCreationTimestamp`);
  }
  const additionalNamespaces = s('additionalNamespaces').split(',').map((n) => n.trim()).filter((n) => n !== '');
  const renew = explicit('rotatePeriod') && !explicit('keyRenewPeriod') ? s('rotatePeriod') : s('keyRenewPeriod');
  const namespace = inputs.env.POD_NAMESPACE || inputs.readNamespaceFile?.()?.trim() || 'default';
  const random = inputs.random ?? (() => Math.random().toString(36).slice(2, 8));
  const keyCutoffTime = parseCutoffTime(s('keyCutoffTime'));
  const backupConfigMap = s('keyBackupConfigmap');
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(backupConfigMap)) {
    throw new UsageError(`invalid --key-backup-configmap "${backupConfigMap}": use a ConfigMap name (lower-case letters, digits, '-' and '.')`);
  }
  const leaseDurationMs = parseDuration(s('leaderElectLeaseDuration'), '--leader-elect-lease-duration');
  const renewDeadlineMs = parseDuration(s('leaderElectRenewDeadline'), '--leader-elect-renew-deadline');
  const retryPeriodMs = parseDuration(s('leaderElectRetryPeriod'), '--leader-elect-retry-period');
  try {
    validateDurations(leaseDurationMs, renewDeadlineMs, retryPeriodMs);
  } catch (error) {
    throw new UsageError(`invalid leader election timing: ${(error as Error).message}`);
  }
  return {
    keyPrefix,
    keySize: integer(s('keySize'), '--key-size', 1024),
    keyTtlMs: parseDuration(s('keyTtl'), '--key-ttl'),
    myCn: s('myCn'),
    keyRenewPeriodMs: parseDuration(renew, '--key-renew-period'),
    keyOrderPriority: order,
    acceptDeprecatedV1Data: b('acceptDeprecatedV1Data'),
    ...(keyCutoffTime ? { keyCutoffTime } : {}),
    // Upstream: listing additional namespaces switches off all-namespaces.
    allNamespaces: b('allNamespaces') && additionalNamespaces.length === 0,
    additionalNamespaces,
    labelSelector: s('labelSelector'),
    rateLimit: number(s('rateLimit'), '--rate-limit'),
    rateLimitBurst: integer(s('rateLimitBurst'), '--rate-limit-burst', 1),
    metricsOmitSecretLabels: b('metricsOmitSecretLabels'),
    trustedProxyHops: integer(s('trustedProxyHops'), '--trusted-proxy-hops', 0),
    rateLimitRsaOps: number(s('rateLimitRsaOps'), '--rate-limit-rsa-ops'),
    maxRequestRsaOps: integer(s('maxRequestRsaOps'), '--max-request-rsa-ops', 1),
    privateKeyAnnotations: parseKeyValues(s('privatekeyAnnotations'), '--privatekey-annotations'),
    privateKeyLabels: parseKeyValues(s('privatekeyLabels'), '--privatekey-labels'),
    oldGcBehavior: b('oldGcBehavior'),
    updateStatus: b('updateStatus'),
    skipRecreate: b('skipRecreate'),
    logInfoStdout: b('logInfoStdout'),
    logLevel,
    logFormat,
    maxUnsealRetries: integer(s('maxUnsealRetries'), '--max-unseal-retries', 0),
    kubeClientQps: number(s('kubeclientQps'), '--kubeclient-qps'),
    kubeClientBurst: integer(s('kubeclientBurst'), '--kubeclient-burst', 1),
    listenAddr: s('listenAddr'),
    listenMetricsAddr: s('listenMetricsAddr'),
    readTimeoutMs: parseDuration(s('readTimeout'), '--read-timeout'),
    writeTimeoutMs: parseDuration(s('writeTimeout'), '--write-timeout'),
    maxRequestBytes: integer(s('maxRequestBytes'), '--max-request-bytes', 1024),
    version: b('version'),
    help: b('help'),
    kubeconfig: s('kubeconfig'),
    namespace,
    leaderElect: b('leaderElect'),
    leaseName: s('leaderElectLeaseName'),
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    identity: `${inputs.env.POD_NAME || hostname()}_${random()}`,
    workers: integer(s('workers'), '--workers', 1),
    unsealThreads: integer(s('unsealThreads'), '--unseal-threads', 0),
    certConfigMap: s('certConfigmap'),
    keyBackupRecipients: [...new Set((Array.isArray(v.keyBackupRecipient) ? (v.keyBackupRecipient as string[]) : [])
      .filter((r) => r.trim() !== '').map((r) => checkAgeRecipient(r, '--key-backup-recipient')))],
    keyBackupConfigMap: backupConfigMap,
    web: b('web'),
  };
}

export { SERVICE_ACCOUNT_NAMESPACE_FILE };
