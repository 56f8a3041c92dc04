/**
 * kubeseal's cluster modes for real: the kubeseal binary, with a kubeconfig, through the real API
 * server's service proxy, to the real controller process. The controller runs in a network
 * namespace of its own (test/harness/netns.ts) because the API server refuses to proxy to
 * loopback addresses; a Service, an EndpointSlice, Endpoints and a stand-in Pod route the proxy to
 * it. Upstream's Go kubeseal runs the same modes against our controller when Go can build it.
 *
 * Without network namespaces (not root, no iproute2) only the specs that need no proxy run.
 */
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { createNetns, exposeController, netnsUnavailable, startControllerIn, type Netns } from '../harness/netns.ts';
import { upstreamKubeseal, UPSTREAM_VERSION } from '../harness/upstream-kubeseal.ts';
import { runKubeseal, type CliResult } from '../run-cli.ts';
import { parsePrivateKey } from '../../shared/keys.ts';
import { readSealedSecret } from '../../shared/kube.ts';
import { parseDocuments } from '../../shared/manifest.ts';
import { unsealSealedSecret } from '../../shared/sealed-secret.ts';
import { apply, getSecret, kubectlJson, text } from './kube.ts';

const cluster = useCluster();
const admin = { KUBECONFIG: cluster.kubeconfigPath };
const noNetns = await netnsUnavailable();
const scratch = mkdtempSync(join(tmpdir(), 'kubeseal-cluster-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const secret = (name: string, namespace: string) => JSON.stringify({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  stringData: { username: 'admin', password: `pw-of-${name}` },
});

/** One clean error line: exit 1, nothing on stdout, no stack. */
function expectError(result: CliResult, message: RegExp): void {
  expect(result.stdout.toString()).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(result.code).toBe(1);
}

/** The same SealedSecret with its GCM tag broken: it parses, but no key opens it. */
function tamper(sealedYaml: string): string {
  const doc = parseDocuments(sealedYaml)[0] as { spec: { encryptedData: Record<string, string> } };
  const bytes = Buffer.from(doc.spec.encryptedData.password ?? '', 'base64');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
  doc.spec.encryptedData.password = bytes.toString('base64');
  return JSON.stringify(doc);
}

/** The sealing keys of a controller namespace: certificate PEM and private key. */
async function sealingKeys(namespace: string): Promise<{ cert: string; key: KeyObject }[]> {
  const list = await kubectlJson<{ items: { data: Record<string, string> }[] }>(cluster, ['get', 'secrets', '-n', namespace, '-l', 'sealedsecrets.bitnami.com/sealed-secrets-key']);
  return list.items.map((s) => ({ cert: text(s.data['tls.crt']).trim(), key: parsePrivateKey(Buffer.from(s.data['tls.key'] ?? '', 'base64'), 'sealing key') }));
}

