/**
 * A real, local Kubernetes control plane for integration tests and for people: etcd +
 * kube-apiserver (+ optionally kube-controller-manager running only the garbage collector and the
 * namespace controller), each a child process on free loopback ports, all state in one fresh
 * directory. No containers, no kubelet: nothing runs pods.
 *
 * Authentication is by client certificate from a throw-away CA (scripts/cluster/pki.ts); the admin is
 * CN=admin, O=system:masters. Authorization is RBAC only, so any other identity is refused until
 * a test binds it a role.
 *
 * Children never outlive this Node process (scripts/cluster/processes.ts).
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { freePort, isPidAlive, isRunning, logTail, ownDir, releaseDir, startProcess, stepTimer, stopProcess, waitUntil, type Managed } from './processes.ts';
import { createCertificateAuthority, issueCertificate, writeKubeconfig, type CertificateAndKey } from './pki.ts';

/** The repository's crds/ directory. */
export const DEFAULT_CRD_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));

/** What a test needs to reach a cluster; plain data, so vitest can hand it to workers. */
export interface ClusterInfo {
  /** Kubeconfig of the admin (user `admin`, group `system:masters`). */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** Directory holding our kubectl, kube-apiserver, kube-controller-manager and etcd. */
  readonly binDir: string;
  /** The control plane's directory (its pki/ signs user certificates); null for a cluster we did not start. */
  readonly dir: string | null;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. a manifest for `apply -f -`). */
  readonly input?: string;
  /** Run as someone else: a path from userKubeconfig(). Defaults to the admin. */
  readonly kubeconfig?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Default 60 s; kubectl is killed and the promise rejects when it runs longer. */
  readonly timeoutMs?: number;
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Helpers over a running cluster that need nothing but its ClusterInfo. */
export interface ClusterClient extends ClusterInfo {
  readonly kubectlPath: string;
  /** A client-node KubeConfig for the admin, or for the given kubeconfig path. */
  kubeConfig(kubeconfigPath?: string): KubeConfig;
  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>;
  /** Creates a namespace `<prefix>-<random>` and returns its name. */
  createNamespace(prefix: string): Promise<string>;
  /**
   * Writes a kubeconfig for a non-admin identity (client certificate CN=user, O=each group) and
   * returns its path. It has no permissions until a test binds it a Role or ClusterRole.
   */
  userKubeconfig(user: string, groups?: readonly string[]): string;
}

export interface ControlPlaneOptions {
  readonly binDir: string;
  /** Also run kube-controller-manager with the garbagecollector and namespace controllers. */
  readonly withControllerManager?: boolean;
  /** Directories whose *.yaml are applied and awaited before start returns. Default: [crds/]. */
  readonly crdDirs?: readonly string[];
  /** Use this directory (created if absent; must be empty) instead of a fresh temporary one. */
  readonly dir?: string;
  /** Time each startup step (etcd, apiserver, CRDs, controller manager) may take. Default 90 s. */
  readonly stepTimeoutMs?: number;
  /** Progress messages. */
  readonly log?: (message: string) => void;
  /**
   * Serve a node (scripts/cluster/node.ts) too: the API server advertises `advertiseAddress`
   * (where the node's forwarder listens, on the API server's port) for the `kubernetes` Service,
   * has it in its serving certificate, admits pods with ServiceAccount tokens, authorizes
   * kubelets (Node,RBAC) and reaches them by InternalIP; the controller manager runs every
   * controller (Deployments, ReplicaSets, endpoints, service accounts, disruption...).
   */
  readonly forNode?: { readonly advertiseAddress: string };
}

export interface ControlPlanePids {
  readonly etcd: number;
  readonly apiServer: number;
  readonly controllerManager: number | null;
}

