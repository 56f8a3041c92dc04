/**
 * kubeseal's cluster modes against a fake API server (plain HTTP on loopback, as `kubectl proxy`
 * would serve it): the paths and headers sent, what each answer means, the ConfigMap fallback,
 * and how the kubeconfig and the kubectl flags pick the connection. The real API server and
 * controller are in test/integration/cli-cluster.test.ts.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readFixture } from '../test/fixtures/fixtures.ts';
import { UsageError, UserError } from '../shared/errors.ts';
import { apiStatus, firstPortName, printableReencrypted, proxyFailure, serviceFailure } from './answers.ts';
import type { ApiResponse } from './api.ts';
import { configMapPath, proxyPath, servicePath } from './controller-service.ts';
import { normalizeServer, parseRequestTimeout, resolveConnection } from './kube-connection.ts';
import { mergeKubeconfigs, type KubeconfigData } from './kubeconfig.ts';
import { parseOptions } from './options.ts';
import { controllerReencrypter, fetchCertificate, listKeys, reencrypt, validate, type RemoteContext } from './remote.ts';
import { readSealedSecret } from '../shared/kube.ts';

const CERT = readFixture('sealing-cert.pem');
const dir = mkdtempSync(join(tmpdir(), 'kubeseal-remote-'));

// ---- pure parts ----------------------------------------------------------------------------

const svc = { namespace: 'kube-system', name: 'sealed-secrets-controller' };
const response = (status: number, body: string | object = '', contentType = typeof body === 'object' ? 'application/json' : 'text/plain', statusText = ''): ApiResponse => ({
  status,
  statusText,
  contentType,
  body: Buffer.from(typeof body === 'object' ? JSON.stringify(body) : body),
});
const status = (code: number, reason: string, message: string) => response(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });

describe('paths, as upstream builds them', () => {
  it.each([
    [svc, 'http', '/v1/cert.pem', '/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem'],
    [svc, '', '/v1/verify', '/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:/proxy/v1/verify'],
    [{ namespace: 'sealed-secrets', name: 'ss' }, 'web', '/v1/rotate', '/api/v1/namespaces/sealed-secrets/services/http:ss:web/proxy/v1/rotate'],
    [{ namespace: 'a/b', name: 'c?d' }, 'e#f', '/v1/cert.pem', '/api/v1/namespaces/a%2Fb/services/http:c%3Fd:e%23f/proxy/v1/cert.pem'],
  ])('%j port %j %s', (service, port, endpoint, expected) => {
    expect(proxyPath(service, port, endpoint)).toBe(expected);
  });
  it('reads the Service and the ConfigMap at their API paths', () => {
    expect(servicePath(svc)).toBe('/api/v1/namespaces/kube-system/services/sealed-secrets-controller');
    expect(configMapPath('kube-system')).toBe('/api/v1/namespaces/kube-system/configmaps/sealed-secrets-cert');
  });
});

describe('what the answers mean', () => {
  it('tells an API server Status from an answer of the controller', () => {
    expect(apiStatus(status(403, 'Forbidden', 'nope\nsecond line'))).toEqual({ reason: 'Forbidden', message: 'nope second line' });
    expect(apiStatus(response(409, ''))).toBeUndefined();
    expect(apiStatus(response(200, { kind: 'SealedSecret' }))).toBeUndefined();
    expect(apiStatus(response(500, '{not json', 'application/json'))).toBeUndefined();
  });

  it.each([
    [status(404, 'NotFound', 'services "sealed-secrets-controller" not found'), /^cannot get sealed secret service: service "sealed-secrets-controller" in namespace "kube-system" not found; use --controller-name and --controller-namespace/],
    [status(403, 'Forbidden', 'services "x" is forbidden: User "bob" cannot get resource "services"'), /^cannot get sealed secret service: services "x" is forbidden: User "bob" cannot get resource "services"; ask for permission to get services in namespace "kube-system"$/],
    [status(500, 'InternalError', 'etcd is down'), /^cannot get sealed secret service kube-system\/sealed-secrets-controller: 500: etcd is down; use --controller-name/],
  ])('Service lookup %#', (answer, message) => {
    expect(serviceFailure(answer, svc).message).toMatch(message);
  });

  it('reads the first port name of the Service, "" when unnamed, and refuses a Service without ports', () => {
    expect(firstPortName(response(200, { spec: { ports: [{ name: 'http', port: 8080 }, { name: 'metrics' }] } }), svc)).toBe('http');
    expect(firstPortName(response(200, { spec: { ports: [{ port: 8080 }] } }), svc)).toBe('');
    expect(() => firstPortName(response(200, { spec: { ports: [] } }), svc)).toThrow(/has no ports, so it is not the sealed-secrets controller's; use --controller-name/);
    expect(() => firstPortName(response(200, 'html'), svc)).toThrow(/is not JSON/);
  });

  it.each([
    ['403 from RBAC, certificate', status(403, 'Forbidden', 'services "http:sealed-secrets-controller:http" is forbidden: User "bob" cannot get resource "services/proxy"'), 'fetch',
      /^you lack the RBAC permission "get" on services\/proxy .*User "bob" cannot get resource "services\/proxy"; ask for it for service "sealed-secrets-controller" in namespace "kube-system", or seal offline with --cert/],
    ['403 from RBAC, verify', status(403, 'Forbidden', 'forbidden'), 'validate', /^you lack the RBAC permission "create" on services\/proxy .*: forbidden; ask for it for service "sealed-secrets-controller" in namespace "kube-system"$/],
    ['no endpoints', status(503, 'ServiceUnavailable', 'no endpoints available for service "sealed-secrets-controller"'), 'fetch',
      /^the sealed-secrets controller behind service "sealed-secrets-controller" in namespace "kube-system" is not running or not ready \(503: no endpoints available for service "sealed-secrets-controller"\); check its pods and logs \(kubectl get pods -n kube-system\)$/],
    ['connection refused', status(503, 'ServiceUnavailable', 'error trying to reach service: dial tcp 10.1.2.3:8080: connect: connection refused'), 'validate', /is not running or not ready \(503: error trying to reach service: dial tcp 10\.1\.2\.3:8080: connect: connection refused\)/],
    ['bad gateway', response(502, 'upstream died', 'text/plain', 'Bad Gateway'), 'reencrypt', /is not running or not ready \(502 Bad Gateway: upstream died\)/],
    ['Service gone', status(404, 'NotFound', 'services "sealed-secrets-controller" not found'), 'fetch', /is gone .*; use --controller-name and --controller-namespace/],
    ['not the controller', response(404, '404 page not found\n', 'text/plain', 'Not Found'), 'fetch', /answered 404 Not Found: 404 page not found: it does not look like the sealed-secrets controller; check --controller-name/],
    ['controller error', response(500, 'cannot get certificate\n', 'text/plain', 'Internal Server Error'), 'fetch', /^the controller answered 500 Internal Server Error: cannot get certificate$/],
  ] as const)('proxy: %s', (_name, answer, mode, message) => {
    const failure = proxyFailure(answer, svc, mode);
    expect(failure.message).toMatch(message);
    expect(failure.message).not.toContain('\n');
  });

  it('prints a re-encrypted SealedSecret typed and without creationTimestamp, deletionTimestamp and generation', () => {
    const answer = Buffer.from(JSON.stringify({
      metadata: { name: 'db', namespace: 'demo', creationTimestamp: null, deletionTimestamp: '2020-01-01T00:00:00Z', generation: 4, annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } },
      spec: { template: { metadata: { name: 'db', namespace: 'demo' }, type: 'Opaque' }, encryptedData: { b: 'AgB', a: 'AgA' } },
    }));
    expect(printableReencrypted(answer, 'json')).toBe(`{
  "kind": "SealedSecret",
  "apiVersion": "bitnami.com/v1alpha1",
  "metadata": {
    "name": "db",
    "namespace": "demo",
    "annotations": {
      "sealedsecrets.bitnami.com/namespace-wide": "true"
    }
  },
  "spec": {
    "template": {
      "metadata": {
        "name": "db",
        "namespace": "demo"
      },
      "type": "Opaque"
    },
    "encryptedData": {
      "a": "AgA",
      "b": "AgB"
    }
  }
}
`);
    expect(printableReencrypted(answer, 'yaml')).toMatch(/^---\napiVersion: bitnami.com\/v1alpha1\nkind: SealedSecret\nmetadata:\n  annotations:/);
    expect(() => printableReencrypted(Buffer.from('<html>'), 'json')).toThrow(/controller's answer is not JSON/);
  });
});

// ---- the connection --------------------------------------------------------------------------

describe('kubeconfig rules and kubectl flags', () => {
  const flags = (args: string[]) => parseOptions(args, {}).kube;
  const data: KubeconfigData = {
    clusters: [
      { name: 'prod', server: 'https://prod:6443', caData: 'Q0E=', skipTLSVerify: false },
      { name: 'dev', server: 'https://dev:6443', caFile: '/ca.crt', skipTLSVerify: false, tlsServerName: 'dev.local' },
    ],
    users: [
      { name: 'alice', certData: 'Y2VydA==', keyData: 'a2V5' },
      { name: 'bob', token: 'bob-token' },
    ],
    contexts: [
      { name: 'prod', cluster: 'prod', user: 'alice', namespace: 'apps' },
      { name: 'dev', cluster: 'dev', user: 'bob' },
    ],
    currentContext: 'prod',
  };
  const resolve = (args: string[], config: KubeconfigData | null = data, env: Record<string, string> = {}) => {
    const file = join(dir, config ? 'kubeconfig-stub' : 'kubeconfig-absent');
    if (config) writeFileSync(file, 'parsed by the stub below\n');
    return resolveConnection({ kubeconfig: '', flags: flags(args), env: { KUBECONFIG: file, ...env }, parse: () => config as KubeconfigData, serviceAccountDir: join(dir, 'no-sa') });
  };

  it('uses the current context, or --context, --cluster and --user', () => {
    expect(resolve([])).toMatchObject({ cluster: { name: 'prod', server: 'https://prod:6443', caData: 'Q0E=' }, user: { name: 'alice', certData: 'Y2VydA==' }, timeoutMs: 0 });
    expect(resolve(['--context', 'dev'])).toMatchObject({ cluster: { name: 'dev', tlsServerName: 'dev.local' }, user: { name: 'bob', token: 'bob-token' } });
    expect(resolve(['--cluster', 'dev', '--user', 'bob'])).toMatchObject({ cluster: { name: 'dev' }, user: { name: 'bob' } });
  });

  it('-n/--namespace changes nothing of the connection', () => {
    expect(resolve(['-n', 'elsewhere'])).toEqual(resolve([]));
  });

  it('overrides server, TLS and credentials from the flags, as client-go', () => {
    const c = resolve(['--server', 'prod.example:443', '--insecure-skip-tls-verify', '--token', 't0k', '--tls-server-name', 'api', '--proxy-url', 'http://proxy:3128']);
    expect(c.cluster).toEqual({ name: 'prod', server: 'https://prod.example:443', skipTLSVerify: true, tlsServerName: 'api', proxyUrl: 'http://proxy:3128' });
    expect(c.user).toMatchObject({ name: 'alice', token: 't0k' });
    const ca = resolve(['--certificate-authority', '/other-ca.crt', '--client-certificate', '/c.crt', '--client-key', '/c.key']);
    expect(ca.cluster).toMatchObject({ caFile: '/other-ca.crt', skipTLSVerify: false });
    expect(ca.cluster.caData).toBeUndefined();
    expect(ca.user).toMatchObject({ certFile: '/c.crt', keyFile: '/c.key' });
    expect(ca.user.certData).toBeUndefined();
    expect(ca.user.keyData).toBeUndefined();
  });

  it('takes HTTPS_PROXY/NO_PROXY when no proxy-url is set, as client-go', () => {
    const env = { HTTPS_PROXY: 'http://corp-proxy:3128', NO_PROXY: '.internal' };
    expect(resolve([], data, env).cluster.proxyUrl).toBe('http://corp-proxy:3128');
    expect(resolve(['--proxy-url', 'socks5://mine:1080'], data, env).cluster.proxyUrl).toBe('socks5://mine:1080');
    expect(resolve(['--server', 'https://api.internal:6443'], data, env).cluster.proxyUrl).toBeUndefined();
    expect(resolve(['--server', 'https://127.0.0.1:6443'], data, env).cluster.proxyUrl).toBeUndefined();
    expect(resolve([], data, { HTTP_PROXY: 'http://only-http:3128' }).cluster.proxyUrl).toBeUndefined(); // the server is https
  });

  it('impersonates with --as, --as-group (repeatable) and --as-uid', () => {
    const c = resolve(['--as', 'carol', '--as-group', 'g1', '--as-group', 'g2', '--as-uid', 'u-1']);
    expect(c.user.impersonateUser).toBe('carol');
    expect(c.headers).toEqual({ 'Impersonate-Group': ['g1', 'g2'], 'Impersonate-Uid': 'u-1' });
    expect(() => resolve(['--as-group', 'g1'])).toThrow(UsageError);
  });

  it('names what does not exist', () => {
    expect(() => resolve(['--context', 'nope'])).toThrow(/^context "nope" not found in kubeconfig .*; check --context/);
    expect(() => resolve(['--cluster', 'nope'])).toThrow(/^cluster "nope" not found/);
    expect(() => resolve(['--user', 'nope'])).toThrow(/^user "nope" not found/);
    expect(() => resolve([], { ...data, currentContext: undefined })).toThrow(/has no current-context; pass --context/);
    expect(() => resolve([], { ...data, currentContext: 'gone' })).toThrow(/current-context "gone" is not defined/);
  });

  it('works from --server alone, and from the in-cluster service account', () => {
    expect(resolve(['--server', 'https://api:6443', '--token', 't'], null)).toMatchObject({ cluster: { server: 'https://api:6443' }, user: { token: 't' }, source: '--server' });
    expect(() => resolve([], null)).toThrow(/^no Kubernetes cluster configured: \$KUBECONFIG \(".*"\) names no existing file/);
    const sa = join(dir, 'sa');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'sa-token');
    const c = resolveConnection({ kubeconfig: '', flags: flags([]), env: { KUBECONFIG: join(dir, 'none'), KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, parse: () => data, serviceAccountDir: sa });
    expect(c).toMatchObject({ cluster: { server: 'https://[fd00::1]:443', caFile: `${sa}/ca.crt` }, user: { authProvider: { config: { tokenFile: `${sa}/token` } } }, source: 'in-cluster service account' });
  });

  it('an empty kubeconfig counts as none', () => {
    const empty = join(dir, 'empty.kubeconfig');
    writeFileSync(empty, '');
    expect(() => resolveConnection({ kubeconfig: empty, flags: flags([]), env: {}, parse: () => data, serviceAccountDir: join(dir, 'no-sa') })).toThrow(/^no Kubernetes cluster configured: --kubeconfig ".*empty.kubeconfig" is empty/);
    expect(resolveConnection({ kubeconfig: empty, flags: flags(['--server', 'https://x']), env: {}, parse: () => data }).cluster.server).toBe('https://x');
  });

  it('merges kubeconfig files: the first to define a name wins', () => {
    const merged = mergeKubeconfigs([
      { clusters: [{ name: 'a', server: 'https://first', skipTLSVerify: false }], users: [], contexts: [], currentContext: '' },
      { clusters: [{ name: 'a', server: 'https://second', skipTLSVerify: false }, { name: 'b', server: 'https://b', skipTLSVerify: false }], users: [{ name: 'u' }], contexts: [], currentContext: 'ctx' },
    ]);
    expect(merged.clusters.map((c) => c.server)).toEqual(['https://first', 'https://b']);
    expect(merged.currentContext).toBe('ctx');
  });

  it.each([
    ['0', 0], ['', 0], ['5', 5000], ['1m30s', 90_000], ['250ms', 250],
  ])('--request-timeout %j is %d ms', (value, ms) => {
    expect(parseRequestTimeout(value)).toBe(ms);
  });
  it('refuses a malformed --request-timeout', () => {
    expect(() => parseRequestTimeout('soon')).toThrow(UsageError);
    expect(() => parseRequestTimeout('-1s')).toThrow(UsageError);
  });
  it('normalizes servers', () => {
    expect(normalizeServer('10.0.0.1:6443/')).toBe('https://10.0.0.1:6443');
    expect(normalizeServer('http://127.0.0.1:8001')).toBe('http://127.0.0.1:8001');
  });
});

// ---- against a fake API server ---------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
type Handler = (req: Seen, res: ServerResponse) => void;

let server: Server;
let base = '';
let handler: Handler = (_req, res) => res.writeHead(500).end();
const seen: Seen[] = [];
const warnings: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  seen.length = 0;
  warnings.length = 0;
});

const json = (res: ServerResponse, code: number, body: object) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const kstatus = (res: ServerResponse, code: number, reason: string, message: string) => json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });

/** A fake API server: Service (port named `portName`), the proxied controller, and the ConfigMap. */
function cluster(options: {
  portName?: string;
  service?: 'ok' | 'missing' | 'forbidden';
  proxy?: (req: Seen, res: ServerResponse) => void;
  configMap?: 'ok' | 'missing' | 'forbidden' | 'empty';
} = {}): Handler {
  const port = options.portName ?? 'http';
  return (req, res) => {
    if (req.url === '/api/v1/namespaces/kube-system/services/sealed-secrets-controller') {
      if (options.service === 'missing') return kstatus(res, 404, 'NotFound', 'services "sealed-secrets-controller" not found');
      if (options.service === 'forbidden') return kstatus(res, 403, 'Forbidden', 'services "sealed-secrets-controller" is forbidden: User "bob" cannot get resource "services"');
      return json(res, 200, { kind: 'Service', spec: { ports: [{ ...(port ? { name: port } : {}), port: 8080 }] } });
    }
    if (req.url.startsWith(`/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:${port}/proxy/`)) {
      if (options.proxy) return options.proxy(req, res);
      return res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(CERT);
    }
    if (req.url === '/api/v1/namespaces/kube-system/configmaps/sealed-secrets-cert') {
      if (options.configMap === 'ok') return json(res, 200, { kind: 'ConfigMap', data: { 'cert.pem': CERT } });
      if (options.configMap === 'empty') return json(res, 200, { kind: 'ConfigMap', data: {} });
      if (options.configMap === 'forbidden') return kstatus(res, 403, 'Forbidden', 'configmaps "sealed-secrets-cert" is forbidden');
      return kstatus(res, 404, 'NotFound', 'configmaps "sealed-secrets-cert" not found');
    }
    return kstatus(res, 404, 'NotFound', `unexpected ${req.method} ${req.url}`);
  };
}

