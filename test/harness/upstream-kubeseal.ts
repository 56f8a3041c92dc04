/**
 * Upstream's Go kubeseal, for specs that check that it works unchanged against our controller.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const UPSTREAM_VERSION = 'v0.36.6';

function findGo(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/local/go/bin']) {
    const candidate = join(dir, 'go');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Upstream's kubeseal, built once with `go install` into the cache scripts/cluster-build.sh uses
 * (never into the repository). Undefined, with the reason, when Go is missing or the build fails.
 */
export async function upstreamKubeseal(): Promise<{ path?: string; why: string }> {
  const root = process.env.SEALED_SECRETS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sealed-secrets-ts');
  const dir = join(root, 'bin', `upstream-kubeseal-${UPSTREAM_VERSION}`);
  const path = join(dir, 'kubeseal');
  try {
    accessSync(path, constants.X_OK);
    return { path, why: '' };
  } catch {
    // build it below
  }
  const go = findGo();
  if (!go) return { why: 'Go is not installed (needed to build it with go install)' };
  mkdirSync(dir, { recursive: true });
  const gobin = mkdtempSync(join(dir, '.build-'));
  const started = Date.now();
  console.log(`[upstream-kubeseal] building upstream kubeseal ${UPSTREAM_VERSION} with go install (once; cached in ${dir})`);
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(go, ['install', `github.com/bitnami-labs/sealed-secrets/cmd/kubeseal@${UPSTREAM_VERSION}`], {
        env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', CGO_ENABLED: '0', GOBIN: gobin },
        timeout: 840_000,
        maxBuffer: 16 * 1024 * 1024,
      }, (error, _stdout, stderr) => (error ? reject(new Error(stderr.trim().split('\n').slice(-3).join(' ') || error.message)) : resolve()));
    });
    renameSync(join(gobin, 'kubeseal'), path);
    console.log(`[upstream-kubeseal] built upstream kubeseal in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return { path, why: '' };
  } catch (error) {
    return { why: `go install failed: ${(error as Error).message}` };
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}
