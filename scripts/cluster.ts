/**
 * A local Kubernetes control plane for people:
 *   npm run cluster:up       start it in the background (idempotent), print how to use it
 *   npm run cluster:down     stop it and remove its files
 *   node scripts/cluster.ts status
 * The work is done by scripts/cluster/local-cluster.ts; `daemon` is the detached process it spawns.
 */
import { ensureLocalCluster, localClusterStatus, runLocalClusterDaemon, stopLocalCluster, type LocalCluster } from './cluster/local-cluster.ts';

const USAGE = 'usage: node scripts/cluster.ts up|down|status';

function describe(cluster: LocalCluster): string {
  return [
    `  server:     ${cluster.server}  (kube-apiserver, etcd, kube-controller-manager: GC + namespaces)`,
    `  kubectl:    ${cluster.kubectlPath}`,
    `  logs:       ${cluster.dir}/logs/`,
    '',
    'Use it with:',
    `  export KUBECONFIG=${cluster.kubeconfigPath}`,
    `  alias kubectl=${cluster.kubectlPath}`,
    'Stop it with:',
    '  npm run cluster:down',
  ].join('\n');
}

async function main(command: string | undefined, args: string[]): Promise<number> {
  switch (command) {
    case 'up': {
      const cluster = await ensureLocalCluster({ log: (message) => console.error(message) });
      const how = cluster.started ? `started in ${(cluster.startupMs / 1000).toFixed(1)} s` : 'already running';
      console.log(`Local control plane ${how} (daemon pid ${cluster.daemonPid}).\n${describe(cluster)}`);
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
      await runLocalClusterDaemon(binDir);
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
