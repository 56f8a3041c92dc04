/**
 * The Debian packages inside an image, read from the image itself: a `docker save` tarball (what
 * `npm run image` leaves in the cache), its layers in order, the dpkg status as distroless keeps
 * it (/var/lib/dpkg/status.d/<name>: one control paragraph per package, which scripts/image.ts
 * writes into the runtime base) and /usr/lib/os-release for the distribution. Both the legacy
 * and the OCI layout of `docker save` name their layers in manifest.json, as uncompressed tars.
 *
 * The tars are read by the system's GNU tar (as the other build scripts use it), not parsed
 * here. The control paragraphs are: "Field: value" lines, continuation lines starting with a
 * space (deb-control(5)); a few lines of parsing, for which no library is worth a dependency.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DPKG_STATUS_DIR = 'var/lib/dpkg/status.d';

export interface DebianPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  /** The source package ("glibc" for libc6), without the version it may carry in parentheses. */
  readonly source: string;
  readonly maintainer?: string;
  readonly homepage?: string;
  /** The first line of Description. */
  readonly summary?: string;
}

export interface ImagePackages {
  /** os-release's ID and VERSION_ID ("debian", "12"); undefined when the image has no os-release. */
  readonly distro?: { readonly id: string; readonly versionId: string };
  readonly packages: readonly DebianPackage[];
}

/** deb-control(5) fields of one paragraph; continuation lines joined to their field with "\n". */
export function parseControl(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last = '';
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (/^[ \t]/.test(line) && last) {
      fields.set(last, `${fields.get(last) ?? ''}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim();
    fields.set(last, line.slice(colon + 1).trim());
  }
  return fields;
}

export function packageFromControl(text: string): DebianPackage | undefined {
  const f = parseControl(text);
  const name = f.get('Package');
  const version = f.get('Version');
  if (!name || !version) return undefined;
  const maintainer = f.get('Maintainer');
  const homepage = f.get('Homepage');
  const summary = f.get('Description')?.split('\n')[0];
  return {
    name,
    version,
    architecture: f.get('Architecture') ?? 'all',
    source: f.get('Source')?.split(' ')[0] || name,
    ...(maintainer ? { maintainer } : {}),
    ...(homepage ? { homepage } : {}),
    ...(summary ? { summary } : {}),
  };
}

/** KEY=value lines of os-release(5), quotes removed. */
export function parseOsRelease(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m?.[1]) values.set(m[1], (m[2] ?? '').replace(/^(["'])(.*)\1$/, '$2'));
  }
  return values;
}

/** The package URL of a Debian package, as image scanners write it (purl-spec's deb type). */
export function debianPurl(pkg: DebianPackage, distro: ImagePackages['distro']): string {
  const qualifiers = [`arch=${encodeURIComponent(pkg.architecture)}`];
  if (distro) qualifiers.push(`distro=${encodeURIComponent(`${distro.id}-${distro.versionId}`)}`);
  if (pkg.source !== pkg.name) qualifiers.push(`upstream=${encodeURIComponent(pkg.source)}`);
  return `pkg:deb/${encodeURIComponent(distro?.id ?? 'debian')}/${encodeURIComponent(pkg.name)}@${encodeURIComponent(pkg.version)}?${qualifiers.join('&')}`;
}

/**
 * Extracts the files under `patterns` (tar wildcards) from every layer of a `docker save`
 * tarball into `into`, layer by layer, so that a later layer's copy wins as in the image.
 * (Whiteouts are not applied: nothing in our Dockerfile deletes these files.)
 */
export function extractFromImage(tarball: string, patterns: readonly string[], into: string): void {
  let manifest: { Layers?: string[] }[];
  try {
    manifest = JSON.parse(execFileSync('tar', ['-xOf', tarball, 'manifest.json'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] })) as typeof manifest;
  } catch {
    throw new Error(`${tarball}: no readable manifest.json (not a docker save tarball?)`);
  }
  const layers = Array.isArray(manifest) ? manifest[0]?.Layers : undefined;
  if (!Array.isArray(layers) || layers.length === 0) throw new Error(`${tarball}: no layers in manifest.json (not a docker save tarball?)`);
  // Docker writes layer paths without a leading "./", other tools with one: match both.
  const both = patterns.flatMap((p) => [p, `./${p}`]);
  for (const layer of layers) {
    // A layer without any of the files makes the second tar report "Not found in archive"
    // (exit 2): expected for most layers, so that status is not an error here; a broken
    // tarball fails the first tar, and pipefail reports it.
    execFileSync('bash', ['-o', 'pipefail', '-c', 'tar -xOf "$0" "$1" | { tar -x -C "$2" --wildcards "${@:3}" 2>/dev/null; s=$?; [ $s -eq 2 ] && exit 0; exit $s; }', tarball, layer, into, ...both], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}

/** The Debian packages and distribution of the image saved in `tarball`. */
export function readImagePackages(tarball: string): ImagePackages {
  const root = mkdtempSync(join(tmpdir(), 'sst-image-packages-'));
  try {
    extractFromImage(tarball, [`${DPKG_STATUS_DIR}/*`, 'usr/lib/os-release'], root);
    const statusDir = join(root, DPKG_STATUS_DIR);
    const files = existsSync(statusDir) ? readdirSync(statusDir).filter((f) => !f.endsWith('.md5sums')).sort() : [];
    const packages = files.map((f) => packageFromControl(readFileSync(join(statusDir, f), 'utf8'))).filter((p): p is DebianPackage => p !== undefined);
    const osRelease = existsSync(join(root, 'usr/lib/os-release')) ? parseOsRelease(readFileSync(join(root, 'usr/lib/os-release'), 'utf8')) : new Map<string, string>();
    const id = osRelease.get('ID');
    const versionId = osRelease.get('VERSION_ID');
    return { ...(id && versionId ? { distro: { id, versionId } } : {}), packages };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
