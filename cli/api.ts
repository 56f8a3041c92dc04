/**
 * Requests to the Kubernetes API server, as client-go makes them for upstream kubeseal: the
 * connection's TLS settings, credentials (client-node applies them, exec plugins included),
 * impersonation headers, --request-timeout, and retries of answers that ask for them.
 * What an answer means is cli/answers.ts's business; this module only moves bytes.
 *
 * This and nothing else in cli/ loads @kubernetes/client-node (half a second): cli/run.ts reaches
 * it only for the cluster modes (cli/remote.ts), so offline sealing never pays for it.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { accessSync, constants } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage, UserError } from '../shared/errors.ts';
import { kubectlUsers, trimAuthorization } from '../shared/kubeconfig-auth.ts';
import { MAX_RESPONSE_BYTES } from '../shared/input-limits.ts';
import { proxyHost } from '../shared/proxy.ts';
import { oneLine } from './answers.ts';
import { boundedCollector, TooLargeError } from './bounded-read.ts';
import type { Connection } from './kube-connection.ts';
import type { KubeconfigData } from './kubeconfig.ts';
import { guardRequest, networkDetail } from './net.ts';
import { trustSystemCertificates } from './system-ca.ts';
import { quoteName, shownUrl } from '../shared/untrusted.ts';

/**
 * As client-go (hence upstream kubeseal) does: a 429 or 5xx answer with Retry-After is retried
 * after that many seconds, up to 10 times. The controller's rate limiter (/v1/verify: 2 per second
 * per client by default) answers so; without retries a file of many SealedSecrets fails half-way.
 */
const MAX_RETRIES = 10;
const MAX_RETRY_WAIT_MS = 10_000;

export interface ApiResponse {
  readonly status: number;
  readonly statusText: string;
  readonly contentType: string;
  readonly body: Buffer;
  /** Retry-After in seconds, when sent as a number. */
  readonly retryAfterS?: number;
}

/**
 * A request the API server did not answer, or answered "who are you?" (401): asking it something
 * else (the ConfigMap fallback) would fail the same way.
 */
export class ConnectionError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionError';
  }
}

export interface Api {
  readonly server: string;
  send(method: 'GET' | 'POST', path: string, options?: { accept?: string; body?: string }): Promise<ApiResponse>;
}

/** One kubeconfig file, parsed by client-node's loader (cli/kubeconfig.ts merges the files). */
export function parseKubeconfigFile(file: string, text: string): KubeconfigData {
  const kc = new KubeConfig();
  // What loadFromFile does, on the text cli/kubeconfig.ts read once with its size bound.
  kc.loadFromString(text);
  kc.makePathsAbsolute(dirname(resolvePath(file)));
  const users = kubectlUsers(kc.getUsers(), { path: resolvePath(file), text }, (path) => accessSync(path, constants.R_OK));
  return { clusters: kc.getClusters(), users, contexts: kc.getContexts(), currentContext: kc.getCurrentContext() };
}

/** One line for a request that never got an answer. */
export function unreachable(server: string, error: unknown, timeoutMs: number, proxy?: string): ConnectionError {
  const code = (error as NodeJS.ErrnoException).code;
  const name = (error as Error).name;
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'ABORT_ERR') {
    return new ConnectionError(`the Kubernetes API server at ${server} did not answer within ${timeoutMs / 1000} s (--request-timeout); check that the cluster is up, or allow more time`);
  }
  const { detail, kind } = networkDetail(error);
  if (kind === 'timeout') {
    return new ConnectionError(`the Kubernetes API server at ${server} did not answer: ${detail}; check that the cluster is up and that the kubeconfig's server is right`);
  }
  if (kind === 'untrusted') {
    return new ConnectionError(`cannot connect to the Kubernetes API server at ${server}: ${detail}; check the kubeconfig's certificate-authority, --certificate-authority or --tls-server-name`);
  }
  if (kind === 'not-tls') {
    return new ConnectionError(`cannot connect to the Kubernetes API server at ${server}: ${detail}; check the kubeconfig's server (http:// or https://, and the port)`);
  }
  if (proxy) {
    return new ConnectionError(`cannot reach the Kubernetes API server at ${server} through the proxy ${proxyHost(proxy)}: ${detail}; check the proxy (--proxy-url, the kubeconfig's proxy-url, HTTPS_PROXY/HTTP_PROXY, NO_PROXY) and that the cluster is running`);
  }
  return new ConnectionError(`cannot reach the Kubernetes API server at ${server}: ${detail}; check that the cluster is running and that the kubeconfig's server is right`);
}

