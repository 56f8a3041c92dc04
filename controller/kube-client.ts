/**
 * The controller's only door to the Kubernetes API: plain JSON over HTTP, with authentication and
 * TLS taken from @kubernetes/client-node's KubeConfig (kubeconfig files, in-cluster service
 * account, exec plugins). Objects stay plain JSON (the same shapes as shared/kube.ts), errors carry
 * the HTTP status code, and an optional token bucket limits the request rate.
 */
import type { AgentOptions, RequestOptions as HttpsRequestOptions } from 'node:https';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { accessSync, constants, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { kubeconfigFiles, kubectlUsers, rawUsers, trimAuthorization } from '../shared/kubeconfig-auth.ts';
import { Agent, fetch, ProxyAgent, type Dispatcher, type Response } from 'undici';
import { proxyFor, type Env } from '../shared/proxy.ts';
import { sleep } from './time.ts';

/** A failed API call. `code` is the HTTP status (0 when the server was not reached). */
export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.name = 'KubeApiError';
    this.code = code;
    this.reason = reason;
  }
}

export const isNotFound = (error: unknown): boolean => error instanceof KubeApiError && error.code === 404;
export const isConflict = (error: unknown): boolean => error instanceof KubeApiError && error.code === 409;
export const isGone = (error: unknown): boolean => error instanceof KubeApiError && error.code === 410;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

export interface KubeClient {
  readonly kubeConfig: KubeConfig;
  /** One JSON request; resolves to the decoded body, rejects with KubeApiError. */
  request<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options?: RequestOptions): Promise<T>;
  /**
   * A watch stream: calls `onEvent` for each event until the server closes it (resolves) or it
   * fails (rejects with KubeApiError, e.g. 410 when the resourceVersion is too old).
   */
  watch(path: string, options: RequestOptions & { onEvent: (event: WatchEvent) => void }): Promise<void>;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown> & { metadata?: { resourceVersion?: string; name?: string; namespace?: string } };
}

/**
 * Load credentials: --kubeconfig, else $KUBECONFIG or ~/.kube/config, else the in-cluster service
 * account. Kubeconfig users are read as kubectl reads them (tokenFile, exec paths: shared/kubeconfig-auth.ts).
 */
export function loadKubeConfig(explicitPath: string | undefined, env: Readonly<Record<string, string | undefined>>): KubeConfig {
  const kc = new KubeConfig();
  if (explicitPath || env.KUBECONFIG || !env.KUBERNETES_SERVICE_HOST) {
    if (explicitPath) kc.loadFromFile(explicitPath);
    else kc.loadFromDefault();
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
      const fromFile = new Set(rawUsers(parseYaml(text)).keys());
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

/** A token bucket: `qps` requests per second on average, up to `burst` at once. qps <= 0 disables it. */
function rateLimiter(qps: number, burst: number): () => Promise<void> {
  if (qps <= 0) return async () => undefined;
  let tokens = Math.max(1, burst);
  let last = Date.now();
  let queue = Promise.resolve();
  return () => {
    queue = queue.then(async () => {
      const now = Date.now();
      tokens = Math.min(Math.max(1, burst), tokens + ((now - last) / 1000) * qps);
      last = now;
      if (tokens < 1) {
        const wait = ((1 - tokens) / qps) * 1000;
        await sleep(wait);
        tokens = 1;
        last = Date.now();
      }
      tokens -= 1;
    });
    return queue;
  };
}

async function errorFrom(response: Response, method: string, path: string): Promise<KubeApiError> {
  let reason = '';
  let message = `${method} ${path}: ${response.status} ${response.statusText}`;
  try {
    const status = (await response.json()) as { reason?: string; message?: string };
    reason = status.reason ?? '';
    if (status.message) message = status.message;
  } catch {
    // not a Status object
  }
  return new KubeApiError(response.status, reason, message);
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

export function createKubeClient(kubeConfig: KubeConfig, options: { qps?: number; burst?: number; timeoutMs?: number; env?: Env } = {}): KubeClient {
  const throttle = rateLimiter(options.qps ?? -1, options.burst ?? 10);
  // One pool for the client's lifetime, made on the first request. Authentication headers are
  // still applied per request (tokens from exec plugins expire).
  let dispatcher: Promise<Dispatcher | undefined> | undefined;
  const server = kubeConfig.getCurrentCluster()?.server ?? '';
  const timeoutMs = options.timeoutMs ?? 60_000;

  async function send(method: string, path: string, opts: RequestOptions, isWatch: boolean): Promise<Response> {
    await throttle();
    const url = new URL(server.replace(/\/$/, '') + path);
    for (const [key, value] of Object.entries(opts.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const context = new RequestContext(url.toString(), method as HttpMethod);
    await kubeConfig.applySecurityAuthentication(context);
    dispatcher ??= createDispatcher(kubeConfig, context, options.env ?? process.env).catch((error: unknown) => {
      dispatcher = undefined; // try again on the next request
      throw error;
    });
    const pool = await dispatcher;
    const headers: Record<string, string> = { ...context.getHeaders() };
    trimAuthorization(headers);
    headers.accept = opts.accept ?? 'application/json';
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      body = JSON.stringify(opts.body);
    }
    const signals = [opts.signal, isWatch ? undefined : AbortSignal.timeout(timeoutMs)].filter((s): s is AbortSignal => s !== undefined);
    try {
      return await fetch(url, {
        method,
        headers,
        body,
        dispatcher: pool,
        signal: signals.length > 0 ? AbortSignal.any(signals) : undefined,
      });
    } catch (error) {
      if (opts.signal?.aborted) throw error;
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new KubeApiError(0, 'Unreachable', `${method} ${path}: ${cause}`);
    }
  }

  return {
    kubeConfig,
    async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
      const response = await send(method, path, opts, false);
      if (!response.ok) throw await errorFrom(response, method, path);
      const text = await response.text();
      return (text === '' ? undefined : JSON.parse(text)) as T;
    },
    async watch(path, opts) {
      const response = await send('GET', path, { ...opts, query: { ...opts.query, watch: 1 } }, true);
      if (!response.ok) throw await errorFrom(response, 'WATCH', path);
      if (!response.body) return;
      const lines = createInterface({ input: Readable.fromWeb(response.body as never), crlfDelay: Infinity });
      try {
        for await (const line of lines) {
          if (line.trim() === '') continue;
          const event = JSON.parse(line) as WatchEvent;
          if (event.type === 'ERROR') {
            const status = event.object as { code?: number; reason?: string; message?: string };
            throw new KubeApiError(status.code ?? 500, status.reason ?? '', status.message ?? 'watch error');
          }
          opts.onEvent(event);
        }
      } catch (error) {
        if (opts.signal?.aborted || error instanceof KubeApiError) throw error;
        throw new KubeApiError(0, 'WatchBroken', `watch ${path}: ${(error as Error).message}`);
      }
    },
  };
}
