/**
 * The controller as users run it: the image built from the Dockerfile (npm run image), in pods on a
 * real kubelet (test/harness/node.ts), installed with `kubectl apply -k deploy/`, reached by
 * kubeseal through the API server's service proxy and the Service in front of the pods.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/cluster/control-plane.ts';
import { eventually } from '../harness/cluster.ts';
import { useNodeCluster, type NodeCluster } from '../harness/node.ts';
import { upstreamKubeseal } from '../harness/upstream-kubeseal.ts';
import { runKubeseal } from '../run-cli.ts';
import { apply, getSecret, kubectlJson, seal, text, type SecretObject } from './kube.ts';

const NS = 'kube-system';
const NAME = 'sealed-secrets-controller';
const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';
/** A rollout on a loaded 2-core machine: new pods start (probes every 2 s), old ones stop. */
const ROLLOUT_TEST_TIMEOUT_MS = 420_000;
const CERT_PROXY = `/api/v1/namespaces/${NS}/services/http:${NAME}:http/proxy/v1/cert.pem`;

interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { containers: { image: string }[] };
  status: { phase: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

const isReady = (pod: Pod) => !pod.metadata.deletionTimestamp && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

function secretManifest(name: string, namespace: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: { password: `pw-of-${name}` } });
}

/** Flips a byte in the middle of each sealed value, so that none opens. */
function tamper(sealedYaml: string): string {
  return sealedYaml.replace(/(: )(Ag[A-Za-z0-9+/=]{60})([A-Za-z0-9+/])/g, (_, p: string, head: string, c: string) => `${p}${head}${c === 'A' ? 'B' : 'A'}`);
}

