/**
 * kubeseal as a user runs it: the compiled binary in a child process, with real stdin, stdout,
 * files and environment. Every error case checks the one-line message, the exit code, that no
 * stack trace is printed and that no output file is created or changed.
 */
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, readFixture, sealingKey, sealingPublicKey } from '../test/fixtures/fixtures.ts';
import { nonLoopbackAddress, startForwardProxy } from '../test/forward-proxy.ts';
import { runKubeseal, type CliResult } from '../test/run-cli.ts';
import { readSealedSecret } from '../shared/kube.ts';
import { parseDocuments } from '../shared/manifest.ts';
import { unsealSealedSecret } from '../shared/sealed-secret.ts';

const CERT = fixturePath('sealing-cert.pem');
const KEY = fixturePath('sealing-key.pem');
const SECOND_KEY = fixturePath('second-key.pem');
const dir = mkdtempSync(join(tmpdir(), 'kubeseal-cli-'));
const file = (name: string, content?: string): string => {
  const path = join(dir, name);
  if (content !== undefined) writeFileSync(path, content);
  return path;
};

const secretYaml = (name = 'db', namespace: string | null = 'demo', extra = '') => `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
${namespace === null ? '' : `  namespace: ${namespace}\n`}${extra}stringData:
  password: s3cr3t
  user: admin
`;

/** Open what the binary printed with the throwaway key, through the core (independent of the CLI). */
function openAll(output: Buffer | string) {
  return parseDocuments(output.toString()).map((doc) => {
    const sealed = readSealedSecret(doc, 'output');
    const data = unsealSealedSecret(sealed, { keys: [sealingKey()] }).secret.data ?? {};
    return { sealed, values: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) };
  });
}

function expectCleanError(result: CliResult, message: RegExp, code = 1): void {
  expect(result.code).toBe(code);
  expect(result.stdout.length).toBe(0);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('sealing', () => {
  it('prints JSON by default, with one SealedSecret that opens to the input', async () => {
    const result = await runKubeseal(['--cert', CERT], { stdin: secretYaml() });
    expect(result.code).toBe(0);
    const text = result.stdout.toString();
    expect(text.startsWith('{\n  "kind": "SealedSecret",\n  "apiVersion": "bitnami.com/v1alpha1",\n')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    const [first] = openAll(text);
    expect(first?.values).toEqual({ password: 's3cr3t', user: 'admin' });
    expect(first?.sealed.metadata).toEqual({ name: 'db', namespace: 'demo' });
  });

  it('-o yaml prints documents starting with ---, one per input Secret (YAML stream)', async () => {
    const result = await runKubeseal(['--cert', CERT, '-o', 'yaml'], { stdin: `${secretYaml('a')}---\n${secretYaml('b')}` });
    expect(result.code).toBe(0);
    const text = result.stdout.toString();
    expect(text.match(/^---\napiVersion: bitnami.com\/v1alpha1\nkind: SealedSecret\n/gm)).toHaveLength(2);
    expect(openAll(text).map((d) => d.sealed.metadata.name)).toEqual(['a', 'b']);
  });

  it('reads concatenated JSON Secrets', async () => {
    const one = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'demo' }, data: { k: Buffer.from(`v-${name}`).toString('base64') } });
    const result = await runKubeseal(['--cert', CERT], { stdin: `${one('a')}\n${one('b')}` });
    expect(openAll(result.stdout).map((d) => d.values.k)).toEqual(['v-a', 'v-b']);
  });

  it('seals binary data bytes unchanged', async () => {
    const bytes = Buffer.from([0, 255, 254, 10, 13, 128]);
    const input = JSON.stringify({ kind: 'Secret', metadata: { name: 'bin', namespace: 'demo' }, data: { b: bytes.toString('base64') } });
    const result = await runKubeseal(['--cert', CERT], { stdin: input });
    const sealed = readSealedSecret(parseDocuments(result.stdout.toString())[0], 'out');
    expect(unsealSealedSecret(sealed, { keys: [sealingKey()] }).secret.data?.b).toBe(bytes.toString('base64'));
  });

  it('-f reads a file; -w writes a file only on success; a .yaml name means YAML', async () => {
    const input = file('in.yaml', secretYaml());
    const out = file('out.yaml');
    const result = await runKubeseal(['--cert', CERT, '-f', input, '-w', out]);
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(0);
    expect(readFileSync(out, 'utf8').startsWith('---\napiVersion: bitnami.com/v1alpha1\n')).toBe(true);
    expect(openAll(readFileSync(out))[0]?.values.password).toBe('s3cr3t');
  });

  it('--scope rewrites scope annotations; the Secret\'s annotations decide otherwise', async () => {
    const wide = await runKubeseal(['--cert', CERT, '--scope', 'namespace-wide'], { stdin: secretYaml() });
    expect(openAll(wide.stdout)[0]?.sealed.metadata.annotations).toEqual({ 'sealedsecrets.bitnami.com/namespace-wide': 'true' });
    const annotated = secretYaml('db', null, '  annotations:\n    sealedsecrets.bitnami.com/cluster-wide: "true"\n');
    const cluster = await runKubeseal(['--cert', CERT], { stdin: annotated });
    expect(cluster.code).toBe(0);
    expect(openAll(cluster.stdout)[0]?.sealed.metadata).toEqual({ name: 'db', annotations: { 'sealedsecrets.bitnami.com/cluster-wide': 'true' } });
  });

  it('--name overrides the name; -n fills a missing namespace and refuses a different one', async () => {
    const named = await runKubeseal(['--cert', CERT, '--name', 'renamed', '-n', 'demo'], { stdin: secretYaml() });
    expect(openAll(named.stdout)[0]?.sealed.metadata).toEqual({ name: 'renamed', namespace: 'demo' });
    const filled = await runKubeseal(['--cert', CERT, '--namespace', 'ns/team'], { stdin: secretYaml('db', null) });
    expect(openAll(filled.stdout)[0]?.sealed.metadata.namespace).toBe('team');
    expectCleanError(await runKubeseal(['--cert', CERT, '-n', 'other'], { stdin: secretYaml() }), /namespace mismatch: input secret is in namespace "demo" but "other" was specified/);
  });

  it('takes the default namespace from the kubeconfig context', async () => {
    const kubeconfig = file('kubeconfig', 'apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: x, user: y, namespace: from-context}\n');
    const result = await runKubeseal(['--cert', CERT], { stdin: secretYaml('db', null), env: { KUBECONFIG: kubeconfig } });
    expect(openAll(result.stdout)[0]?.sealed.metadata.namespace).toBe('from-context');
  });

  it('--allow-empty-data seals a Secret without values', async () => {
    const empty = 'apiVersion: v1\nkind: Secret\nmetadata: {name: e, namespace: demo}\n';
    expectCleanError(await runKubeseal(['--cert', CERT], { stdin: empty }), /has no data or stringData.*--allow-empty-data/);
    const result = await runKubeseal(['--cert', CERT, '--allow-empty-data'], { stdin: empty });
    expect(result.code).toBe(0);
    expect(openAll(result.stdout)[0]?.sealed.spec.encryptedData).toEqual({});
  });

  it('every flag can come from SEALED_SECRETS_<FLAG>; the command line wins', async () => {
    const env = { SEALED_SECRETS_CERT: CERT, SEALED_SECRETS_FORMAT: 'yaml', SEALED_SECRETS_SCOPE: 'cluster-wide' };
    const result = await runKubeseal([], { stdin: secretYaml(), env });
    expect(result.code).toBe(0);
    expect(result.stdout.toString().startsWith('---\n')).toBe(true);
    expect(openAll(result.stdout)[0]?.sealed.metadata.annotations).toEqual({ 'sealedsecrets.bitnami.com/cluster-wide': 'true' });
    const overridden = await runKubeseal(['-o', 'json'], { stdin: secretYaml(), env });
    expect(overridden.stdout.toString().startsWith('{')).toBe(true);
    const raw = await runKubeseal(['--scope', 'cluster-wide'], { stdin: 'v', env: { SEALED_SECRETS_CERT: CERT, SEALED_SECRETS_RAW: 'true' } });
    expect(raw.stdout.toString()).toMatch(/^Ag[A-Za-z0-9+/]+=*$/);
    expectCleanError(await runKubeseal([], { stdin: 'v', env: { SEALED_SECRETS_CERT: CERT, SEALED_SECRETS_RAW: 'maybe' } }), /invalid value "maybe" for SEALED_SECRETS_RAW/, 2);
  });
});

