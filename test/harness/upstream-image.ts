/**
 * Upstream's controller image, made here from the binary scripts/upstream-build.sh built (no
 * registry is reachable, and none is needed): the layout of upstream's docker/controller.Dockerfile
 * (the binary at /usr/local/bin/controller, user 1001, entrypoint `controller`) on an empty base
 * instead of distroless/static, which adds only CA bundles and passwd entries the controller does
 * not use in-cluster. Built with scripts/image.ts's private dockerd and saved as a tarball for the
 * node's containerd; cached by the binary's version.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot, startDocker } from '../../scripts/image.ts';
import { UPSTREAM_RELEASE, type UpstreamBinaries } from '../../scripts/cluster/upstream-controller.ts';

/** What upstream's chart values point at: `<registry>/<repository>:<tag>`. */
export const UPSTREAM_IMAGE = {
  registry: 'sealed-secrets-ts.invalid',
  repository: 'upstream/sealed-secrets-controller',
  tag: UPSTREAM_RELEASE.replace(/^v/, ''),
} as const;

export interface UpstreamImage {
  readonly ref: string;
  readonly tarball: string;
}

export async function ensureUpstreamImage(binaries: UpstreamBinaries, log: (message: string) => void = () => {}): Promise<UpstreamImage> {
  const ref = `${UPSTREAM_IMAGE.registry}/${UPSTREAM_IMAGE.repository}:${UPSTREAM_IMAGE.tag}`;
  const dir = join(cacheRoot(), 'images');
  const tarball = join(dir, `upstream-sealed-secrets-controller-${UPSTREAM_RELEASE}.tar`);
  if (existsSync(tarball)) return { ref, tarball };
  mkdirSync(dir, { recursive: true });
  const context = mkdtempSync(join(tmpdir(), 'sst-upstream-image-'));
  const docker = await startDocker(log);
  try {
    copyFileSync(binaries.controller, join(context, 'controller'));
    writeFileSync(join(context, 'Dockerfile'), [
      'FROM scratch',
      'COPY controller /usr/local/bin/controller',
      'ENV PATH=/usr/local/bin',
      'USER 1001',
      'EXPOSE 8080 8081',
      'ENTRYPOINT ["controller"]',
      '',
    ].join('\n'));
    log(`building ${ref}`);
    await docker.docker(['build', '-q', '-t', ref, context]);
    await docker.docker(['save', '-o', `${tarball}.part`, ref]);
    renameSync(`${tarball}.part`, tarball);
    return { ref, tarball };
  } finally {
    await docker.stop();
    rmSync(context, { recursive: true, force: true });
  }
}
