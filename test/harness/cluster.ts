/**
 * What integration tests import. Runs inside vitest workers, which know the shared control plane
 * only through the values test/harness/global-setup.ts provided.
 *
 *   const cluster = useCluster();
 *   const ns = await cluster.createNamespace('crd');
 *   const { code, stdout } = await cluster.kubectl(['get', 'sealedsecrets', '-n', ns]);
 */
import { inject } from 'vitest';
import type { KubeConfig } from '@kubernetes/client-node';
import { clusterClient, startControlPlane, type ClusterClient, type ControlPlane, type ControlPlaneOptions } from '../../scripts/cluster/control-plane.ts';

export type { ClusterClient, ClusterInfo, ControlPlane, KubectlOptions, KubectlResult } from '../../scripts/cluster/control-plane.ts';

export interface TestCluster extends ClusterClient {
  /** client-node configuration of the admin. */
  readonly kc: KubeConfig;
}

/** The run's shared cluster (admin access, RBAC on, garbage collector running). */
export function useCluster(): TestCluster {
  const client = clusterClient(inject('cluster'));
  return { ...client, kc: client.kubeConfig() };
}

/**
 * A control plane of the test's own, for tests that disturb it (e.g. restartApiServer()), which
 * the shared one must never be. Stop it in afterAll; it also dies with the worker.
 */
export function startOwnControlPlane(options: Omit<ControlPlaneOptions, 'binDir'> = {}): Promise<ControlPlane> {
  return startControlPlane({ binDir: inject('cluster').binDir, ...options });
}

export interface EventuallyOptions {
  /** Default 30 s. */
  readonly timeoutMs?: number;
  /** Default 200 ms. */
  readonly intervalMs?: number;
}

/**
 * Retries `check` until it stops throwing, and returns its result; after the timeout, throws the
 * last failure. For assertions on things the cluster does asynchronously (garbage collection...).
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolveSleep) => setTimeout(resolveSleep, options.intervalMs ?? 200));
  }
}
