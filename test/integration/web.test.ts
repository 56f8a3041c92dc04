/**
 * The sealing page in a real browser (Debian's chromium via playwright-core) against the real
 * controller process on the real control plane: what the page seals, applied with kubectl, becomes
 * the Secret with the exact bytes; what the page sent over the network holds no plaintext; it works
 * through the API server's service proxy (kubectl proxy), keyboard only, in both themes; and its
 * output is kubeseal's. UPDATE_SCREENSHOTS=1 rewrites docs/images/sealing-page-{light,dark}.png.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { randomBytes, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, type OpenPage, type RecordedRequest } from '../harness/browser.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { createNetns, exposeController, netnsUnavailable, startControllerIn, type Netns } from '../harness/netns.ts';
import { upstreamKubeseal } from '../harness/upstream-kubeseal.ts';
import { parsePrivateKey } from '../../shared/keys.ts';
import { readSealedSecret, type SealedSecret } from '../../shared/kube.ts';
import { parseDocuments } from '../../shared/manifest.ts';
import { SCOPES, type Scope } from '../../shared/scope.ts';
import { unsealSealedSecret } from '../../shared/sealed-secret.ts';
import { apply, getSecret, kubectlJson, seal } from './kube.ts';

const cluster = useCluster();
const noNetns = await netnsUnavailable();
const SERVICE = 'sealed-secrets-controller';
const IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url));

let browser: Browser;
let controller: ControllerProcess;
let netns: Netns | undefined;
let home = '';
let app = '';
/** Where the browser opens the page: a loopback address, as kubectl port-forward gives (WebCrypto needs a secure context, and http://127.0.0.1 is one). */
let pageBase = '';
let forwarder: Server | undefined;

