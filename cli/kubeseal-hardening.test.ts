/**
 * The real kubeseal binary against hostile or careless input and servers (issue 8): large values,
 * secrets in bad input, servers that never finish TLS, speak plain HTTP behind https://, or send
 * without end. Every server here listens on loopback only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, readFixture, sealingKey } from '../test/fixtures/fixtures.ts';
import { runKubeseal, type CliResult } from '../test/run-cli.ts';
import { readSealedSecret } from '../shared/kube.ts';
import { parseDocuments } from '../shared/manifest.ts';
import { unsealSealedSecret } from '../shared/sealed-secret.ts';

const CERT = fixturePath('sealing-cert.pem');
const KEY = fixturePath('sealing-key.pem');
const dir = mkdtempSync(join(tmpdir(), 'kubeseal-hardening-'));

function expectOneLine(result: CliResult, message: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stdout.length).toBe(0);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
}

const listen = (server: Server | ReturnType<typeof createTcpServer>): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));

describe('large values (upstream seals multi-MB values)', () => {
  it('seals a 4.5 MB base64 value (3.4 MB raw) and a 6 MB stringData value, and both open', async () => {
    const raw = randomBytes(3_400_000);
    const text = randomBytes(3_000_000).toString('hex');
    const input = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'big', namespace: 'demo' }, data: { raw: raw.toString('base64') }, stringData: { text } });
    const result = await runKubeseal(['--cert', CERT], { stdin: input });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const sealed = readSealedSecret(parseDocuments(result.stdout)[0], 'output');
    const data = unsealSealedSecret(sealed, { keys: [sealingKey()] }).secret.data ?? {};
    expect(Buffer.from(data.raw ?? '', 'base64').equals(raw)).toBe(true);
    expect(Buffer.from(data.text ?? '', 'base64').toString()).toBe(text);
  });
});

describe('a private key where a manifest belongs is never printed', () => {
  const pem = readFixture('sealing-key.pem');
  it.each([
    ['sealing', ['--cert', CERT], /input is not a Kubernetes object \(it is a string\); pass a Secret manifest/],
    ['--recovery-unseal', ['--recovery-unseal', '--recovery-private-key', KEY], /input is not a Kubernetes object \(it is a string\); pass a SealedSecret manifest/],
    ['--merge-into', ['--cert', CERT, '--merge-into', 'PEM'], /--merge-into file ".*" is not a Kubernetes object \(it is a string\)/],
  ])('%s', async (_, args, message) => {
    const target = join(dir, `merge-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(target, pem);
    const stdin = args.includes('PEM') ? 'kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {a: b}\n' : pem;
    const result = await runKubeseal(args.map((a) => (a === 'PEM' ? target : a)), { stdin });
    expectOneLine(result, message);
    expect(result.stderr).not.toMatch(/PRIVATE|MII/);
  });
});

describe('a kubeconfig that does not parse', () => {
  it('is named with a position, without the lines js-yaml would quote (they hold tokens)', async () => {
    const kubeconfig = join(dir, 'broken-kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nusers:\n- name: u\n  user:\n    token: tok3n-Zx9pw-secret\n  bad: [unclosed\nclusters: []\n');
    const result = await runKubeseal(['--fetch-cert', '--kubeconfig', kubeconfig]);
    expectOneLine(result, /^error: kubeconfig ".*broken-kubeconfig" is not valid: it is not valid YAML \(line \d+, column \d+\); fix it or pass another with --kubeconfig$/);
    expect(result.stderr).not.toContain('tok3n');
  });
});

describe('network steps are bounded even with --request-timeout 0', () => {
  const sockets = new Set<Socket>();
  // Accepts TCP and then says nothing: a TLS client waits for the server's hello forever.
  const silent = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  // Plain HTTP where https:// is expected.
  const plain = createServer((_req, res) => res.end('hello\n'));
  // A --cert URL that answers without end.
  let sent = 0;
  const endless = createServer((_req, res) => {
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    const more = (): void => {
      while (sent < 1024 ** 3 && res.write(chunk)) sent += chunk.length;
      if (sent >= 1024 ** 3) res.end();
    };
    res.on('drain', more);
    res.on('error', () => undefined);
    more();
  });
  let silentPort = 0;
  let plainPort = 0;
  let endlessPort = 0;
  beforeAll(async () => {
    [silentPort, plainPort, endlessPort] = await Promise.all([listen(silent), listen(plain), listen(endless)]);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    plain.closeAllConnections();
    endless.closeAllConnections();
    await Promise.all([silent, plain, endless].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  it('a server that accepts TCP but never completes TLS: --fetch-cert, --validate and --cert give up after the 10 s TLS handshake bound', async () => {
    const server = `https://127.0.0.1:${silentPort}`;
    const sealed = JSON.stringify({ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'a', namespace: 'b' }, spec: { encryptedData: { a: 'AgBy' } } });
    const [fetched, validated, cert] = await Promise.all([
      runKubeseal(['--fetch-cert', '--server', server, '--token', 't', '--request-timeout', '0']),
      runKubeseal(['--validate', '--server', server, '--token', 't'], { stdin: sealed }),
      runKubeseal(['--cert', `${server}/v1/cert.pem`], { stdin: 'kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {a: b}\n' }),
    ]);
    expectOneLine(fetched, /^error: the Kubernetes API server at https:\/\/127\.0\.0\.1:\d+ did not answer: it did not complete the TLS handshake within 10 s; check that the cluster is up/);
    expectOneLine(validated, /did not answer: it did not complete the TLS handshake within 10 s/);
    expectOneLine(cert, /^error: cannot fetch "https:\/\/127\.0\.0\.1:\d+\/v1\/cert\.pem": it did not accept the connection or complete the TLS handshake within 10 s; check the URL/);
    // The messages name our handshake bound, so it (not a test timeout or --request-timeout) ended them.
  }, 60_000);

  it('https:// to a plain-HTTP server: says so, without OpenSSL text', async () => {
    const server = `https://127.0.0.1:${plainPort}`;
    const [fetched, cert] = await Promise.all([
      runKubeseal(['--fetch-cert', '--server', server, '--token', 't']),
      runKubeseal(['--cert', `${server}/cert.pem`], { stdin: 'kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {a: b}\n' }),
    ]);
    expectOneLine(fetched, /^error: cannot connect to the Kubernetes API server at https:\/\/127\.0\.0\.1:\d+: it does not speak TLS \(is it a plain http:\/\/ server, or the wrong port\?\); check the kubeconfig's server/);
    expectOneLine(cert, /^error: cannot fetch "https:\/\/127\.0\.0\.1:\d+\/cert\.pem": it does not speak TLS .*; use http:\/\/ for a plain HTTP server, or check the port$/);
    expect(fetched.stderr + cert.stderr).not.toMatch(/ssl3|SSL routines|wrong version number/);
  });

  it('a --cert URL that sends 1 GiB: refused past 1 MiB, without reading the rest', async () => {
    const result = await runKubeseal(['--cert', `http://127.0.0.1:${endlessPort}/cert.pem`], { stdin: 'kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {a: b}\n' });
    expectOneLine(result, /^error: cannot fetch "http:\/\/127\.0\.0\.1:\d+\/cert\.pem": the answer is larger than 1 MiB, so it is not a certificate; check the URL$/);
    // kubeseal stopped reading: the server could send at most what the socket buffers held.
    expect(sent).toBeLessThan(256 * 1024 * 1024);
  });
});