/** A forward HTTP proxy that answers every request with the test certificate and records what it was asked. */
async function recordingProxy(): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const proxy = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/x-pem-file' });
    res.end(readFixture('sealing-cert.pem'));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`,
    requests,
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  };
}

describe('--cert sources', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/v1/cert.pem') {
        res.writeHead(200, { 'content-type': 'application/x-pem-file' });
        res.end(readFixture('sealing-cert.pem'));
      } else {
        res.writeHead(404);
        res.end('nope');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('an http URL', async () => {
    const result = await runKubeseal(['--cert', `${base}/v1/cert.pem`], { stdin: secretYaml() });
    expect(openAll(result.stdout)[0]?.values.user).toBe('admin');
  });
  it('an http URL that answers 404', async () => {
    expectCleanError(await runKubeseal(['--cert', `${base}/missing`], { stdin: secretYaml() }), /cannot fetch "http:\/\/127\.0\.0\.1:\d+\/missing": 404 Not Found/);
  });
  it('a URL nobody answers', async () => {
    expectCleanError(await runKubeseal(['--cert', 'http://127.0.0.1:9/cert.pem'], { stdin: secretYaml() }), /cannot fetch "http:\/\/127\.0\.0\.1:9\/cert\.pem": .*check the URL/);
  });
  it('an http URL through HTTP_PROXY, as upstream\'s Go client: the proxy is asked for the absolute URL', async () => {
    const proxy = await recordingProxy();
    try {
      const result = await runKubeseal(['--cert', 'http://cert.example.test/v1/cert.pem'], { stdin: secretYaml(), env: { HTTP_PROXY: proxy.url } });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(openAll(result.stdout)[0]?.values.user).toBe('admin');
      expect(proxy.requests).toEqual(['GET http://cert.example.test/v1/cert.pem']);
    } finally {
      await proxy.close();
    }
  });
  it('NO_PROXY and loopback addresses go direct', async () => {
    const proxy = await recordingProxy();
    const direct = createServer((_req, res) => res.end(readFixture('sealing-cert.pem')));
    await new Promise<void>((resolve) => direct.listen(0, '0.0.0.0', resolve));
    try {
      const env = { HTTP_PROXY: proxy.url, http_proxy: proxy.url };
      expect((await runKubeseal(['--cert', `${base}/v1/cert.pem`], { stdin: secretYaml(), env })).code).toBe(0);
      const address = nonLoopbackAddress(networkInterfaces());
      if (address) {
        const url = `http://${address}:${(direct.address() as { port: number }).port}/cert.pem`;
        expect((await runKubeseal(['--cert', url], { stdin: secretYaml(), env: { ...env, NO_PROXY: `example.test,${address}` } })).code).toBe(0);
      }
      expect(proxy.requests).toEqual([]);
    } finally {
      await proxy.close();
      await new Promise<void>((resolve) => direct.close(() => resolve()));
    }
  });
  it('an unreachable proxy: one line naming it, never its credentials', async () => {
    const result = await runKubeseal(['--cert', 'http://cert.example.test/v1/cert.pem'], { stdin: secretYaml(), env: { http_proxy: 'http://user:s3cr3t-proxy-pass@127.0.0.1:9' } });
    expectCleanError(result, /^error: cannot fetch "http:\/\/cert\.example\.test\/v1\/cert\.pem" through the proxy 127\.0\.0\.1:9: .*check the URL, the proxy settings and your network$/);
    expect(result.stderr).not.toContain('s3cr3t-proxy-pass');
  });
  it('https (--cert URL, API server without a CA) trusts the system\'s CAs (SSL_CERT_FILE here), as Go clients', async () => {
    // A private CA and a server certificate for 127.0.0.1, made with the openssl CLI.
    const pki = mkdtempSync(join(tmpdir(), 'kubeseal-ca-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=kubeseal test CA', '-days', '2');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
    // Serves the certificate at any path, and the controller's Service as an API server would (--fetch-cert below).
    const tlsServer = createHttpsServer({ key: readFileSync(join(pki, 'server.key')), cert: readFileSync(join(pki, 'server.pem')) }, (req, res) => {
      if (req.url === '/api/v1/namespaces/kube-system/services/sealed-secrets-controller') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ spec: { ports: [{ name: 'http', port: 8080 }] } }));
      } else {
        res.end(readFixture('sealing-cert.pem'));
      }
    });
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(tlsServer.address() as { port: number }).port}/v1/cert.pem`;
      const trusted = await runKubeseal(['--cert', url], { stdin: secretYaml(), env: { SSL_CERT_FILE: join(pki, 'ca.pem') } });
      expect(trusted).toMatchObject({ code: 0, stderr: '' });
      expect(openAll(trusted.stdout)[0]?.values.user).toBe('admin');
      expectCleanError(await runKubeseal(['--cert', url], { stdin: secretYaml() }), /^error: cannot fetch "https:\/\/127\.0\.0\.1:\d+\/v1\/cert\.pem": .*certificate/);
      // An API server whose kubeconfig names no CA: the system's CAs, as client-go.
      const server = new URL(url).origin;
      const fetched = await runKubeseal(['--fetch-cert', '--server', server, '--token', 't'], { env: { SSL_CERT_FILE: join(pki, 'ca.pem') } });
      expect(fetched).toMatchObject({ code: 0, stderr: '' });
      expect(fetched.stdout.toString()).toBe(readFixture('sealing-cert.pem'));
      expectCleanError(await runKubeseal(['--fetch-cert', '--server', server, '--token', 't']), /its TLS certificate is not accepted/);
    } finally {
      tlsServer.closeAllConnections();
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
      rmSync(pki, { recursive: true, force: true });
    }
  });
  it('a file:// URL', async () => {
    const result = await runKubeseal(['--cert', pathToFileURL(CERT).href], { stdin: secretYaml() });
    expect(result.code).toBe(0);
  });
  it('a PUBLIC KEY PEM', async () => {
    const spki = file('spki.pem', sealingPublicKey().export({ type: 'spki', format: 'pem' }).toString());
    expect(openAll((await runKubeseal(['--cert', spki], { stdin: secretYaml() })).stdout)[0]?.values.user).toBe('admin');
  });
});

describe('--raw', () => {
  const openRaw = (value: string, meta: { name: string; namespace?: string; annotations?: Record<string, string> }) => {
    const sealed = { metadata: meta, spec: { encryptedData: { v: value } } };
    return Buffer.from(unsealSealedSecret(sealed, { keys: [sealingKey()] }).secret.data?.v ?? '', 'base64');
  };
  it('seals stdin unchanged and prints base64 without a newline', async () => {
    const result = await runKubeseal(['--cert', CERT, '--raw', '--name', 'db', '-n', 'demo'], { stdin: 'line\n' });
    expect(result.code).toBe(0);
    const text = result.stdout.toString();
    expect(text).toMatch(/^Ag[A-Za-z0-9+/]+=*$/);
    expect(openRaw(text, { name: 'db', namespace: 'demo' }).toString()).toBe('line\n');
  });
  it('seals a --from-file (key= prefix ignored), binary included', async () => {
    const bytes = Buffer.from([0xff, 0, 0x80, 10]);
    writeFileSync(join(dir, 'raw.bin'), bytes);
    const result = await runKubeseal(['--cert', CERT, '--raw', '--scope', 'namespace-wide', '-n', 'demo', '--from-file', `key=${join(dir, 'raw.bin')}`]);
    expect(openRaw(result.stdout.toString(), { name: 'x', namespace: 'demo', annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } }).equals(bytes)).toBe(true);
  });
  it('needs --namespace and (strict) --name', async () => {
    expectCleanError(await runKubeseal(['--cert', CERT, '--raw', '--name', 'db'], { stdin: 'x' }), /must provide the --namespace flag with --raw and --scope strict/, 2);
    expectCleanError(await runKubeseal(['--cert', CERT, '--raw', '-n', 'demo'], { stdin: 'x' }), /must provide the --name flag with --raw and --scope strict/, 2);
    expectCleanError(await runKubeseal(['--cert', CERT, '--from-file', CERT]), /--from-file requires --raw/, 2);
    expectCleanError(await runKubeseal(['--cert', CERT, '--raw', '--from-file', 'a,b']), /must provide only one --from-file/, 2);
  });
});

describe('--merge-into', () => {
  it('adds and replaces items of an existing file, keeping its scope, name, namespace and format', async () => {
    const existing = file('merge.yaml');
    await runKubeseal(['--cert', CERT, '--scope', 'namespace-wide', '-w', existing], { stdin: secretYaml() });
    const before = readSealedSecret(parseDocuments(readFileSync(existing, 'utf8'))[0], 'f');
    const update = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: ignored\n  labels: {tier: db}\nstringData:\n  password: changed\n  token: new\n';
    const result = await runKubeseal(['--cert', CERT, '--merge-into', existing], { stdin: update });
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(0);
    const text = readFileSync(existing, 'utf8');
    expect(text.startsWith('---\n')).toBe(true);
    const [merged] = openAll(text);
    expect(merged?.values).toEqual({ password: 'changed', user: 'admin', token: 'new' });
    expect(merged?.sealed.metadata).toEqual(before.metadata);
    expect(merged?.sealed.spec.encryptedData.user).toBe(before.spec.encryptedData.user);
    expect(merged?.sealed.spec.template?.metadata?.labels).toEqual({ tier: 'db' });
  });
  it('leaves the file untouched when sealing fails', async () => {
    const existing = file('merge-fail.yaml');
    await runKubeseal(['--cert', CERT, '-w', existing], { stdin: secretYaml() });
    const before = readFileSync(existing, 'utf8');
    expectCleanError(await runKubeseal(['--cert', CERT, '--merge-into', existing], { stdin: 'kind: Secret\ndata: {x: "%%%"}\n' }), /not valid base64/);
    expect(readFileSync(existing, 'utf8')).toBe(before);
  });
});

describe('--recovery-unseal', () => {
  const sealed = readFixture('upstream-strict.yaml');
  const backupList = () => {
    const item = (pem: string, name: string) => ({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name, namespace: 'kube-system', labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' } }, data: { 'tls.crt': '', 'tls.key': Buffer.from(pem).toString('base64') } });
    return `apiVersion: v1\nkind: List\nitems:\n${JSON.stringify([item(readFixture('second-key.pem'), 'k1'), item(readFixture('sealing-key.pem'), 'k2')])}\n`.replace('items:\n[', 'items: [');
  };

  it('opens upstream\'s SealedSecret with a PEM key, exactly as upstream prints it', async () => {
    const result = await runKubeseal(['--recovery-unseal', '--recovery-private-key', KEY, '-o', 'yaml'], { stdin: sealed });
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe(readFixture('upstream-unsealed.yaml'));
  });
  it('takes a backed-up List of key Secrets, a single key Secret, comma lists and repeats', async () => {
    const list = file('backup.yaml', backupList());
    expect((await runKubeseal(['--recovery-unseal', '--recovery-private-key', list, '-o', 'yaml'], { stdin: sealed })).stdout.toString()).toBe(readFixture('upstream-unsealed.yaml'));
    const single = file('key-secret.json', JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k' }, data: { 'tls.key': Buffer.from(readFixture('sealing-key.pem')).toString('base64') } }));
    expect((await runKubeseal(['--recovery-unseal', `--recovery-private-key=${SECOND_KEY},${single}`], { stdin: sealed })).code).toBe(0);
    expect((await runKubeseal(['--recovery-unseal', '--recovery-private-key', SECOND_KEY, '--recovery-private-key', KEY], { stdin: readFixture('upstream-second-key.yaml') })).code).toBe(0);
  });

  const ciphertext = (transform: (b: Buffer) => Buffer) => sealed.replace(/(password: )(\S+)/, (_, k: string, v: string) => k + transform(Buffer.from(v, 'base64')).toString('base64'));
  it.each([
    ['truncated', ciphertext((b) => b.subarray(0, 100)), /cannot unseal SealedSecret demo\/db-creds: ciphertext is too short: .* \(password\)/],
    ['tampered', ciphertext((b) => { const c = Buffer.from(b); c[c.length - 1] = (c[c.length - 1] as number) ^ 1; return c; }), /ciphertext was modified: its authentication tag does not match \(password\)/],
    ['with a length prefix beyond its end', ciphertext((b) => Buffer.concat([Buffer.from([0xff, 0xff]), b.subarray(2)])), /its length prefix announces 65535 RSA bytes/],
    ['fitting no key', sealed.replace('name: db-creds\n  namespace: demo\nspec', 'name: renamed\n  namespace: demo\nspec'), /no key could decrypt secret \(blob, password, username\); pass the key that sealed it/],
    // A name that is no name (an escape sequence, spaces) is not shown: it could drive the terminal.
    ['under a name that is no name', sealed.replace('name: db-creds\n', 'name: "db\\e[2J creds"\n'), /^error: cannot unseal SealedSecret demo\/\(unprintable\): no key could decrypt/],
  ])('refuses a ciphertext %s', async (_, input, message) => {
    const out = file('recovered.yaml');
    expectCleanError(await runKubeseal(['--recovery-unseal', '--recovery-private-key', KEY, '-w', out], { stdin: input }), message);
    expect(existsSync(out)).toBe(false);
  });
  it('refuses unusable key files', async () => {
    expectCleanError(await runKubeseal(['--recovery-unseal', '--recovery-private-key', CERT], { stdin: sealed }), /secret must contain a 'tls.key' key|holds no key/);
    expectCleanError(await runKubeseal(['--recovery-unseal'], { stdin: sealed }), /--recovery-unseal needs --recovery-private-key/, 2);
  });

  // spec.template.data rendered offline by the controller's renderer (shared/template/unseal-renderer.ts).
  const withTemplate = (lines: string[]) => sealed.replace('  template:\n', ['  template:', '    data:', ...lines.map((l) => `      ${l}`), ''].join('\n'));
  it('renders spec.template.data as the controller does: plaintext parts in the context, encrypted wins, null omits', async () => {
    const input = withTemplate([
      `dsn: "postgres://{{ .username }}:{{ .password | urlquery }}@{{ .host }}/app"`,
      'host: db.internal',
      `username: "{{ .username | upper }}"`,
      `quoted: '{{ printf "%q" .blob }}'`,
      'blob: null',
      `ca: '{{ (genCA "offline" 1).Cert | substr 0 27 }}'`,
      `htpasswd: '{{ htpasswd .username .password | substr 0 13 }}'`,
    ]);
    const result = await runKubeseal(['--recovery-unseal', '--recovery-private-key', KEY, '-o', 'json'], { stdin: input });
    expect(result.stderr.toString()).toBe('');
    const data = (JSON.parse(result.stdout.toString()) as { data: Record<string, string> }).data;
    const values = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    expect(values).toEqual({
      ca: '-----BEGIN CERTIFICATE-----',
      htpasswd: 'admin:$2a$10$',
      dsn: 'postgres://admin:s3cr3t%3A+with+%3Chtml%3E+%26+unicode+%E2%9C%93@db.internal/app',
      host: 'db.internal',
      password: 's3cr3t: with <html> & unicode \u2713',
      quoted: '"\\x00\\xff binary"',
      username: 'admin',
    });
    expect(Object.keys(data)).toEqual(['ca', 'dsn', 'host', 'htpasswd', 'password', 'quoted', 'username']);
  });
  it.each([
    ['a parse error', `bad: "{{ .password "`, /cannot unseal SealedSecret demo\/db-creds: template: bad:1: .*\(bad\)$/],
    ['an execution error', `bad: "{{ index .password 99 }}"`, /cannot unseal SealedSecret demo\/db-creds: template: bad:1:\d+: executing "bad" at .*\(bad\)$/],
    ['a hostile template (the controller\'s limits)', `bad: "{{ range until 100000000 }}{{ $.password }}{{ end }}"`, /cannot unseal SealedSecret demo\/db-creds: template: bad: template rendering exceeded 1000000 steps \(bad\)$/],
  ])('refuses %s in template.data: one line, no value in it, no output file', async (_, line, message) => {
    const out = file('recovered-template.yaml');
    const result = await runKubeseal(['--recovery-unseal', '--recovery-private-key', KEY, '-w', out], { stdin: withTemplate([line]) });
    expectCleanError(result, message);
    expect(result.stderr.toString()).not.toMatch(/s3cr3t|admin/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('bad input: one line, non-zero exit, no stack, no output file', () => {
  const expired = fixturePath('expired-cert.pem');
  const cases: [string, string[], string, RegExp][] = [
    ['input that is not YAML or JSON', [], 'metadata: [unclosed\n', /input is not valid YAML or JSON \(line \d+, column \d+\): .*; fix the manifest/],
    ['a document that is not a Secret', [], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n', /input is a ConfigMap \(apiVersion v1\), not a v1 Secret/],
    ['a YAML list', [], '- a\n- b\n', /input is not a Kubernetes object \(it is a list\)/],
    // Found by the adversarial review (issue 8); the secret in each must not be echoed.
    ['a bare string', [], 's3cr3t', /^error: input is not a Kubernetes object \(it is a string\); pass a Secret manifest$/],
    ['a private key PEM', [], readFixture('sealing-key.pem'), /input is not a Kubernetes object \(it is a string\)/],
    ['a JSON syntax error', [], '{"pw": Zx9pw}', /^error: input document 1 is not valid JSON: unexpected text \(is a value missing quotes\?\); fix the manifest$/],
    ['a JSON syntax error with a position', [], '{"pw": "Zx9\\qpw"}', /input document 1 is not valid JSON \(line 1, column \d+\): a string has an invalid escape sequence/],
    ['binary input', [], '\x1f\x8b\x08\x00s3cr3t\xff\x00'.repeat(50), /^error: input is not valid UTF-8 \(byte 2, line 1\); a manifest is UTF-8 text/],
    ['a YAML error', [], 'kind: Secret\nstringData:\n  pw: a: Zx9pw\n', /input is not valid YAML or JSON \(line 3, column \d+\): a nested map is on the same line as its key/],
    ['a value that is a map', [], 'kind: Secret\nmetadata: {name: a, namespace: b}\nstringData:\n  pw: {v: Zx9pw}\n', /stringData\["pw"\] must be a string but is a map; quote the value/],
    ['an undefined YAML alias', [], 'kind: Secret\nmetadata: {name: a, namespace: b}\nstringData:\n  pw: *Zx9pw\n', /\(line 4, column 7\): an alias refers to an anchor that is not defined before it/],
    ['a YAML alias bomb', [], `a: &a [Zx9pw,Zx9pw,Zx9pw,Zx9pw,Zx9pw,Zx9pw,Zx9pw,Zx9pw,Zx9pw]\nb: &b [${'*a,'.repeat(9)}]\nc: &c [${'*b,'.repeat(9)}]\nd: [${'*c,'.repeat(9)}]\n`, /input uses YAML aliases that expand too much .*; write the values out instead of using aliases$/],
    ['apiVersion given as a map', [], 'apiVersion: {v: Zx9pw}\nkind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {a: b}\n', /input is a Secret \(an apiVersion that is a map, not a string\), not a v1 Secret/],
    ['200k-deep JSON nesting', [], `{"kind":"Secret","metadata":{"managedFields":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`, /input is nested more than 100 levels deep \(line 1, column \d+\)/],
    ['200k-deep YAML nesting', [], `kind: Secret\nx: ${'['.repeat(200_000)}${']'.repeat(200_000)}\n`, /input is nested more than 100 levels deep/],
    ['invalid UTF-8 in stringData', [], 'kind: Secret\nmetadata: {name: a, namespace: b}\nstringData:\n  pw: "Zx9\xffpw"\n', /^error: input is not valid UTF-8 \(byte 70, line 4\); a manifest is UTF-8 text: put binary values base64-encoded under data$/],
    ['the data key ".."', [], 'kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {"..": x}\n', /Secret "b\/a": the key "\.\." cannot be "\.\.", so the API server would refuse it/],
    ['a data key starting with ".."', [], 'kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {..data: x}\n', /the key "\.\.data" cannot start with '\.\.'/],
    ['a data key over 253 characters', [], `kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {${'k'.repeat(254)}: x}\n`, /a key of 254 characters is longer than 253 characters/],
    ['an input file over 16 MiB', ['-f', '/dev/zero'], '', /--secret-file "\/dev\/zero" is larger than 16 MiB, the most kubeseal reads/],
    ['a missing name', [], 'kind: Secret\nmetadata: {namespace: demo}\nstringData: {a: b}\n', /missing metadata.name in input Secret; set metadata.name or pass --name/],
    ['a missing namespace', [], secretYaml('db', null), /secret must declare a namespace: set metadata.namespace, pass --namespace/],
    ['invalid base64 in data', [], 'kind: Secret\nmetadata: {name: a, namespace: b}\ndata: {k: "not base64"}\n', /data\["k"\] is not valid base64/],
    ['empty data', [], 'kind: Secret\nmetadata: {name: a, namespace: b}\ndata: {}\n', /has no data or stringData/],
    ['empty input', [], '', /no secrets found in input/],
    ['a garbage certificate', ['--cert', fixturePath('README.md')], secretYaml(), /holds no PEM certificate or public key/],
    ['an expired certificate', ['--cert', expired], secretYaml(), /failed to encrypt using an expired certificate on January 1, 2021/],
    ['a certificate that is not RSA', ['--cert', fixturePath('ec-cert.pem')], secretYaml(), /holds a ec key, but sealing needs an RSA key/],
    ['a certificate that cannot be read', ['--cert', '/nonexistent/cert.pem'], secretYaml(), /cannot read --cert "\/nonexistent\/cert.pem": no such file/],
    ['an input file that cannot be read', ['-f', '/nonexistent/secret.yaml'], '', /cannot read --secret-file "\/nonexistent\/secret.yaml": no such file/],
    ['an unsupported output format', ['-o', 'xml'], secretYaml(), /unsupported output format: xml/],
  ];
  it.each(cases)('%s', async (_, args, stdin, message) => {
    const out = file(`out-${Math.random().toString(36).slice(2)}.json`);
    const result = await runKubeseal(['--cert', CERT, ...args, '-w', out], { stdin: Buffer.from(stdin, 'latin1') });
    expectCleanError(result, message);
    expect(result.stderr).not.toMatch(/s3cr3t|Zx9pw|MII|PRIVATE KEY/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an existing output file is left untouched on failure', async () => {
    const out = file('keep.json', 'precious\n');
    expectCleanError(await runKubeseal(['--cert', CERT, '-w', out], { stdin: 'kind: Secret\n' }), /missing metadata.name|no data/);
    expect(readFileSync(out, 'utf8')).toBe('precious\n');
  });

  it('an output directory that cannot be written', async () => {
    const locked = join(dir, 'locked');
    (await import('node:fs')).mkdirSync(locked);
    chmodSync(locked, 0o500);
    const result = await runKubeseal(['--cert', CERT, '-w', join(locked, 'out.json')], { stdin: secretYaml() });
    chmodSync(locked, 0o700);
    if (process.getuid?.() === 0) return; // root writes anyway
    expectCleanError(result, /cannot write/);
  });

  it('usage errors exit 2', async () => {
    expectCleanError(await runKubeseal(['--no-such-flag']), /unknown option '--no-such-flag'; see kubeseal --help/, 2);
    expectCleanError(await runKubeseal(['--scope', 'galaxy', '--cert', CERT], { stdin: secretYaml() }), /invalid --scope "galaxy": must be one of: strict, namespace-wide, cluster-wide/, 2);
    expectCleanError(await runKubeseal(['--raw=perhaps']), /invalid value "perhaps" for --raw/, 2);
  });
});

describe('modes that need the controller', () => {
  const sealedInput = () => JSON.stringify({ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'db', namespace: 'demo' }, spec: { encryptedData: { password: 'AgBy' } } });
  it.each([
    [['--fetch-cert'], secretYaml(), /^error: fetching the certificate needs the cluster, but no kubeconfig was found \(\$KUBECONFIG \("\/nonexistent\/kubeconfig"\) names no existing file\) and kubeseal is not running in a cluster; pass --kubeconfig, or seal offline with --cert <file or URL>$/],
    [[], secretYaml(), /^error: fetching the certificate needs the cluster, .*; pass --kubeconfig, or seal offline with --cert <file or URL>$/],
    [['--validate'], sealedInput(), /^error: --validate needs the cluster, but no kubeconfig was found .*; pass --kubeconfig or set KUBECONFIG$/],
    [['--re-encrypt'], sealedInput(), /^error: --re-encrypt needs the cluster, but no kubeconfig was found .*; pass --kubeconfig or set KUBECONFIG$/],
  ])('%j without a kubeconfig says so in one line', async (args, stdin, message) => {
    expectCleanError(await runKubeseal(args, { stdin }), message);
  });

  it('names a missing --kubeconfig and an unreachable API server', async () => {
    expectCleanError(await runKubeseal(['--fetch-cert', '--kubeconfig', file('absent.kubeconfig')]), /^error: cannot read --kubeconfig ".*absent.kubeconfig": no such file; check the path$/);
    const kubeconfig = file('closed.kubeconfig', `apiVersion: v1
kind: Config
current-context: c
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
`);
    expectCleanError(await runKubeseal(['--fetch-cert'], { env: { KUBECONFIG: kubeconfig } }), /^error: cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1; check that the cluster is running/);
    // An HTTPS_PROXY that refuses: named (never its credentials), with where proxies come from.
    const proxied = await runKubeseal(['--fetch-cert', '--server', 'https://api.example.test:6443', '--token', 't'], { env: { HTTPS_PROXY: 'http://me:pr0xy-pass@127.0.0.1:9' } });
    expectCleanError(proxied, /^error: cannot reach the Kubernetes API server at https:\/\/api\.example\.test:6443 through the proxy 127\.0\.0\.1:9: .*; check the proxy \(--proxy-url, the kubeconfig's proxy-url, HTTPS_PROXY\/HTTP_PROXY, NO_PROXY\)/);
    expect(proxied.stderr).not.toContain('pr0xy-pass');
  });

  describe('through an API server (a fake one here, over plain HTTP like `kubectl proxy`)', () => {
    let server: Server;
    let api = '';
    beforeAll(async () => {
      const proxy = '/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy';
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          if (req.url === '/api/v1/namespaces/kube-system/services/sealed-secrets-controller') {
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ spec: { ports: [{ name: 'http', port: 8080 }] } }));
          } else if (req.url === `${proxy}/v1/cert.pem`) {
            res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(readFileSync(CERT));
          } else if (req.url === `${proxy}/v1/verify`) {
            res.writeHead(JSON.parse(body).metadata.name === 'db' ? 200 : 409).end();
          } else if (req.url === `${proxy}/v1/rotate`) {
            const sent = JSON.parse(body);
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...sent, metadata: { ...sent.metadata, creationTimestamp: null }, spec: { ...sent.spec, encryptedData: { password: 'AgNEW' } } }));
          } else {
            res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', reason: 'NotFound', message: `${req.url} not found` }));
          }
        });
      });
      // All interfaces: the proxy spec below needs a non-loopback address (loopback is never proxied).
      await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
      api = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => {
      server.closeAllConnections();
      server.close();
    });

    it('goes through HTTP_PROXY as kubectl does; NO_PROXY goes direct', async (context) => {
      const address = nonLoopbackAddress(networkInterfaces());
      if (!address) context.skip(); // no non-loopback interface to reach the fake API server by
      const remote = `http://${address}:${(server.address() as { port: number }).port}`;
      const proxy = await startForwardProxy();
      try {
        const fetched = await runKubeseal(['--fetch-cert', '--server', remote], { env: { HTTP_PROXY: proxy.url } });
        expect(fetched).toMatchObject({ code: 0, stderr: '' });
        expect(fetched.stdout.equals(readFileSync(CERT))).toBe(true);
        // client-node's proxy agent tunnels (CONNECT) where Go would send absolute-form requests: either way, through the proxy
        expect(proxy.requests.filter((r) => r.includes(remote.slice('http://'.length))).length).toBeGreaterThan(0);
        proxy.requests.length = 0;
        const direct = await runKubeseal(['--fetch-cert', '--server', remote], { env: { HTTP_PROXY: proxy.url, NO_PROXY: address ?? '' } });
        expect(direct).toMatchObject({ code: 0, stderr: '' });
        expect(proxy.requests).toEqual([]);
      } finally {
        await proxy.close();
      }
    });

    it('--fetch-cert prints the certificate bytes unchanged; sealing without --cert uses it', async () => {
      const fetched = await runKubeseal(['--fetch-cert', '--server', api]);
      expect(fetched).toMatchObject({ code: 0, stderr: '' });
      expect(fetched.stdout.equals(readFileSync(CERT))).toBe(true);
      const sealed = await runKubeseal(['--server', api], { stdin: secretYaml() });
      expect(sealed.code).toBe(0);
      expect(openAll(sealed.stdout)[0]?.values).toEqual({ password: 's3cr3t', user: 'admin' });
    });

    it('--validate exits 0 when the controller opens it, 1 with upstream\'s message when not', async () => {
      expect(await runKubeseal(['--validate', '--server', api], { stdin: sealedInput() })).toMatchObject({ code: 0, stderr: '' });
      expectCleanError(await runKubeseal(['--validate', '--server', api], { stdin: sealedInput().replace('"db"', '"other"') }), /^error: unable to decrypt sealed secret: other$/);
    });

    it('--re-encrypt -f rewrites the file in place, in its format', async () => {
      const path = file('reencrypt.yaml', '---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\n  namespace: demo\nspec:\n  encryptedData:\n    password: AgBy\n');
      const result = await runKubeseal(['--re-encrypt', '--server', api, '-f', path]);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout.length).toBe(0);
      const rewritten = readFileSync(path, 'utf8');
      expect(rewritten).toMatch(/^---\napiVersion: bitnami.com\/v1alpha1\nkind: SealedSecret\n/);
      expect(rewritten).toContain('password: AgNEW');
      expect(rewritten).not.toContain('creationTimestamp');
    });
  });
});

