/**
 * In a pod behind an egress proxy: HTTPS_PROXY reaches the controller's in-cluster client, which
 * then tunnels to the API server with CONNECT (undici's ProxyAgent), as client-go does; NO_PROXY
 * and loopback addresses go direct. A proxy is never used for loopback, so the "API server" here
 * (a TLS server signed by a throwaway CA, as a cluster's CA signs kube-apiserver's) listens on the
 * host end of a veth pair this spec creates: a non-loopback address that stays on this machine.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inClusterAccess } from '../../controller/in-cluster.ts';
import { createKubeClient } from '../../controller/kube-client.ts';
import { createCertificateAuthority, issueCertificate } from '../../scripts/cluster/pki.ts';
import { startForwardProxy, type ForwardProxy } from '../forward-proxy.ts';
import { createNetns, netnsUnavailable, type Netns } from '../harness/netns.ts';

const noNetns = await netnsUnavailable();

describe.skipIf(noNetns !== null)(`the in-cluster client behind HTTPS_PROXY${noNetns ? ` (skipped: ${noNetns})` : ''}`, () => {
  let netns: Netns;
  let api: HttpsServer;
  let proxy: ForwardProxy;
  let apiPort = 0;
  const seen: { path: string; authorization: string }[] = [];
  const ca = createCertificateAuthority('in-cluster-proxy-ca');

  beforeAll(async () => {
    netns = await createNetns();
    const serving = issueCertificate(ca, { commonName: 'kube-apiserver', usage: 'server', ipAddresses: [netns.hostAddress] });
    api = createHttpsServer({ key: serving.key, cert: serving.cert }, (request, response) => {
      seen.push({ path: request.url ?? '', authorization: String(request.headers.authorization) });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"kind":"Namespace","metadata":{"name":"default"}}');
    });
    await new Promise<void>((resolve) => api.listen(0, netns.hostAddress, resolve));
    apiPort = (api.address() as AddressInfo).port;
    proxy = await startForwardProxy();
  });

  afterAll(async () => {
    await proxy?.close();
    api?.closeAllConnections();
    api?.close();
    await netns?.destroy();
  });

  const clientWith = (env: Record<string, string>) => {
    const files: Record<string, string> = { 'ca.crt': ca.cert, token: 'in-cluster-token\n' };
    const access = inClusterAccess({
      env: { KUBERNETES_SERVICE_HOST: netns.hostAddress, KUBERNETES_SERVICE_PORT: String(apiPort), ...env },
      readFile: (path) => files[path.split('/').pop() ?? ''] ?? '',
    });
    return createKubeClient(access);
  };

  it('tunnels through the proxy, verifies the API server against the cluster CA, and sends the token', async () => {
    proxy.requests.length = 0;
    seen.length = 0;
    const client = clientWith({ HTTPS_PROXY: proxy.url });
    expect(await client.request('GET', '/api/v1/namespaces/default')).toEqual({ kind: 'Namespace', metadata: { name: 'default' } });
    // undici hands the connection back to its pool a moment after the body is read.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.request('GET', '/api/v1/namespaces/default');
    expect(proxy.requests).toEqual([`CONNECT ${netns.hostAddress}:${apiPort}`]); // one tunnel, kept alive for the second request
    expect(seen).toEqual(Array(2).fill({ path: '/api/v1/namespaces/default', authorization: 'Bearer in-cluster-token' }));
  });

  it('goes direct when NO_PROXY names the API server', async () => {
    proxy.requests.length = 0;
    seen.length = 0;
    const client = clientWith({ HTTPS_PROXY: proxy.url, NO_PROXY: netns.hostAddress });
    await client.request('GET', '/api/v1/namespaces/default');
    expect(proxy.requests).toEqual([]);
    expect(seen).toHaveLength(1);
  });

  it('refuses an API server the cluster CA did not sign, through the tunnel too', async () => {
    const other = createCertificateAuthority('another-ca');
    const access = inClusterAccess({
      env: { KUBERNETES_SERVICE_HOST: netns.hostAddress, KUBERNETES_SERVICE_PORT: String(apiPort), HTTPS_PROXY: proxy.url },
      readFile: (path) => (path.endsWith('ca.crt') ? other.cert : 'token'),
    });
    await expect(createKubeClient(access).request('GET', '/api/v1/namespaces/default')).rejects.toMatchObject({ code: 0 });
  });
});