/** Whether every SealedSecret printed in `output` opens with exactly these keys. */
function opensWith(output: string, keys: readonly KeyObject[]): boolean {
  try {
    for (const doc of parseDocuments(output)) unsealSealedSecret(readSealedSecret(doc, 'output'), { keys });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(noNetns !== null)('through the API server\'s service proxy', () => {
  let netns: Netns;
  let controller: ControllerProcess;
  let home = '';
  let app = '';
  let ctl: string[] = [];
  const kubeseal = (args: readonly string[], options: { stdin?: string; env?: Record<string, string> } = {}) =>
    runKubeseal([...ctl, ...args], { env: admin, ...options });
  const servedCert = async () => (await fetch(`${controller.http}/v1/cert.pem`)).text();

  beforeAll(async () => {
    home = await cluster.createNamespace('kubeseal-home');
    app = await cluster.createNamespace('kubeseal-app');
    ctl = ['--controller-namespace', home];
    netns = await createNetns();
    controller = await startControllerIn(netns, { kubeconfigPath: cluster.kubeconfigPath, server: cluster.server, namespace: home, watch: [app] });
    await controller.waitForKeys(1);
    await exposeController(cluster, { namespace: home, name: 'sealed-secrets-controller', address: netns.address, targetPort: 8080 });
  });
  afterAll(async () => {
    await controller?.stop();
    await netns?.destroy();
  });

  describe('our kubeseal', () => {
    it('--fetch-cert prints the certificate the controller serves, byte for byte', async () => {
      const result = await kubeseal(['--fetch-cert']);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout.toString()).toBe(await servedCert());
      expect(result.stdout.toString()).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    });

    it('seals without --cert, with the controller\'s certificate, and the controller opens it', async () => {
      const sealed = await kubeseal(['-o', 'yaml'], { stdin: secret('fetched', app) });
      expect(sealed).toMatchObject({ code: 0, stderr: '' });
      await apply(cluster, sealed.stdout.toString());
      const created = await eventually(() => getSecret(cluster, app, 'fetched'));
      expect(text(created.data?.password)).toBe('pw-of-fetched');
    });

    it('--validate exits 0 when every SealedSecret opens, 1 with upstream\'s message for a tampered one', async () => {
      const a = (await kubeseal(['-o', 'yaml'], { stdin: secret('valid-a', app) })).stdout.toString();
      const b = (await kubeseal([], { stdin: secret('valid-b', app) })).stdout.toString();
      expect(await kubeseal(['--validate'], { stdin: `${a}${a}` })).toMatchObject({ code: 0, stderr: '', stdout: Buffer.alloc(0) });
      expect(await kubeseal(['--validate'], { stdin: b })).toMatchObject({ code: 0, stderr: '' });
      expectError(await kubeseal(['--validate'], { stdin: tamper(a) }), /^error: unable to decrypt sealed secret: valid-a$/);
    });

    it('--validate of many SealedSecrets waits out the controller\'s rate limit (2 per second) instead of failing', async () => {
      const one = (await kubeseal(['-o', 'yaml'], { stdin: secret('many', app) })).stdout.toString();
      const started = Date.now();
      expect(await kubeseal(['--validate'], { stdin: one.repeat(6) })).toMatchObject({ code: 0, stderr: '' });
      expect(Date.now() - started).toBeGreaterThan(1000);
    });

    it('the rate limit keys on the caller the API server\'s proxy appends, not on an X-Forwarded-For the caller writes', async () => {
      const url = new URL(`${cluster.server}/api/v1/namespaces/${home}/services/http:sealed-secrets-controller:http/proxy/v1/verify`);
      const post = async (forwardedFor: string): Promise<number> => {
        const options: RequestOptions & { headers: Record<string, string> } = { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor } };
        await cluster.kc.applyToHTTPSOptions(options);
        return new Promise((resolve, reject) => {
          const req = httpsRequest(url, options, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end('{}');
        });
      };
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push(await post(`198.51.100.${i}`));
      // --rate-limit-burst 2: a forged header per request does not make a new client
      expect(statuses.filter((s) => s === 429).length, String(statuses)).toBeGreaterThanOrEqual(3);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // give the bucket back to the specs after this one
    });

    it('--controller-name and --controller-namespace name another Service, also with an unnamed port; -n does not move the controller', async () => {
      await exposeController(cluster, { namespace: home, name: 'other-sealer', portName: '', address: netns.address, targetPort: 8080 });
      const result = await runKubeseal(['--fetch-cert', '--controller-name', 'other-sealer', '--controller-namespace', home, '-n', app], { env: admin });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout.toString()).toBe(await servedCert());
      const viaEnv = await runKubeseal(['--fetch-cert'], { env: { ...admin, SEALED_SECRETS_CONTROLLER_NAME: 'other-sealer', SEALED_SECRETS_CONTROLLER_NAMESPACE: home } });
      expect(viaEnv).toMatchObject({ code: 0, stderr: '' });
    });

    it('finds kube-system/sealed-secrets-controller by default', async (context) => {
      const existing = await cluster.kubectl(['get', 'service', 'sealed-secrets-controller', '-n', 'kube-system']);
      if (existing.code === 0 || cluster.dir === null) context.skip(); // not ours to replace
      await exposeController(cluster, { namespace: 'kube-system', name: 'sealed-secrets-controller', address: netns.address, targetPort: 8080 });
      try {
        const result = await runKubeseal(['--fetch-cert'], { env: admin });
        expect(result).toMatchObject({ code: 0, stderr: '' });
        expect(result.stdout.toString()).toBe(await servedCert());
      } finally {
        for (const kind of ['service', 'endpoints', 'endpointslice', 'pod']) {
          const name = kind === 'service' || kind === 'endpoints' ? 'sealed-secrets-controller' : 'sealed-secrets-controller-netns';
          await cluster.kubectl(['delete', kind, name, '-n', 'kube-system', '--ignore-not-found', '--wait=false']);
        }
      }
    });

    it('takes the kubectl flags: --context, --server/--token/--certificate-authority without kubeconfig, --as', async (context) => {
      if (cluster.dir === null) context.skip(); // needs the CA and a user certificate of a cluster we started
      // A kubeconfig whose current context is broken: --context picks the working one.
      const two = join(scratch, 'two-contexts.kubeconfig');
      const config = readFileSync(cluster.kubeconfigPath, 'utf8');
      writeFileSync(two, `${config.replace(/current-context: .*/, 'current-context: broken')}`);
      await cluster.kubectl(['config', 'set-cluster', 'closed', '--server=https://127.0.0.1:1', `--kubeconfig=${two}`]);
      await cluster.kubectl(['config', 'set-context', 'broken', '--cluster=closed', '--user=admin', `--kubeconfig=${two}`]);
      expectError(await kubeseal(['--fetch-cert'], { env: { KUBECONFIG: two } }), /cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1: connect ECONNREFUSED/);
      expect(await kubeseal(['--fetch-cert', '--context', 'admin'], { env: { KUBECONFIG: two } })).toMatchObject({ code: 0, stderr: '' });

      // A service account token, the server and its CA on the command line, no kubeconfig at all.
      await cluster.kubectl(['create', 'serviceaccount', 'sealer', '-n', home]);
      await cluster.kubectl(['create', 'role', 'sealer', '-n', home, '--verb=get,create', '--resource=services,services/proxy']);
      await cluster.kubectl(['create', 'rolebinding', 'sealer', '-n', home, '--role=sealer', `--serviceaccount=${home}:sealer`]);
      const token = (await cluster.kubectl(['create', 'token', 'sealer', '-n', home])).stdout.trim();
      const ca = join(cluster.dir ?? '', 'pki', 'ca.crt');
      const flags = ['--server', cluster.server, '--certificate-authority', ca, '--token', token];
      const fetched = await kubeseal(['--fetch-cert', ...flags], { env: { KUBECONFIG: '/nonexistent' } });
      expect(fetched).toMatchObject({ code: 0, stderr: '' });
      expect(fetched.stdout.toString()).toBe(await servedCert());
      const sealed = (await kubeseal([], { stdin: secret('by-token', app) })).stdout.toString();
      expect(await kubeseal(['--validate', ...flags], { stdin: sealed, env: { KUBECONFIG: '/nonexistent' } })).toMatchObject({ code: 0, stderr: '' });
      expectError(await kubeseal(['--fetch-cert', '--server', cluster.server, '--insecure-skip-tls-verify', '--token', 'not-a-token'], { env: { KUBECONFIG: '/nonexistent' } }),
        /does not accept the credentials of user "kubeseal" \(401 Unauthorized\); check the kubeconfig's user, --token or the client certificate$/);

      // --as: the admin acting as someone with no rights.
      expectError(await kubeseal(['--validate', '--as', 'nobody', '--as-group', 'nobodies'], { stdin: sealed }), /User "nobody" cannot get resource "services"/);
    });

    it('--re-encrypt: after a key renewal, the output opens with the newest key only', async () => {
      const original = (await kubeseal(['-o', 'yaml'], { stdin: secret('renewed', app) })).stdout.toString();
      const [first] = await sealingKeys(home);
      expect(first?.cert).toBe((await servedCert()).trim());

      controller.child.kill('SIGUSR1');
      await eventually(() => expect(controller.logs().match(/new sealing key generated/g)).toHaveLength(2), { timeoutMs: 60_000 });
      const keys = await eventually(async () => {
        const all = await sealingKeys(home);
        expect(all).toHaveLength(2);
        return all;
      });
      const newestPem = (await servedCert()).trim();
      const newest = keys.find((k) => k.cert === newestPem);
      const older = keys.find((k) => k.cert !== newestPem);
      expect(newest && older && older.cert === first?.cert).toBe(true);
      expect(opensWith(original, [older?.key as KeyObject])).toBe(true);

      const result = await kubeseal(['--re-encrypt', '-o', 'yaml'], { stdin: original });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      const output = result.stdout.toString();
      expect(output).toMatch(/^---\napiVersion: bitnami.com\/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: renewed\n  namespace: /);
      expect(output).not.toMatch(/creationTimestamp|generation|deletionTimestamp/);
      expect(opensWith(output, [newest?.key as KeyObject])).toBe(true);
      expect(opensWith(output, [older?.key as KeyObject])).toBe(false);

      // Only -f: rewritten in place, in the file's format (upstream #405).
      const file = join(scratch, 'renewed.json');
      writeFileSync(file, (await kubeseal([], { stdin: secret('renewed-file', app) })).stdout);
      const inPlace = await kubeseal(['--re-encrypt', '-f', file]);
      expect(inPlace).toMatchObject({ code: 0, stderr: '', stdout: Buffer.alloc(0) });
      const rewritten = readFileSync(file, 'utf8');
      expect(rewritten).toMatch(/^\{\n {2}"kind": "SealedSecret",\n {2}"apiVersion": "bitnami.com\/v1alpha1",/);
      expect(opensWith(rewritten, [newest?.key as KeyObject])).toBe(true);
      await apply(cluster, rewritten);
      expect(text((await eventually(() => getSecret(cluster, app, 'renewed-file'))).data?.password)).toBe('pw-of-renewed-file');
    });

    it('--re-encrypt takes upstream\'s README form: a cluster-wide SealedSecret without a template', async () => {
      const sealed = (await kubeseal(['--scope', 'cluster-wide', '-o', 'json'], { stdin: secret('readme-form', app) })).stdout.toString();
      const doc = JSON.parse(sealed) as { spec: { template?: unknown } };
      delete doc.spec.template;
      const result = await kubeseal(['--re-encrypt', '-o', 'yaml'], { stdin: JSON.stringify(doc) });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const output = result.stdout.toString();
      expect(output).toMatch(/^---\napiVersion: bitnami.com\/v1alpha1\nkind: SealedSecret\nmetadata:\n  annotations:\n    sealedsecrets.bitnami.com\/cluster-wide: "true"\n  name: readme-form\n/);
      expect(output).toMatch(/\n  template:\n    metadata:\n      annotations:\n        sealedsecrets.bitnami.com\/cluster-wide: "true"\n      name: readme-form\n/);
      await apply(cluster, output);
      expect(text((await eventually(() => getSecret(cluster, app, 'readme-form'))).data?.password)).toBe('pw-of-readme-form');
    });
  });

  describe('errors that say what to check', () => {
    const sealedFor = async (name: string) => (await kubeseal([], { stdin: secret(name, app) })).stdout.toString();

    it('no Service: names it and the flags; the certificate still comes from the ConfigMap, with a notice', async () => {
      const sealed = await sealedFor('no-service');
      expectError(await kubeseal(['--validate', '--controller-name', 'missing'], { stdin: sealed }),
        new RegExp(`^error: cannot validate sealed secret: cannot get sealed secret service: service "missing" in namespace "${home}" not found; use --controller-name and --controller-namespace to name the controller's Service$`));
      const fetched = await kubeseal(['--fetch-cert', '--controller-name', 'missing']);
      expect(fetched.code).toBe(0);
      expect(fetched.stdout.toString()).toBe(await servedCert());
      expect(fetched.stderr).toMatch(new RegExp(`^warning: cannot fetch the certificate through the controller \\(cannot get sealed secret service: service "missing" in namespace "${home}" not found\\); using the one it published in ConfigMap ${home}/sealed-secrets-cert\\n$`));
    });

    it('no Service and no ConfigMap: both failures in one line', async () => {
      expectError(await runKubeseal(['--fetch-cert', '--controller-namespace', app], { env: admin }),
        new RegExp(`^error: cannot fetch certificate: cannot get sealed secret service: service "sealed-secrets-controller" in namespace "${app}" not found; the fallback failed too: ConfigMap "sealed-secrets-cert" in namespace "${app}" not found; use --controller-name and --controller-namespace`));
      if (cluster.dir !== null) { // a cluster of ours has nothing in kube-system: sealing with the defaults fails the same way
        expectError(await runKubeseal([], { env: admin, stdin: secret('x', app) }), /^error: cannot fetch certificate: .*namespace "kube-system" not found; the fallback failed too: /);
      }
    });

    it('a Service without endpoints, or whose endpoint refuses connections: the controller is not running or not ready', async () => {
      await exposeController(cluster, { namespace: home, name: 'no-endpoints', targetPort: 8080 });
      await exposeController(cluster, { namespace: home, name: 'refusing', address: netns.address, targetPort: 9999 });
      const sealed = await sealedFor('not-ready');
      expectError(await kubeseal(['--validate', '--controller-name', 'no-endpoints'], { stdin: sealed }),
        new RegExp(`^error: cannot validate sealed secret: the sealed-secrets controller behind service "no-endpoints" in namespace "${home}" is not running or not ready \\(503 Service Unavailable: no endpoints available for service "no-endpoints"\\); check its pods and logs \\(kubectl get pods -n ${home}\\)$`));
      expectError(await kubeseal(['--re-encrypt', '--controller-name', 'refusing'], { stdin: sealed }),
        /^error: cannot re-encrypt secret .*: the sealed-secrets controller behind service "refusing" .* is not running or not ready \(503 Service Unavailable: error trying to reach service: dial tcp 10\.200\.\d+\.2:9999: connect: connection refused\)/);
      const fetched = await kubeseal(['--fetch-cert', '--controller-name', 'refusing']);
      expect(fetched.code).toBe(0);
      expect(fetched.stderr).toMatch(/^warning: cannot fetch the certificate through the controller \(the sealed-secrets controller behind service "refusing" .* is not running or not ready .*connection refused\)\); using the one it published in ConfigMap /);
    });

    it('without RBAC on services/proxy: says so; the certificate comes from the ConfigMap anyone may read', async () => {
      const user = cluster.userKubeconfig('kubeseal-no-proxy');
      await cluster.kubectl(['create', 'role', 'no-proxy', '-n', home, '--verb=get', '--resource=services,configmaps']);
      await cluster.kubectl(['create', 'rolebinding', 'no-proxy', '-n', home, '--role=no-proxy', '--user=kubeseal-no-proxy']);
      const sealed = await sealedFor('no-proxy');
      expectError(await kubeseal(['--validate'], { stdin: sealed, env: { KUBECONFIG: user } }),
        new RegExp(`^error: cannot validate sealed secret: you lack the RBAC permission "create" on services/proxy that reaching the controller through the API server needs: .*User "kubeseal-no-proxy" cannot create resource "services/proxy".*; ask for it for service "sealed-secrets-controller" in namespace "${home}"$`));
      const fetched = await kubeseal(['--fetch-cert'], { env: { KUBECONFIG: user } });
      expect(fetched.code).toBe(0);
      expect(fetched.stdout.toString()).toBe(await servedCert());
      expect(fetched.stderr).toMatch(/^warning: cannot fetch the certificate through the controller \(you lack the RBAC permission "get" on services\/proxy .*\); using the one it published in ConfigMap .*\n$/);
      const sealedByUser = await kubeseal([], { stdin: secret('sealed-by-user', app), env: { KUBECONFIG: user } });
      expect(sealedByUser.code).toBe(0);
      expect(await kubeseal(['--validate'], { stdin: sealedByUser.stdout.toString() })).toMatchObject({ code: 0 });
    });

    it('a user with no rights at all: both refusals in one line', async () => {
      const user = cluster.userKubeconfig('kubeseal-nobody');
      expectError(await kubeseal(['--fetch-cert'], { env: { KUBECONFIG: user } }),
        /^error: cannot fetch certificate: cannot get sealed secret service: services "sealed-secrets-controller" is forbidden: User "kubeseal-nobody" cannot get resource "services" .*; the fallback failed too: cannot read ConfigMap "sealed-secrets-cert" .*User "kubeseal-nobody" cannot get resource "configmaps".*; ask for permission to get services in namespace/);
    });

    it('no kubeconfig: says so and suggests --cert', async () => {
      expectError(await kubeseal(['--fetch-cert'], { env: { KUBECONFIG: '/nonexistent/kubeconfig' } }),
        /^error: fetching the certificate needs the cluster, but no kubeconfig was found .*; pass --kubeconfig, or seal offline with --cert <file or URL>$/);
    });
  });

  describe(`upstream's Go kubeseal ${UPSTREAM_VERSION} against our controller`, () => {
    let upstream: string | undefined;
    let why = '';
    beforeAll(async () => {
      ({ path: upstream, why } = await upstreamKubeseal());
      if (!upstream) console.warn(`[cli-cluster] skipping upstream kubeseal specs: ${why}`);
    }, 900_000);
    const run = (args: readonly string[], stdin?: string) => runKubeseal(['--controller-namespace', home, ...args], { bin: upstream, env: admin, ...(stdin === undefined ? {} : { stdin }) });

    it('--fetch-cert, sealing without --cert, --validate and --re-encrypt work unchanged', async (context) => {
      if (!upstream) context.skip();
      const fetched = await run(['--fetch-cert']);
      expect(fetched).toMatchObject({ code: 0, stderr: '' });
      expect(fetched.stdout.toString()).toBe(await servedCert());

      const sealed = await run(['-o', 'yaml'], secret('by-upstream', app));
      expect(sealed, sealed.stderr).toMatchObject({ code: 0 });
      await apply(cluster, sealed.stdout.toString());
      expect(text((await eventually(() => getSecret(cluster, app, 'by-upstream'))).data?.password)).toBe('pw-of-by-upstream');

      expect(await run(['--validate'], sealed.stdout.toString())).toMatchObject({ code: 0 });
      const tampered = await run(['--validate'], tamper(sealed.stdout.toString()));
      expect(tampered.code).toBe(1);
      expect(tampered.stderr).toContain('unable to decrypt sealed secret: by-upstream');

      const reencrypted = await run(['--re-encrypt', '-o', 'yaml'], sealed.stdout.toString());
      expect(reencrypted, reencrypted.stderr).toMatchObject({ code: 0 });
      const newestPem = (await servedCert()).trim();
      const newest = (await sealingKeys(home)).find((k) => k.cert === newestPem);
      expect(opensWith(reencrypted.stdout.toString(), [newest?.key as KeyObject])).toBe(true);
      // And ours prints what upstream prints for the same answer.
      const ours = await kubeseal(['--re-encrypt', '-o', 'yaml'], { stdin: sealed.stdout.toString() });
      const shape = (yaml: string) => yaml.replace(/: Ag[A-Za-z0-9+/=]+/g, ': <sealed>');
      expect(shape(ours.stdout.toString())).toBe(shape(reencrypted.stdout.toString()));
    });
  });
});

describe('without the service proxy: the certificate from the ConfigMap', () => {
  let controller: ControllerProcess;
  let home = '';
  beforeAll(async () => {
    home = await cluster.createNamespace('kubeseal-cm');
    controller = await startController({ kubeconfigPath: cluster.kubeconfigPath, namespace: home });
    await controller.waitForKeys(1);
  });
  afterAll(async () => {
    await controller?.stop();
  });

  it('--fetch-cert and sealing fall back to ConfigMap sealed-secrets-cert when there is no Service', async () => {
    const served = await (await fetch(`${controller.http}/v1/cert.pem`)).text();
    const published = await eventually(async () => {
      const result = await runKubeseal(['--fetch-cert', '--controller-namespace', home], { env: admin });
      expect(result.code, result.stderr).toBe(0);
      return result;
    });
    expect(published.stdout.toString()).toBe(served);
    expect(published.stderr).toBe(`warning: cannot fetch the certificate through the controller (cannot get sealed secret service: service "sealed-secrets-controller" in namespace "${home}" not found); using the one it published in ConfigMap ${home}/sealed-secrets-cert\n`);
    const sealed = await runKubeseal(['--controller-namespace', home, '--scope', 'cluster-wide'], { env: admin, stdin: secret('from-configmap', home) });
    expect(sealed.code).toBe(0);
    expect(sealed.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(sealed.stdout.toString())).toMatchObject({ kind: 'SealedSecret', metadata: { name: 'from-configmap' } });
  });
});
