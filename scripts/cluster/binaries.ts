/**
 * Finds (building if needed) the cluster's binaries through scripts/cluster-build.sh and
 * scripts/node-build.sh, which print their directory on the last line of their stdout. A cached build answers in milliseconds;
 * a cold one takes minutes, with progress on stderr.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './control-plane.ts';

export interface BinariesOptions {
  /** Also the node's parts (kubelet, kube-scheduler, kube-proxy, containerd, Debian's runc...). */
  readonly node?: boolean;
}

/** The Kubernetes binaries' directory; only the control plane's unless `node` is asked for. */
export async function ensureBinaries(options: BinariesOptions = {}): Promise<string> {
  return runBuildScript('cluster-build.sh', options.node ? ['--node'] : []);
}

/** containerd's directory (scripts/node-build.sh, which also installs runc and the CNI plugins). */
export async function ensureContainerd(): Promise<string> {
  return runBuildScript('node-build.sh', []);
}

/** Runs one of scripts/*-build.sh (its output shown) and returns the path on its last stdout line. */
export async function runBuildScript(name: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const script = join(repoRoot(), 'scripts', name);
  return new Promise((resolveDir, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const binDir = stdout.trim().split('\n').pop()?.trim() ?? '';
      if (code === 0 && binDir.startsWith('/')) resolveDir(binDir);
      else reject(new Error(`${script} failed (exit code ${code}); see its output above`));
    });
  });
}