const context = (format: 'json' | 'yaml' = 'json'): RemoteContext => ({ env: { KUBECONFIG: join(dir, 'absent') }, warn: (m) => warnings.push(m), format });
const opts = (args: string[] = []) => parseOptions(['--server', base, '--token', 'tok', ...args], {});
const sealedDoc = (name: string) => ({
  apiVersion: 'bitnami.com/v1alpha1',
  kind: 'SealedSecret',
  metadata: { name, namespace: 'demo' },
  spec: { encryptedData: { password: 'AgBy' }, template: { metadata: { name, namespace: 'demo' } } },
});
const input = (...names: string[]) => Buffer.from(names.map((n) => JSON.stringify(sealedDoc(n))).join('\n'));

describe('fetching the certificate', () => {
  it('reads the port name, then GETs cert.pem through the proxy with upstream\'s Accept, returning the bytes unchanged', async () => {
    handler = cluster();
    const pem = await fetchCertificate(opts(['--as', 'carol', '--as-group', 'g1', '--as-group', 'g2']), context());
    expect(pem.toString()).toBe(CERT);
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/v1/namespaces/kube-system/services/sealed-secrets-controller',
      'GET /api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem',
    ]);
    expect(seen[1]?.headers.accept).toBe('application/x-pem-file, */*');
    expect(seen[1]?.headers.authorization).toBe('Bearer tok');
    expect(seen[1]?.headers['impersonate-user']).toBe('carol');
    expect(seen[1]?.headers['impersonate-group']).toBe('g1, g2');
    expect(warnings).toEqual([]);
  });

  it('uses an unnamed port as upstream does (http:<name>:), and honours --controller-name/--controller-namespace, not -n', async () => {
    handler = (req, res) => {
      if (req.url === '/api/v1/namespaces/ops/services/sealer') return json(res, 200, { spec: { ports: [{ port: 80 }] } });
      if (req.url === '/api/v1/namespaces/ops/services/http:sealer:/proxy/v1/cert.pem') return res.writeHead(200).end(CERT);
      return kstatus(res, 404, 'NotFound', req.url);
    };
    expect((await fetchCertificate(opts(['--controller-name', 'sealer', '--controller-namespace', 'ops', '-n', 'apps']), context())).toString()).toBe(CERT);
  });

  it.each([
    ['the Service is missing', { service: 'missing' as const }, /service "sealed-secrets-controller" in namespace "kube-system" not found/],
    ['services/proxy is forbidden', { proxy: (_q: Seen, r: ServerResponse) => kstatus(r, 403, 'Forbidden', 'cannot get resource "services/proxy"') }, /RBAC permission "get" on services\/proxy/],
    ['the controller is down', { proxy: (_q: Seen, r: ServerResponse) => kstatus(r, 503, 'ServiceUnavailable', 'no endpoints available') }, /not running or not ready/],
  ])('falls back to the ConfigMap when %s, saying so in one line', async (_name, setup, reason) => {
    handler = cluster({ ...setup, configMap: 'ok' });
    expect((await fetchCertificate(opts(), context())).toString()).toBe(CERT);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: cannot fetch the certificate through the controller \(.*\); using the one it published in ConfigMap kube-system\/sealed-secrets-cert$/);
    expect(warnings[0]).toMatch(reason);
    expect(seen.at(-1)?.url).toBe('/api/v1/namespaces/kube-system/configmaps/sealed-secrets-cert');
  });

  it.each([
    ['missing', /the fallback failed too: ConfigMap "sealed-secrets-cert" in namespace "kube-system" not found; use --controller-name and --controller-namespace/],
    ['forbidden', /the fallback failed too: cannot read ConfigMap "sealed-secrets-cert" in namespace "kube-system": configmaps "sealed-secrets-cert" is forbidden;/],
    ['empty', /the fallback failed too: ConfigMap "sealed-secrets-cert" in namespace "kube-system" has no cert.pem;/],
  ] as const)('reports both failures in one line when the ConfigMap is %s too', async (configMap, message) => {
    handler = cluster({ service: 'missing', configMap });
    const failure = await fetchCertificate(opts(), context()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UserError);
    expect((failure as Error).message).toMatch(/^cannot fetch certificate: cannot get sealed secret service: service "sealed-secrets-controller" in namespace "kube-system" not found; the fallback failed too: /);
    expect((failure as Error).message).toMatch(message);
    expect((failure as Error).message).not.toContain('\n');
    expect(warnings).toEqual([]);
  });

  it('does not try the ConfigMap when the API server rejects the credentials (401)', async () => {
    handler = (_req, res) => kstatus(res, 401, 'Unauthorized', 'Unauthorized');
    await expect(fetchCertificate(opts(), context())).rejects.toThrow(/^the Kubernetes API server at http:\/\/127\.0\.0\.1:\d+ does not accept the credentials of user "kubeseal" \(401 Unauthorized\); check the kubeconfig's user, --token/);
    expect(seen).toHaveLength(1);
  });

  it('says when there is no kubeconfig, suggesting --cert', async () => {
    await expect(fetchCertificate(parseOptions([], {}), context())).rejects.toThrow(
      /^fetching the certificate needs the cluster, but no kubeconfig was found \(\$KUBECONFIG \(".*absent"\) names no existing file\) and kubeseal is not running in a cluster; pass --kubeconfig, or seal offline with --cert <file or URL>$/,
    );
  });

  it('says when the API server cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(fetchCertificate(parseOptions(['--server', `http://127.0.0.1:${port}`], {}), context())).rejects.toThrow(
      new RegExp(`^cannot reach the Kubernetes API server at http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; check that the cluster is running`),
    );
  });

  it('gives up after --request-timeout', async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    await expect(fetchCertificate(opts(['--request-timeout', '300ms']), context())).rejects.toThrow(/did not answer within 0.3 s \(--request-timeout\)/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reads a kubeconfig file with client-node: server, token and current context', async () => {
    handler = cluster();
    const file = join(dir, 'kubeconfig-http');
    writeFileSync(file, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'fake',
      clusters: [{ name: 'fake', cluster: { server: base } }, { name: 'broken', cluster: { server: 'http://127.0.0.1:1' } }],
      users: [{ name: 'u', user: { token: 'from-file' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'u' } }, { name: 'broken', context: { cluster: 'broken', user: 'u' } }],
    }));
    expect((await fetchCertificate(parseOptions(['--kubeconfig', file], {}), context())).toString()).toBe(CERT);
    expect(seen[0]?.headers.authorization).toBe('Bearer from-file');
    await expect(fetchCertificate(parseOptions(['--kubeconfig', file, '--context', 'broken'], {}), context())).rejects.toThrow(/cannot reach the Kubernetes API server at http:\/\/127\.0\.0\.1:1:/);
  });
});

