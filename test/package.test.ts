/**
 * The npm package as users get it: `npm pack`, then
 * - `npm install -g` of the tarball into a temporary prefix, offline and with an empty npm cache
 *   (the package carries its dependencies), and both executables run;
 * - the krew manifest (deploy/krew/seal.yaml): its platforms, files and bin match the tarball, and
 *   real krew (built from the Go module proxy by scripts/krew-build.sh, which `npm test` runs as
 *   `krew:build`; cached, so calling it here costs milliseconds) installs `kubectl seal` from the
 *   manifest and the tarball (`krew install --manifest --archive`: no index, no download).
 * Runs as its own vitest project ("package"): packing and installing take a minute or two.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readManifest, releaseManifest } from '../scripts/krew-manifest.ts';
import { fixturePath } from './fixtures/fixtures.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const dir = mkdtempSync(join(tmpdir(), 'kubeseal-package-'));
// This Node first on PATH: npm's and the executables' `#!/usr/bin/env node` then run on it.
const PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;
const env = { PATH, HOME: dir, KUBECONFIG: join(dir, 'no-kubeconfig') };
const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: demo}\nstringData: {password: s3cr3t}\n';

let tarball = '';
/** Paths in the tarball ("package/dist/bin/kubeseal.js"), and the executable ones. */
let entries: string[] = [];
let executables = new Set<string>();

const run = (file: string, args: string[], stdin = '') => spawnSync(file, args, { env, input: stdin, encoding: 'utf8', timeout: 60_000 });