describe('--version and --help', () => {
  it('prints the version as upstream formats it', async () => {
    const result = await runKubeseal(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toMatch(/^kubeseal version: v\d+\.\d+\.\d+\n$/);
  });
  it('lists the flags and shows examples', async () => {
    const text = (await runKubeseal(['--help'])).stdout.toString();
    for (const flag of ['--cert', '--raw', '--merge-into', '--recovery-unseal', '--recovery-private-key', '--scope', '-n, --namespace', '--kubeconfig', '--controller-name', '--re-encrypt', '--validate', '--fetch-cert']) {
      expect(text).toContain(flag);
    }
    expect(text).toContain('Examples:');
    expect(text).toContain('SEALED_SECRETS_');
  });
});

describe('the executable (scripts/bundle.ts)', () => {
  const binDir = fileURLToPath(new URL('../dist/bin/', import.meta.url));
  const cacheName = `kubeseal-cli.${process.versions.v8}-${process.arch}.cache`;

  it('ships a V8 code cache that this Node accepts', () => {
    const source = readFileSync(join(binDir, 'kubeseal-cli.cjs'), 'utf8');
    const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
      filename: join(binDir, 'kubeseal-cli.cjs'),
      cachedData: readFileSync(join(binDir, cacheName)),
    });
    expect(script.cachedDataRejected).toBe(false);
  });

  it('works the same without it (another Node version): seals, and fails in one line', async () => {
    // A copy beside dist/bin, so that --version still finds package.json two folders up.
    const copy = mkdtempSync(join(binDir, '..', 'bin-without-cache-'));
    try {
      for (const name of ['kubeseal.js', 'kubeseal-cli.cjs']) copyFileSync(join(binDir, name), join(copy, name));
      const bin = join(copy, 'kubeseal.js');
      const sealed = await runKubeseal([bin, '--cert', CERT], { stdin: secretYaml(), bin: process.execPath });
      expect(sealed).toMatchObject({ code: 0, stderr: '' });
      expect(openAll(sealed.stdout)[0]?.values).toEqual({ password: 's3cr3t', user: 'admin' });
      expect((await runKubeseal([bin, '--version'], { bin: process.execPath })).stdout.toString()).toMatch(/^kubeseal version: v\d+\.\d+\.\d+\n$/);
      expectCleanError(await runKubeseal([bin, '--cert', CERT], { stdin: 'kind: ConfigMap\n', bin: process.execPath }), /Secret/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
