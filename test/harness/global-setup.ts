/**
 * vitest globalSetup of the integration project: one control plane (etcd, kube-apiserver,
 * kube-controller-manager with the garbage collector) for the whole run, shared by all spec files.
 * Tests reach it through `inject('cluster')`, usually via useCluster() from ./cluster.ts.
 *
 * KUBECONFIG_TEST=<path> uses that cluster instead of starting one (its CRDs are applied; tests
 * that need userKubeconfig() cannot run there).
 */
import type { TestProject } from 'vitest/node';
import { ensureBinaries } from '../../scripts/cluster/binaries.ts';
import { clusterClient, DEFAULT_CRD_DIR, startControlPlane, type ClusterInfo } from '../../scripts/cluster/control-plane.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

const log = (message: string) => console.log(`[control-plane] ${message}`);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binDir = await ensureBinaries();

  const external = process.env.KUBECONFIG_TEST;
  if (external) {
    const probe = clusterClient({ kubeconfigPath: external, server: '', binDir, dir: null });
    const server = probe.kubeConfig().getCurrentCluster()?.server ?? '';
    const applied = await probe.kubectl(['apply', '-f', DEFAULT_CRD_DIR]);
    if (applied.code !== 0) throw new Error(`applying the CRDs to KUBECONFIG_TEST=${external} failed:\n${applied.stderr}`);
    log(`using the cluster of KUBECONFIG_TEST at ${server}`);
    project.provide('cluster', { kubeconfigPath: external, server, binDir, dir: null });
    return async () => {};
  }

  const plane = await startControlPlane({ binDir, withControllerManager: true, log });
  project.provide('cluster', { kubeconfigPath: plane.kubeconfigPath, server: plane.server, binDir, dir: plane.dir });
  return async () => {
    await plane.stop();
  };
}