/** A TCP forwarder on 127.0.0.1 to `host:port`: what kubectl port-forward does for a user. */
async function loopbackForward(host: string, port: number): Promise<{ server: Server; url: string }> {
  const server = createServer((socket) => {
    const upstream = connect(port, host);
    socket.pipe(upstream).pipe(socket);
    const close = () => { socket.destroy(); upstream.destroy(); };
    socket.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
/** Every plaintext value typed or chosen in the page, to look for in what it sent. */
const plaintexts: Buffer[] = [];
const opened: OpenPage[] = [];

beforeAll(async () => {
  home = await cluster.createNamespace('web-home');
  app = await cluster.createNamespace('web-app');
  const options = { kubeconfigPath: cluster.kubeconfigPath, namespace: home, watch: [app] };
  if (noNetns === null) {
    // In a network namespace, so that the API server's service proxy can reach it too.
    netns = await createNetns();
    controller = await startControllerIn(netns, { ...options, server: cluster.server });
    await controller.waitForKeys(1);
    await exposeController(cluster, { namespace: home, name: SERVICE, address: netns.address, targetPort: 8080 });
    const target = new URL(controller.http);
    const forward = await loopbackForward(target.hostname, Number(target.port));
    forwarder = forward.server;
    pageBase = forward.url;
  } else {
    controller = await startController(options);
    await controller.waitForKeys(1);
    pageBase = controller.http;
  }
  browser = await launchBrowser();
});
afterAll(async () => {
  for (const page of opened) await page.context.close().catch(() => {});
  await browser?.close();
  forwarder?.close();
  await controller?.stop();
  await netns?.destroy();
});

async function open(url = `${pageBase}/`, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const view = await openPage(browser, url, { colorScheme });
  opened.push(view);
  // The certificate is shown once the page fetched and read it.
  await expect.poll(() => view.page.locator('#cert-fingerprint').textContent(), { timeout: 20_000 }).toMatch(/^SHA256:/);
  return view.page;
}

const field = (page: Page, label: string) => page.getByLabel(label, { exact: true });
const output = (page: Page) => page.getByRole('textbox', { name: 'SealedSecret', exact: true });

interface Fill {
  readonly mode?: 'pairs' | 'manifest' | 'raw';
  readonly name?: string;
  readonly namespace?: string;
  readonly scope?: Scope | 'annotated';
  readonly rows?: readonly { key?: string; value?: string; file?: Buffer }[];
  readonly manifest?: string;
  readonly format?: 'yaml' | 'json';
}

/** Fill the form as a user does (by the labels the issue names), press Seal, return the output. */
async function sealInPage(page: Page, fill: Fill): Promise<string> {
  if (fill.mode) await field(page, 'Mode').selectOption(fill.mode);
  if (fill.scope) await field(page, 'Scope').selectOption(fill.scope);
  if (fill.name !== undefined) await field(page, 'Name').fill(fill.name);
  if (fill.namespace !== undefined) await field(page, 'Namespace').fill(fill.namespace);
  if (fill.manifest !== undefined) {
    plaintexts.push(Buffer.from(fill.manifest));
    await field(page, 'Secret manifest').fill(fill.manifest);
  }
  for (const [i, row] of (fill.rows ?? []).entries()) {
    const n = i === 0 ? '' : ` ${i + 1}`;
    if (i > 0) await page.getByRole('button', { name: 'Add a key' }).click();
    if (row.key !== undefined) await field(page, `Key${n}`).fill(row.key);
    if (row.value !== undefined) {
      plaintexts.push(Buffer.from(row.value));
      await field(page, `Value${n}`).fill(row.value);
    }
    if (row.file) {
      plaintexts.push(row.file);
      await field(page, `Value${n} from a file`).setInputFiles({ name: 'value.bin', mimeType: 'application/octet-stream', buffer: row.file });
    }
  }
  if (fill.format) await field(page, 'Output format').selectOption(fill.format);
  await page.getByRole('button', { name: 'Seal', exact: true }).click();
  await expect.poll(async () => (await output(page).inputValue()) || (await page.locator('#seal-error').textContent()), { timeout: 30_000 }).not.toBe('');
  expect(await page.locator('#seal-error').textContent()).toBe('');
  return output(page).inputValue();
}

/** The Secret the controller made, once it made it. */
async function secretData(namespace: string, name: string): Promise<Record<string, string>> {
  return eventually(async () => {
    const secret = await getSecret(cluster, namespace, name);
    return secret.data ?? {};
  }, { timeoutMs: 60_000 });
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64');

describe('sealing in the page, applied with kubectl', () => {
  it.each(SCOPES)('%s: the Secret appears with the exact bytes, and the scope is the one chosen', async (scope) => {
    const page = await open();
    const name = `page-${scope}`;
    const value = `v-${randomBytes(6).toString('hex')}-ü`;
    const yaml = await sealInPage(page, { name, namespace: app, scope, rows: [{ key: 'password', value }] });
    const sealed = readSealedSecret(parseDocuments(yaml)[0], 'page output');
    expect(sealed.metadata).toMatchObject({ name, namespace: app });
    if (scope === 'strict') expect(sealed.metadata.annotations ?? {}).toEqual({});
    else expect(sealed.metadata.annotations).toEqual({ [`sealedsecrets.bitnami.com/${scope}`]: 'true' });
    await apply(cluster, yaml);
    expect(await secretData(app, name)).toEqual({ password: b64(value) });
    if (scope !== 'strict') {
      // Wider scopes open under another name too: the label really is the scope's.
      const renamed = structuredClone(sealed);
      renamed.metadata.name = `${name}-renamed`;
      if (renamed.spec.template?.metadata) renamed.spec.template.metadata.name = renamed.metadata.name;
      await apply(cluster, renamed);
      expect(await secretData(app, renamed.metadata.name)).toEqual({ password: b64(value) });
    }
  });

  it('a binary file value and a typed one, in JSON: both exact', async () => {
    const page = await open();
    const file = Buffer.concat([Buffer.from([0, 0xff, 0xfe, 0x80, 0x0a, 0x0d]), randomBytes(3000)]);
    const json = await sealInPage(page, { name: 'page-binary', namespace: app, rows: [{ key: 'token', value: 'typed value' }, { key: 'blob.bin', file }], format: 'json' });
    expect(json.trimStart().startsWith('{')).toBe(true);
    await apply(cluster, json);
    expect(await secretData(app, 'page-binary')).toEqual({ token: b64('typed value'), 'blob.bin': file.toString('base64') });
  });

  it('raw mode seals one value as kubeseal --raw; put into a SealedSecret it opens to the exact bytes', async () => {
    const page = await open();
    const value = `raw-${randomBytes(8).toString('hex')}`;
    const raw = await sealInPage(page, { mode: 'raw', name: 'page-raw', namespace: app, scope: 'strict', rows: [{ value }] });
    expect(raw).toMatch(/^[A-Za-z0-9+/]+=*$/);
    await apply(cluster, { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'page-raw', namespace: app }, spec: { encryptedData: { api_key: raw } } });
    expect(await secretData(app, 'page-raw')).toEqual({ api_key: b64(value) });
  });

  it('a pasted Secret manifest is sealed whole: data, stringData, type and labels', async () => {
    const page = await open();
    const manifest = [
      'apiVersion: v1', 'kind: Secret', 'type: kubernetes.io/basic-auth',
      'metadata:', '  name: page-manifest', `  namespace: ${app}`, '  labels:', '    team: payments',
      'stringData:', '  username: admin', '  password: "p@ss: w0rd"', 'data:', `  extra: ${b64('from-data')}`, '',
    ].join('\n');
    const yaml = await sealInPage(page, { mode: 'manifest', manifest });
    await apply(cluster, yaml);
    expect(await secretData(app, 'page-manifest')).toEqual({ username: b64('admin'), password: b64('p@ss: w0rd'), extra: b64('from-data') });
    const secret = await getSecret(cluster, app, 'page-manifest');
    expect(secret.type).toBe('kubernetes.io/basic-auth');
    expect(secret.metadata.labels).toEqual({ team: 'payments' });
  });

  it('a template (spec.template.data) is previewed in the page and rendered by the controller the same way', async () => {
    const page = await open();
    await field(page, 'Name').fill('page-template');
    await field(page, 'Namespace').fill(app);
    await field(page, 'Key').fill('password');
    await field(page, 'Value').fill('tpl-secret');
    plaintexts.push(Buffer.from('tpl-secret'));
    await page.getByText('Template (spec.template.data)').click();
    await page.getByRole('button', { name: 'Add a template' }).click();
    await field(page, 'Template key').fill('dsn');
    await field(page, 'Template').fill('postgres://app:{{ .password }}@db/{{ "x" | upper }}');
    await expect.poll(() => page.locator('#template-preview').textContent(), { timeout: 20_000 }).toBe('dsn: postgres://app:tpl-secret@db/X');
    await page.getByRole('button', { name: 'Seal', exact: true }).click();
    await expect.poll(() => output(page).inputValue(), { timeout: 30_000 }).not.toBe('');
    await apply(cluster, await output(page).inputValue());
    expect(await secretData(app, 'page-template')).toEqual({ password: b64('tpl-secret'), dsn: b64('postgres://app:tpl-secret@db/X') });
  });
});

describe('what the page is and sends', () => {
  it('validates as the user types: names and keys the API server would refuse, empty values', async () => {
    const page = await open();
    // Leaving an empty Value by clicking Seal: the message that appears on blur must not move the
    // button away from under the pointer (the click would be lost).
    await field(page, 'Value').focus();
    await page.getByRole('button', { name: 'Seal', exact: true }).click();
    await expect.poll(() => page.locator('#seal-error').textContent()).not.toBe('');
    await field(page, 'Name').fill('Bad_Name');
    await expect.poll(() => field(page, 'Name').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#name-error').textContent()).toMatch(/lower-case letters/);
    await field(page, 'Name').fill('good-name');
    await expect.poll(() => field(page, 'Name').getAttribute('aria-invalid')).toBeNull();
    await field(page, 'Key').fill('bad key');
    await expect.poll(() => page.locator('#key-0-error').textContent()).toMatch(/characters other than/);
    await field(page, 'Value').focus();
    await field(page, 'Namespace').fill(app);
    await expect.poll(() => page.locator('#value-0-error').textContent()).toMatch(/empty/);
    await page.getByRole('button', { name: 'Seal', exact: true }).click();
    expect(await output(page).inputValue()).toBe('');
    expect(await page.locator('#seal-error').textContent()).not.toBe('');
  });

  it('works with the keyboard alone: Tab through the fields, type, Enter seals', async () => {
    const page = await open();
    const focusOn = async (label: string) => {
      for (let i = 0; i < 30; i++) {
        await page.keyboard.press('Tab');
        // Browser-side code as a string: this file is typed for Node.
        const name = await page.evaluate<string>('(() => { const el = document.activeElement; return el && el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent ?? "" : ""; })()');
        if (name === label) return;
      }
      throw new Error(`Tab never reached ${label}`);
    };
    await focusOn('Name');
    await page.keyboard.type('page-keyboard');
    await focusOn('Namespace');
    await page.keyboard.type(app);
    await focusOn('Key');
    await page.keyboard.type('k');
    await focusOn('Value');
    await page.keyboard.type('typed-by-keyboard');
    plaintexts.push(Buffer.from('typed-by-keyboard'));
    await focusOn('Key');
    await page.keyboard.press('Enter');
    await expect.poll(() => output(page).inputValue(), { timeout: 30_000 }).toMatch(/kind: SealedSecret/);
    await apply(cluster, await output(page).inputValue());
    expect(await secretData(app, 'page-keyboard')).toEqual({ k: b64('typed-by-keyboard') });
  });

  it('Download saves exactly the output; Copy puts it on the clipboard', async () => {
    const view = await openPage(browser, `${pageBase}/`, { downloads: true });
    opened.push(view);
    await view.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: pageBase });
    await expect.poll(() => view.page.locator('#cert-fingerprint').textContent(), { timeout: 20_000 }).toMatch(/^SHA256:/);
    const yaml = await sealInPage(view.page, { name: 'page-download', namespace: app, rows: [{ key: 'k', value: 'downloaded-value' }] });
    const [download] = await Promise.all([view.page.waitForEvent('download'), view.page.getByRole('button', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe('page-download-sealed.yaml');
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(await download.path(), 'utf8')).toBe(yaml);
    await view.page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => view.page.locator('#copy-status').textContent()).toBe('Copied.');
    expect(await view.page.evaluate<string>('navigator.clipboard.readText()')).toBe(yaml);
  });

  it('shows the certificate\'s fingerprint (kubeseal\'s format) and expiry, no warning for a fresh one', async () => {
    const page = await open();
    const pem = await (await fetch(`${controller.http}/v1/cert.pem`)).text();
    const keys = await kubectlJson<{ items: { data: Record<string, string> }[] }>(cluster, ['get', 'secrets', '-n', home, '-l', 'sealedsecrets.bitnami.com/sealed-secrets-key']);
    expect(keys.items).toHaveLength(1);
    const { keyFingerprint } = await import('../../shared/keys.ts');
    const { X509Certificate } = await import('node:crypto');
    const x509 = new X509Certificate(pem);
    expect(await page.locator('#cert-fingerprint').textContent()).toBe(keyFingerprint(x509.publicKey));
    expect(new Date(await page.locator('#cert-expiry').textContent() ?? '').getTime()).toBe(new Date(x509.validTo).getTime());
    expect(await page.locator('#cert-warning').isHidden()).toBe(true);
  });

  it('the output equals kubeseal -o yaml modulo randomness: same structure, labels and annotations, same Secret when unsealed', async () => {
    const page = await open();
    const secret = { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'page-compat', namespace: app }, data: { a: b64('alpha'), b: b64('beta') } };
    const fromPage = await sealInPage(page, { name: 'page-compat', namespace: app, scope: 'namespace-wide', rows: [{ key: 'a', value: 'alpha' }, { key: 'b', value: 'beta' }] });
    const fromCli = await seal(secret, `${controller.http}/v1/cert.pem`, ['--scope', 'namespace-wide']);
    const read = (yaml: string): SealedSecret => readSealedSecret(parseDocuments(yaml)[0], 'output');
    const [p, c] = [read(fromPage), read(fromCli)];
    const shape = (s: SealedSecret) => ({ ...s, spec: { ...s.spec, encryptedData: Object.keys(s.spec.encryptedData) } });
    expect(shape(p)).toEqual(shape(c));
    // The same printed layout, line for line, once the ciphertexts are blanked.
    const blank = (yaml: string) => yaml.replace(/^(\s+[ab]: )\S+$/gm, '$1<sealed>');
    expect(blank(fromPage)).toBe(blank(fromCli));
    const list = await kubectlJson<{ items: { data: Record<string, string> }[] }>(cluster, ['get', 'secrets', '-n', home, '-l', 'sealedsecrets.bitnami.com/sealed-secrets-key']);
    const keys: KeyObject[] = list.items.map((s) => parsePrivateKey(Buffer.from(s.data['tls.key'] ?? '', 'base64'), 'sealing key'));
    expect(unsealSealedSecret(p, { keys }).secret).toEqual(unsealSealedSecret(c, { keys }).secret);

    // And upstream's Go kubeseal, when it could be built (cached by cli-cluster's spec).
    const { path: upstream } = await upstreamKubeseal();
    if (upstream) {
      const certFile = join(mkdtempSync(join(tmpdir(), 'web-compat-')), 'cert.pem');
      writeFileSync(certFile, await (await fetch(`${controller.http}/v1/cert.pem`)).text());
      const fromGo = await new Promise<string>((resolve, reject) => {
        const child = execFile(upstream, ['--cert', certFile, '-o', 'yaml', '--scope', 'namespace-wide'], { env: { PATH: process.env.PATH ?? '', KUBECONFIG: '/nonexistent' } }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)));
        child.stdin?.end(JSON.stringify(secret));
      });
      expect(fromGo).toMatch(/^---\napiVersion: bitnami.com\/v1alpha1\n/);
      expect(shape(p)).toEqual(shape(read(fromGo)));
      expect(blank(fromPage)).toBe(blank(fromGo));
      expect(unsealSealedSecret(p, { keys }).secret).toEqual(unsealSealedSecret(read(fromGo), { keys }).secret);
    }
  });

  it('follows the system theme: light and dark differ (screenshots for the README with UPDATE_SCREENSHOTS=1)', async () => {
    const backgrounds: string[] = [];
    for (const scheme of ['light', 'dark'] as const) {
      const page = await open(`${pageBase}/`, scheme);
      await field(page, 'Name').fill('db-credentials');
      await field(page, 'Namespace').fill('payments');
      await field(page, 'Key').fill('password');
      await field(page, 'Value').fill('correct horse battery staple');
      plaintexts.push(Buffer.from('correct horse battery staple'));
      await page.getByRole('button', { name: 'Seal', exact: true }).click();
      await expect.poll(() => output(page).inputValue(), { timeout: 30_000 }).not.toBe('');
      backgrounds.push(await page.evaluate<string>('getComputedStyle(document.body).backgroundColor'));
      if (process.env.UPDATE_SCREENSHOTS === '1') {
        mkdirSync(IMAGES, { recursive: true });
        await page.screenshot({ path: `${IMAGES}sealing-page-${scheme}.png`, fullPage: true });
      }
    }
    expect(backgrounds[0]).not.toBe(backgrounds[1]);
  });

  it('everything the pages sent: only GETs of the page, its assets and v1/cert.pem, no body, no plaintext anywhere; no CSP violation', async () => {
    await Promise.all(opened.map((o) => o.settled()));
    const traffic: RecordedRequest[] = opened.flatMap((o) => o.requests);
    expect(traffic.length).toBeGreaterThan(0);
    expect(plaintexts.length).toBeGreaterThan(5);
    for (const request of traffic) {
      expect(request.method).toBe('GET');
      expect(request.body).toBeNull();
      const path = new URL(request.url).pathname;
      expect(path).toMatch(/\/(|assets\/[\w.-]+|v1\/cert\.pem)$/);
      const sent = Buffer.from(`${request.url}\n${JSON.stringify(request.headers)}`);
      for (const plaintext of plaintexts) expect(sent.includes(plaintext), `${request.url} carries a value`).toBe(false);
      expect(request.headers.cookie).toBeUndefined();
    }
    for (const view of opened) {
      expect(view.errors).toEqual([]);
      expect(await view.context.cookies()).toEqual([]);
      expect(await view.page.evaluate<number[]>('[localStorage.length, sessionStorage.length]')).toEqual([0, 0]);
    }
    const page = await fetch(`${controller.http}/`);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self';/);
  });
});