export interface ControlPlane extends ClusterClient {
  readonly dir: string;
  /** Current pids (the API server's changes on restart). */
  pids(): ControlPlanePids;
  /** Milliseconds each startup step took, and `total`. */
  readonly timings: Readonly<Record<string, number>>;
  /** Stops kube-apiserver and starts it again on the same port, with the same etcd. */
  restartApiServer(): Promise<void>;
  /** Terminates every process (SIGTERM, then SIGKILL) and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_STEP_TIMEOUT_MS = 90_000;

interface TlsClient {
  readonly ca: string;
  readonly client: CertificateAndKey;
}

/** GET over TLS with a client certificate; resolves with the status code and body. */
function httpsGet(url: string, tls: TlsClient, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request(url, { ca: tls.ca, cert: tls.client.cert, key: tls.client.key, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

// ---- cluster helpers -----------------------------------------------------------------------

/** Namespace-safe form of a test-chosen prefix. */
function dnsLabelPrefix(prefix: string, maxLength: number): string {
  const cleaned = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return (cleaned || 'test').slice(0, maxLength).replace(/-+$/, '');
}

function userKubeconfigIn(info: ClusterInfo, user: string, groups: readonly string[]): string {
  if (!info.dir) {
    throw new Error('userKubeconfig() needs a control plane started by this harness (it signs a client certificate with its CA)');
  }
  const pki = join(info.dir, 'pki');
  const ca = { cert: readFileSync(join(pki, 'ca.crt'), 'utf8'), key: readFileSync(join(pki, 'ca.key'), 'utf8') };
  const client = issueCertificate(ca, { commonName: user, organizations: groups, usage: 'client' });
  const usersDir = join(info.dir, 'users');
  mkdirSync(usersDir, { recursive: true });
  const path = join(usersDir, `${dnsLabelPrefix(user, 40)}-${randomBytes(4).toString('hex')}.kubeconfig`);
  writeKubeconfig(path, { server: info.server, caCert: ca.cert, user, client });
  return path;
}

function runKubectl(info: ClusterInfo, kubectlPath: string, args: readonly string[], options: KubectlOptions): Promise<KubectlResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const env: Record<string, string | undefined> = { ...process.env, KUBECONFIG: options.kubeconfig ?? info.kubeconfigPath, ...options.env };
  // A discovery cache of its own per cluster: ports are reused between runs, caches must not be.
  if (info.dir) env.KUBECACHEDIR = join(info.dir, 'kubectl-cache');
  return new Promise((resolveRun, reject) => {
    const child = spawn(kubectlPath, [...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kubectl ${args.join(' ')} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {
      // kubectl may exit before reading all of its input; its exit code tells what happened.
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Helpers for a running cluster, built from plain ClusterInfo (what test workers receive). */
export function clusterClient(info: ClusterInfo): ClusterClient {
  const kubectlPath = join(info.binDir, 'kubectl');
  const kubeConfig = (kubeconfigPath?: string): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath ?? info.kubeconfigPath);
    return kc;
  };
  return {
    kubeconfigPath: info.kubeconfigPath,
    server: info.server,
    binDir: info.binDir,
    dir: info.dir,
    kubectlPath,
    kubeConfig,
    kubectl: (args, options = {}) => runKubectl(info, kubectlPath, args, options),
    async createNamespace(prefix) {
      const name = `${dnsLabelPrefix(prefix, 50)}-${randomBytes(4).toString('hex')}`;
      await kubeConfig()
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name, labels: { 'sealed-secrets-ts/test-namespace': 'true' } } } });
      return name;
    },
    userKubeconfig: (user, groups = []) => userKubeconfigIn(info, user, groups),
  };
}

// ---- CRDs ----------------------------------------------------------------------------------

interface CrdSummary {
  readonly name: string;
  readonly group: string;
  readonly plural: string;
  readonly versions: readonly string[];
}

function crdFiles(dirs: readonly string[]): string[] {
  return dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((file) => /\.ya?ml$/.test(file))
      .sort()
      .map((file) => join(dir, file)),
  );
}

function crdsIn(files: readonly string[]): CrdSummary[] {
  const crds: CrdSummary[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const object = doc.toJS() as {
        kind?: string;
        metadata?: { name?: string };
        spec?: { group?: string; names?: { plural?: string }; versions?: { name: string; served?: boolean }[] };
      } | null;
      if (object?.kind !== 'CustomResourceDefinition') continue;
      crds.push({
        name: object.metadata?.name ?? '',
        group: object.spec?.group ?? '',
        plural: object.spec?.names?.plural ?? '',
        versions: (object.spec?.versions ?? []).filter((v) => v.served !== false).map((v) => v.name),
      });
    }
  }
  return crds;
}

// ---- the control plane ---------------------------------------------------------------------

function checkBinaries(binDir: string, names: readonly string[]): void {
  for (const name of names) {
    try {
      accessSync(join(binDir, name), constants.X_OK);
    } catch {
      throw new Error(`${join(binDir, name)} is missing: run \`npm run cluster:build\` first`);
    }
  }
}

const TEMP_PREFIX = 'sealed-secrets-cp-';
const OWNER_FILE = 'owner.pid';

/**
 * Removes temporary directories left by owners that were SIGKILLed (the one way to end a process
 * that leaves no chance to clean up); their processes already died with them.
 */
export function sweepStaleTempDirs(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(TEMP_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    try {
      const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && !isPidAlive(owner)) rmSync(dir, { recursive: true, force: true });
    } catch {
      // no owner file (yet): not ours to judge
    }
  }
}

