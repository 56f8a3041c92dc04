/**
 * `npm run bench`: how long sealing a 3-key Secret with --cert takes, end to end (process start
 * to exit), next to bare `node -e 0` measured in the same run, interleaved so that machine noise
 * hits both alike. Prints medians; the goal is at most 1.5x bare Node start-up.
 *   RUNS=50 npm run bench            more runs
 *   UPSTREAM_KUBESEAL=/path npm run bench   also time upstream's Go kubeseal
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Number(process.env.RUNS ?? 30);
const dir = mkdtempSync(join(tmpdir(), 'bench-cli-'));
const input = join(dir, 'secret.yaml');
writeFileSync(input, 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: bench\n  namespace: default\nstringData:\n  username: admin\n  password: s3cr3t\n  api-key: 0123456789abcdef\n');
const cert = join(root, 'test/fixtures/sealing-cert.pem');

interface Subject { name: string; command: string; args: string[] }
const subjects: Subject[] = [
  { name: 'node -e 0', command: process.execPath, args: ['-e', '0'] },
  { name: 'kubeseal --cert (3 keys)', command: process.execPath, args: [join(root, 'dist/bin/kubeseal.js'), '--cert', cert, '-f', input] },
];
if (process.env.UPSTREAM_KUBESEAL) {
  subjects.push({ name: 'upstream Go kubeseal', command: process.env.UPSTREAM_KUBESEAL, args: ['--cert', cert, '-f', input] });
}

const times = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
for (let i = 0; i < runs + 2; i++) {
  for (const s of subjects) {
    const start = process.hrtime.bigint();
    const result = spawnSync(s.command, s.args, { env: { ...process.env, KUBECONFIG: '/nonexistent' }, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== 0) throw new Error(`${s.name} failed: ${result.stderr.toString()}`);
    if (i >= 2) times.get(s.name)?.push(ms); // the first runs warm the caches
  }
}
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const base = median(times.get('node -e 0') ?? []);
console.log(`CLI start-up benchmark: ${runs} runs each, interleaved, Node ${process.version}`);
for (const s of subjects) {
  const m = median(times.get(s.name) ?? []);
  console.log(`  ${s.name.padEnd(28)} median ${m.toFixed(1).padStart(6)} ms   ${(m / base).toFixed(2)}x node -e 0`);
}
