// Runs the Go template oracle (test/template-oracle/main.go: upstream's engine) over a batch of
// cases in one process. Builds it first when missing (scripts/template-oracle-build.sh caches it).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface OracleCase {
  templates: Record<string, string | null>;
  decrypted: Record<string, Uint8Array>;
}

export type OracleResult =
  | { data: Record<string, Uint8Array>; errors?: undefined }
  | { data?: undefined; errors: { key: string; kind: 'parse' | 'exec'; message: string }[] };

const root = path.resolve(import.meta.dirname, '../..');

export function oracleBinary(): string {
  const out = execFileSync('bash', [path.join(root, 'scripts/template-oracle-build.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

export function runOracle(bin: string, nowUnixNano: bigint, cases: OracleCase[]): OracleResult[] {
  const input = JSON.stringify({
    nowUnixNano: Number(nowUnixNano) === Number(nowUnixNano) ? undefined : undefined,
    cases: cases.map((c) => ({
      templates: c.templates,
      decrypted: Object.fromEntries(Object.entries(c.decrypted).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    })),
  }).replace(/^\{/, `{"nowUnixNano":${nowUnixNano},`);
  const out = execFileSync(bin, [], { input, env: { ...process.env, TZ: 'UTC' }, maxBuffer: 1 << 30 });
  const parsed = JSON.parse(out.toString('utf8')) as Array<{ data?: Record<string, string>; errors?: { key: string; kind: 'parse' | 'exec'; message: string }[] }>;
  return parsed.map((r) =>
    r.errors
      ? { errors: r.errors }
      : { data: Object.fromEntries(Object.entries(r.data ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])) },
  );
}
