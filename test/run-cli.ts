/** Run the built kubeseal binary as a user would: a separate process, real stdin/stdout/stderr. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const KUBESEAL = fileURLToPath(new URL('../dist/bin/kubeseal.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

export function runKubeseal(
  args: readonly string[],
  options: { stdin?: string | Buffer; env?: Record<string, string | undefined>; cwd?: string; bin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: '/nonexistent/kubeconfig', ...options.env };
    const child = options.bin
      ? spawn(options.bin, args, { env, cwd: options.cwd })
      : spawn(process.execPath, [KUBESEAL, ...args], { env, cwd: options.cwd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}