describe('the controller image on a kubelet node, installed with kubectl apply -k deploy/', () => {
  const node = useNodeCluster();
  let cluster: NodeCluster;
  let app = '';
  let work = '';
  const admin = () => ({ KUBECONFIG: cluster.kubeconfigPath });
  const pods = async () => (await kubectlJson<{ items: Pod[] }>(cluster, ['get', 'pods', '-n', NS, '-l', `name=${NAME}`])).items;
  const holder = async () => (await kubectlJson<{ spec: { holderIdentity?: string } }>(cluster, ['get', 'lease', NAME, '-n', NS])).spec.holderIdentity ?? '';
  /** The pod whose name the Lease's holder identity starts with (identities are `<pod>_<random>`). */
  const leaderPod = async () => {
    const identity = await holder();
    const pod = (await pods()).find((p) => identity.startsWith(p.metadata.name));
    if (!pod) throw new Error(`no pod holds the Lease (holder "${identity}")`);
    return pod;
  };
  const publishedCert = async () => (await kubectlJson<{ data: Record<string, string> }>(cluster, ['get', 'configmap', 'sealed-secrets-cert', '-n', NS])).data['cert.pem'] ?? '';
  const keySecrets = async () => (await kubectlJson<{ items: SecretObject[] }>(cluster, ['get', 'secrets', '-n', NS, '-l', KEY_LABEL])).items;
  const rolloutStatus = async () => {
    const result = await cluster.kubectl(['rollout', 'status', `deployment/${NAME}`, '-n', NS, '--timeout=300s'], { timeoutMs: 310_000 });
    if (result.code !== 0) {
      const described = await cluster.kubectl(['describe', 'pods', '-n', NS, '-l', `name=${NAME}`]);
      throw new Error(`rollout did not finish: ${result.stderr}\n${described.stdout.slice(-4000)}`);
    }
  };
  const sealAndApply = async (name: string) => {
    const certFile = join(work, 'cert.pem');
    writeFileSync(certFile, await publishedCert());
    await apply(cluster, await seal(secretManifest(name, app), certFile));
  };
  const unsealed = (name: string, timeoutMs = 60_000) =>
    eventually(async () => {
      const secret = await getSecret(cluster, app, name);
      expect(text(secret.data?.password)).toBe(`pw-of-${name}`);
      return secret;
    }, { timeoutMs });

  beforeAll(async () => {
    cluster = node();
    work = mkdtempSync(join(tmpdir(), 'pods-spec-'));
    const applied = await cluster.kubectl(['apply', '-k', join(repoRoot(), 'deploy')], { timeoutMs: 120_000 });
    expect(applied.code, applied.stderr).toBe(0);
    await rolloutStatus();
    app = await cluster.createNamespace('pods-app');
  }, 600_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs 2 Ready pods, one holding the Lease, with a sealing key Secret and the certificate ConfigMap', async () => {
    expect((await pods()).filter(isReady)).toHaveLength(2);
    const leader = await eventually(leaderPod, { timeoutMs: 60_000 });
    expect(isReady(leader)).toBe(true);
    const keys = await eventually(async () => {
      const found = await keySecrets();
      expect(found.length).toBeGreaterThan(0);
      return found;
    });
    expect(keys.every((k) => k.type === 'kubernetes.io/tls')).toBe(true);
    const cert = await eventually(async () => {
      const pem = await publishedCert();
      expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----/);
      return pem;
    });
    expect(keys.map((k) => text(k.data?.['tls.crt']))).toContain(cert);
  });

  it('runs with the security context of deploy/: uid 1001, no capabilities, no new privileges, seccomp, read-only root, limits, projected token', async () => {
    const pod = (await pods()).find(isReady);
    // Read from inside the running container: the controller's own /proc/1 entries and cgroup files.
    const probe = `
      const fs = require('fs');
      const status = fs.readFileSync('/proc/1/status', 'utf8');
      const field = (name) => (status.match(new RegExp('^' + name + ':\\\\s*(.*)$', 'm')) || [])[1];
      const read = (path) => { try { return fs.readFileSync(path, 'utf8').trim(); } catch { return null; } };
      const writes = (path) => { try { fs.writeFileSync(path, 'x'); fs.unlinkSync(path); return 'ok'; } catch (e) { return e.code; } };
      const root = fs.readFileSync('/proc/1/mountinfo', 'utf8').split('\\n').find((l) => l.split(' ')[4] === '/');
      const token = read('/var/run/secrets/kubernetes.io/serviceaccount/token');
      console.log(JSON.stringify({
        uid: field('Uid'), gid: field('Gid'), capEff: field('CapEff'), capPrm: field('CapPrm'), capBnd: field('CapBnd'),
        noNewPrivs: field('NoNewPrivs'), seccomp: field('Seccomp'),
        rootOptions: root && root.split(' ')[5], writeRoot: writes('/probe'), writeApp: writes('/app/probe'), writeTmp: writes('/tmp/probe'),
        memoryLimit: read('/sys/fs/cgroup/memory/memory.limit_in_bytes') || read('/sys/fs/cgroup/memory.max'),
        cpuQuota: read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') || read('/sys/fs/cgroup/cpu.max'),
        cpuPeriod: read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'),
        tokenClaims: token && JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()),
        shell: fs.existsSync('/bin/sh'), npm: fs.existsSync('/usr/local/bin/npm') || fs.existsSync('/usr/bin/npm'),
      }));`;
    const result = await cluster.kubectl(['exec', '-n', NS, pod!.metadata.name, '-c', NAME, '--', '/nodejs/bin/node', '-e', probe]);
    expect(result.code, result.stderr).toBe(0);
    const seen = JSON.parse(result.stdout) as Record<string, unknown> & { tokenClaims: Record<string, unknown> & { 'kubernetes.io'?: { pod?: { name?: string } } } };
    expect(seen).toMatchObject({
      uid: '1001\t1001\t1001\t1001',
      capEff: '0000000000000000',
      capPrm: '0000000000000000',
      capBnd: '0000000000000000',
      noNewPrivs: '1',
      seccomp: '2', // a filter: RuntimeDefault
      writeRoot: 'EROFS',
      writeApp: 'EROFS',
      writeTmp: 'ok', // the emptyDir
      memoryLimit: String(512 * 1024 * 1024),
      cpuQuota: '100000',
      cpuPeriod: '100000',
      shell: false,
      npm: false,
    });
    expect(String(seen.rootOptions).split(',')).toContain('ro');
    // A projected, bound token: it expires and names the pod (a legacy Secret token does neither).
    expect(typeof seen.tokenClaims.exp).toBe('number');
    expect(seen.tokenClaims['kubernetes.io']?.pod?.name).toBe(pod!.metadata.name);
  });

  it('serves kubeseal --fetch-cert, sealing without --cert, --validate and --re-encrypt through the service proxy', async () => {
    const kubeseal = (args: readonly string[], stdin?: string) => runKubeseal(args, { env: admin(), ...(stdin === undefined ? {} : { stdin }) });
    const fetched = await kubeseal(['--fetch-cert']);
    expect(fetched).toMatchObject({ code: 0, stderr: '' });
    expect(fetched.stdout.toString()).toBe(await publishedCert());

    const sealed = await kubeseal(['-o', 'yaml'], secretManifest('via-pods', app));
    expect(sealed.code, sealed.stderr).toBe(0);
    await apply(cluster, sealed.stdout.toString());
    await unsealed('via-pods');

    expect(await kubeseal(['--validate'], sealed.stdout.toString())).toMatchObject({ code: 0 });
    const tampered = await kubeseal(['--validate'], tamper(sealed.stdout.toString()));
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('unable to decrypt sealed secret: via-pods');
    const reencrypted = await kubeseal(['--re-encrypt', '-o', 'yaml'], sealed.stdout.toString());
    expect(reencrypted.code, reencrypted.stderr).toBe(0);
    expect(reencrypted.stdout.toString()).toContain('name: via-pods');
  });

  it('serves upstream\'s Go kubeseal the same way', async (context) => {
    const { path, why } = await upstreamKubeseal();
    if (!path) {
      console.warn(`[pods] skipping upstream kubeseal: ${why}`);
      context.skip();
    }
    const upstream = (args: readonly string[], stdin?: string) => runKubeseal(args, { bin: path, env: admin(), ...(stdin === undefined ? {} : { stdin }) });
    const fetched = await upstream(['--fetch-cert']);
    expect(fetched).toMatchObject({ code: 0, stderr: '' });
    expect(fetched.stdout.toString()).toBe(await publishedCert());
    const sealed = await upstream(['-o', 'yaml'], secretManifest('via-upstream', app));
    expect(sealed.code, sealed.stderr).toBe(0);
    await apply(cluster, sealed.stdout.toString());
    await unsealed('via-upstream');
    expect(await upstream(['--validate'], sealed.stdout.toString())).toMatchObject({ code: 0 });
    const tampered = await upstream(['--validate'], tamper(sealed.stdout.toString()));
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('unable to decrypt sealed secret: via-upstream');
    const reencrypted = await upstream(['--re-encrypt', '-o', 'yaml'], sealed.stdout.toString());
    expect(reencrypted.code, reencrypted.stderr).toBe(0);
  }, 900_000);

  it('fails over when the leader pod is deleted: the other pod takes the Lease and unseals', async () => {
    const before = await leaderPod();
    const startedAt = Date.now();
    const deleted = await cluster.kubectl(['delete', 'pod', before.metadata.name, '-n', NS, '--wait=false']);
    expect(deleted.code, deleted.stderr).toBe(0);
    const after = await eventually(async () => {
      const pod = await leaderPod();
      expect(pod.metadata.name).not.toBe(before.metadata.name);
      return pod;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    const tookOverMs = Date.now() - startedAt;
    await sealAndApply('after-failover');
    await unsealed('after-failover');
    const unsealedMs = Date.now() - startedAt;
    console.log(`[pods] failover: ${after.metadata.name} holds the Lease ${tookOverMs} ms after deleting ${before.metadata.name}; a new SealedSecret unsealed ${unsealedMs} ms after`);
    await rolloutStatus();
  }, ROLLOUT_TEST_TIMEOUT_MS);

  it('keeps the certificate fetchable through the Service during kubectl rollout restart (zero failed fetches)', async () => {
    const failures: string[] = [];
    let fetched = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const result = await cluster.kubectl(['get', '--raw', CERT_PROXY], { timeoutMs: 15_000 });
        if (result.code === 0 && result.stdout.startsWith('-----BEGIN CERTIFICATE-----')) fetched++;
        else failures.push(`${new Date().toISOString()} ${result.stderr.trim()}`);
        await sleep(100);
      }
    })();
    const before = (await pods()).map((p) => p.metadata.uid);
    try {
      const restarted = await cluster.kubectl(['rollout', 'restart', `deployment/${NAME}`, '-n', NS]);
      expect(restarted.code, restarted.stderr).toBe(0);
      await rolloutStatus();
      // rollout status returns once the new pods are Ready; keep polling while the old ones go.
      await eventually(async () => expect((await pods()).map((p) => p.metadata.uid).filter((uid) => before.includes(uid))).toEqual([]), { timeoutMs: 120_000 });
    } finally {
      polling = false;
      await poller;
    }
    expect(failures).toEqual([]);
    expect(fetched).toBeGreaterThan(10);
  }, ROLLOUT_TEST_TIMEOUT_MS);

  it('keeps every key and Secret through a rolling update to a new image tag, and unseals SealedSecrets created meanwhile once', async () => {
    const keysBefore = (await keySecrets()).map((k) => `${k.metadata.name}/${k.metadata.uid}`).sort();
    const secretBefore = await getSecret(cluster, app, 'via-pods');
    // A new tag of the image, as a registry would hold after `npm run image -- --tag ...`.
    await cluster.ctr(['images', 'tag', `docker.io/library/${NAME}:0.1.0`, `docker.io/library/${NAME}:0.1.0-next`]);
    const set = await cluster.kubectl(['set', 'image', `deployment/${NAME}`, '-n', NS, `${NAME}=${NAME}:0.1.0-next`]);
    expect(set.code, set.stderr).toBe(0);
    const during: string[] = [];
    for (let i = 0; i < 4; i++) {
      const name = `during-rollout-${i}`;
      await sealAndApply(name);
      during.push(name);
      await sleep(1_500);
    }
    await rolloutStatus();
    for (const name of during) await unsealed(name, 90_000);

    const now = await pods();
    expect(now.filter(isReady).map((p) => p.spec.containers[0]?.image)).toEqual([`${NAME}:0.1.0-next`, `${NAME}:0.1.0-next`]);
    expect((await keySecrets()).map((k) => `${k.metadata.name}/${k.metadata.uid}`).sort()).toEqual(keysBefore);
    const secretAfter = await getSecret(cluster, app, 'via-pods');
    expect(secretAfter.metadata.uid).toBe(secretBefore.metadata.uid);
    expect(secretAfter.data).toEqual(secretBefore.data);
    // Once: one Secret each, and one Unsealed event each (however many leaders saw it).
    const events = (await kubectlJson<{ items: { reason: string; count?: number; involvedObject: { name: string } }[] }>(cluster, ['get', 'events', '-n', app])).items;
    for (const name of during) {
      const unsealedEvents = events.filter((e) => e.involvedObject.name === name && e.reason === 'Unsealed');
      expect(unsealedEvents.reduce((sum, e) => sum + (e.count ?? 1), 0), `Unsealed events of ${name}`).toBe(1);
    }
  }, ROLLOUT_TEST_TIMEOUT_MS);
});
