/**
 * The HTTP app driven directly (capabilities are plain functions): upstream's paths, status codes
 * and content types, the limits in front of the decrypting endpoints, and what never leaks.
 * test/integration/http-api.test.ts proves the same against the running controller.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { readFixture, sealingKey, sealingPublicKey } from '../test/fixtures/fixtures.ts';
import { DecryptError } from '../shared/errors.ts';
import { readSealedSecret } from '../shared/kube.ts';
import { unsealSealedSecret } from '../shared/sealed-secret.ts';
import { createLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { closeServer, createApp, createMetricsApp, listen, parseListenAddress, startServers, type ServerOptions } from './server.ts';

const CERT = readFixture('sealing-cert.pem');
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

const sealedSecret = (annotations: Record<string, string> = {}, template?: unknown) => ({
  apiVersion: 'bitnami.com/v1alpha1',
  kind: 'SealedSecret',
  metadata: { name: 'db', namespace: 'app', annotations },
  spec: { encryptedData: { password: 'AAAA' }, ...(template ? { template } : {}) },
});

async function serve(options: Partial<ServerOptions> & { opens?: boolean; hasKey?: boolean } = {}) {
  const logs: string[] = [];
  const metrics = createMetrics('test');
  const opened: unknown[] = [];
  const app = createApp({
    capabilities: {
      newest: () => (options.hasKey === false ? undefined : { certificate: CERT, publicKey: sealingPublicKey() }),
      open: async (sealed) => {
        opened.push(sealed);
        if (options.opens === false) throw new DecryptError('no-key', 'no key could decrypt secret (password)');
        return { password: Buffer.from('topsecret-value').toString('base64') };
      },
      keyCount: () => 1,
    },
    rateLimit: 2,
    rateLimitBurst: 2,
    trustedProxyHops: 1,
    rsaOpsPerSecond: 1000,
    maxRequestRsaOps: 1000,
    maxRequestBytes: 4096,
    metrics,
    log: createLogger({ level: 'DEBUG', format: 'text', infoToStdout: true, write: (_s, line) => logs.push(line) }),
    ...options,
  });
  const server = createServer(app);
  servers.push(server);
  const base = `http://${await listen(server, '127.0.0.1:0')}`;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
  return { base, post, logs, metrics, opened };
}

describe('the HTTP app', () => {
  it('/healthz answers ok; unknown paths 404 as Go does', async () => {
    const { base } = await serve();
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    const missing = await fetch(`${base}/nope`);
    expect([missing.status, await missing.text()]).toEqual([404, '404 page not found\n']);
  });

  it('/v1/keys answers the key report as JSON (GET only); without the capability it is not there', async () => {
    const report = { keys: [{ name: 'k1', fingerprint: 'SHA256:a', notBefore: '2026-01-01T00:00:00Z', sealing: true, retired: false, sealedSecrets: 3 }], missing: [] };
    const { base } = await serve({ capabilities: { newest: () => undefined, open: async () => ({}), keyCount: () => 1, keys: () => report } });
    const response = await fetch(`${base}/v1/keys`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(report);
    expect((await fetch(`${base}/v1/keys`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${(await serve()).base}/v1/keys`)).status).toBe(404);
  });

  it('/v1/cert.pem serves the newest certificate as application/x-pem-file, 500 before there is a key', async () => {
    const withKey = await serve();
    const response = await fetch(`${withKey.base}/v1/cert.pem`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-pem-file');
    expect(await response.text()).toBe(CERT);
    const without = await serve({ hasKey: false });
    expect((await fetch(`${without.base}/v1/cert.pem`)).status).toBe(500);
  });

  it('/v1/verify: 200 when it opens, 409 when not, 500 for a body that is not one SealedSecret', async () => {
    expect((await (await serve()).post('/v1/verify', sealedSecret())).status).toBe(200);
    expect((await (await serve({ opens: false })).post('/v1/verify', sealedSecret())).status).toBe(409);
    const { post, opened } = await serve();
    expect((await post('/v1/verify', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } })).status).toBe(500);
    expect((await post('/v1/verify', `${JSON.stringify(sealedSecret())}\n---\n${JSON.stringify(sealedSecret())}`)).status).toBe(500);
    expect(opened).toEqual([]);
  });

  it('/v1/rotate re-seals the opened values for the same name, namespace and scope, as JSON', async () => {
    const { post, logs } = await serve();
    const response = await post('/v1/rotate', sealedSecret({ 'sealedsecrets.bitnami.com/namespace-wide': 'true' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await response.text();
    expect(body).not.toContain('topsecret-value');
    const rotated = readSealedSecret(JSON.parse(body), 'response');
    expect(rotated.metadata).toMatchObject({ name: 'db', namespace: 'app', annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } });
    const { secret } = unsealSealedSecret({ ...rotated, metadata: { ...rotated.metadata, name: 'renamed' } }, { keys: [sealingKey()], acceptDeprecatedV1Data: false });
    expect(Buffer.from(secret.data?.password ?? '', 'base64').toString()).toBe('topsecret-value');
    expect(logs.join('')).not.toContain('topsecret');
  });

  it('/v1/rotate refuses a template that widens the scope (400), and answers 500 when nothing opens', async () => {
    const { post } = await serve();
    const widening = await post('/v1/rotate', sealedSecret({}, { metadata: { annotations: { 'sealedsecrets.bitnami.com/cluster-wide': 'true' } } }));
    expect(widening.status).toBe(400);
    expect(await widening.text()).toMatch(/wider scope/);
    const closed = await serve({ opens: false });
    const failed = await closed.post('/v1/rotate', sealedSecret());
    expect([failed.status, await failed.text()]).toEqual([500, 'error decrypting secret\n']);
  });

  it('limits the decrypting endpoints: rate (429 with Retry-After) and body size (413)', async () => {
    let now = 1_000_000;
    const { post } = await serve({ now: () => now });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await post('/v1/verify', sealedSecret())).status);
    expect(codes).toEqual([200, 200, 429]);
    const limited = await post('/v1/verify', sealedSecret());
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    now += 1000;
    expect((await post('/v1/verify', sealedSecret())).status).toBe(200);
    const big = await post('/v1/rotate', 'x'.repeat(5000));
    expect(big.status).toBe(413);
  });

  it('counts requests by path, code and method', async () => {
    const { base, post, metrics } = await serve();
    await fetch(`${base}/v1/cert.pem`);
    await post('/v1/verify', sealedSecret());
    const counted = (await metrics.httpRequests.get()).values.map((v) => `${v.labels.method} ${v.labels.path} ${v.labels.code}: ${v.value}`).sort();
    expect(counted).toEqual(['get /v1/cert.pem 200: 1', 'post /v1/verify 200: 1']);
  });

  it('the metrics app serves /metrics only', async () => {
    const metrics = createMetrics('v9');
    const server = createServer(createMetricsApp(metrics));
    servers.push(server);
    const base = `http://${await listen(server, '127.0.0.1:0')}`;
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^sealed_secrets_controller_build_info\{revision="v9"\} 1$/m);
    expect((await fetch(`${base}/v1/cert.pem`)).status).toBe(404);
  });

  it('startServers listens on both addresses, or fails as a whole when one is taken', async () => {
    const options = {
      capabilities: { newest: () => undefined, open: async () => ({}), keyCount: () => 0 }, rateLimit: 1, rateLimitBurst: 1, maxRequestBytes: 1024,
      trustedProxyHops: 1, rsaOpsPerSecond: 1000, maxRequestRsaOps: 1000,
      metrics: createMetrics('test'), log: createLogger({ level: 'ERROR', format: 'text', infoToStdout: true, write: () => undefined }),
      listenAddr: '127.0.0.1:0', listenMetricsAddr: '127.0.0.1:0', readTimeoutMs: 10_000, writeTimeoutMs: 10_000,
    };
    const servers = await startServers(options);
    expect((await fetch(`http://${servers.http}/healthz`)).status).toBe(200);
    expect((await fetch(`http://${servers.metrics}/metrics`)).status).toBe(200);
    await expect(startServers({ ...options, listenAddr: servers.http })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await servers.close();
    await expect(fetch(`http://${servers.http}/healthz`)).rejects.toThrow();
  });

  it('reads listen addresses as Go does', () => {
    expect(parseListenAddress(':8080')).toEqual({ port: 8080 });
    expect(parseListenAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListenAddress('[::1]:8081')).toEqual({ host: '::1', port: 8081 });
    expect(() => parseListenAddress('8080')).toThrow(/invalid listen address "8080": use host:port or :port/);
  });
});