function prepareDir(dir: string | undefined): string {
  let prepared: string;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    if (readdirSync(dir).length > 0) throw new Error(`control plane directory ${dir} is not empty`);
    prepared = resolve(dir);
  } else {
    sweepStaleTempDirs();
    prepared = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  }
  writeFileSync(join(prepared, OWNER_FILE), `${process.pid}\n`);
  return prepared;
}

/**
 * Starts etcd and kube-apiserver (and kube-controller-manager if asked), waits until /readyz is
 * OK and the default namespace exists, installs the CRDs and waits until they are served.
 * On failure everything started is stopped and the error carries the last log lines.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const startedAt = Date.now();
  const log = options.log ?? (() => {});
  const stepTimeoutMs = options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  const binDir = resolve(options.binDir);
  const bin = (name: string) => join(binDir, name);
  checkBinaries(binDir, ['etcd', 'kube-apiserver', 'kubectl', ...(options.withControllerManager ? ['kube-controller-manager'] : [])]);

  const dir = prepareDir(options.dir);
  ownDir(dir);
  const pkiDir = join(dir, 'pki');
  const logDir = join(dir, 'logs');
  mkdirSync(pkiDir);
  mkdirSync(logDir);

  const { timings, done: stepDone } = stepTimer(log);

  let etcd: Managed | null = null;
  let apiServer: Managed | null = null;
  let controllerManager: Managed | null = null;
  let stopped: Promise<void> | null = null;
  const stopAll = async () => {
    await stopProcess(controllerManager);
    await stopProcess(apiServer);
    await stopProcess(etcd);
  };

  try {
    const [etcdPort, etcdPeerPort, apiPort, kcmPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const server = `https://127.0.0.1:${apiPort}`;

    // Certificates: one CA for serving and client certificates, plus the service-account key pair.
    const ca = createCertificateAuthority('sealed-secrets-ts test CA');
    const serving = issueCertificate(ca, {
      commonName: 'kube-apiserver',
      usage: 'server',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1', '10.0.0.1', ...(options.forNode ? [options.forNode.advertiseAddress] : [])],
    });
    const admin = issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], usage: 'client' });
    const serviceAccountKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkiFile = (name: string, content: string) => {
      const path = join(pkiDir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    };
    const caCertPath = pkiFile('ca.crt', ca.cert);
    pkiFile('ca.key', ca.key);
    const servingCertPath = pkiFile('apiserver.crt', serving.cert);
    const servingKeyPath = pkiFile('apiserver.key', serving.key);
    const adminCertPath = pkiFile('admin.crt', admin.cert);
    const adminKeyPath = pkiFile('admin.key', admin.key);
    const saKeyPath = pkiFile('sa.key', serviceAccountKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const saPubPath = pkiFile('sa.pub', serviceAccountKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfigPath, { server, caCert: ca.cert, user: 'admin', client: admin });
    const tls: TlsClient = { ca: ca.cert, client: admin };
    stepDone('certificates');

    // etcd
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcdArgs = [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true', // throw-away data: durability buys nothing, fsync costs seconds
      '--log-level=warn',
    ];
    etcd = startProcess('etcd', bin('etcd'), etcdArgs, join(logDir, 'etcd.log'));
    const etcdProcess = etcd;
    await waitUntil('etcd /health', stepTimeoutMs, [etcdProcess], async () => {
      const response = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      return response.ok && ((await response.json()) as { health?: string }).health === 'true';
    });
    stepDone('etcd');

    // kube-apiserver
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      // The `kubernetes` Service's endpoints need a routable address; nothing here uses them.
      ...(options.forNode ? [`--advertise-address=${options.forNode.advertiseAddress}`] : ['--advertise-address=127.0.0.1', '--endpoint-reconciler-type=none']),
      `--cert-dir=${pkiDir}`,
      `--tls-cert-file=${servingCertPath}`,
      `--tls-private-key-file=${servingKeyPath}`,
      `--client-ca-file=${caCertPath}`,
      options.forNode ? '--authorization-mode=Node,RBAC' : '--authorization-mode=RBAC',
      '--anonymous-auth=false',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${saPubPath}`,
      `--service-account-signing-key-file=${saKeyPath}`,
      ...(options.forNode
        ? [
            '--kubelet-preferred-address-types=InternalIP',
            `--kubelet-client-certificate=${adminCertPath}`,
            `--kubelet-client-key=${adminKeyPath}`,
          ]
        : // There is no controller to create each namespace's `default` ServiceAccount.
          ['--disable-admission-plugins=ServiceAccount']),
      '--allow-privileged=true',
      '--profiling=false',
      // On SIGTERM, end open watches after 1 s instead of waiting ~60 s for clients to close them.
      '--shutdown-watch-termination-grace-period=1s',
    ];
    const startApiServer = () => startProcess('kube-apiserver', bin('kube-apiserver'), apiServerArgs, join(logDir, 'kube-apiserver.log'));
    const waitApiServerReady = async (current: Managed) => {
      await waitUntil('kube-apiserver /readyz', stepTimeoutMs, [etcdProcess, current], async () => {
        return (await httpsGet(`${server}/readyz`, tls)).status === 200;
      });
    };
    apiServer = startApiServer();
    await waitApiServerReady(apiServer);
    await waitUntil('namespace default', stepTimeoutMs, [etcdProcess, apiServer], async () => {
      return (await httpsGet(`${server}/api/v1/namespaces/default`, tls)).status === 200;
    });
    stepDone('kube-apiserver');

    const info: ClusterInfo = { kubeconfigPath, server, binDir, dir };
    const client = clusterClient(info);

    // CRDs: apply, then wait until Established and listed in discovery (what kubectl needs).
    const files = crdFiles(options.crdDirs ?? [DEFAULT_CRD_DIR]);
    if (files.length > 0) {
      const applied = await client.kubectl(['apply', ...files.flatMap((file) => ['-f', file])]);
      if (applied.code !== 0) throw new Error(`kubectl apply of the CRDs failed:\n${applied.stderr}`);
      for (const crd of crdsIn(files)) {
        await waitUntil(`CRD ${crd.name} Established`, stepTimeoutMs, [etcdProcess, apiServer], async () => {
          const { status, body } = await httpsGet(`${server}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.name}`, tls);
          const conditions = status === 200 ? ((JSON.parse(body) as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? []) : [];
          return conditions.some((c) => c.type === 'Established' && c.status === 'True');
        });
        for (const version of crd.versions) {
          await waitUntil(`${crd.plural}.${crd.group}/${version} in discovery`, stepTimeoutMs, [etcdProcess, apiServer], async () => {
            const { status, body } = await httpsGet(`${server}/apis/${crd.group}/${version}`, tls);
            return status === 200 && (JSON.parse(body) as { resources?: { name: string }[] }).resources?.some((r) => r.name === crd.plural) === true;
          });
        }
      }
      stepDone('crds');
    }

    // kube-controller-manager: only the garbage collector and the namespace controller.
    if (options.withControllerManager || options.forNode) {
      const kcmDir = join(dir, 'kube-controller-manager');
      mkdirSync(kcmDir);
      const kcmArgs = [
        `--kubeconfig=${kubeconfigPath}`,
        // Its own HTTPS port only answers the /healthz probe (always allowed): no delegated authn/z.
        '--authentication-skip-lookup=true',
        ...(options.forNode
          ? ['--controllers=*', `--cluster-signing-cert-file=${caCertPath}`, `--cluster-signing-key-file=${join(pkiDir, 'ca.key')}`, '--concurrent-deployment-syncs=2']
          : ['--controllers=garbagecollector,namespace']),
        '--use-service-account-credentials=false',
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${kcmDir}`,
        `--root-ca-file=${caCertPath}`,
        `--service-account-private-key-file=${saKeyPath}`,
        '--profiling=false',
      ];
      controllerManager = startProcess('kube-controller-manager', bin('kube-controller-manager'), kcmArgs, join(logDir, 'kube-controller-manager.log'));
      const kcm = controllerManager;
      await waitUntil('kube-controller-manager /healthz', stepTimeoutMs, [etcdProcess, apiServer, kcm], async () => {
        // Its serving certificate is self-signed; trust it for this one probe.
        const status = await new Promise<number>((resolveProbe, reject) => {
          const req = request(`https://127.0.0.1:${kcmPort}/healthz`, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
            res.resume();
            resolveProbe(res.statusCode ?? 0);
          });
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', reject);
          req.end();
        });
        return status === 200;
      });
      stepDone('kube-controller-manager');
    }

    timings.total = Date.now() - startedAt;
    log(`control plane at ${server} ready after ${(timings.total / 1000).toFixed(1)} s (directory ${dir})`);

    const plane: ControlPlane = {
      ...client,
      dir,
      timings,
      pids: () => ({
        etcd: etcdProcess.child.pid ?? -1,
        apiServer: apiServer?.child.pid ?? -1,
        controllerManager: controllerManager?.child.pid ?? null,
      }),
      async restartApiServer() {
        if (stopped) throw new Error('the control plane is stopped');
        await stopProcess(apiServer);
        const restarted = startApiServer();
        apiServer = restarted;
        try {
          await waitApiServerReady(restarted);
        } catch (error) {
          throw withLogs(error, [restarted, etcdProcess]);
        }
      },
      stop() {
        stopped ??= (async () => {
          await stopAll();
          rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
          releaseDir(dir);
        })();
        return stopped;
      },
    };
    return plane;
  } catch (error) {
    const started = [etcd, apiServer, controllerManager].filter((m): m is Managed => m !== null);
    const failure = withLogs(error, started);
    await stopAll();
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    releaseDir(dir);
    throw failure;
  }
}

function withLogs(error: unknown, processes: readonly Managed[]): Error {
  const message = error instanceof Error ? error.message : String(error);
  const tails = processes.map(logTail).join('\n');
  return new Error(`control plane: ${message}\n${tails}`, { cause: error });
}

/** The repository's root directory. */
export function repoRoot(): string {
  return dirname(dirname(dirname(fileURLToPath(import.meta.url))));
}
