/**
 * Modes that talk to the controller through the cluster, as upstream kubeseal does it: through
 * the API server's service proxy, authenticated as the kubeconfig's user.
 *
 *   GET  /api/v1/namespaces/<ns>/services/<name>                         -> spec.ports[0].name
 *   GET  /api/v1/namespaces/<ns>/services/http:<name>:<port>/proxy/v1/cert.pem   (--fetch-cert, sealing)
 *   POST .../proxy/v1/verify   one SealedSecret at a time                 (--validate: 409 = cannot open)
 *   POST .../proxy/v1/rotate   one SealedSecret at a time                 (--re-encrypt)
 *
 * Beyond upstream: when the certificate cannot be had through the proxy (no Service, no
 * services/proxy permission, controller down...), it is read from the ConfigMap the controller
 * publishes in its namespace (sealed-secrets-cert, key cert.pem), with a one-line notice on stderr.
 *
 * This is the only CLI module that loads @kubernetes/client-node (half a second): cli/run.ts
 * imports it only for these modes, so offline sealing never pays for it.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { errorMessage, UserError } from '../shared/errors.ts';
import { readSealedSecret, SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND, sortedMap, type SealedSecret } from '../shared/kube.ts';
import { formatManifest, parseDocuments, type OutputFormat } from '../shared/manifest.ts';
import { NoClusterError, resolveConnection, type Connection, type KubeconfigData } from './kube-connection.ts';
import type { CliOptions } from './options.ts';
import { proxyHost } from '../shared/proxy.ts';
import { MAX_RESPONSE_BYTES } from '../shared/input-limits.ts';
import { remoteText } from '../shared/untrusted.ts';
import { boundedCollector, TooLargeError } from './bounded-read.ts';
import { guardRequest, networkDetail } from './net.ts';
import { trustSystemCertificates } from './system-ca.ts';

/** The ConfigMap the controller publishes its newest certificate in (controller --cert-configmap). */
export const CERT_CONFIGMAP = 'sealed-secrets-cert';
export const CERT_CONFIGMAP_KEY = 'cert.pem';
/**
 * As client-go (hence upstream kubeseal) does: a 429 or 5xx answer with Retry-After is retried
 * after that many seconds, up to 10 times. The controller's rate limiter (/v1/verify: 2 per second
 * per client by default) answers so; without retries a file of many SealedSecrets fails half-way.
 */
const MAX_RETRIES = 10;
const MAX_RETRY_WAIT_MS = 10_000;

/** Text from the network, made fit for a one-line message (shared/untrusted.ts). */
const oneLine = (text: string): string => remoteText(text, 1000);

/** What the remote modes need from the outside world. */
export interface RemoteContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** One line to stderr. */
  warn(message: string): void;
  /** Output format of --re-encrypt (-o, or YAML for a .yaml output file). */
  readonly format: OutputFormat;
  /** Where the in-cluster service account lives (tests). */
  readonly serviceAccountDir?: string;
  /** Waits before retrying a request answered with Retry-After (tests make it instant). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The controller's Service, as --controller-name and --controller-namespace name it. */
export interface ControllerService {
  readonly namespace: string;
  readonly name: string;
}

type Mode = 'fetch' | 'validate' | 'reencrypt';

// ---- paths ---------------------------------------------------------------------------------

const segment = (value: string): string => encodeURIComponent(value);

/** GET this to read the Service's first port name. */
export function servicePath(service: ControllerService): string {
  return `/api/v1/namespaces/${segment(service.namespace)}/services/${segment(service.name)}`;
}

/**
 * The controller's `endpoint` through the service proxy: services/http:<name>:<port>/proxy<endpoint>,
 * with an empty port name for an unnamed port ("http:sealed-secrets-controller:"), as upstream.
 */
export function proxyPath(service: ControllerService, portName: string, endpoint: string): string {
  return `/api/v1/namespaces/${segment(service.namespace)}/services/http:${segment(service.name)}:${segment(portName)}/proxy${endpoint}`;
}

export function configMapPath(namespace: string, name = CERT_CONFIGMAP): string {
  return `/api/v1/namespaces/${segment(namespace)}/configmaps/${segment(name)}`;
}

// ---- talking to the API server -------------------------------------------------------------

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

/** A failure of one step, as a detail (what happened) and a hint (what to do), joined for the user. */
export class StepError extends UserError {
  readonly detail: string;
  readonly hint: string;
  constructor(detail: string, hint: string) {
    super(hint ? `${detail}; ${hint}` : detail);
    this.name = 'StepError';
    this.detail = detail;
    this.hint = hint;
  }
}

