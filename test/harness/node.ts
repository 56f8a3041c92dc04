/**
 * A one-node cluster (scripts/cluster/node.ts: a control plane of its own plus a kubelet node with
 * the controller image loaded) for the describe blocks that need real pods. Opt in per describe:
 *
 *   describe('as pods', () => {
 *     const cluster = useNodeCluster();      // started in beforeAll, stopped in afterAll
 *     it('...', async () => { await cluster().kubectl(['apply', '-k', 'deploy/']); });
 *   });
 *
 * Specs that do not call it never start a node, so they stay fast. Within one spec file, the
 * describe blocks that call it share one cluster (it is stopped after the last of them); spec
 * files do not share it, so that each can disturb its pods.
 */
import { afterAll, beforeAll } from 'vitest';
import { ensureBinaries, ensureContainerd } from '../../scripts/cluster/binaries.ts';
import { startNodeCluster, type NodeCluster } from '../../scripts/cluster/node.ts';

export type { NodeCluster } from '../../scripts/cluster/node.ts';

/** Cold: may build the controller image (about 2 minutes) before the node starts (about 1). */
const START_TIMEOUT_MS = 900_000;
const STOP_TIMEOUT_MS = 120_000;

const shared: { cluster: Promise<NodeCluster> | null; users: number } = { cluster: null, users: 0 };

export function useNodeCluster(): () => NodeCluster {
  let cluster: NodeCluster | null = null;
  beforeAll(async () => {
    shared.users++;
    shared.cluster ??= (async () => startNodeCluster({
      // `npm test` built the node's parts already (cluster:build -- --node); a spec run on its
      // own after a control-plane-only build builds them here (the same directory as the shared control plane's).
      binDir: await ensureBinaries({ node: true }),
      containerdDir: await ensureContainerd(),
      log: (message) => console.log(`[node] ${message}`),
    }))();
    cluster = await shared.cluster;
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    shared.users--;
    if (shared.users > 0 || !shared.cluster) return;
    const running = shared.cluster;
    shared.cluster = null;
    await (await running.catch(() => null))?.stop();
  }, STOP_TIMEOUT_MS);
  return () => {
    if (!cluster) throw new Error('the node cluster is not running (it starts in beforeAll)');
    return cluster;
  };
}
