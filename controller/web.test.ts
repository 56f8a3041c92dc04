/** The sealing page's routes on the HTTP app: served with a strict CSP, off with --web=false, no build no crash. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readFixture, sealingPublicKey } from '../test/fixtures/fixtures.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { closeServer, createApp, listen } from './server.ts';
import { WEB_CSP } from './web.ts';

const dir = mkdtempSync(join(tmpdir(), 'web-test-'));
mkdirSync(join(dir, 'assets'));
writeFileSync(join(dir, 'index.html'), '<!doctype html><title>page</title>');
writeFileSync(join(dir, 'assets/page.js'), 'export {};');
writeFileSync(join(dir, 'assets/.hidden'), 'no');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map(closeServer));
});

async function serve(webDir: string | undefined): Promise<string> {
  const app = createApp({
    capabilities: { newest: () => ({ certificate: readFixture('sealing-cert.pem'), publicKey: sealingPublicKey() }), open: async () => ({}), keyCount: () => 1 },
    rateLimit: 2, rateLimitBurst: 2, trustedProxyHops: 1, rsaOpsPerSecond: 100, maxRequestRsaOps: 100, maxRequestBytes: 4096,
    metrics: createMetrics('test'),
    log: createLogger({ level: 'ERROR', format: 'text', infoToStdout: true, write: () => {} }),
    ...(webDir !== undefined ? { webDir } : {}),
  });
  const server = createServer(app);
  servers.push(server);
  return `http://${await listen(server, '127.0.0.1:0')}`;
}

describe('the sealing page routes', () => {
  it('serves the page at / and its assets under /assets/, with the strict CSP and no cookie', async () => {
    const base = await serve(dir);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(WEB_CSP);
    expect(WEB_CSP).toMatch(/^default-src 'self';/);
    expect(WEB_CSP).not.toMatch(/unsafe/);
    expect(page.headers.get('set-cookie')).toBeNull();
    expect(await page.text()).toContain('<title>page</title>');
    const script = await fetch(`${base}/assets/page.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(script.headers.get('content-security-policy')).toBe(WEB_CSP);
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers 404 for missing assets, dot files and paths outside assets; the API is unchanged', async () => {
    const base = await serve(dir);
    for (const path of ['/assets/nope.js', '/assets/.hidden', '/assets/../index.html', '/assets/%2e%2e/index.html', '/index.html']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/v1/cert.pem`)).status).toBe(200);
  });

  it('--web=false: no page; on by default', async () => {
    const base = await serve(undefined);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/assets/page.js`)).status).toBe(404);
    expect(loadConfig({ args: [], env: {} }).web).toBe(true);
    expect(loadConfig({ args: ['--web=false'], env: {} }).web).toBe(false);
    expect(loadConfig({ args: [], env: { SEALED_SECRETS_WEB: 'false' } }).web).toBe(false);
  });

  it('a missing build answers 404 with a hint, never a crash', async () => {
    const base = await serve(join(dir, 'not-built'));
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(404);
    expect(await page.text()).toMatch(/not built/);
  });
});