export interface Api {
  readonly server: string;
  send(method: 'GET' | 'POST', path: string, options?: { accept?: string; body?: string }): Promise<ApiResponse>;
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
export function createApi(connection: Connection, sleep: (ms: number) => Promise<void> = defaultSleep): Api {
  const kc = toKubeConfig(connection);
  const { cluster } = connection;
  // client-go: no CA in the kubeconfig means the system's CA certificates.
  if (cluster.server.startsWith('https:') && !cluster.caFile && !cluster.caData && !cluster.skipTLSVerify) trustSystemCertificates();
  const server = connection.cluster.server;

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
    } catch (error) {
      throw new ConnectionError(`cannot use the credentials of user "${connection.user.name}" (${connection.source}): ${oneLine(errorMessage(error))}; check the kubeconfig`);
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
      body = await readBody(response, server);
    } catch (error) {
      if (error instanceof TooLargeError) throw error;
      throw unreachable(server, error, connection.timeoutMs, connection.cluster.proxyUrl);
    }
    const status = response.statusCode ?? 0;
    if (status === 401) {
      throw new ConnectionError(`the Kubernetes API server at ${server} does not accept the credentials of user "${connection.user.name}" (401 Unauthorized); check the kubeconfig's user, --token or the client certificate`);
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

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- what the answers mean -----------------------------------------------------------------

/** The API server's own error (a v1 Status), as opposed to an answer passed through from the controller. */
export function apiStatus(response: ApiResponse): { reason: string; message: string } | undefined {
  if (!response.contentType.includes('json')) return undefined;
  try {
    const status = JSON.parse(response.body.toString('utf8')) as { kind?: unknown; reason?: unknown; message?: unknown };
    if (status.kind !== 'Status') return undefined;
    return { reason: typeof status.reason === 'string' ? status.reason : '', message: typeof status.message === 'string' ? oneLine(status.message) : '' };
  } catch {
    return undefined;
  }
}

/** "409 Conflict" plus the first line of the body (or the Status message), at most 300 characters of it. */
function answer(response: ApiResponse): string {
  const status = apiStatus(response);
  const text = status?.message || response.body.toString('utf8').split('\n').find((line) => line.trim() !== '')?.trim() || '';
  const head = `${response.status}${response.statusText ? ` ${oneLine(response.statusText)}` : ''}`;
  const shown = remoteText(text, 300);
  return shown ? `${head}: ${shown}` : head;
}

const where = (service: ControllerService): string => `service "${service.name}" in namespace "${service.namespace}"`;

/** Why GET services/<name> did not give a port name. */
export function serviceFailure(response: ApiResponse, service: ControllerService): StepError {
  const names = 'use --controller-name and --controller-namespace to name the controller\'s Service';
  if (response.status === 404) return new StepError(`cannot get sealed secret service: ${where(service)} not found`, names);
  if (response.status === 403) {
    return new StepError(`cannot get sealed secret service: ${apiStatus(response)?.message || answer(response)}`, `ask for permission to get services in namespace "${service.namespace}"`);
  }
  return new StepError(`cannot get sealed secret service ${service.namespace}/${service.name}: ${answer(response)}`, names);
}

/** The first port's name of a Service object (upstream reads spec.ports[0].name). */
export function firstPortName(response: ApiResponse, service: ControllerService): string {
  let ports: unknown;
  try {
    ports = (JSON.parse(response.body.toString('utf8')) as { spec?: { ports?: unknown } }).spec?.ports;
  } catch {
    throw new StepError(`cannot get sealed secret service: the API server's answer for ${where(service)} is not JSON`, 'check the kubeconfig\'s server');
  }
  if (!Array.isArray(ports) || ports.length === 0) {
    throw new StepError(`${where(service)} has no ports, so it is not the sealed-secrets controller's`, 'use --controller-name and --controller-namespace to name the controller\'s Service');
  }
  const name = (ports[0] as { name?: unknown }).name;
  return typeof name === 'string' ? name : '';
}

/**
 * Why a request through the service proxy failed, for everything but the answers each mode reads
 * itself (409 from /v1/verify).
 */
export function proxyFailure(response: ApiResponse, service: ControllerService, mode: Mode): StepError {
  const status = apiStatus(response);
  if (response.status === 403 && status) {
    const verb = mode === 'fetch' ? 'get' : 'create';
    return new StepError(
      `you lack the RBAC permission "${verb}" on services/proxy that reaching the controller through the API server needs: ${status.message || answer(response)}`,
      `ask for it for ${where(service)}${mode === 'fetch' ? ', or seal offline with --cert <file or URL>' : ''}`,
    );
  }
  if (response.status === 502 || response.status === 503 || response.status === 504) {
    return new StepError(
      `the sealed-secrets controller behind ${where(service)} is not running or not ready (${answer(response)})`,
      `check its pods and logs (kubectl get pods -n ${service.namespace})`,
    );
  }
  if (response.status === 404 && status) {
    return new StepError(`${where(service)} is gone (${answer(response)})`, 'use --controller-name and --controller-namespace to name the controller\'s Service');
  }
  if (response.status === 404) {
    return new StepError(`${where(service)} answered ${answer(response)}: it does not look like the sealed-secrets controller`, 'check --controller-name and --controller-namespace');
  }
  return new StepError(`the controller answered ${answer(response)}`, '');
}

// ---- the modes -----------------------------------------------------------------------------

function parseKubeconfigFile(file: string): KubeconfigData {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return { clusters: kc.getClusters(), users: kc.getUsers(), contexts: kc.getContexts(), currentContext: kc.getCurrentContext() };
}

const NEEDS: Record<Mode, string> = {
  fetch: 'fetching the certificate',
  validate: '--validate',
  reencrypt: '--re-encrypt',
};

function connect(options: CliOptions, context: RemoteContext, mode: Mode): Api {
  try {
    return createApi(resolveConnection({
      kubeconfig: options.kubeconfig,
      flags: options.kube,
      env: context.env,
      parse: parseKubeconfigFile,
      ...(context.serviceAccountDir ? { serviceAccountDir: context.serviceAccountDir } : {}),
    }), context.sleep);
  } catch (error) {
    if (error instanceof NoClusterError) {
      const fix = mode === 'fetch' ? 'pass --kubeconfig, or seal offline with --cert <file or URL>' : 'pass --kubeconfig or set KUBECONFIG';
      throw new ConnectionError(`${NEEDS[mode]} needs the cluster, but no kubeconfig was found (${error.where}) and kubeseal is not running in a cluster; ${fix}`);
    }
    throw error;
  }
}

function controllerService(options: CliOptions): ControllerService {
  return { namespace: options.controllerNamespace || 'kube-system', name: options.controllerName || 'sealed-secrets-controller' };
}

async function portName(api: Api, service: ControllerService): Promise<string> {
  const response = await api.send('GET', servicePath(service));
  if (response.status !== 200) throw serviceFailure(response, service);
  return firstPortName(response, service);
}

async function certificateThroughProxy(api: Api, service: ControllerService): Promise<Buffer> {
  const port = await portName(api, service);
  const response = await api.send('GET', proxyPath(service, port, '/v1/cert.pem'), { accept: 'application/x-pem-file, */*' });
  if (response.status !== 200) throw proxyFailure(response, service, 'fetch');
  if (response.body.length === 0) throw new StepError(`the controller behind ${where(service)} sent an empty certificate`, 'check its logs');
  return response.body;
}

async function certificateFromConfigMap(api: Api, namespace: string): Promise<Buffer> {
  const response = await api.send('GET', configMapPath(namespace));
  const name = `ConfigMap "${CERT_CONFIGMAP}" in namespace "${namespace}"`;
  if (response.status === 404) throw new StepError(`${name} not found`, '');
  if (response.status !== 200) throw new StepError(`cannot read ${name}: ${apiStatus(response)?.message || answer(response)}`, '');
  let pem: unknown;
  try {
    pem = (JSON.parse(response.body.toString('utf8')) as { data?: Record<string, unknown> }).data?.[CERT_CONFIGMAP_KEY];
  } catch {
    throw new StepError(`the API server's answer for ${name} is not JSON`, '');
  }
  if (typeof pem !== 'string' || pem.trim() === '') throw new StepError(`${name} has no ${CERT_CONFIGMAP_KEY}`, '');
  return Buffer.from(pem, 'utf8');
}

/**
 * The newest sealing certificate, from the controller through the service proxy; failing that,
 * from the ConfigMap it publishes (a notice goes to stderr). Bytes as the controller sent them.
 */
export async function fetchCertificate(options: CliOptions, context: RemoteContext): Promise<Buffer> {
  const api = connect(options, context, 'fetch');
  const service = controllerService(options);
  try {
    return await certificateThroughProxy(api, service);
  } catch (proxyError) {
    if (!(proxyError instanceof StepError)) throw proxyError;
    try {
      const pem = await certificateFromConfigMap(api, service.namespace);
      context.warn(`warning: cannot fetch the certificate through the controller (${proxyError.detail}); using the one it published in ConfigMap ${service.namespace}/${CERT_CONFIGMAP}`);
      return pem;
    } catch (configMapError) {
      if (!(configMapError instanceof StepError)) throw configMapError;
      throw new UserError(`cannot fetch certificate: ${proxyError.detail}; the fallback failed too: ${configMapError.detail}; ${proxyError.hint || 'or seal offline with --cert <file or URL>'}`);
    }
  }
}

/** The SealedSecrets of the input, each with its name for messages. Throws on anything else. */
function readSealedSecrets(input: Buffer): SealedSecret[] {
  const docs = parseDocuments(input, 'input');
  if (docs.length === 0) throw new UserError('no SealedSecret found in the input; pass a SealedSecret manifest on stdin or with -f');
  return docs.map((doc, index) => readSealedSecret(doc, docs.length > 1 ? `input document ${index + 1}` : 'input'));
}

/** The controller Service's port name, with a failure reported as `<what>: <reason>`. */
async function portNameFor(api: Api, service: ControllerService, what: string): Promise<string> {
  try {
    return await portName(api, service);
  } catch (error) {
    if (error instanceof StepError) throw new UserError(`${what}: ${error.message}`);
    throw error;
  }
}

/** --validate: check with the controller that every SealedSecret of `input` can be opened. */
export async function validate(input: Buffer, options: CliOptions, context: RemoteContext): Promise<void> {
  const sealedSecrets = readSealedSecrets(input);
  const api = connect(options, context, 'validate');
  const service = controllerService(options);
  const port = await portNameFor(api, service, 'cannot validate sealed secret');
  for (const sealed of sealedSecrets) {
    const response = await api.send('POST', proxyPath(service, port, '/v1/verify'), { body: JSON.stringify(sealed) });
    if (response.status === 200) continue;
    if (response.status === 409) throw new UserError(`unable to decrypt sealed secret: ${sealed.metadata.name ?? ''}`);
    throw new UserError(`cannot validate sealed secret: ${proxyFailure(response, service, 'validate').message}`);
  }
}

/** A re-encrypted SealedSecret as upstream prints it: typed, Go's field order, without server-set metadata. */
export function printableReencrypted(body: Buffer, format: OutputFormat): string {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UserError('cannot re-encrypt secret: the controller\'s answer is not JSON; check that --controller-name names the sealed-secrets controller');
  }
  const sealed = readSealedSecret(doc, 'the controller\'s answer');
  const { creationTimestamp: _created, deletionTimestamp: _deleted, generation: _generation, ...metadata } = sealed.metadata;
  const { template, data, encryptedData } = sealed.spec;
  return formatManifest({
    kind: SEALED_SECRET_KIND,
    apiVersion: SEALED_SECRET_API_VERSION,
    metadata,
    spec: { ...(template ? { template } : {}), ...(data ? { data } : {}), encryptedData: sortedMap(encryptedData) },
    ...(sealed.status ? { status: sealed.status } : {}),
  }, format);
}

/** --re-encrypt: have the controller re-seal every SealedSecret of `input` with its newest key. */
export async function reencrypt(input: Buffer, options: CliOptions, context: RemoteContext): Promise<string> {
  const { format } = context;
  const sealedSecrets = readSealedSecrets(input);
  const api = connect(options, context, 'reencrypt');
  const service = controllerService(options);
  const port = await portNameFor(api, service, 'cannot re-encrypt secret');
  const printed: string[] = [];
  for (const sealed of sealedSecrets) {
    const response = await api.send('POST', proxyPath(service, port, '/v1/rotate'), { body: JSON.stringify(sealed) });
    if (response.status === 409) throw new UserError('unable to rotate secret');
    if (response.status !== 200) {
      const name = `${sealed.metadata.namespace ?? ''}/${sealed.metadata.name ?? ''}`;
      throw new UserError(`cannot re-encrypt secret ${name}: ${proxyFailure(response, service, 'reencrypt').message}`);
    }
    printed.push(printableReencrypted(response.body, format));
  }
  return printed.join('');
}
