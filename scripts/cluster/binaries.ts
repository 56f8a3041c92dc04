/**
 * Finds (building if needed) the control plane's binaries through scripts/cluster-build.sh, which
 * prints their directory on the last line of its stdout. A cached build answers in milliseconds;
 * a cold one takes minutes, with progress on stderr.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './control-plane.ts';

export async function ensureBinaries(): Promise<string> {
  const script = join(repoRoot(), 'scripts', 'cluster-build.sh');
  return new Promise((resolveDir, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
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
