/**
 * Access to the API through a kubeconfig, read by @kubernetes/client-node (kubeconfig files and
 * their merge, exec plugins, auth providers, proxies). Loaded only when the controller runs with
 * a kubeconfig: client-node's modules cost ~80 MiB and ~0.5 s to load (docs/benchmarks.md), which
 * the in-cluster path (in-cluster.ts, what a Deployment uses) does without.
 */
import type { AgentOptions, RequestOptions as HttpsRequestOptions } from 'node:https';
import { accessSync, constants, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { kubeconfigFiles, kubectlUsers, rawUsers, trimAuthorization } from '../shared/kubeconfig-auth.ts';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { proxyFor, type Env } from '../shared/proxy.ts';
import type { KubeAccess } from './kube-client.ts';
import { undiciTransport } from './undici-transport.ts';

/**
 * Load credentials: --kubeconfig, else $KUBECONFIG or ~/.kube/config, else the in-cluster service
 * account. Kubeconfig users are read as kubectl reads them (tokenFile, exec paths: shared/kubeconfig-auth.ts).
 */
export function loadKubeConfig(explicitPath: string | undefined, env: Readonly<Record<string, string | undefined>>): KubeConfig {
  const kc = new KubeConfig();
  if (explicitPath || env.KUBECONFIG || !env.KUBERNETES_SERVICE_HOST) {
    try {
      if (explicitPath) kc.loadFromFile(explicitPath);
      else kc.loadFromDefault();
    } catch (error) {
      // The YAML parser's message quotes the lines around the fault, and a kubeconfig holds tokens and keys.
      const code = (error as NodeJS.ErrnoException).code;
      const which = explicitPath ? `--kubeconfig ${explicitPath}` : 'the kubeconfig ($KUBECONFIG or ~/.kube/config)';
      throw new Error(code === 'ENOENT' || code === 'EACCES'
        ? `cannot read ${which} (${code}); check the path and its permissions`
        : `cannot load ${which}: its content is not a valid kubeconfig; check it with kubectl config view`);
    }
    // The first file to define a user keeps it (client-go's merge, as client-node's).
    const seen = new Set<string>();
    let users = kc.getUsers();
    for (const path of kubeconfigFiles(explicitPath ?? '', env)) {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        continue; // client-node skipped it too
      }
      let parsed: unknown;
      try {
        parsed = parseYaml(text);
      } catch {
        continue; // client-node read it above; what it could not, it said (without the content)
      }
      const fromFile = new Set(rawUsers(parsed).keys());
      const mine = users.filter((u) => fromFile.has(u.name) && !seen.has(u.name));
      const fixed = new Map(kubectlUsers(mine, { path: resolvePath(path), text }, (p) => accessSync(p, constants.R_OK)).map((u) => [u.name, u]));
      users = users.map((u) => fixed.get(u.name) ?? u);
      for (const name of fromFile) seen.add(name);
    }
    kc.loadFromOptions({ clusters: kc.getClusters(), users, contexts: kc.getContexts(), currentContext: kc.getCurrentContext() });
  } else {
    kc.loadFromCluster();
  }
  if (!kc.getCurrentCluster()) throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a cluster');
  return kc;
}

/**
 * The connection pool for every request of one client, speaking HTTP/1.1 only.
 *
 * Why our own pool: client-node 2.0.1 builds a new undici Agent on every
 * applySecurityAuthentication, so every request would open its own TLS connection (a handshake
 * each, idle sockets piling up: hundreds of MiB under load).
 *
 * Why HTTP/1.1: undici 8 offers HTTP/2 by default and kube-apiserver accepts it, but with Node 24's
 * http2 an aborted in-flight stream can leave Http2Session::SendPendingData spinning in native
 * code, growing memory until the process aborts (std::bad_alloc) about 80 s later. Every request
 * of ours can be aborted (timeouts, stop(), leadership lost), so HTTP/2 is off, tunnels included.
 * Reproduced by SIGTERMing a leader during a renewal, about 1 time in 15.
 *
 * Proxy: the kubeconfig's proxy-url, else HTTPS_PROXY/HTTP_PROXY/NO_PROXY as client-go reads them
 * (shared/proxy.ts). TLS settings come from client-node's reading of the kubeconfig. A SOCKS
 * proxy keeps client-node's own dispatcher (undici cannot be told to avoid HTTP/2 through it).
 */
async function createDispatcher(kubeConfig: KubeConfig, context: RequestContext, env: Env): Promise<Dispatcher | undefined> {
  const https: HttpsRequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(https);
  const tls: AgentOptions = { ca: https.ca, cert: https.cert, key: https.key, pfx: https.pfx, passphrase: https.passphrase };
  if (https.rejectUnauthorized !== undefined) tls.rejectUnauthorized = https.rejectUnauthorized;
  if (https.servername !== undefined) tls.servername = https.servername;
  const cluster = kubeConfig.getCurrentCluster();
  const envProxy = cluster && !cluster.proxyUrl ? proxyFor(new URL(cluster.server), env) : undefined;
  const plan = kubeConfig.createDispatcherOptions(envProxy && cluster ? { ...cluster, proxyUrl: envProxy } : cluster, tls);
  switch (plan.type) {
    case 'agent':
      return new Agent({ connect: plan.connect, allowH2: false });
    case 'proxy':
      return new ProxyAgent({ uri: plan.uri, requestTls: { ...plan.requestTls, allowH2: false }, connect: plan.connect, allowH2: false });
    case 'none':
      return new Agent({ allowH2: false });
    default:
      return context.getDispatcher();
  }
}

/** A KubeAccess from a loaded kubeconfig: client-node's authentication per request, one pool. */
export function kubeConfigAccess(kubeConfig: KubeConfig, env: Env): KubeAccess {
  const server = kubeConfig.getCurrentCluster()?.server ?? '';
  let dispatcher: Promise<Dispatcher | undefined> | undefined;
  let lastContext: RequestContext | undefined;
  return {
    server,
    async headers(url, method) {
      const context = new RequestContext(url, method as HttpMethod);
      await kubeConfig.applySecurityAuthentication(context);
      lastContext = context;
      const headers: Record<string, string> = { ...context.getHeaders() };
      trimAuthorization(headers);
      return headers;
    },
    // The pool is made on the first request, from its context (a SOCKS proxy keeps client-node's dispatcher).
    transport: undiciTransport(() => {
      dispatcher ??= createDispatcher(kubeConfig, lastContext ?? new RequestContext(server, HttpMethod.GET), env).catch((error: unknown) => {
        dispatcher = undefined; // try again on the next request
        throw error;
      });
      return dispatcher;
    }),
  };
}
