/**
 * helm v3 for the chart's specs: built from the Go module proxy by scripts/helm-build.sh (cached
 * per version, path on the last line of its stdout), run with its cache, config and data in a
 * directory of its own so that no spec reads or writes the user's ~/.config/helm.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/cluster/control-plane.ts';

export const CHART_DIR = join(repoRoot(), 'deploy', 'helm', 'sealed-secrets');

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Helm {
  readonly path: string;
  run(args: readonly string[], options?: { readonly kubeconfig?: string; readonly input?: string; readonly timeoutMs?: number }): Promise<HelmResult>;
  /** Removes helm's own directory. */
  dispose(): void;
}

function exec(command: string, args: readonly string[], env: NodeJS.ProcessEnv, input: string | undefined, timeoutMs: number): Promise<HelmResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? -1, stdout, stderr });
    });
    // helm may exit (e.g. refusing its values) before it reads stdin.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Builds helm if needed (minutes the first time, milliseconds after). */
export async function ensureHelm(): Promise<Helm> {
  const script = join(repoRoot(), 'scripts', 'helm-build.sh');
  const built = await exec('bash', [script], process.env, undefined, 30 * 60_000);
  const path = built.stdout.trim().split('\n').pop()?.trim() ?? '';
  if (built.code !== 0 || !path.startsWith('/')) throw new Error(`${script} failed (exit code ${built.code}):\n${built.stderr}`);
  const home = mkdtempSync(join(tmpdir(), 'sealed-secrets-helm-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    // No kubeconfig unless a spec passes one: `helm template` must not depend on a cluster.
    KUBECONFIG: join(home, 'no-kubeconfig'),
  };
  return {
    path,
    run(args, options = {}) {
      const runEnv = options.kubeconfig ? { ...env, KUBECONFIG: options.kubeconfig } : env;
      return exec(path, args, runEnv, options.input, options.timeoutMs ?? 120_000);
    },
    dispose() {
      rmSync(home, { recursive: true, force: true });
    },
  };
}
