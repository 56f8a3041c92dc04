/**
 * Upstream's Go kubeseal, for specs that check that it works unchanged against our controller:
 * the release scripts/upstream-build.sh builds from upstream's module source (v0.40.0; `go
 * install` cannot build it since the module declares github.com/bitnami/sealed-secrets).
 */
import { ensureUpstreamBinaries, UPSTREAM_RELEASE } from '../../scripts/cluster/upstream-controller.ts';

export const UPSTREAM_VERSION = UPSTREAM_RELEASE;

/**
 * Upstream's kubeseal, built once into the cache (never into the repository). Undefined, with the
 * reason, when Go is missing or the build fails.
 */
export async function upstreamKubeseal(): Promise<{ path?: string; why: string }> {
  try {
    return { path: (await ensureUpstreamBinaries()).kubeseal, why: '' };
  } catch (error) {
    return { why: `scripts/upstream-build.sh failed: ${(error as Error).message}` };
  }
}
