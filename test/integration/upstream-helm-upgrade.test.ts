/**
 * Migration as an upstream Helm user does it (docs/migration.md): on the one-node cluster, a real
 * release of upstream's chart (from the v0.40.0 module source) running upstream's controller
 * image (made from the binary scripts/upstream-build.sh built), SealedSecrets sealed through it,
 * then `helm upgrade` of the same release to our chart with the user's values file and our image.
 * The keys are kept, the old SealedSecrets stay Synced and their Secrets untouched, kubeseal (ours
 * and upstream's) works with no flags against the upgraded release. Then back: ours uninstalled,
 * upstream's chart installed again, which loads the same key and serves what ours sealed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ensureUpstreamBinaries, UPSTREAM_RELEASE } from '../../scripts/cluster/upstream-controller.ts';
import { eventually } from '../harness/cluster.ts';
import { CHART_DIR, ensureHelm } from '../harness/helm.ts';
import { useNodeCluster } from '../harness/node.ts';
import { ensureUpstreamImage, UPSTREAM_IMAGE } from '../harness/upstream-image.ts';
import { runKubeseal } from '../run-cli.ts';
import { kubectlJson, synced, text, type SealedSecretObject, type SecretObject } from './kube.ts';

const RELEASE = 'sealed-secrets';
const NAMESPACE = 'kube-system';
const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';
/** Upstream's chart names everything after the release; ours defaults to kubeseal's name. */
const UPSTREAM_NAME = 'sealed-secrets';
const OUR_NAME = 'sealed-secrets-controller';

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { containers: { image: string }[] };
  status: { conditions?: { type: string; status: string }[] };
}
const isReady = (pod: Pod) => !pod.metadata.deletionTimestamp && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The values file of an upstream user: a few common settings and the image they run. */
const USER_VALUES = {
  image: { ...UPSTREAM_IMAGE },
  secretName: 'sealed-secrets-key',
  updateStatus: true,
  keyrenewperiod: '720h',
  logLevel: 'INFO',
  podLabels: { team: 'platform' },
};

