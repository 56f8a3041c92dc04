/**
 * A one-node Kubernetes cluster: the control plane of control-plane.ts (serving a node) plus one
 * kubelet node that really runs pods: containerd v2 + runc + the bridge CNI plugin, kubelet,
 * kube-proxy, kube-scheduler, with the controller image and a pause image imported.
 *
 * Networking: the node lives in a network namespace of its own (netns.ts), so kubelet,
 * containerd, the pods and kube-proxy's iptables rules never touch the host's. Inside it:
 *
 *   host                                node netns sst-<X>-<pid>
 *   kube-apiserver 127.0.0.1:<api>      kubelet, kube-proxy, containerd (nsenter --net only)
 *   forwarder 10.200.X.1:<api>  <====   sstXn 10.200.X.2/24 (node InternalIP)
 *   kube-scheduler                      cni0 10.200.X.129/25 = the pods' gateway; pods .130-.254
 *
 * The pods' /25 lies inside the veth's /24, so the host reaches a pod with no route of its own:
 * it asks for the pod's address on the veth, and the node end answers (proxy ARP) and forwards to
 * cni0. That is how the API server proxies to pods (`services/.../proxy`) and to kubelet (logs,
 * exec); pods reach the API server through the `kubernetes` Service (kube-proxy DNATs 10.0.0.1:443
 * to the forwarder, the API server's advertised address).
 *
 * Everything else a node leaves is under its directory or named after it, and stop() removes it:
 * every mount below the directory (volumes, rootfs, pod network namespaces, which containerd keeps
 * under its state directory here), the cgroups /sst-<X> of each hierarchy (kubelet's cgroup root;
 * containerd and its shims are moved into it too, so that killing the subtree kills every
 * container), the network namespace. kubelet sets a few host-wide sysctls it insists on
 * (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops): stop() puts back what was there.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { ensureImages, type BuiltImages } from '../image.ts';
import { clusterClient, startControlPlane, type ClusterClient, type ControlPlane } from './control-plane.ts';
import { createNetns, type Forwarder, type Netns } from './netns.ts';
import { isRunning, logTail, startProcess, stepTimer, stopProcess, waitUntil, type Managed } from './processes.ts';
import { writeKubeconfig, issueCertificate } from './pki.ts';

export interface NodeClusterOptions {
  readonly binDir: string;
  /** containerd's binaries (scripts/node-build.sh). */
  readonly containerdDir: string;
  /** Directory for everything (created; must be empty). Default: a fresh temporary one. */
  readonly dir?: string;
  readonly log?: (message: string) => void;
  /** Images to build (if needed) and import; default the controller at package.json's version. */
  readonly images?: BuiltImages;
  /** Called before anything is left on the host, with what sweepNode() needs to remove it. */
  readonly onResidue?: (residue: NodeResidue) => void;
}

export interface NodeCluster extends ClusterClient {
  readonly dir: string;
  readonly plane: ControlPlane;
  readonly nodeName: string;
  /** The node's network namespace (its processes can be started in it). */
  readonly netns: Netns;
  /** ctr against the node's containerd (namespace k8s.io). */
  ctr(args: readonly string[]): Promise<string>;
  /** What state.json needs to clean up after a dead owner (sweepNode). */
  readonly residue: NodeResidue;
  readonly timings: Readonly<Record<string, number>>;
  /** Stops the node and the control plane, removes everything. Idempotent. */
  stop(): Promise<void>;
}

/** What a node leaves on the host while it runs; enough to remove it after its owner died. */
export interface NodeResidue {
  readonly dir: string;
  readonly cgroup: string;
  readonly netns: string;
  readonly hostLink: string;
  readonly sysctls: Readonly<Record<string, string>>;
}

/** Host-wide sysctls kubelet sets (protectKernelDefaults: false); restored on stop. */
const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops', 'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes'];
const CGROUP_ROOT = '/sys/fs/cgroup';
const RUNC = '/usr/sbin/runc';
const CNI_BIN = '/usr/lib/cni';