function readBody(response: IncomingMessage, server: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const body = boundedCollector(MAX_RESPONSE_BYTES, `the answer of the Kubernetes API server at ${server}`);
    response.on('data', (chunk: Buffer) => {
      try {
        body.add(chunk);
      } catch (error) {
        reject(error);
        response.destroy();
      }
    });
    response.on('end', () => resolve(body.result()));
    response.on('error', reject);
  });
}

function toKubeConfig(connection: Connection): KubeConfig {
  const kc = new KubeConfig();
  // client-node refuses plain http:// unless TLS checks are off; for http they mean nothing anyway
  // (e.g. `kubectl proxy` at http://127.0.0.1:8001).
  const cluster = connection.cluster.server.startsWith('http:') ? { ...connection.cluster, skipTLSVerify: true } : connection.cluster;
  kc.loadFromOptions({
    clusters: [cluster],
    users: [connection.user],
    contexts: [{ name: 'kubeseal', cluster: cluster.name, user: connection.user.name }],
    currentContext: 'kubeseal',
  });
  return kc;
}

/** Requests to the API server with the connection's TLS settings, credentials, timeout and retries. */
export function createApi(connection: Connection, sleep: (ms: number) => Promise<void> = (ms) => delay(ms)): Api {
  const kc = toKubeConfig(connection);
  const { cluster } = connection;
  // client-go: no CA in the kubeconfig means the system's CA certificates.
  if (cluster.server.startsWith('https:') && !cluster.caFile && !cluster.caData && !cluster.skipTLSVerify) trustSystemCertificates();
  const server = connection.cluster.server;
  // In messages: a kubeconfig's server may carry a user and password (https://user:pass@host).
  const shown = shownUrl(server);

  async function sendOnce(method: 'GET' | 'POST', path: string, options: { accept?: string; body?: string }): Promise<ApiResponse> {
    const url = new URL(server + path);
    const headers: Record<string, string | string[]> = {
      Accept: options.accept ?? 'application/json, */*',
      'User-Agent': 'kubeseal (sealed-secrets-ts)',
      ...connection.headers,
    };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(options.body));
    }
    const requestOptions: RequestOptions & { headers: Record<string, string | string[]> } = { method, headers };
    try {
      await kc.applyToHTTPSOptions(requestOptions);
      trimAuthorization(requestOptions.headers);
    } catch (error) {
      throw new ConnectionError(`cannot use the credentials of user ${quoteName(connection.user.name)} (${connection.source}): ${oneLine(errorMessage(error))}; check the kubeconfig`);
    }
    if (connection.timeoutMs > 0) requestOptions.signal = AbortSignal.timeout(connection.timeoutMs);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    let response: IncomingMessage;
    let body: Buffer;
    try {
      response = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = send(url, requestOptions, resolve);
        guardRequest(req);
        req.on('error', reject);
        req.end(options.body);
      });
      body = await readBody(response, shown);
    } catch (error) {
      if (error instanceof TooLargeError) throw error;
      throw unreachable(shown, error, connection.timeoutMs, connection.cluster.proxyUrl);
    }
    const status = response.statusCode ?? 0;
    if (status === 401) {
      throw new ConnectionError(`the Kubernetes API server at ${shown} does not accept the credentials of user ${quoteName(connection.user.name)} (401 Unauthorized); check the kubeconfig's user, --token or the client certificate`);
    }
    const retryAfter = Number(response.headers['retry-after'] ?? Number.NaN);
    return {
      status,
      statusText: response.statusMessage ?? '',
      contentType: String(response.headers['content-type'] ?? ''),
      body,
      ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterS: retryAfter } : {}),
    };
  }

  return {
    server,
    async send(method, path, options = {}) {
      for (let retry = 0; ; retry++) {
        const response = await sendOnce(method, path, options);
        const retryable = response.status === 429 || response.status >= 500;
        if (!retryable || response.retryAfterS === undefined || retry >= MAX_RETRIES) return response;
        await sleep(Math.min(response.retryAfterS * 1000, MAX_RETRY_WAIT_MS));
      }
    },
  };
}