describe.skipIf(noNetns !== null)('through the API server\'s service proxy (kubectl proxy)', () => {
  let proxy: ChildProcess;
  let base = '';
  beforeAll(async () => {
    proxy = spawn(cluster.kubectlPath, ['proxy', '--port=0', '--kubeconfig', cluster.kubeconfigPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      proxy.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /Starting to serve on (\S+)/.exec(out);
        if (match) resolve(match[1] as string);
      });
      proxy.once('exit', (code) => reject(new Error(`kubectl proxy exited (${code}): ${out}`)));
    });
    base = `http://${address}/api/v1/namespaces/${home}/services/http:${SERVICE}:http/proxy/`;
  });
  afterAll(() => {
    proxy?.kill();
  });

  it('the page loads, fetches the certificate and seals under the proxy path; every request stays under it', async () => {
    const view = await openPage(browser, base);
    opened.push(view);
    await expect.poll(() => view.page.locator('#cert-fingerprint').textContent(), { timeout: 30_000 }).toMatch(/^SHA256:/);
    const yaml = await sealInPage(view.page, { name: 'page-proxied', namespace: app, rows: [{ key: 'k', value: 'through-the-proxy' }] });
    await apply(cluster, yaml);
    expect(await secretData(app, 'page-proxied')).toEqual({ k: b64('through-the-proxy') });
    for (const request of view.requests) {
      expect(request.url.startsWith(base), request.url).toBe(true);
      expect(request.method).toBe('GET');
      expect(Buffer.from(request.url).includes('through-the-proxy')).toBe(false);
    }
    expect(view.requests.map((r) => new URL(r.url).pathname.slice(new URL(base).pathname.length))).toContain('v1/cert.pem');
    expect(view.errors).toEqual([]);
  });
});

