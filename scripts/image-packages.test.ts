/**
 * Reading an image's Debian packages (scripts/image-packages.ts) from a `docker save` tarball made
 * here with tar: two layers, the second overriding a package of the first, as docker layers do.
 * scripts/sbom.test.ts checks the same against the image `npm run image` builds.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { debianPurl, packageFromControl, parseControl, readImagePackages } from './image-packages.ts';

const LIBC = `Package: libc6
Source: glibc
Version: 2.36-9+deb12u14
Architecture: amd64
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Multi-Arch: same
Homepage: https://www.gnu.org/software/libc/libc.html
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
`;
const control = (name: string, version: string, source?: string) => `Package: ${name}\n${source ? `Source: ${source}\n` : ''}Version: ${version}\nArchitecture: amd64\nDescription: ${name}\n`;

const work = mkdtempSync(join(tmpdir(), 'image-packages-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A docker-save-shaped tarball: manifest.json naming uncompressed layer tars. */
function saveTarball(layers: Record<string, string>[]): string {
  const dir = mkdtempSync(join(work, 'save-'));
  const names = layers.map((files, i) => {
    const root = join(dir, `root${i}`);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    mkdirSync(root, { recursive: true });
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    // The first layer as other tools write paths ("./usr/..."), the rest as docker does ("usr/...").
    const entries = i === 0 ? ['.'] : readdirSync(root);
    execFileSync('tar', ['-cf', join(dir, 'blobs', 'sha256', `layer${i}`), '-C', root, ...entries]);
    return `blobs/sha256/layer${i}`;
  });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ Config: 'blobs/sha256/config', RepoTags: ['x:1'], Layers: names }]));
  const tarball = join(dir, 'image.tar');
  execFileSync('tar', ['-cf', tarball, '-C', dir, 'manifest.json', ...names]);
  return tarball;
}

describe('Debian control paragraphs', () => {
  it('parses fields, continuation lines and the source package without its version', () => {
    expect(parseControl(LIBC).get('Description')).toBe('GNU C Library: Shared libraries\nContains the standard libraries that are used by nearly all programs on\nthe system.');
    expect(packageFromControl(LIBC)).toEqual({
      name: 'libc6',
      version: '2.36-9+deb12u14',
      architecture: 'amd64',
      source: 'glibc',
      maintainer: 'GNU Libc Maintainers <debian-glibc@lists.debian.org>',
      homepage: 'https://www.gnu.org/software/libc/libc.html',
      summary: 'GNU C Library: Shared libraries',
    });
    expect(packageFromControl(control('libgcc-s1', '12.2.0-14+deb12u1', 'gcc-12 (12.2.0-14+deb12u1)'))?.source).toBe('gcc-12');
    expect(packageFromControl(control('base-files', '12.4'))?.source).toBe('base-files');
    expect(packageFromControl('Version: 1\n')).toBeUndefined();
  });

  it('writes package URLs as scanners do: version percent-encoded, arch, distro, upstream source', () => {
    const libc = packageFromControl(LIBC)!;
    expect(debianPurl(libc, { id: 'debian', versionId: '12' })).toBe('pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc');
    expect(debianPurl(packageFromControl(control('base-files', '12.4+deb12u15'))!, { id: 'debian', versionId: '12' })).toBe('pkg:deb/debian/base-files@12.4%2Bdeb12u15?arch=amd64&distro=debian-12');
  });
});

describe('readImagePackages', () => {
  it('reads every layer\'s dpkg status.d and os-release; a later layer wins, md5sums are not packages', () => {
    const tarball = saveTarball([
      {
        'var/lib/dpkg/status.d/libc6': LIBC,
        'var/lib/dpkg/status.d/libc6.md5sums': 'abc  lib/x86_64-linux-gnu/libc.so.6\n',
        'var/lib/dpkg/status.d/libgcc-s1': control('libgcc-s1', '12.2.0-14', 'gcc-12'),
        'usr/lib/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
        'nodejs/bin/node': 'not really node',
      },
      { 'app/package.json': '{}' },
      { 'var/lib/dpkg/status.d/libgcc-s1': control('libgcc-s1', '12.2.0-14+deb12u1', 'gcc-12') },
    ]);
    const found = readImagePackages(tarball);
    expect(found.distro).toEqual({ id: 'debian', versionId: '12' });
    expect(found.packages.map((p) => `${p.name} ${p.version} ${p.source}`)).toEqual(['libc6 2.36-9+deb12u14 glibc', 'libgcc-s1 12.2.0-14+deb12u1 gcc-12']);
  });

  it('an image without dpkg status has no packages; a file that is not a docker save tarball is an error', () => {
    expect(readImagePackages(saveTarball([{ 'app/x': 'y' }]))).toEqual({ packages: [] });
    const notSaved = join(work, 'plain.tar');
    writeFileSync(join(work, 'plain.txt'), 'x');
    execFileSync('tar', ['-cf', notSaved, '-C', work, 'plain.txt']);
    expect(() => readImagePackages(notSaved)).toThrow(/plain\.tar: no readable manifest\.json \(not a docker save tarball\?\)$/);
  });
});
