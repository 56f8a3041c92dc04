/**
 * A host of its own for the controller, so that the API server's service proxy can reach it the
 * way it reaches a pod.
 *
 * Why: kubeseal talks to the controller through
 * /api/v1/namespaces/<ns>/services/http:<name>:<port>/proxy/..., and kube-apiserver refuses to
 * proxy to loopback (and link-local) addresses. Our control plane runs no pods, and every process
 * of the harness listens on 127.0.0.1. So:
 *
 *   host network namespace                          network namespace sst-<X>-<pid>
 *   kube-apiserver 127.0.0.1:<api>                  controller listening on 10.200.X.2:8080
 *   forwarder 10.200.X.1:<f> -> 127.0.0.1:<api>  <- controller's kubeconfig: https://10.200.X.1:<f>
 *   sstXh 10.200.X.1/24  ========== veth ==========  sstXn 10.200.X.2/24 (+ lo up)
 *
 * - `createNetns()` makes a network namespace with iproute2 (`ip netns add`) and a veth pair whose
 *   /24 is unique on this machine: the host end's name `sst<X>h` is the lock on 10.200.X.0/24
 *   (creating a link whose name exists fails, atomically), so parallel workers and other test runs
 *   never share a subnet. Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN) and `ip`.
 * - The controller runs inside it (`ip netns exec <ns> node dist/controller/main.js`), listening on
 *   the namespace's address, which the API server (host namespace) reaches over the veth.
 * - The controller reaches the API server, bound to the host's 127.0.0.1 that the namespace cannot
 *   see, through a TCP forwarder in the test process listening on the host end of the veth. Its
 *   kubeconfig names the forwarder and sets `tls-server-name: localhost`, a SAN of the serving
 *   certificate (which has 127.0.0.1 and localhost, not 10.200.X.1).
 * - `exposeController()` creates a Service without selector (port `http` 8080 -> the controller's
 *   port) and an EndpointSlice (label kubernetes.io/service-name) with the namespace's address: what
 *   the endpoint-slice controller would write for a pod, so the API server's proxy finds it.
 *
 * Nothing outlives the test process: processes in the namespace are started through
 * `setpriv --pdeathsig SIGKILL` (`ip netns exec` execs in place, so the signal setting survives),
 * `destroy()` kills them and deletes the namespace (which removes both veth ends), an exit handler
 * does the same if the process ends without calling it, and `createNetns()` first removes
 * namespaces whose owner process (the pid in the name) is gone.
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { ClusterClient } from './cluster.ts';
import { isPidAlive, tiedToParent } from '../../scripts/cluster/processes.ts';
import { startController, type ControllerProcess } from './controller.ts';

const NAME_PATTERN = /^sst-(\d{1,3})-(\d+)$/;

export interface Netns {
  /** The network namespace's name (`ip netns exec <name> ...`). */
  readonly name: string;
  /** Address of the host end of the veth (host network namespace). */
  readonly hostAddress: string;
  /** Address inside the namespace: a non-loopback address the API server can proxy to. */
  readonly address: string;
  /** A scratch directory (kubeconfigs...), removed with the namespace. */
  readonly dir: string;
  /** The command line that runs `binary` inside the namespace, killed when this process dies. */
  command(binary: string, args: readonly string[]): [string, string[]];
  /** Registers a process started with command(), so that destroy() and the exit handler kill it. */
  adopt(child: ChildProcess): void;
  /** A TCP forwarder listening on hostAddress:<random port> to `target` in the host namespace. */
  forward(target: { host: string; port: number }): Promise<Forwarder>;
  /** Kills what runs inside, closes forwarders, deletes the namespace and its veth. Idempotent. */
  destroy(): Promise<void>;
}

