/**
 * Upstream's own controller (Bitnami sealed-secrets, built by scripts/upstream-build.sh) as a
 * process against one of our control planes, for the specs that compare the two and for the
 * benchmarks (scripts/bench-*.ts) that measure both.
 *
 * Upstream's controller has no --kubeconfig: it only runs with in-cluster configuration, i.e. a
 * ServiceAccount token, the cluster's CA and its namespace under
 * /var/run/secrets/kubernetes.io/serviceaccount, and KUBERNETES_SERVICE_HOST/PORT. So it runs in a
 * private mount namespace (`unshare --mount`) where a tmpfs holds those three files, seen by it
 * alone; nothing is written to the host's /run, and the token file in this process's temporary
 * directory is removed as soon as the namespace has copied it.
 *
 * The token is the one a pod of upstream's chart would get: a ServiceAccount bound to the
 * ClusterRole and Roles of upstream's chart (helm/sealed-secrets/templates/{cluster-,}role.yaml),
 * asked for through the TokenRequest API.
 *
 * It watches only its own namespace and `watch` (never all namespaces: a shared test cluster has
 * other controllers' SealedSecrets), and listens on loopback on free ports.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuildScript } from './binaries.ts';
import type { ClusterClient } from './control-plane.ts';
import { findOnPath, freePort, isRunning, logTail, ownDir, startProcess, stopProcess, tiedToParent, waitUntil } from './processes.ts';

/** The release scripts/upstream-build.sh builds by default. */
export const UPSTREAM_RELEASE = 'v0.40.0';

export interface UpstreamBinaries {
  /** The cache directory: kubeseal, controller, helm/sealed-secrets/ (upstream's chart). */
  readonly dir: string;
  readonly kubeseal: string;
  readonly controller: string;
  readonly chart: string;
}

/** Builds (once; then instant) and finds upstream's binaries through scripts/upstream-build.sh. */
export async function ensureUpstreamBinaries(): Promise<UpstreamBinaries> {
  const dir = await runBuildScript('upstream-build.sh', [], { ...process.env, UPSTREAM_VERSION: UPSTREAM_RELEASE });
  return { dir, kubeseal: join(dir, 'kubeseal'), controller: join(dir, 'controller'), chart: join(dir, 'helm', 'sealed-secrets') };
}

export interface UpstreamControllerOptions {
  /** The cluster to run against (its kubectl, admin kubeconfig and API server address). */
  readonly cluster: ClusterClient;
  /** The controller's own namespace (its keys); created when absent. */
  readonly namespace: string;
  /** Further namespaces to unseal in (--additional-namespaces); they must exist. */
  readonly watch?: readonly string[];
  /** Extra flags, after ours (so they win): e.g. ['--key-renew-period=0']. */
  readonly args?: readonly string[];
  /** Extra environment (upstream reads SEALED_SECRETS_<FLAG> too). */
  readonly env?: Readonly<Record<string, string>>;
  /** The controller binary; default: ensureUpstreamBinaries(). */
  readonly binary?: string;
  /** How long start may wait for the controller to serve its certificate. Default 90 s. */
  readonly startTimeoutMs?: number;
}

export interface UpstreamController {
  /** The controller's pid (for /proc/<pid>/status, /proc/<pid>/stat readings). */
  readonly pid: number;
  /** Its HTTP API (/healthz, /v1/cert.pem, /v1/verify, /v1/rotate) on 127.0.0.1. */
  readonly httpPort: number;
  readonly metricsPort: number;
  /** http://127.0.0.1:<httpPort> */
  readonly http: string;
  readonly metrics: string;
  readonly namespace: string;
  /** The ServiceAccount it runs as (in `namespace`). */
  readonly serviceAccount: string;
  readonly logPath: string;
  /** Everything it logged so far. */
  logs(): string;
  /** SIGTERM (SIGKILL after a grace period), then removes its ClusterRole and binding. Idempotent. */
  stop(): Promise<void>;
}

