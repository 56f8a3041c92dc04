/**
 * The API client's transport, against a local TLS server that offers HTTP/2 and HTTP/1.1 (as
 * kube-apiserver does). The server uses the throwaway sealing key of test/fixtures; the client
 * skips verification (insecure-skip-tls-verify), which is not what these specs are about.
 */
import { readFileSync } from 'node:fs';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { nonLoopbackAddress, startForwardProxy } from '../test/forward-proxy.ts';
import { createKubeClient, KubeApiError } from './kube-client.ts';

const fixture = (name: string) => readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url));

interface Seen {
  readonly alpn: string[];
  readonly versions: string[];
  readonly authorization: string[];
}

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function startServer(
  handler: (request: Http2ServerRequest, response: Http2ServerResponse) => void,
  host = '127.0.0.1',
): Promise<{ kubeConfig: KubeConfig; seen: Seen }> {
  const seen: Seen = { alpn: [], versions: [], authorization: [] };
  const server = createSecureServer({ key: fixture('sealing-key.pem'), cert: fixture('sealing-cert.pem'), allowHTTP1: true }, (request, response) => {
    seen.versions.push(request.httpVersion);
    seen.authorization.push(String(request.headers.authorization));
    handler(request, response);
  });
  server.on('secureConnection', (socket) => seen.alpn.push(String(socket.alpnProtocol)));
  await new Promise<void>((resolveListen) => server.listen(0, host === '127.0.0.1' ? host : '0.0.0.0', resolveListen));
  servers.push({ close: () => server.close() });
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'local', server: `https://${host}:${port}`, skipTLSVerify: true }],
    users: [{ name: 'tester', token: 'test-token' }],
    contexts: [{ name: 'local', cluster: 'local', user: 'tester' }],
    currentContext: 'local',
  });
  return { kubeConfig, seen };
}

const json = (response: Http2ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};

describe('createKubeClient', () => {
  it('speaks HTTP/1.1 only, with the credentials on every request', async () => {
    // Node's http2 client can spin forever when an in-flight stream is aborted (see
    // createDispatcher): HTTP/2 must not be negotiated even when the server prefers it.
    const { kubeConfig, seen } = await startServer((_request, response) => json(response, 200, { kind: 'Namespace' }));
    const client = createKubeClient(kubeConfig);
    for (let i = 0; i < 3; i++) expect(await client.request('GET', '/api/v1/namespaces/default')).toEqual({ kind: 'Namespace' });
    expect(seen.versions).toEqual(['1.1', '1.1', '1.1']);
    expect(seen.alpn.length).toBeGreaterThan(0);
    expect(new Set(seen.alpn)).toEqual(new Set(['http/1.1'])); // what TLS negotiated, per connection
    expect(seen.authorization).toEqual(Array(3).fill('Bearer test-token'));
  });

  it('an aborted request rejects at once and the client keeps working', async () => {
    const { kubeConfig } = await startServer((request, response) => {
      if (request.url.includes('slow')) return; // never answers
      json(response, 200, {});
    });
    const client = createKubeClient(kubeConfig);
    const controller = new AbortController();
    const slow = client.request('GET', '/slow', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stopping')), 50);
    await expect(slow).rejects.toThrow('stopping');
    expect(await client.request('GET', '/fast')).toEqual({});
  });

  it('errors carry the HTTP status and the Status reason; an unreachable server is code 0', async () => {
    const { kubeConfig } = await startServer((_request, response) => json(response, 409, { kind: 'Status', reason: 'Conflict', message: 'the object has been modified' }));
    const client = createKubeClient(kubeConfig);
    const error = await client.request('PUT', '/x', { body: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ code: 409, reason: 'Conflict', message: 'the object has been modified' });

    const unreachable = new KubeConfig();
    unreachable.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    await expect(createKubeClient(unreachable).request('GET', '/x')).rejects.toMatchObject({ code: 0, reason: 'Unreachable' });
  });

  it('goes through HTTPS_PROXY (CONNECT, HTTP/1.1 inside the tunnel) unless NO_PROXY names the server', async (context) => {
    // Loopback is never proxied: reach the server by a non-loopback address of this machine.
    const address = nonLoopbackAddress(networkInterfaces());
    if (!address) context.skip();
    const { kubeConfig, seen } = await startServer((_request, response) => json(response, 200, {}), address);
    const proxy = await startForwardProxy();
    servers.push({ close: () => void proxy.close() });
    const proxyUrl = proxy.url;
    const server = new URL(kubeConfig.getCurrentCluster()?.server ?? '').host;

    expect(await createKubeClient(kubeConfig, { env: { HTTPS_PROXY: proxyUrl } }).request('GET', '/x')).toEqual({});
    expect(proxy.requests).toEqual([`CONNECT ${server}`]);
    expect(seen.alpn).toEqual(['http/1.1']);

    expect(await createKubeClient(kubeConfig, { env: { HTTPS_PROXY: proxyUrl, NO_PROXY: address } }).request('GET', '/x')).toEqual({});
    expect(proxy.requests).toEqual([`CONNECT ${server}`]); // the second client went direct
  });

  it('fails in its own words on an answer that is not JSON, and passes a Status message on as one clean line', async () => {
    const secretish = 'cGFzc3dvcmQtdGhhdC1tdXN0LW5vdC1sZWFrLTEyMzQ1Njc4OTBBQkNERUY=';
    const { kubeConfig } = await startServer((request, response) => {
      if (request.url?.startsWith('/broken')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(`{"data":{"password":${secretish.slice(0, 12)}}}`);
      } else {
        json(response, 422, { kind: 'Status', reason: 'Invalid', message: `denied by webhook:\n\u001b[31m${secretish}\u001b[0m\nsee logs` });
      }
    });
    const client = createKubeClient(kubeConfig);
    const broken = await client.request('GET', '/broken').catch((error: unknown) => error);
    expect(broken).toBeInstanceOf(KubeApiError);
    expect((broken as KubeApiError).message).toMatch(/^GET \/broken: the API server's answer is not JSON \(/);
    expect((broken as KubeApiError).message).not.toContain(secretish.slice(0, 12));
    const refused = await client.request('POST', '/api/v1/namespaces/x/secrets', { body: {} }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 422, reason: 'Invalid' });
    const message = (refused as KubeApiError).message;
    expect(message).toMatch(/^denied by webhook: .*see logs$/);
    expect(message).not.toContain(secretish.slice(0, 20));
    expect(message).not.toMatch(/[\u0000-\u001f]/);
  });
});