describe(`helm upgrade from upstream's chart (${UPSTREAM_RELEASE}) to ours on a kubelet node`, () => {
  const node = useNodeCluster();

  it('keeps the keys, the SealedSecrets stay Synced, kubeseal works with no flags; and back to upstream', async () => {
    const cluster = node();
    const helm = await ensureHelm();
    const work = mkdtempSync(join(tmpdir(), 'upstream-helm-'));
    try {
      const binaries = await ensureUpstreamBinaries();
      const image = await ensureUpstreamImage(binaries, (m) => console.log(`[upstream-image] ${m}`));
      await cluster.ctr(['images', 'import', image.tarball]);
      const valuesFile = join(work, 'values.yaml');
      writeFileSync(valuesFile, stringify(USER_VALUES));
      const opts = { kubeconfig: cluster.kubeconfigPath, timeoutMs: 600_000 };
      const admin = { KUBECONFIG: cluster.kubeconfigPath };
      const pods = async () => (await kubectlJson<{ items: Pod[] }>(cluster, ['get', 'pods', '-n', NAMESPACE, '-l', `app.kubernetes.io/instance=${RELEASE}`])).items;
      const keys = async () => (await kubectlJson<{ items: SecretObject[] }>(cluster, ['get', 'secrets', '-n', NAMESPACE, '-l', KEY_LABEL])).items.map((k) => k.metadata.uid).sort();

      // A cluster that runs upstream has upstream's CRD: put it in place of the one the harness applied.
      const crd = await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(binaries.chart, 'crds')]);
      expect(crd.code, crd.stderr).toBe(0);

      const installed = await helm.run(['install', RELEASE, binaries.chart, '--namespace', NAMESPACE, '-f', valuesFile, '--wait', '--timeout=8m'], opts);
      expect(installed.code, installed.stderr).toBe(0);
      const upstreamPods = (await pods()).filter(isReady);
      expect(upstreamPods.map((p) => p.spec.containers[0]?.image)).toEqual([`${UPSTREAM_IMAGE.registry}/${UPSTREAM_IMAGE.repository}:${UPSTREAM_IMAGE.tag}`]);
      const firstKeys = await eventually(async () => {
        const found = await keys();
        expect(found).toHaveLength(1);
        return found;
      }, { timeoutMs: 120_000 });

      // Sealed through the upstream release, as its users do (upstream's kubeseal needs the
      // release's name, its chart's most common first-day problem).
      const app = await cluster.createNamespace('upgrade-app');
      const secret = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: app }, stringData: { username: 'admin', password: `pw-of-${name}` } });
      const sealedByUpstream = await eventually(async () => {
        const result = await runKubeseal(['--controller-name', UPSTREAM_NAME, '--controller-namespace', NAMESPACE, '-o', 'yaml'], { bin: binaries.kubeseal, env: admin, stdin: secret('before') });
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        return parse(result.stdout.toString()) as { spec: { template: Record<string, unknown> } };
      }, { timeoutMs: 60_000 });
      const lateSealed = await runKubeseal(['--controller-name', UPSTREAM_NAME, '--controller-namespace', NAMESPACE, '-o', 'yaml'], { bin: binaries.kubeseal, env: admin, stdin: secret('late') });
      expect(lateSealed.code, lateSealed.stderr).toBe(0);
      const lateYaml = lateSealed.stdout.toString();
      sealedByUpstream.spec.template.data = { dsn: 'db://{{ .username }}:{{ .password }}@db/', username: 'ignored' };
      const created = await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(sealedByUpstream) });
      expect(created.code, created.stderr).toBe(0);
      const before = await eventually(async () => {
        const got = await kubectlJson<SecretObject>(cluster, ['get', 'secret', 'before', '-n', app]);
        expect(text(got.data?.dsn)).toBe('db://admin:pw-of-before@db/');
        return got;
      }, { timeoutMs: 120_000 });

      // The upgrade, as docs/migration.md says: the user's values file, our image, nothing else.
      // Upstream's Deployment is scaled to zero first so that two controllers never run at once.
      const scaled = await cluster.kubectl(['scale', 'deployment', UPSTREAM_NAME, '-n', NAMESPACE, '--replicas=0']);
      expect(scaled.code, scaled.stderr).toBe(0);
      const upgraded = await helm.run(['upgrade', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '-f', valuesFile,
        '--set', 'image.registry=,image.repository=sealed-secrets-controller,image.tag=', '--wait', '--timeout=8m'], opts);
      expect(upgraded.code, upgraded.stderr).toBe(0);
      const rollout = await cluster.kubectl(['rollout', 'status', `deployment/${OUR_NAME}`, '-n', NAMESPACE, '--timeout=300s'], { timeoutMs: 310_000 });
      expect(rollout.code, rollout.stderr).toBe(0);
      expect((await cluster.kubectl(['get', 'deployment', UPSTREAM_NAME, '-n', NAMESPACE])).code).not.toBe(0);
      const ourPods = await eventually(async () => {
        const ready = (await pods()).filter(isReady);
        expect(ready.map((p) => p.spec.containers[0]?.image.replace(/:.*/, ''))).toEqual(['sealed-secrets-controller', 'sealed-secrets-controller']);
        return ready;
      }, { timeoutMs: 120_000 });
      expect(ourPods).toHaveLength(2);

      // Same keys, none added; the old SealedSecret still Synced, its Secret not rewritten.
      expect(await keys()).toEqual(firstKeys);
      const sealedNow = await kubectlJson<SealedSecretObject>(cluster, ['get', 'sealedsecret', 'before', '-n', app]);
      expect(synced(sealedNow)?.status).toBe('True');
      const after = await kubectlJson<SecretObject>(cluster, ['get', 'secret', 'before', '-n', app]);
      expect(after.metadata.uid).toBe(before.metadata.uid);
      expect(after.data).toEqual(before.data);
      // And ours really serves it: deleted, that Secret comes back rendered from its template.
      const deleted = await cluster.kubectl(['delete', 'secret', 'before', '-n', app]);
      expect(deleted.code, deleted.stderr).toBe(0);
      await eventually(async () => {
        const got = await kubectlJson<SecretObject>(cluster, ['get', 'secret', 'before', '-n', app]);
        expect(got.metadata.uid).not.toBe(before.metadata.uid);
        expect(got.data).toEqual(before.data);
      }, { timeoutMs: 60_000 });

      // kubeseal with no flags now (our chart's default name), ours and upstream's; both unseal.
      for (const [name, bin] of [['after-ours', undefined], ['after-upstream', binaries.kubeseal]] as const) {
        const sealed = await eventually(async () => {
          const result = await runKubeseal(['-o', 'yaml'], { bin, env: admin, stdin: secret(name) });
          expect(result.stderr).toBe('');
          expect(result.code).toBe(0);
          return result.stdout.toString();
        }, { timeoutMs: 60_000 });
        const applied = await cluster.kubectl(['apply', '-f', '-'], { input: sealed });
        expect(applied.code, applied.stderr).toBe(0);
        await eventually(async () => {
          const got = await kubectlJson<SecretObject>(cluster, ['get', 'secret', name, '-n', app]);
          expect(text(got.data?.password)).toBe(`pw-of-${name}`);
        }, { timeoutMs: 60_000 });
      }
      // Sealed before the upgrade, applied after it (a GitOps repository catching up).
      const appliedLate = await cluster.kubectl(['apply', '-f', '-'], { input: lateYaml });
      expect(appliedLate.code, appliedLate.stderr).toBe(0);
      await eventually(async () => {
        const got = await kubectlJson<SecretObject>(cluster, ['get', 'secret', 'late', '-n', app]);
        expect(text(got.data?.password)).toBe('pw-of-late');
      }, { timeoutMs: 60_000 });

      // And back (docs/migration.md, "Going back"): uninstall ours, install upstream's chart with
      // kubeseal's default name; upstream loads the same key, makes none, and serves what ours did.
      const removed = await helm.run(['uninstall', RELEASE, '--namespace', NAMESPACE, '--wait'], opts);
      expect(removed.code, removed.stderr).toBe(0);
      expect(await keys()).toEqual(firstKeys);
      const back = await helm.run(['install', RELEASE, binaries.chart, '--namespace', NAMESPACE, '-f', valuesFile, '--set', `fullnameOverride=${OUR_NAME}`, '--wait', '--timeout=8m'], opts);
      expect(back.code, back.stderr).toBe(0);
      expect((await pods()).filter(isReady).map((p) => p.spec.containers[0]?.image)).toEqual([`${UPSTREAM_IMAGE.registry}/${UPSTREAM_IMAGE.repository}:${UPSTREAM_IMAGE.tag}`]);
      const deletedOurs = await cluster.kubectl(['delete', 'secret', 'after-ours', '-n', app]);
      expect(deletedOurs.code, deletedOurs.stderr).toBe(0);
      await eventually(async () => {
        const got = await kubectlJson<SecretObject>(cluster, ['get', 'secret', 'after-ours', '-n', app]);
        expect(text(got.data?.password)).toBe('pw-of-after-ours');
      }, { timeoutMs: 120_000 });
      const sealedBack = await eventually(async () => {
        const result = await runKubeseal(['-o', 'yaml'], { bin: binaries.kubeseal, env: admin, stdin: secret('back') });
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        return result.stdout.toString();
      }, { timeoutMs: 60_000 });
      expect((await cluster.kubectl(['apply', '-f', '-'], { input: sealedBack })).code).toBe(0);
      await eventually(async () => {
        const got = await kubectlJson<SecretObject>(cluster, ['get', 'secret', 'back', '-n', app]);
        expect(text(got.data?.password)).toBe('pw-of-back');
      }, { timeoutMs: 60_000 });
      expect(await keys()).toEqual(firstKeys);
    } finally {
      helm.dispose();
      rmSync(work, { recursive: true, force: true });
    }
  }, 1_500_000);
});