const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const SERVICE_ACCOUNT = 'sealed-secrets-controller';

/**
 * Upstream chart's RBAC for a release in `namespace` (names made unique per namespace: several
 * runners share one cluster). Rules copied in meaning from the chart, so a missing permission in
 * upstream's controller shows here as it would in a real install.
 */
function rbacManifest(namespace: string, clusterRole: string): string {
  const workRules = `
  - apiGroups: [bitnami.com]
    resources: [sealedsecrets]
    verbs: [get, list, watch]
  - apiGroups: [bitnami.com]
    resources: [sealedsecrets/status]
    verbs: [update]
  - apiGroups: [""]
    resources: [secrets]
    verbs: [get, list, create, update, delete, watch]
  - apiGroups: [""]
    resources: [events]
    verbs: [create, patch]`;
  const docs = [
    `apiVersion: v1
kind: Namespace
metadata: {name: ${namespace}}`,
    `apiVersion: v1
kind: ServiceAccount
metadata: {name: ${SERVICE_ACCOUNT}, namespace: ${namespace}}`,
    // The chart's ClusterRole (secrets-unsealer); bound cluster-wide as the chart binds it.
    `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ${clusterRole}}
rules:${workRules}
  - apiGroups: [""]
    resources: [namespaces]
    verbs: [get]`,
    `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ${clusterRole}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${clusterRole}}
subjects: [{kind: ServiceAccount, name: ${SERVICE_ACCOUNT}, namespace: ${namespace}}]`,
    // The chart's key-admin Role: its keys live in its own namespace.
    `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: sealed-secrets-key-admin, namespace: ${namespace}}
rules:
  - apiGroups: [""]
    resources: [secrets]
    resourceNames: [sealed-secrets-key]
    verbs: [get]
  - apiGroups: [""]
    resources: [secrets]
    verbs: [create, list]`,
    `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sealed-secrets-key-admin, namespace: ${namespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: sealed-secrets-key-admin}
subjects: [{kind: ServiceAccount, name: ${SERVICE_ACCOUNT}, namespace: ${namespace}}]`,
  ];
  return docs.join('\n---\n') + '\n';
}

async function kubectlOk(cluster: ClusterClient, args: readonly string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** The cluster's CA certificate (PEM), as the admin kubeconfig carries it. */
function clusterCa(cluster: ClusterClient): string {
  const current = cluster.kubeConfig().getCurrentCluster();
  if (current?.caData) return Buffer.from(current.caData, 'base64').toString('utf8');
  if (current?.caFile) return readFileSync(current.caFile, 'utf8');
  throw new Error('the cluster kubeconfig has no certificate authority; upstream\'s controller needs one for in-cluster configuration');
}

/**
 * The command that runs the controller in a private mount namespace with the ServiceAccount files
 * (from `srcDir`, removed once copied) on a tmpfs at SA_PATH. When the host has no
 * /run/secrets, the tmpfs goes over /run itself (inside the namespace only: the controller needs
 * nothing else there) rather than creating directories on the host.
 */
function inMountNamespace(srcDir: string): (binary: string, args: readonly string[]) => [string, string[]] {
  const unshare = findOnPath('unshare');
  if (!unshare) throw new Error('upstream\'s controller needs unshare (util-linux) to run with in-cluster configuration');
  const asRoot = process.getuid?.() === 0;
  const script = [
    'set -eu',
    `sa=${SA_PATH}`,
    'if [ -d "$sa" ]; then mount -t tmpfs -o size=1m,mode=0755 tmpfs "$sa"',
    'elif [ -d /run/secrets ]; then mount -t tmpfs -o size=1m,mode=0755 tmpfs /run/secrets; mkdir -p "$sa"',
    'else mount -t tmpfs -o size=4m,mode=0755 tmpfs /run; mkdir -p "$sa"; fi',
    'cp "$SA_SRC/token" "$SA_SRC/ca.crt" "$SA_SRC/namespace" "$sa/"',
    'rm -rf "$SA_SRC"',
    'unset SA_SRC',
    'exec "$@"',
  ].join('\n');
  return (binary, args) => tiedToParent(unshare, [
    // Without root, a user namespace grants the mount; as root it is not needed.
    ...(asRoot ? [] : ['--map-root-user']),
    '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', binary, ...args,
  ]);
}

async function httpStatus(url: string): Promise<number> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  await response.arrayBuffer();
  return response.status;
}

