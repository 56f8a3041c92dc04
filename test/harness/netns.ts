/**
 * The controller on a host of its own (a network namespace, scripts/cluster/netns.ts), so that the
 * API server's service proxy can reach it the way it reaches a pod, for specs that need no kubelet.
 *
 * Why: kubeseal talks to the controller through
 * /api/v1/namespaces/<ns>/services/http:<name>:<port>/proxy/..., and kube-apiserver refuses to
 * proxy to loopback (and link-local) addresses. The shared control plane runs no pods, and every
 * process of the harness listens on 127.0.0.1. So:
 *
 *   host network namespace                          network namespace sst-<X>-<pid>
 *   kube-apiserver 127.0.0.1:<api>                  controller listening on 10.200.X.2:8080
 *   forwarder 10.200.X.1:<f> -> 127.0.0.1:<api>  <- controller's kubeconfig: https://10.200.X.1:<f>
 *
 * - The controller reaches the API server through a forwarder on the host end of the veth. Its
 *   kubeconfig names the forwarder and sets `tls-server-name: localhost`, a SAN of the serving
 *   certificate (which has 127.0.0.1 and localhost, not 10.200.X.1).
 * - `exposeController()` creates a Service without selector (port `http` 8080 -> the controller's
 *   port) and an EndpointSlice (label kubernetes.io/service-name) with the namespace's address: what
 *   the endpoint-slice controller would write for a pod, so the API server's proxy finds it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { ClusterClient } from './cluster.ts';
import { startController, type ControllerProcess } from './controller.ts';
import type { Netns } from '../../scripts/cluster/netns.ts';

export { createNetns, netnsUnavailable, type Forwarder, type Netns } from '../../scripts/cluster/netns.ts';

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