beforeAll(() => {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root, env: { ...env, HOME: homedir() }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const [packed] = JSON.parse(out) as { filename: string }[];
  tarball = join(dir, packed?.filename ?? '');
  const listing = execFileSync('tar', ['-tvzf', tarball], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n').filter((l) => l !== '');
  entries = listing.map((line) => line.split(/\s+/).slice(5).join(' '));
  executables = new Set(listing.filter((line) => /^-..x/.test(line)).map((line) => line.split(/\s+/).slice(5).join(' ')));
}, 300_000);

describe('npm pack', () => {
  it('names the tarball after the package and carries the executables and the dependencies', () => {
    expect(tarball.endsWith(`${pkg.name}-${pkg.version}.tgz`)).toBe(true);
    for (const file of ['package/package.json', 'package/dist/bin/kubeseal.js', 'package/dist/bin/kubeseal-cli.cjs', 'package/dist/controller/main.js']) expect(entries).toContain(file);
    expect(entries).toContain('package/node_modules/@kubernetes/client-node/package.json');
    expect(entries.filter((e) => !e.startsWith('package/node_modules/') && /\.test\.(ts|js)$/.test(e))).toEqual([]); // our own tests stay out
  });

  it('installs with npm install -g, offline and with an empty cache, and both executables run', () => {
    const prefix = join(dir, 'prefix');
    const install = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--offline', '--cache', join(dir, 'empty-cache'), '--no-audit', '--no-fund', tarball], { env, encoding: 'utf8', timeout: 280_000 });
    expect(install.stderr).not.toMatch(/ERR!/);
    expect(install.status).toBe(0);
    const kubeseal = join(prefix, 'bin', 'kubeseal');
    expect(run(kubeseal, ['--version'])).toMatchObject({ status: 0, stdout: `kubeseal version: v${pkg.version}\n` });
    expect(run(join(prefix, 'bin', 'sealed-secrets-controller'), ['--version'])).toMatchObject({ status: 0, stdout: `controller version: v${pkg.version}\n` });
    // Sealing offline, and a cluster mode (which loads the bundled Kubernetes client) failing cleanly.
    expect(run(kubeseal, ['--cert', fixturePath('sealing-cert.pem')], SECRET)).toMatchObject({ status: 0, stdout: expect.stringContaining('"kind": "SealedSecret"') });
    expect(run(kubeseal, ['--fetch-cert'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/^error: fetching the certificate needs the cluster, but no kubeconfig was found/) });
    // --recovery-unseal of a template loads the template engine (kept outside the bundle) and its bundled dependencies.
    const templated = readFileSync(fixturePath('upstream-strict.yaml'), 'utf8').replace('  template:\n', '  template:\n    data:\n      h: "{{ htpasswd .username .password | substr 0 13 }}"\n');
    expect(run(kubeseal, ['--recovery-unseal', '--recovery-private-key', fixturePath('sealing-key.pem'), '-o', 'json'], templated)).toMatchObject({
      status: 0, stdout: expect.stringContaining(`"h": "${Buffer.from('admin:$2a$10$').toString('base64')}"`),
    });
  }, 300_000);
});

describe('the krew manifest (kubectl seal)', () => {
  const manifest = readManifest();
  /** krew's `from`: a glob over the unpacked archive (only * here), as a regular expression. */
  const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]+')}$`);

  it('is the plugin "seal" at the package\'s version, for Linux and macOS on amd64 and arm64', () => {
    expect(manifest).toMatchObject({ apiVersion: 'krew.googlecontainertools.github.com/v1alpha2', kind: 'Plugin', metadata: { name: 'seal' } });
    expect(manifest.spec.version).toBe(`v${pkg.version}`);
    expect(manifest.spec.shortDescription.length).toBeLessThanOrEqual(50);
    expect(manifest.spec.platforms.map((p) => `${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`).sort()).toEqual(['darwin/amd64', 'darwin/arm64', 'linux/amd64', 'linux/arm64']);
  });

  it('installs files that are in the tarball, and its bin is one of them: executable, run by node', () => {
    for (const platform of manifest.spec.platforms) {
      for (const { from, to } of platform.files) {
        // What the glob picks: the tarball's paths cut to as many segments as the pattern has.
        const picked = new Set(entries.map((e) => e.split('/').slice(0, from.split('/').length).join('/')).filter((e) => glob(from).test(e)));
        expect([...picked], `files.from ${from}`).toEqual(expect.arrayContaining(['package/package.json', 'package/dist', 'package/node_modules']));
        expect(to).toBe('.');
      }
      // With from "package/*" to ".", the archive's package/<path> is installed as <path>.
      const source = `package/${platform.bin}`;
      expect(entries).toContain(source);
      expect(executables.has(source)).toBe(true);
    }
    const bin = manifest.spec.platforms[0]?.bin ?? '';
    expect(execFileSync('tar', ['-xzOf', tarball, `package/${bin}`], { encoding: 'utf8' }).split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('gets the tarball\'s URL and SHA-256 from scripts/krew-manifest.ts, which refuses another version', () => {
    const url = `https://downloads.example/v${pkg.version}/${pkg.name}-${pkg.version}.tgz`;
    const release = releaseManifest(tarball, url);
    const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex');
    const parsed = parse(release) as typeof manifest;
    expect(parsed.spec.platforms.every((p) => p.uri === url && p.sha256 === sha256)).toBe(true);
    expect(release).not.toMatch(/[&*]\w+/); // no YAML anchors or aliases in what goes to krew
    expect(() => releaseManifest(tarball, url, { ...manifest, spec: { ...manifest.spec, version: 'v9.9.9' } })).toThrow(/the tarball is version .*, the manifest v9\.9\.9/);
  });

  /** The path a build script prints last (building if needed: minutes the first time, milliseconds after). */
  const scriptOutput = (name: string): string => {
    const script = join(root, 'scripts', name);
    const built = spawnSync('bash', [script], { encoding: 'utf8', timeout: 1_500_000, maxBuffer: 16 * 1024 * 1024 });
    const path = built.stdout.trim().split('\n').pop()?.trim() ?? '';
    if (built.status !== 0 || !path.startsWith('/')) throw new Error(`${script} failed (exit code ${built.status}):\n${built.stderr}`);
    return path;
  };
  it('krew installs it from the tarball, and kubectl-seal works', () => {
    const krew = scriptOutput('krew-build.sh');
    const krewRoot = join(dir, 'krew');
    mkdirSync(krewRoot);
    const manifestFile = join(dir, 'seal.yaml');
    writeFileSync(manifestFile, releaseManifest(tarball, 'https://downloads.example/unused.tgz'));
    // KREW_NO_UPGRADE_CHECK: krew would otherwise now and then ask GitHub for its newest release.
    const install = spawnSync(krew, ['install', `--manifest=${manifestFile}`, `--archive=${tarball}`], { env: { ...env, KREW_ROOT: krewRoot, KREW_NO_UPGRADE_CHECK: '1' }, encoding: 'utf8', timeout: 120_000 });
    expect(install.stderr).toMatch(/Installed plugin: seal/);
    expect(install.status).toBe(0);
    const seal = join(krewRoot, 'bin', 'kubectl-seal');
    expect(run(seal, ['--version'])).toMatchObject({ status: 0, stdout: `kubeseal version: v${pkg.version}\n` });
    expect(run(seal, ['--cert', fixturePath('sealing-cert.pem'), '-o', 'yaml'], SECRET)).toMatchObject({ status: 0, stdout: expect.stringContaining('kind: SealedSecret') });
    expect(run(seal, ['--fetch-cert'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/^error: fetching the certificate needs the cluster/) });
    // And as users call it: kubectl finds the plugin on PATH (krew's bin), our kubectl from cluster:build.
    const kubectl = join(scriptOutput('cluster-build.sh'), 'kubectl');
    const viaKubectl = spawnSync(kubectl, ['seal', '--version'], { env: { ...env, PATH: `${join(krewRoot, 'bin')}:${PATH}` }, encoding: 'utf8', timeout: 60_000 });
    expect(viaKubectl).toMatchObject({ status: 0, stdout: `kubeseal version: v${pkg.version}\n` });
  }, 1_800_000);
});
