/**
 * `node scripts/krew-manifest.ts <tarball> <url>`: the krew manifest of a release, on stdout.
 * deploy/krew/seal.yaml with every platform's `uri` set to <url> (where the tarball is published)
 * and `sha256` to the tarball's, after checking that the tarball is the package at the manifest's
 * version. The tarball is what `npm pack` wrote; scripts/package.test.ts runs this on one.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const MANIFEST = fileURLToPath(new URL('../deploy/krew/seal.yaml', import.meta.url));

export interface KrewPlatform {
  selector: { matchLabels: { os: string; arch: string } };
  uri: string;
  sha256: string;
  files: { from: string; to: string }[];
  bin: string;
}
export interface KrewManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { version: string; shortDescription: string; description: string; caveats?: string; platforms: KrewPlatform[] };
}

export function readManifest(file = MANIFEST): KrewManifest {
  return parse(readFileSync(file, 'utf8')) as KrewManifest;
}

/** The release manifest for `tarball`, published at `url`. Throws when the versions differ. */
export function releaseManifest(tarball: string, url: string, template: KrewManifest = readManifest()): string {
  const packed = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as { version: string };
  if (template.spec.version !== `v${packed.version}`) {
    throw new Error(`the tarball is version ${packed.version}, the manifest ${template.spec.version}: update spec.version in deploy/krew/seal.yaml`);
  }
  if (!/^https:\/\//.test(url)) throw new Error('the URL must be https://, as krew requires');
  const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  const platforms = template.spec.platforms.map((platform) => ({ ...platform, uri: url, sha256 }));
  return stringify({ ...template, spec: { ...template.spec, platforms } }, { aliasDuplicateObjects: false });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [tarball, url] = process.argv.slice(2);
  if (!tarball || !url) {
    process.stderr.write('usage: node scripts/krew-manifest.ts <tarball from npm pack> <https URL it is published at>\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(releaseManifest(tarball, url));
  }
}
