/**
 * The controller's only door to the Kubernetes API: plain JSON over HTTP, with authentication and
 * TLS from a KubeAccess: in-cluster.ts in a pod, else kubeconfig-access.ts (@kubernetes/client-node's
 * KubeConfig: kubeconfig files, exec plugins), loaded only then. Objects stay plain JSON (the same shapes as shared/kube.ts), errors carry
 * the HTTP status code, and an optional token bucket limits the request rate.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Env } from '../shared/proxy.ts';
import { jsonProblem, remoteText } from '../shared/untrusted.ts';
import { inClusterAccess, runsInCluster } from './in-cluster.ts';
import { sleep } from './time.ts';
import { lines, type Reply, type Transport } from './transport.ts';

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
  /** The caller does not read the answer: its body is drained, not decoded or parsed (resolves to undefined). */
  ignoreBody?: boolean;
}

/** Where the API server is and how to reach it as whom. */
export interface KubeAccess {
  readonly server: string;
  /** Authentication headers for one request (asked each time: tokens rotate and expire). */
  headers(url: string, method: string): Promise<Record<string, string>>;
  /** Sends every request (its connection pool made once, on the first request). */
  readonly transport: Transport;
}

/**
 * --kubeconfig, else $KUBECONFIG or ~/.kube/config, else the in-cluster service account
 * (in-cluster.ts; client-node is not loaded then).
 */
export async function loadKubeAccess(explicitPath: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<KubeAccess> {
  if (runsInCluster(explicitPath, env)) return inClusterAccess({ env });
  const { kubeConfigAccess, loadKubeConfig } = await import('./kubeconfig-access.ts');
  return kubeConfigAccess(loadKubeConfig(explicitPath, env), env);
}

export interface KubeClient {
  /** The API server's URL. */
  readonly server: string;
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

/**
 * The error of a Status object (an answer's, a watch's). The API server's words pass through
 * remoteText, as Events, status and logs carry them: one line, no control characters, no long
 * base64 run, bounded. An admission webhook writes the Status message, so it may hold anything,
 * even a fragment of the object it refused.
 */
function statusError(code: number, status: { reason?: unknown; message?: unknown }, fallback: string): KubeApiError {
  const reason = typeof status.reason === 'string' ? remoteText(status.reason) : '';
  const message = typeof status.message === 'string' && status.message !== '' ? remoteText(status.message) : fallback;
  return new KubeApiError(code, reason, message);
}

async function errorFrom(response: Reply, method: string, path: string): Promise<KubeApiError> {
  const fallback = `${method} ${path}: ${response.status} ${remoteText(response.statusText)}`;
  let status: unknown;
  try {
    status = JSON.parse(await response.text());
  } catch {
    // not a Status object
  }
  return statusError(response.status, typeof status === 'object' && status !== null ? status : {}, fallback);
}

/**
 * JSON.parse of an answer, failing in our words: V8's message quotes the text around the fault,
 * and an answer may be a Secret or a key Secret.
 */
function parseAnswer(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new KubeApiError(0, 'BadAnswer', `${what}: the API server's answer is not JSON (${jsonProblem(error).problem})`);
  }
}

/**
 * A client over `source`: a KubeAccess, or a loaded KubeConfig (tests, tools), which loads
 * kubeconfig-access.ts on the first request.
 */
export function createKubeClient(source: KubeAccess | KubeConfig, options: { qps?: number; burst?: number; timeoutMs?: number; env?: Env } = {}): KubeClient {
  const throttle = rateLimiter(options.qps ?? -1, options.burst ?? 10);
  const isAccess = (s: KubeAccess | KubeConfig): s is KubeAccess => typeof (s as Partial<KubeAccess>).transport === 'function';
  const server = isAccess(source) ? source.server : source.getCurrentCluster()?.server ?? '';
  let access: Promise<KubeAccess> | undefined = isAccess(source) ? Promise.resolve(source) : undefined;
  const timeoutMs = options.timeoutMs ?? 60_000;

  async function send(method: string, path: string, opts: RequestOptions, isWatch: boolean): Promise<Reply> {
    await throttle();
    const url = new URL(server.replace(/\/$/, '') + path);
    for (const [key, value] of Object.entries(opts.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    access ??= import('./kubeconfig-access.ts').then((m) => m.kubeConfigAccess(source as KubeConfig, options.env ?? process.env));
    const through = await access;
    const headers: Record<string, string> = { ...(await through.headers(url.toString(), method)) };
    headers.accept = opts.accept ?? 'application/json';
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      body = JSON.stringify(opts.body);
    }
    try {
      return await through.transport(url, { method, headers, body, signal: opts.signal, timeoutMs: isWatch ? undefined : timeoutMs });
    } catch (error) {
      if (opts.signal?.aborted) throw error;
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new KubeApiError(0, 'Unreachable', `${method} ${path}: ${remoteText(String(cause))}`);
    }
  }

  return {
    server,
    async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
      const response = await send(method, path, opts, false);
      if (response.status < 200 || response.status > 299) throw await errorFrom(response, method, path);
      if (opts.ignoreBody === true) {
        await response.discard();
        return undefined as T;
      }
      const text = await response.text();
      return (text === '' ? undefined : parseAnswer(text, `${method} ${path}`)) as T;
    },
    async watch(path, opts) {
      const response = await send('GET', path, { ...opts, query: { ...opts.query, watch: 1 } }, true);
      if (response.status < 200 || response.status > 299) throw await errorFrom(response, 'WATCH', path);
      try {
        for await (const line of lines(response.chunks())) {
          if (line.trim() === '') continue;
          const event = parseAnswer(line, `watch ${path}`) as WatchEvent;
          if (event.type === 'ERROR') {
            const status = event.object as { code?: unknown; reason?: unknown; message?: unknown };
            throw statusError(typeof status.code === 'number' ? status.code : 500, status, 'watch error');
          }
          opts.onEvent(event);
        }
      } catch (error) {
        if (opts.signal?.aborted || error instanceof KubeApiError) throw error;
        throw new KubeApiError(0, 'WatchBroken', `watch ${path}: ${remoteText((error as Error).message)}`);
      }
    },
  };
}