describe('several kubeconfig files in $KUBECONFIG', () => {
  it('are merged, the first file to define a name or the current context winning; missing files are skipped', async () => {
    handler = cluster();
    const a = join(dir, 'merge-a');
    const b = join(dir, 'merge-b');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    writeFileSync(join(a, 'config'), stringify({ 'current-context': 'ctx', contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }], users: [{ name: 'u', user: { token: 'first' } }] }));
    writeFileSync(join(b, 'config'), stringify({
      'current-context': 'other',
      clusters: [{ name: 'c', cluster: { server: base } }],
      users: [{ name: 'u', user: { token: 'second' } }],
      contexts: [{ name: 'other', context: { cluster: 'c', user: 'u' } }],
    }));
    const ctx = { ...context(), env: { KUBECONFIG: `${join(dir, 'absent')}:${join(a, 'config')}:${join(b, 'config')}` } };
    expect((await fetchCertificate(parseOptions([], {}), ctx)).toString()).toBe(CERT);
    expect(seen[0]?.headers.authorization).toBe('Bearer first');
  });
});

describe('--validate', () => {
  it('POSTs each SealedSecret as read (apiVersion and kind kept) to /v1/verify', async () => {
    handler = cluster({ proxy: (_req, res) => res.writeHead(200).end() });
    await validate(input('a', 'b'), opts(), context());
    const posts = seen.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.url)).toEqual(Array(2).fill('/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/verify'));
    expect(posts[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(posts[0]?.body ?? '')).toEqual(sealedDoc('a'));
  });

  it('409 means the SealedSecret does not open: upstream\'s message, stopping there', async () => {
    handler = cluster({ proxy: (req, res) => res.writeHead(JSON.parse(req.body).metadata.name === 'bad' ? 409 : 200).end() });
    await expect(validate(input('good', 'bad', 'never'), opts(), context())).rejects.toThrow(/^unable to decrypt sealed secret: bad$/);
    expect(seen.filter((r) => r.method === 'POST')).toHaveLength(2);
  });

  it.each([
    [{ service: 'missing' as const }, /^cannot validate sealed secret: cannot get sealed secret service: service "sealed-secrets-controller" in namespace "kube-system" not found; use --controller-name/],
    [{ proxy: (_q: Seen, r: ServerResponse) => kstatus(r, 403, 'Forbidden', 'no') }, /^cannot validate sealed secret: you lack the RBAC permission "create" on services\/proxy/],
    [{ proxy: (_q: Seen, r: ServerResponse) => kstatus(r, 503, 'ServiceUnavailable', 'no endpoints available') }, /^cannot validate sealed secret: the sealed-secrets controller .* is not running or not ready/],
    [{ proxy: (_q: Seen, r: ServerResponse) => r.writeHead(429, { 'content-type': 'text/plain' }).end('limit exceeded\n') }, /^cannot validate sealed secret: the controller answered 429 Too Many Requests: limit exceeded$/],
  ])('other failures: cannot validate sealed secret: ... (%#)', async (setup, message) => {
    handler = cluster({ ...setup, configMap: 'ok' });
    await expect(validate(input('a'), opts(), context())).rejects.toThrow(message);
    expect(warnings).toEqual([]);
  });

  it('waits out the controller\'s rate limit (429 with Retry-After), as client-go does, 10 retries at most', async () => {
    let answered = 0;
    handler = cluster({ proxy: (_req, res) => (++answered % 3 === 0 ? res.writeHead(200).end() : res.writeHead(429, { 'retry-after': '2', 'content-type': 'text/plain' }).end('limit exceeded\n')) });
    const waits: number[] = [];
    const sleepy = { ...context(), sleep: async (ms: number) => { waits.push(ms); } };
    await validate(input('a', 'b'), opts(), sleepy);
    expect(waits).toEqual([2000, 2000, 2000, 2000]);
    handler = cluster({ proxy: (_req, res) => res.writeHead(429, { 'retry-after': '60' }).end() });
    waits.length = 0;
    await expect(validate(input('a'), opts(), sleepy)).rejects.toThrow(/^cannot validate sealed secret: the controller answered 429 Too Many Requests$/);
    expect(waits).toEqual(Array(10).fill(10_000));
  });

  it('refuses input that is not a SealedSecret before calling anyone', async () => {
    await expect(validate(Buffer.from('apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n'), opts(), context())).rejects.toThrow(/not a SealedSecret/);
    await expect(validate(Buffer.from(''), opts(), context())).rejects.toThrow(/no SealedSecret found in the input/);
    expect(seen).toEqual([]);
  });
});

