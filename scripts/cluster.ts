/**
 * A local Kubernetes control plane for people:
 *   npm run cluster:up       start it in the background (idempotent), print how to use it
 *   npm run cluster:up -- --node   the same plus one kubelet node running pods, with the
 *                                  controller image loaded (scripts/cluster/node.ts)
 *   npm run cluster:down     stop it and remove its files
 *   node scripts/cluster.ts status
 * The work is done by scripts/cluster/local-cluster.ts; `daemon` is the detached process it spawns.
 */
import { ensureLocalCluster, localClusterStatus, runLocalClusterDaemon, stopLocalCluster, type LocalCluster } from './cluster/local-cluster.ts';

const USAGE = 'usage: node scripts/cluster.ts up [--node]|down|status';

function describe(cluster: LocalCluster): string {
  return [
    cluster.nodeName
      ? `  server:     ${cluster.server}  (kube-apiserver, etcd, all controllers; node ${cluster.nodeName}: kubelet, containerd, kube-proxy, kube-scheduler)`
      : `  server:     ${cluster.server}  (kube-apiserver, etcd, kube-controller-manager: GC + namespaces)`,
    `  kubectl:    ${cluster.kubectlPath}`,
    `  logs:       ${cluster.dir}/logs/`,
    '',
    'Use it with:',
    `  export KUBECONFIG=${cluster.kubeconfigPath}`,
    `  alias kubectl=${cluster.kubectlPath}`,
    ...(cluster.nodeName ? ['Install the controller (its image is loaded on the node):', '  kubectl apply -k deploy/'] : []),
    'Stop it with:',
    '  npm run cluster:down',
  ].join('\n');
}

async function main(command: string | undefined, args: string[]): Promise<number> {
  switch (command) {
    case 'up': {
      const node = args.includes('--node');
      const cluster = await ensureLocalCluster({ log: (message) => console.error(message), node });
      const how = cluster.started ? `started in ${(cluster.startupMs / 1000).toFixed(1)} s` : 'already running';
      console.log(`Local ${cluster.nodeName ? 'one-node cluster' : 'control plane'} ${how} (daemon pid ${cluster.daemonPid}).\n${describe(cluster)}`);
      return 0;
    }
    case 'down': {
      const stopped = await stopLocalCluster();
      console.log(stopped ? 'Local control plane stopped.' : 'No local control plane was running (leftover files, if any, removed).');
      return 0;
    }
    case 'status': {
      const cluster = localClusterStatus();
      console.log(cluster ? `Local control plane running (daemon pid ${cluster.daemonPid}).\n${describe(cluster)}` : 'No local control plane is running.');
      return cluster ? 0 : 3;
    }
    case 'daemon': {
      const binDir = args[0];
      if (!binDir) throw new Error('daemon needs the binaries directory');
      await runLocalClusterDaemon(binDir, args[1]);
      return -1; // keeps running until a signal stops it
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

try {
  const code = await main(process.argv[2], process.argv.slice(3));
  if (code >= 0) process.exitCode = code;
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
