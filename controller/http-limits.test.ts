/**
 * The HTTP API's limits, driven in-process over real HTTP: who the rate limit counts as a client
 * (issue 8, class 8) and the RSA operation budget of the decrypting endpoints (class 9).
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { SealedSecret } from '../shared/kube.ts';
import { silentLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { createApp, rsaCost, type ServerOptions } from './server.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

interface Harness { url: string; opened: SealedSecret[] }

async function serve(overrides: Partial<ServerOptions> = {}, keys = 1): Promise<Harness> {
  const opened: SealedSecret[] = [];
  const app = createApp({
    capabilities: {
      newest: () => undefined,
      open: async (sealed) => {
        opened.push(sealed);
        return {};
      },
      keyCount: () => keys,
    },
    rateLimit: 1,
    rateLimitBurst: 3,
    maxRequestBytes: 1 << 20,
    trustedProxyHops: 1,
    rsaOpsPerSecond: 1000,
    maxRequestRsaOps: 1000,
    metrics: createMetrics('test'),
    log: silentLogger,
    now: () => 0, // a frozen clock: no bucket refills unless a test moves it
    ...overrides,
  });
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, opened };
}

const sealedWith = (values: number): SealedSecret => ({
  apiVersion: 'bitnami.com/v1alpha1',
  kind: 'SealedSecret',
  metadata: { name: 'db', namespace: 'demo' },
  spec: { encryptedData: Object.fromEntries(Array.from({ length: values }, (_, i) => [`k${i}`, 'AgA='])) },
});

async function verify(h: Harness, forwardedFor?: string, body: SealedSecret = sealedWith(1)): Promise<Response> {
  return fetch(`${h.url}/v1/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }) },
    body: JSON.stringify(body),
  });
}

async function statuses(h: Harness, count: number, forwardedFor: (i: number) => string | undefined): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i++) result.push((await verify(h, forwardedFor(i))).status);
  return result;
}

describe('the rate limit keys on what the client cannot choose', () => {
  it('one trusted hop (the default, the API server\'s proxy): a new left-most X-Forwarded-For entry per request is still limited', async () => {
    const h = await serve();
    expect(await statuses(h, 6, (i) => `198.51.100.${i}, 10.0.0.7`)).toEqual([200, 200, 200, 429, 429, 429]);
    // the right-most entry, appended by the trusted proxy, is the client: another one has its own budget
    expect((await verify(h, '198.51.100.1, 10.0.0.8')).status).toBe(200);
  });

  it('0 trusted hops: the header is ignored, the peer address decides', async () => {
    const h = await serve({ trustedProxyHops: 0 });
    expect(await statuses(h, 5, (i) => `10.0.0.${i}`)).toEqual([200, 200, 200, 429, 429]);
  });

  it('2 trusted hops: the second entry from the right; without a header, the peer', async () => {
    const h = await serve({ trustedProxyHops: 2 });
    expect(await statuses(h, 4, (i) => `203.0.113.${i}, 10.0.0.1, 10.0.0.${i}`)).toEqual([200, 200, 200, 429]);
    expect(await statuses(h, 4, () => undefined)).toEqual([200, 200, 200, 429]);
  });
});

describe('the decrypting endpoints are bounded in RSA operations', () => {
  it('charges values times keys', () => {
    expect(rsaCost(sealedWith(5), 3)).toBe(15);
    expect(rsaCost(sealedWith(0), 4)).toBe(4);
  });

  it('refuses a request that needs more than the per-request limit before any work, with 413 and a one-line reason', async () => {
    const h = await serve({ maxRequestRsaOps: 1000 }, 2);
    const response = await verify(h, '10.1.0.1', sealedWith(600));
    expect(response.status).toBe(413);
    expect(await response.text()).toBe('opening this SealedSecret may take 1200 RSA operations (values times sealing keys), more than the 1000 allowed per request; send fewer values per request\n');
    expect(h.opened).toHaveLength(0);
  });

  it('shares one budget per second between all clients: many clients within their request limits still get 429 once it is spent', async () => {
    let t = 0;
    const h = await serve({ rateLimit: 100, rateLimitBurst: 100, rsaOpsPerSecond: 10, maxRequestRsaOps: 30, now: () => t }, 2);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push((await verify(h, `10.2.0.${i}`, sealedWith(5))).status);
    expect(seen).toEqual([200, 200, 200, 429, 429]);
    expect(h.opened).toHaveLength(3);
    const limited = await verify(h, '10.2.1.1', sealedWith(5));
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.text()).toBe('limit exceeded: the decrypting endpoints are busy, retry later\n');
    t += 1000; // 10 operations later: one more request of 10
    expect((await verify(h, '10.2.1.2', sealedWith(5))).status).toBe(200);
    expect((await verify(h, '10.2.1.3', sealedWith(5))).status).toBe(429);
  });
});