/** Starts upstream's controller against `cluster`; resolves once it serves its certificate. */
export async function startUpstreamController(options: UpstreamControllerOptions): Promise<UpstreamController> {
  const { cluster, namespace } = options;
  const watch = options.watch ?? [];
  const binary = options.binary ?? (await ensureUpstreamBinaries()).controller;
  const clusterRole = `upstream-secrets-unsealer-${namespace}`.slice(0, 253);
  // The chart binds its ClusterRole cluster-wide, which covers every watched namespace.
  await kubectlOk(cluster, ['apply', '-f', '-'], rbacManifest(namespace, clusterRole));
  const token = (await kubectlOk(cluster, ['create', 'token', SERVICE_ACCOUNT, '-n', namespace, '--duration=24h'])).trim();

  const runDir = mkdtempSync(join(tmpdir(), 'upstream-controller-'));
  ownDir(runDir);
  const saSrc = join(runDir, `sa-${randomBytes(4).toString('hex')}`);
  mkdirSync(saSrc, { mode: 0o700 });
  writeFileSync(join(saSrc, 'token'), token, { mode: 0o600 });
  writeFileSync(join(saSrc, 'ca.crt'), clusterCa(cluster));
  writeFileSync(join(saSrc, 'namespace'), namespace);

  const server = new URL(cluster.server);
  const httpPort = await freePort();
  const metricsPort = await freePort();
  const args = [
    `--listen-addr=127.0.0.1:${httpPort}`,
    `--listen-metrics-addr=127.0.0.1:${metricsPort}`,
    '--all-namespaces=false',
    ...(watch.length > 0 ? [`--additional-namespaces=${watch.join(',')}`] : []),
    ...(options.args ?? []),
  ];
  const logPath = join(runDir, 'controller.log');
  const managed = startProcess('upstream controller', binary, args, logPath, {
    command: inMountNamespace(saSrc),
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: runDir,
      SA_SRC: saSrc,
      KUBERNETES_SERVICE_HOST: server.hostname.replace(/^\[|\]$/g, ''),
      KUBERNETES_SERVICE_PORT: server.port || '443',
      ...options.env,
    },
  });
  const http = `http://127.0.0.1:${httpPort}`;
  const metrics = `http://127.0.0.1:${metricsPort}`;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopProcess(managed);
    await cluster.kubectl(['delete', 'clusterrolebinding,clusterrole', clusterRole, '--ignore-not-found']);
    // The log stays readable after stop (benchmarks read it); the directory goes when this
    // process exits (ownDir). The ServiceAccount files were never in it past the start.
  };
  try {
    await waitUntil(`upstream's controller to serve ${http}/v1/cert.pem`, options.startTimeoutMs ?? 90_000, [managed],
      async () => (await httpStatus(`${http}/v1/cert.pem`)) === 200);
  } catch (error) {
    const message = `${(error as Error).message}\n${logTail(managed)}`;
    await stop();
    throw new Error(message);
  }
  if (!isRunning(managed) || managed.child.pid === undefined) throw new Error('upstream\'s controller is not running');
  return {
    pid: managed.child.pid,
    httpPort,
    metricsPort,
    http,
    metrics,
    namespace,
    serviceAccount: SERVICE_ACCOUNT,
    logPath,
    logs: () => {
      try {
        return readFileSync(logPath, 'utf8');
      } catch {
        return '';
      }
    },
    stop,
  };
}