describe('a certificate near expiry', () => {
  let near: ControllerProcess;
  beforeAll(async () => {
    const ns = await cluster.createNamespace('web-expiry');
    // A key valid for 20 days: within the page's 30-day warning.
    near = await startController({ kubeconfigPath: cluster.kubeconfigPath, namespace: ns, args: ['--key-ttl', '480h', '--key-size', '2048'] });
    await near.waitForKeys(1);
  });
  afterAll(async () => {
    await near?.stop();
  });

  it('the page warns that it expires within days', async () => {
    const view = await openPage(browser, `${near.http}/`);
    opened.push(view);
    await expect.poll(() => view.page.getByRole('alert').filter({ hasText: 'expires' }).textContent(), { timeout: 30_000 }).toMatch(/expires in (19|20) days/);
  });

  it('after a key renewal (SIGUSR1) the page says its certificate was not the newest, and shows the new one', async () => {
    const view = await openPage(browser, `${near.http}/`);
    opened.push(view);
    await expect.poll(() => view.page.locator('#cert-fingerprint').textContent(), { timeout: 30_000 }).toMatch(/^SHA256:/);
    const before = await view.page.locator('#cert-fingerprint').textContent();
    const first = await (await fetch(`${near.http}/v1/cert.pem`)).text();
    near.child.kill('SIGUSR1');
    await eventually(async () => expect(await (await fetch(`${near.http}/v1/cert.pem`)).text()).not.toBe(first), { timeoutMs: 60_000 });
    await view.page.getByRole('button', { name: 'Reload certificate' }).click();
    // Not just 'renewed': this controller's first certificate is near its end, and that note says "use the renewed key".
    await expect.poll(() => view.page.getByRole('alert').filter({ hasText: 'renewed its key since this page loaded' }).count(), { timeout: 20_000 }).toBe(1);
    expect(await view.page.locator('#cert-fingerprint').textContent()).not.toBe(before);
  });
});