function exec(command: string, args: readonly string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${(stderr || error.message).trim().split('\n').slice(-5).join('\n')}`));
      else resolve(stdout);
    });
  });
}

/** The cgroup v1 hierarchies (and the v2 one, if mounted) where kubelet makes its cgroups. */
function cgroupHierarchies(): string[] {
  return readdirSync(CGROUP_ROOT)
    .map((name) => join(CGROUP_ROOT, name))
    .filter((path) => existsSync(join(path, 'cgroup.procs')));
}

function readSysctls(): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of KUBELET_SYSCTLS) {
    try {
      values[key] = readFileSync(join('/proc/sys', key), 'utf8').trim();
    } catch {
      // not on this kernel
    }
  }
  return values;
}

/** Processes in a cgroup subtree (deepest first) of every hierarchy. */
function cgroupProcesses(cgroup: string): number[] {
  const pids = new Set<number>();
  const visit = (path: string) => {
    let entries: string[];
    try {
      entries = readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    for (const entry of entries) visit(join(path, entry));
    try {
      for (const line of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch {
      // gone
    }
  };
  for (const hierarchy of cgroupHierarchies()) visit(join(hierarchy, cgroup));
  return [...pids];
}

function removeCgroupTree(path: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return;
  }
  for (const entry of entries) removeCgroupTree(join(path, entry));
  try {
    rmdirSync(path);
  } catch {
    // busy (a process still exiting) or gone: the caller retries
  }
}

/** Mount points at or below `dir`, deepest first. */
function mountsBelow(dir: string): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((path) => path.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((path) => path === dir || path.startsWith(`${dir}/`));
  return [...new Set(mounts)].sort((a, b) => b.length - a.length);
}

/**
 * Removes what a node left: its processes (everything in its cgroups), its mounts, its cgroups,
 * its network namespace and veth, its directory; and puts back the sysctls kubelet changed.
 * Safe to call more than once, and after the owner died.
 */
export async function sweepNode(residue: NodeResidue): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = cgroupProcesses(residue.cgroup);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(100);
  }
  for (const mount of mountsBelow(residue.dir)) {
    try {
      await exec('umount', ['-l', mount], 10_000);
    } catch {
      // already unmounted with its parent
    }
  }
  for (let round = 0; round < 20; round++) {
    for (const hierarchy of cgroupHierarchies()) removeCgroupTree(join(hierarchy, residue.cgroup));
    if (!cgroupHierarchies().some((h) => existsSync(join(h, residue.cgroup)))) break;
    await sleep(100);
  }
  for (const args of [['netns', 'delete', residue.netns], ['link', 'delete', residue.hostLink]]) {
    try {
      await exec('ip', args, 10_000);
    } catch {
      // already gone
    }
  }
  rmSync(residue.dir, { recursive: true, force: true, maxRetries: 3 });
  for (const [key, value] of Object.entries(residue.sysctls)) {
    try {
      if (readFileSync(join('/proc/sys', key), 'utf8').trim() !== value) writeFileSync(join('/proc/sys', key), value);
    } catch {
      // read-only here
    }
  }
}

/** Creates `cgroup` in every hierarchy; a new v1 cpuset takes no task until it has cpus and mems. */
function makeCgroup(cgroup: string): void {
  for (const hierarchy of cgroupHierarchies()) {
    const path = join(hierarchy, cgroup);
    mkdirSync(path, { recursive: true });
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(path, file)) && readFileSync(join(path, file), 'utf8').trim() === '') {
        writeFileSync(join(path, file), readFileSync(join(hierarchy, file), 'utf8'));
      }
    }
  }
}

function moveToCgroup(pid: number, cgroup: string): void {
  makeCgroup(cgroup);
  for (const hierarchy of cgroupHierarchies()) writeFileSync(join(hierarchy, cgroup, 'cgroup.procs'), `${pid}\n`);
}

/** Starts the control plane and one node; on failure stops whatever started, with log tails. */
export async function startNodeCluster(options: NodeClusterOptions): Promise<NodeCluster> {
  const log = options.log ?? (() => {});
  const startedAt = Date.now();
  const { timings, done: stepDone } = stepTimer(log);
  const images = options.images ?? (await ensureImages({ log }));
  stepDone('images');

  const netns = await createNetns();
  const x = netns.hostAddress.split('.')[2] ?? '0';
  const nodeName = `node-${x}`;
  const cgroup = `sst-${x}-${process.pid}`;
  const sysctls = readSysctls();
  // The node directory: inside the control plane's when we choose it, so that one rm removes both.
  const dir = options.dir ?? netns.dir;
  mkdirSync(dir, { recursive: true });
  const residue: NodeResidue = { dir, cgroup, netns: netns.name, hostLink: `sst${x}h`, sysctls };
  options.onResidue?.(residue);
  const started: Managed[] = [];
  let plane: ControlPlane | null = null;
  let apiForwarder: Forwarder | null = null;
  let stopped: Promise<void> | null = null;
  const stopAll = async () => {
    for (const managed of [...started].reverse()) await stopProcess(managed);
    await apiForwarder?.close();
    await plane?.stop();
    await sweepNode(residue);
    await netns.destroy();
  };

  try {
    plane = await startControlPlane({ binDir: options.binDir, forNode: { advertiseAddress: netns.hostAddress }, dir: join(dir, 'control-plane'), log });
    const api = new URL(plane.server);
    const apiPort = Number(api.port);
    apiForwarder = await netns.forward({ host: '127.0.0.1', port: apiPort }, apiPort);
    const nodeServer = `https://${netns.hostAddress}:${apiPort}`;
    stepDone('control plane');

    const pki = join(plane.dir, 'pki');
    const ca = { cert: readFileSync(join(pki, 'ca.crt'), 'utf8'), key: readFileSync(join(pki, 'ca.key'), 'utf8') };
    const kubeconfigFor = (name: string, commonName: string, organizations: string[], server: string) => {
      const path = join(dir, `${name}.kubeconfig`);
      writeKubeconfig(path, { server, caCert: ca.cert, user: commonName, client: issueCertificate(ca, { commonName, organizations, usage: 'client' }) });
      return path;
    };
    const logs = join(dir, 'logs');
    mkdirSync(logs, { recursive: true });
    const inNetns = { command: (binary: string, args: readonly string[]) => netns.command(binary, args) };
    const pathEnv = { ...process.env, PATH: `${options.containerdDir}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };

    // ---- containerd
    const cd = join(dir, 'containerd');
    const socket = join(cd, 'containerd.sock');
    const cniConf = join(dir, 'cni', 'net.d');
    mkdirSync(cniConf, { recursive: true });
    const podNet = `10.200.${x}`;
    writeFileSync(join(cniConf, '10-sst.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: 'sst',
      plugins: [
        {
          type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true,
          ipam: { type: 'host-local', dataDir: join(dir, 'cni', 'ipam'), ranges: [[{ subnet: `${podNet}.128/25`, rangeStart: `${podNet}.130`, rangeEnd: `${podNet}.254`, gateway: `${podNet}.129` }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'loopback' },
      ],
    }, null, 2));
    writeFileSync(join(cd, '..', 'containerd.toml'), [
      'version = 3',
      `root = ${JSON.stringify(join(cd, 'root'))}`,
      `state = ${JSON.stringify(join(cd, 'state'))}`,
      // containerd's cgroup: none of its own; it runs in the node's (moveToCgroup below).
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
      '[plugins."io.containerd.cri.v1.runtime"]',
      // The machine lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below ours.
      '  restrict_oom_score_adj = true',
      '  enable_selinux = false',
      // Pod network namespaces under the state directory, not /var/run/netns: one tree to remove.
      '  netns_mounts_under_state_dir = true',
      '[plugins."io.containerd.cri.v1.runtime".containerd]',
      '  default_runtime_name = "runc"',
      '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]',
      '  runtime_type = "io.containerd.runc.v2"',
      '[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]',
      `  BinaryName = ${JSON.stringify(RUNC)}`,
      `  Root = ${JSON.stringify(join(cd, 'runc'))}`,
      '  SystemdCgroup = false',
      '[plugins."io.containerd.cri.v1.runtime".cni]',
      `  bin_dirs = [${JSON.stringify(CNI_BIN)}]`,
      `  conf_dir = ${JSON.stringify(cniConf)}`,
      '[plugins."io.containerd.cri.v1.images"]',
      '  snapshotter = "overlayfs"',
      '[plugins."io.containerd.cri.v1.images".pinned_images]',
      `  sandbox = ${JSON.stringify(images.pause.ref)}`,
      '[plugins."io.containerd.grpc.v1.cri"]',
      '  stream_server_address = "127.0.0.1"',
      '',
    ].join('\n'));
    mkdirSync(cd, { recursive: true });
    const containerd = startProcess('containerd', join(options.containerdDir, 'containerd'), ['--config', join(dir, 'containerd.toml'), '--log-level', 'warn'], join(logs, 'containerd.log'), { ...inNetns, env: pathEnv });
    started.push(containerd);
    if (containerd.child.pid) moveToCgroup(containerd.child.pid, cgroup);
    const ctr = (args: readonly string[]) => exec(join(options.containerdDir, 'ctr'), ['--address', socket, '--namespace', 'k8s.io', ...args], 300_000);
    await waitUntil('containerd', 60_000, [containerd], async () => {
      await ctr(['version']);
      return true;
    });
    for (const image of [images.pause, images.controller]) await ctr(['images', 'import', image.tarball]);
    stepDone('containerd (images imported)');

    // ---- kubelet
    const kubeletDir = join(dir, 'kubelet');
    mkdirSync(kubeletDir, { recursive: true });
    makeCgroup(cgroup);
    const kubeletConfig = join(dir, 'kubelet.yaml');
    writeFileSync(kubeletConfig, stringify({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      // This machine: cgroup v1 (hybrid), no systemd, swap allowed, no iptables utility chains.
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${cgroup}`,
      failSwapOn: false,
      makeIPTablesUtilChains: false,
      containerRuntimeEndpoint: `unix://${socket}`,
      address: netns.address,
      port: 10250,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: 10248,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: join(pki, 'ca.crt') } },
      authorization: { mode: 'AlwaysAllow' },
      podLogsDir: join(dir, 'pod-logs'),
      // A busy shared disk must not evict the controller.
      evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      registerNode: true,
      nodeStatusUpdateFrequency: '5s',
      syncFrequency: '10s',
      fileCheckFrequency: '20s',
      shutdownGracePeriod: '0s',
      resolvConf: '/etc/resolv.conf',
      enableServer: true,
      localStorageCapacityIsolation: true,
      maxPods: 30,
    }));
    const kubelet = startProcess('kubelet', join(options.binDir, 'kubelet'), [
      `--config=${kubeletConfig}`,
      `--kubeconfig=${kubeconfigFor('kubelet', `system:node:${nodeName}`, ['system:nodes'], nodeServer)}`,
      `--root-dir=${kubeletDir}`,
      `--cert-dir=${join(kubeletDir, 'pki')}`,
      `--hostname-override=${nodeName}`,
      `--node-ip=${netns.address}`,
      '--v=1',
    ], join(logs, 'kubelet.log'), { ...inNetns, env: pathEnv });
    started.push(kubelet);

    // ---- kube-proxy (iptables of the node's network namespace only)
    const proxyConfig = join(dir, 'kube-proxy.yaml');
    writeFileSync(proxyConfig, stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig: kubeconfigFor('kube-proxy', 'system:kube-proxy', [], nodeServer) },
      mode: 'iptables',
      hostnameOverride: nodeName,
      clusterCIDR: `${podNet}.128/25`,
      bindAddress: netns.address,
      healthzBindAddress: '127.0.0.1:10256',
      metricsBindAddress: '127.0.0.1:10249',
      // 0 = leave the kernel's values: nf_conntrack_max is host-wide.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s', udpTimeout: '0s', udpStreamTimeout: '0s' },
      iptables: { localhostNodePorts: false, masqueradeAll: false, syncPeriod: '10s', minSyncPeriod: '0s' },
    }));
    const proxy = startProcess('kube-proxy', join(options.binDir, 'kube-proxy'), [`--config=${proxyConfig}`, '--v=1'], join(logs, 'kube-proxy.log'), { ...inNetns, env: pathEnv });
    started.push(proxy);

    // ---- kube-scheduler (host; talks to the API server on loopback)
    const scheduler = startProcess('kube-scheduler', join(options.binDir, 'kube-scheduler'), [
      `--kubeconfig=${kubeconfigFor('kube-scheduler', 'system:kube-scheduler', [], plane.server)}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--v=1',
    ], join(logs, 'kube-scheduler.log'));
    started.push(scheduler);

    const client = clusterClient({ kubeconfigPath: plane.kubeconfigPath, server: plane.server, binDir: options.binDir, dir: plane.dir });
    await waitUntil(`node ${nodeName} Ready`, 120_000, [containerd, kubelet, proxy, scheduler], async () => {
      const result = await client.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'], { timeoutMs: 10_000 });
      return result.code === 0 && result.stdout.trim() === 'True';
    });
    // The node end answers ARP for the pods (see the header), and routes for them.
    await exec('nsenter', [`--net=/run/netns/${netns.name}`, 'sh', '-c', `echo 1 > /proc/sys/net/ipv4/ip_forward && echo 1 > /proc/sys/net/ipv4/conf/sst${x}n/proxy_arp`]);
    // Pods need their namespace's `default` ServiceAccount and the root CA ConfigMap.
    await waitUntil('ServiceAccount default/default', 60_000, [kubelet], async () => (await client.kubectl(['get', 'serviceaccount', 'default', '-n', 'default'])).code === 0);
    stepDone(`node ${nodeName}`);
    timings.total = Date.now() - startedAt;
    log(`one-node cluster ready after ${(timings.total / 1000).toFixed(1)} s (directory ${dir})`);

    const runningPlane = plane;
    return {
      ...client,
      dir,
      plane: runningPlane,
      nodeName,
      netns,
      ctr,
      residue,
      timings,
      stop() {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (error) {
    const tails = started.filter((m) => !isRunning(m) || m.name === 'kubelet').map(logTail).join('\n');
    await stopAll().catch(() => {});
    throw new Error(`one-node cluster: ${(error as Error).message}\n${tails}`, { cause: error });
  }
}
