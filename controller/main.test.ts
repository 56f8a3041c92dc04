/**
 * The controller executable's --help and --version (dist/controller/main.js, built by the unit
 * project's globalSetup): --help wins over --version, as upstream's flag parser answers --help
 * before anything else runs; neither needs a cluster.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/controller/main.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '', KUBECONFIG: '/nonexistent' } });

describe('sealed-secrets-controller --help and --version', () => {
  it.each([[['--help']], [['--version', '--help']], [['--help', '--version']]])('%j prints the help and exits 0', (args) => {
    const result = run(args);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: sealed-secrets-controller \[options\]/);
    expect(result.stderr).toBe('');
  });

  it('--version prints the version as upstream formats it', () => {
    expect(run(['--version'])).toMatchObject({ status: 0, stdout: expect.stringMatching(/^controller version: v\d+\.\d+\.\d+\n$/), stderr: '' });
  });
});