describe('--re-encrypt', () => {
  const rotated = (req: Seen, res: ServerResponse) => {
    const sent = JSON.parse(req.body) as ReturnType<typeof sealedDoc>;
    json(res, 200, { metadata: { ...sent.metadata, creationTimestamp: null, generation: 7 }, spec: { ...sent.spec, encryptedData: { password: 'AgNEW' } } });
  };

  it('POSTs each to /v1/rotate and prints the answers in the chosen format', async () => {
    handler = cluster({ proxy: rotated });
    const yaml = await reencrypt(input('a', 'b'), opts(), context('yaml'));
    expect(seen.filter((r) => r.method === 'POST').map((r) => r.url.replace(/.*\/proxy/, ''))).toEqual(['/v1/rotate', '/v1/rotate']);
    expect(yaml.match(/^---\napiVersion: bitnami.com\/v1alpha1\nkind: SealedSecret\n/gm)).toHaveLength(2);
    expect(yaml).toContain('password: AgNEW');
    expect(yaml).not.toMatch(/creationTimestamp|generation/);
    const json = await reencrypt(input('a'), opts(), context());
    expect(JSON.parse(json)).toMatchObject({ kind: 'SealedSecret', metadata: { name: 'a', namespace: 'demo' }, spec: { encryptedData: { password: 'AgNEW' } } });
  });

  it('names the SealedSecret the controller could not re-encrypt', async () => {
    handler = cluster({ proxy: (_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('error decrypting secret\n') });
    await expect(reencrypt(input('a'), opts(), context())).rejects.toThrow(/^cannot re-encrypt secret demo\/a: the controller answered 500 Internal Server Error: error decrypting secret$/);
    handler = cluster({ proxy: (_req, res) => res.writeHead(409).end() });
    await expect(reencrypt(input('a'), opts(), context())).rejects.toThrow(/^unable to rotate secret$/);
  });
});

describe('kubeseal keys and --re-encrypt of many files, through the controller', () => {
  const FP_NEW = `SHA256:${'N'.repeat(43)}`;
  const FP_OLD = `SHA256:${'O'.repeat(43)}`;
  const keysAnswer = {
    keys: [
      { name: 'key-new', fingerprint: FP_NEW, notBefore: '2026-12-01T00:00:00Z', sealing: true, retired: false, sealedSecrets: 1 },
      { name: 'key-old', fingerprint: FP_OLD, notBefore: '2026-11-01T00:00:00Z', sealing: false, retired: false, sealedSecrets: 1 },
    ],
    missing: [],
  };
  const controller = (req: Seen, res: ServerResponse) => {
    if (req.url.endsWith('/proxy/v1/keys')) return json(res, 200, keysAnswer);
    if (req.url.endsWith('/proxy/v1/rotate')) {
      const sent = JSON.parse(req.body) as ReturnType<typeof sealedDoc>;
      return json(res, 200, { ...sent, spec: { ...sent.spec, encryptedData: { password: 'AgNEW' } } });
    }
    return res.writeHead(404).end();
  };
  /** The API server also holds SealedSecrets demo/current (opened by the new key) and demo/stale (by the old one). */
  const withLive = (proxy: Handler): Handler => {
    const others = cluster({ proxy });
    return (req, res) => {
      const live = /^\/apis\/bitnami\.com\/v1alpha1\/namespaces\/demo\/sealedsecrets\/(current|stale)$/.exec(req.url);
      if (!live) return others(req, res);
      return json(res, 200, { ...sealedDoc(live[1] as string), status: { keyFingerprints: [live[1] === 'current' ? FP_NEW : FP_OLD] } });
    };
  };

  it('kubeseal keys GETs /v1/keys through the proxy', async () => {
    handler = cluster({ proxy: controller });
    expect(await listKeys(opts(), context())).toEqual(keysAnswer);
    expect(seen.map((r) => `${r.method} ${r.url}`)).toContain('GET /api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/keys');
  });

  it('an upstream controller (plain 404 for /v1/keys) is named as such, with the kubectl way to list the keys', async () => {
    handler = cluster({ proxy: (_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n') });
    await expect(listKeys(opts(), context())).rejects.toThrow(/does not serve \/v1\/keys \(upstream's controller, or an older one\); list the key Secrets with kubectl get secrets -n kube-system -l sealedsecrets.bitnami.com\/sealed-secrets-key$/);
  });

  it('skips a SealedSecret whose live copy is identical and opened by the sealing key; re-encrypts the rest', async () => {
    handler = withLive(controller);
    const reencrypter = await controllerReencrypter(opts(), context());
    const sealed = (name: string) => readSealedSecret(sealedDoc(name), name);
    expect(await reencrypter.reencrypt(sealed('current'))).toEqual({ current: true });
    expect(await reencrypter.reencrypt(sealed('stale'))).toMatchObject({ current: false, manifest: { spec: { encryptedData: { password: 'AgNEW' } } } });
    // not in the cluster, or different ciphertexts than the live copy: re-encrypted
    expect(await reencrypter.reencrypt(sealed('elsewhere'))).toMatchObject({ current: false });
    const edited = { ...sealed('current'), spec: { ...sealed('current').spec, encryptedData: { password: 'AgEDITED' } } };
    expect(await reencrypter.reencrypt(edited)).toMatchObject({ current: false });
    expect(seen.filter((r) => r.url.endsWith('/v1/rotate')).length).toBe(3);
  });

  it('without /v1/keys (upstream\'s controller) every SealedSecret is re-encrypted', async () => {
    handler = withLive((req, res) => (req.url.endsWith('/v1/keys') ? res.writeHead(404).end() : controller(req, res)));
    const reencrypter = await controllerReencrypter(opts(), context());
    expect(await reencrypter.reencrypt(readSealedSecret(sealedDoc('current'), 'current'))).toMatchObject({ current: false });
  });
});
