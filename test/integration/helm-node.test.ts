/**
 * The chart as users install it: `helm install` with the default values on the one-node cluster
 * (test/harness/node.ts: a real kubelet running the image that `npm run image` builds), pods
 * Ready, kubeseal with no flags at all, an upgrade that changes a value rolling the pods without
 * losing keys, and an uninstall that leaves the key Secrets. Without a kubelet,
 * test/integration/helm.test.ts covers the same objects with the controller as a process.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../harness/cluster.ts';
import { CHART_DIR, ensureHelm } from '../harness/helm.ts';
import { useNodeCluster } from '../harness/node.ts';
import { NAME, NAMESPACE, RELEASE } from '../helm/render.ts';
import { runKubeseal } from '../run-cli.ts';
import { kubectlJson, text, type SecretObject } from './kube.ts';

const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';

interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status: { conditions?: { type: string; status: string }[] };
}

const isReady = (pod: Pod) => !pod.metadata.deletionTimestamp && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

describe('the chart on a kubelet node: helm install, upgrade, uninstall', () => {
  const node = useNodeCluster();

  it('installs, serves kubeseal with no flags, upgrades without losing keys, uninstalls keeping them', async () => {
    const cluster = node();
    const helm = await ensureHelm();
    try {
      const kubeconfig = { kubeconfig: cluster.kubeconfigPath, timeoutMs: 600_000 };
      const pods = async () => (await kubectlJson<{ items: Pod[] }>(cluster, ['get', 'pods', '-n', NAMESPACE, '-l', `app.kubernetes.io/instance=${RELEASE}`])).items;
      const keys = async () => (await kubectlJson<{ items: SecretObject[] }>(cluster, ['get', 'secrets', '-n', NAMESPACE, '-l', KEY_LABEL])).items.map((k) => k.metadata.uid).sort();

      // --wait: helm itself waits until the Deployment's pods are Ready.
      const installed = await helm.run(['install', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--wait', '--timeout=8m'], kubeconfig);
      expect(installed.code, installed.stderr).toBe(0);
      expect((await pods()).filter(isReady)).toHaveLength(2);
      const firstKeys = await eventually(async () => {
        const found = await keys();
        expect(found).toHaveLength(1);
        return found;
      }, { timeoutMs: 120_000 });

      // kubeseal with nothing but a kubeconfig: the Service and proxy path of the chart's defaults.
      const app = await cluster.createNamespace('helm-node-app');
      const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: app }, stringData: { password: 'from-the-chart' } };
      const sealed = await eventually(async () => {
        const result = await runKubeseal(['-o', 'yaml'], { stdin: JSON.stringify(secret), env: { KUBECONFIG: cluster.kubeconfigPath } });
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        return result.stdout.toString();
      }, { timeoutMs: 60_000 });
      expect((await cluster.kubectl(['apply', '-f', '-'], { input: sealed })).code).toBe(0);
      await eventually(async () => {
        const got = await kubectlJson<SecretObject>(cluster, ['get', 'secret', 'db', '-n', app]);
        expect(text(got.data?.password)).toBe('from-the-chart');
      }, { timeoutMs: 60_000 });

      // A changed value rolls the pods (new pod template); the keys stay the same.
      const before = new Set((await pods()).map((p) => p.metadata.uid));
      const upgraded = await helm.run(['upgrade', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--reuse-values', '--set', 'logLevel=DEBUG', '--wait', '--timeout=8m'], kubeconfig);
      expect(upgraded.code, upgraded.stderr).toBe(0);
      const rollout = await cluster.kubectl(['rollout', 'status', `deployment/${NAME}`, '-n', NAMESPACE, '--timeout=300s'], { timeoutMs: 310_000 });
      expect(rollout.code, rollout.stderr).toBe(0);
      const after = (await pods()).filter(isReady);
      expect(after).toHaveLength(2);
      expect(after.some((p) => before.has(p.metadata.uid))).toBe(false);
      expect(await keys()).toEqual(firstKeys);
      const resealed = await runKubeseal(['-o', 'yaml'], { stdin: JSON.stringify({ ...secret, metadata: { ...secret.metadata, name: 'db2' } }), env: { KUBECONFIG: cluster.kubeconfigPath } });
      expect(resealed.code, resealed.stderr).toBe(0);

      // Uninstall removes the release, never the sealing keys (as upstream's chart).
      const removed = await helm.run(['uninstall', RELEASE, '--namespace', NAMESPACE, '--wait'], kubeconfig);
      expect(removed.code, removed.stderr).toBe(0);
      expect((await cluster.kubectl(['get', 'deployment', NAME, '-n', NAMESPACE])).code).not.toBe(0);
      expect(await keys()).toEqual(firstKeys);
    } finally {
      helm.dispose();
    }
  }, 1_500_000);
});