export interface Forwarder {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Namespaces this process created and the processes it started in them. Module-level on purpose,
 * as in control-plane.ts: the exit handler must reach them however the process ends.
 */
const owned = { namespaces: new Map<string, { hostLink: string; dir: string; children: Set<ChildProcess> }>(), handlerInstalled: false };

function installExitHandler(): void {
  if (owned.handlerInstalled) return;
  owned.handlerInstalled = true;
  process.on('exit', () => {
    for (const [name, entry] of owned.namespaces) {
      for (const child of entry.children) child.kill('SIGKILL');
      for (const args of [['netns', 'delete', name], ['link', 'delete', entry.hostLink]]) {
        try {
          execFileSync('ip', args, { stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
      rmSync(entry.dir, { recursive: true, force: true });
    }
  });
}

function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ip ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

async function tryIp(args: readonly string[]): Promise<boolean> {
  try {
    await ip(args);
    return true;
  } catch {
    return false;
  }
}

async function listNetns(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  return out.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '').filter((name) => name !== '');
}

/** Why this machine cannot make network namespaces, or null when it can. */
export async function netnsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'creating network namespaces needs root';
  try {
    await listNetns();
    return null;
  } catch (error) {
    return `iproute2 cannot list network namespaces (${(error as Error).message})`;
  }
}

/** Deletes namespaces (their veth, their directories) left by test processes that died without cleaning up. */
async function sweepStale(): Promise<void> {
  for (const name of await listNetns()) {
    const match = NAME_PATTERN.exec(name);
    if (!match || isPidAlive(Number(match[2]))) continue;
    await tryIp(['netns', 'delete', name]);
    await tryIp(['link', 'delete', `sst${match[1]}h`]);
  }
  for (const entry of readdirSync(tmpdir())) {
    const match = /^sst-\d{1,3}-(\d+)-/.exec(entry);
    if (match && !isPidAlive(Number(match[1]))) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

function forwarder(listenHost: string, target: { host: string; port: number }): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => {
      const address = server.address();
      if (!address || typeof address !== 'object') {
        reject(new Error('forwarder has no address'));
        return;
      }
      resolve({
        host: listenHost,
        port: address.port,
        close: () => new Promise<void>((resolveClose) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolveClose());
        }),
      });
    });
  });
}

/**
 * Creates a network namespace `sst-<X>-<pid>` joined to the host by a veth pair on 10.200.X.0/24,
 * X free on this machine. Throws (with iproute2's message) when that is not possible.
 */
export async function createNetns(): Promise<Netns> {
  installExitHandler();
  await sweepStale();
  const taken = new Set((await listNetns()).map((name) => NAME_PATTERN.exec(name)?.[1]).filter((x) => x !== undefined));
  const routes = await ip(['-4', 'route', 'show']);
  const start = 1 + Math.floor(Math.random() * 250);
  for (let i = 0; i < 250; i++) {
    const x = ((start + i - 1) % 250) + 1;
    if (taken.has(String(x)) || routes.includes(`10.200.${x}.`)) continue;
    const hostLink = `sst${x}h`;
    const nsLink = `sst${x}n`;
    // The lock on the subnet: fails when another process holds the name.
    if (!(await tryIp(['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', nsLink]))) continue;
    const name = `sst-${x}-${process.pid}`;
    const entry = { hostLink, dir: mkdtempSync(join(tmpdir(), `${name}-`)), children: new Set<ChildProcess>() };
    owned.namespaces.set(name, entry);
    const hostAddress = `10.200.${x}.1`;
    const address = `10.200.${x}.2`;
    const forwarders = new Set<Forwarder>();
    let destroyed: Promise<void> | null = null;
    const destroy = (): Promise<void> => {
      destroyed ??= (async () => {
        await Promise.all([...entry.children].map((child) => new Promise<void>((resolveExit) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            resolveExit();
            return;
          }
          child.once('exit', () => resolveExit());
          child.kill('SIGKILL');
        })));
        await Promise.all([...forwarders].map((f) => f.close()));
        await tryIp(['netns', 'delete', name]);
        await tryIp(['link', 'delete', hostLink]);
        rmSync(entry.dir, { recursive: true, force: true });
        owned.namespaces.delete(name);
      })();
      return destroyed;
    };
    try {
      await ip(['netns', 'add', name]);
      await ip(['link', 'set', nsLink, 'netns', name]);
      await ip(['addr', 'add', `${hostAddress}/24`, 'dev', hostLink]);
      await ip(['link', 'set', hostLink, 'up']);
      await ip(['-n', name, 'addr', 'add', `${address}/24`, 'dev', nsLink]);
      await ip(['-n', name, 'link', 'set', nsLink, 'up']);
      await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    } catch (error) {
      await destroy();
      throw error;
    }
    return {
      name,
      hostAddress,
      address,
      dir: entry.dir,
      command: (binary, args) => tiedToParent('ip', ['netns', 'exec', name, binary, ...args]),
      async forward(target) {
        const f = await forwarder(hostAddress, target);
        forwarders.add(f);
        return f;
      },
      adopt(child) {
        entry.children.add(child);
        child.once('exit', () => entry.children.delete(child));
      },
      destroy,
    };
  }
  throw new Error('no free 10.200.X.0/24 subnet for a network namespace (all 250 taken)');
}

/**
 * Writes to `path` a copy of `kubeconfigPath` whose clusters point at `server`, checking the
 * serving certificate against `tlsServerName`.
 */
export function kubeconfigVia(kubeconfigPath: string, path: string, server: string, tlsServerName: string): string {
  const config = parse(readFileSync(kubeconfigPath, 'utf8')) as { clusters?: { cluster: Record<string, unknown> }[] };
  for (const entry of config.clusters ?? []) {
    entry.cluster.server = server;
    entry.cluster['tls-server-name'] = tlsServerName;
  }
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}

export interface NetnsControllerOptions {
  /** Kubeconfig as seen from the host; the controller gets a copy that goes through a forwarder. */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> of the API server (host namespace). */
  readonly server: string;
  /** The controller's own namespace (POD_NAMESPACE). */
  readonly namespace: string;
  readonly watch?: readonly string[];
  /** Port inside the network namespace; default 8080. */
  readonly port?: number;
  readonly args?: readonly string[];
  readonly name?: string;
}

/**
 * The controller (dist/controller/main.js) inside `netns`, listening on <netns.address>:<port>,
 * talking to the API server through a forwarder. Same interface as startController().
 */
export async function startControllerIn(netns: Netns, options: NetnsControllerOptions): Promise<ControllerProcess> {
  const api = new URL(options.server);
  const forward = await netns.forward({ host: api.hostname, port: Number(api.port || 443) });
  const name = options.name ?? `ctl-${Math.random().toString(36).slice(2, 7)}`;
  const kubeconfig = kubeconfigVia(options.kubeconfigPath, join(netns.dir, `${name}.kubeconfig`), `https://${forward.host}:${forward.port}`, 'localhost');
  return startController({
    kubeconfigPath: kubeconfig,
    namespace: options.namespace,
    name,
    ...(options.watch ? { watch: options.watch } : {}),
    ...(options.args ? { args: options.args } : {}),
    listen: { http: `${netns.address}:${options.port ?? 8080}`, metrics: `${netns.address}:0` },
    command: (binary, args) => netns.command(binary, args),
    onSpawn: (child) => netns.adopt(child),
  });
}

export interface ExposeOptions {
  /** Namespace of the Service (kubeseal's --controller-namespace). */
  readonly namespace: string;
  /** Service name (kubeseal's --controller-name). */
  readonly name: string;
  /** Endpoint address: the network namespace's. Omit for a Service with no endpoints. */
  readonly address?: string;
  /** The port the endpoint listens on. */
  readonly targetPort: number;
  /** Port name in the Service and the EndpointSlice; "" for an unnamed port. Default "http". */
  readonly portName?: string;
  /** Service port; default 8080. */
  readonly port?: number;
}

/**
 * A Service without selector and, when `address` is given, what the endpoint controllers write for
 * a ready pod behind it: an EndpointSlice, and a core/v1 Endpoints object, because kube-apiserver's
 * service proxy (v1.37) reads Endpoints, not EndpointSlices. The proxy also accepts an address only
 * when its targetRef names a Pod of the Service's namespace whose status.podIPs holds the address,
 * so a Pod stands in for the controller: never scheduled (no nodeName, and nothing runs pods
 * here), with its status written through the status subresource.
 */
export async function exposeController(cluster: ClusterClient, options: ExposeOptions): Promise<void> {
  const portName = options.portName ?? 'http';
  const named = portName === '' ? {} : { name: portName };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: options.name, namespace: options.namespace },
    spec: { ports: [{ ...named, port: options.port ?? 8080, targetPort: options.targetPort, protocol: 'TCP' }] },
  };
  const applyAll = async (objects: readonly object[]) => {
    const result = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
    if (result.code !== 0) throw new Error(`exposing ${options.namespace}/${options.name} failed: ${result.stderr}`);
  };
  if (!options.address) {
    await applyAll([service]);
    return;
  }
  const pod = `${options.name}-netns`;
  await applyAll([service, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod, namespace: options.namespace, labels: { 'sealed-secrets-ts/stand-in': options.name } },
    spec: { containers: [{ name: 'controller', image: 'stand-in.invalid/sealed-secrets-controller' }] },
  }]);
  const status = await cluster.kubectl([
    'patch', 'pod', pod, '-n', options.namespace, '--subresource=status', '--type=merge',
    '-p', JSON.stringify({ status: { podIP: options.address, podIPs: [{ ip: options.address }] } }),
  ]);
  if (status.code !== 0) throw new Error(`setting the IP of stand-in pod ${options.namespace}/${pod} failed: ${status.stderr}`);
  const targetRef = { kind: 'Pod', name: pod, namespace: options.namespace };
  await applyAll([
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${options.name}-netns`, namespace: options.namespace, labels: { 'kubernetes.io/service-name': options.name } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [options.address], conditions: { ready: true, serving: true, terminating: false }, targetRef }],
      ports: [{ ...named, port: options.targetPort, protocol: 'TCP' }],
    },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: options.name, namespace: options.namespace },
      subsets: [{ addresses: [{ ip: options.address, targetRef }], ports: [{ ...named, port: options.targetPort, protocol: 'TCP' }] }],
    },
  ]);
}
