/**
 * A control plane for people (`npm run cluster:up` / `cluster:down`) and for `npm start` without a
 * cluster: the harness's startControlPlane() run by a detached Node process (the daemon) that
 * outlives the command which started it, until `cluster:down` sends it SIGTERM.
 *
 * Everything lives in .cluster/ at the repository root (git-ignored):
 *   daemon.pid   the daemon's pid, written as soon as it is spawned
 *   daemon.log   its output (progress, errors)
 *   state.json   written by the daemon once the control plane is ready (LocalCluster)
 *   kubeconfig   the admin kubeconfig
 *   run/         the control plane's directory: pki/, etcd/, logs/ (with --node: the node's, which
 *                holds the control plane's in control-plane/)
 *   node.json    with --node: what the node leaves on the host, so that `down` can remove it even
 *                after the daemon was killed
 * The control plane's processes die with the daemon (see control-plane.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBinaries, ensureContainerd } from './binaries.ts';
import { clusterClient, repoRoot, startControlPlane, type ControlPlane, type ControlPlanePids } from './control-plane.ts';
import { startNodeCluster, sweepNode, type NodeCluster, type NodeResidue } from './node.ts';
import { commandLineOf, isPidAlive } from './processes.ts';

export const LOCAL_CLUSTER_DIR = join(repoRoot(), '.cluster');
const paths = {
  pid: join(LOCAL_CLUSTER_DIR, 'daemon.pid'),
  log: join(LOCAL_CLUSTER_DIR, 'daemon.log'),
  state: join(LOCAL_CLUSTER_DIR, 'state.json'),
  kubeconfig: join(LOCAL_CLUSTER_DIR, 'kubeconfig'),
  run: join(LOCAL_CLUSTER_DIR, 'run'),
  /** What a node leaves on the host (NodeResidue), for `down` after a daemon that was killed. */
  node: join(LOCAL_CLUSTER_DIR, 'node.json'),
};
const DAEMON_SCRIPT = join(repoRoot(), 'scripts', 'cluster.ts');
const DAEMON_ARG = 'daemon';
const START_TIMEOUT_MS = 180_000;
/** With a node: may build the image first, imports it, waits for kubelet. */
const NODE_START_TIMEOUT_MS = 900_000;
const STOP_TIMEOUT_MS = 30_000;

export interface LocalCluster {
  /** Absolute path of .cluster/kubeconfig (admin). */
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly binDir: string;
  /** Our kubectl, matching the server's version. */
  readonly kubectlPath: string;
  /** The control plane's directory (.cluster/run); its logs are in logs/. */
  readonly dir: string;
  /** The daemon's pid and the control plane's. */
  readonly daemonPid: number;
  readonly pids: ControlPlanePids;
  /** Milliseconds the control plane took to start. */
  readonly startupMs: number;
  /** The kubelet node's name, when started with a node. */
  readonly nodeName?: string;
}

export interface EnsureResult extends LocalCluster {
  /** False when a running cluster was found and reused. */
  readonly started: boolean;
}

export interface LocalClusterOptions {
  readonly log?: (message: string) => void;
  /** Also a kubelet node running pods, with the controller image loaded (scripts/cluster/node.ts). */
  readonly node?: boolean;
}

function readPid(): number | null {
  try {
    const pid = Number(readFileSync(paths.pid, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** True if `pid` is alive and, where /proc tells, is our daemon (pids get reused). */
function isDaemon(pid: number): boolean {
  const argv = commandLineOf(pid);
  if (argv === null) return isPidAlive(pid) && process.platform !== 'linux';
  return argv.includes(DAEMON_SCRIPT) && argv.includes(DAEMON_ARG);
}

function readState(): LocalCluster | null {
  try {
    return JSON.parse(readFileSync(paths.state, 'utf8')) as LocalCluster;
  } catch {
    return null;
  }
}

function logTail(lines = 30): string {
  try {
    return readFileSync(paths.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no daemon log)';
  }
}

/** Removes .cluster/'s state and, if a node's owner died without cleaning up, what it left. */
async function removeState(): Promise<void> {
  try {
    await sweepNode(JSON.parse(readFileSync(paths.node, 'utf8')) as NodeResidue);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  for (const file of [paths.state, paths.kubeconfig, paths.pid, paths.node]) rmSync(file, { force: true });
  rmSync(paths.run, { recursive: true, force: true, maxRetries: 3 });
}

/** The running local cluster, or null. */
export function localClusterStatus(): LocalCluster | null {
  const pid = readPid();
  if (pid === null || !isDaemon(pid)) return null;
  return readState();
}

/**
 * Returns the local cluster, starting it (building the binaries first if needed) unless it is
 * already running. The cluster keeps running after this process exits; stopLocalCluster() ends it.
 */
export async function ensureLocalCluster(options: LocalClusterOptions = {}): Promise<EnsureResult> {
  const log = options.log ?? (() => {});
  const runningPid = readPid();
  if (runningPid !== null && isDaemon(runningPid)) {
    // Running, or still starting (another `up` spawned it): wait for its state either way.
    const state = await waitForState(runningPid, options.node ? NODE_START_TIMEOUT_MS : START_TIMEOUT_MS);
    if (options.node && !state.nodeName) {
      throw new Error('a local control plane without a node is running: run `npm run cluster:down` first, then `npm run cluster:up -- --node`');
    }
    const readyz = await clusterClient({ ...state, dir: state.dir }).kubectl(['get', '--raw', '/readyz'], { timeoutMs: 10_000 });
    if (readyz.code !== 0) {
      throw new Error(
        `the local control plane (daemon pid ${runningPid}) runs but is not ready: ${readyz.stderr.trim()}\n` +
          `see ${join(state.dir, 'logs')}, then run \`npm run cluster:down\` and start it again`,
      );
    }
    return { ...state, started: false };
  }
  await removeState(); // leftovers of a daemon that died

  // Without a node, nothing of the node is built or installed (npm start on a fresh machine).
  const binDir = await ensureBinaries({ node: options.node === true });
  const daemonArgs = options.node ? [binDir, await ensureContainerd()] : [binDir];
  mkdirSync(LOCAL_CLUSTER_DIR, { recursive: true });
  const logFd = openSync(paths.log, 'w');
  let pid: number | undefined;
  try {
    const daemon = spawn(process.execPath, [DAEMON_SCRIPT, DAEMON_ARG, ...daemonArgs], {
      cwd: repoRoot(),
      detached: true, // own session: survives the terminal and the npm process that started it
      stdio: ['ignore', logFd, logFd],
    });
    daemon.unref();
    pid = daemon.pid;
  } finally {
    closeSync(logFd);
  }
  if (pid === undefined) throw new Error(`could not start the cluster daemon:\n${logTail()}`);
  writeFileSync(paths.pid, `${pid}\n`);
  log(`starting a local ${options.node ? 'one-node cluster' : 'control plane'} (daemon pid ${pid}, log ${paths.log})`);
  return { ...(await waitForState(pid, options.node ? NODE_START_TIMEOUT_MS : START_TIMEOUT_MS)), started: true };
}

async function waitForState(pid: number, timeoutMs: number): Promise<LocalCluster> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const state = readState();
    if (state?.daemonPid === pid) return state;
    if (!isDaemon(pid)) {
      const tail = logTail();
      await removeState();
      throw new Error(`the local control plane failed to start; last lines of ${paths.log}:\n${tail}`);
    }
    await sleep(200);
  }
  throw new Error(`the local control plane did not start within ${timeoutMs / 1000} s; see ${paths.log}, then run \`npm run cluster:down\``);
}

/** Stops the local cluster and removes its files (daemon.log stays). Returns false if none ran. */
export async function stopLocalCluster(): Promise<boolean> {
  const pid = readPid();
  const running = pid !== null && isDaemon(pid);
  if (running) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (isDaemon(pid) && Date.now() < deadline) await sleep(100);
    // Its children die with it (parent-death signal), so killing the daemon is enough.
    if (isDaemon(pid)) process.kill(pid, 'SIGKILL');
  }
  await removeState();
  return running;
}

/**
 * Body of the daemon process (`node scripts/cluster.ts daemon <binDir>`): starts the control
 * plane, publishes it in .cluster/, and stops it on SIGTERM, SIGINT or SIGHUP.
 */
export async function runLocalClusterDaemon(binDir: string, containerdDir?: string): Promise<void> {
  const log = (message: string) => console.log(`${new Date().toISOString()} ${message}`);
  let node: NodeCluster | null = null;
  let plane: ControlPlane;
  if (containerdDir) {
    node = await startNodeCluster({ binDir, containerdDir, dir: paths.run, log, onResidue: (residue) => writeFileSync(paths.node, `${JSON.stringify(residue)}\n`) });
    plane = node.plane;
  } else {
    plane = await startControlPlane({ binDir, withControllerManager: true, dir: paths.run, log });
  }
  copyFileSync(plane.kubeconfigPath, paths.kubeconfig);
  const state: LocalCluster = {
    kubeconfigPath: paths.kubeconfig,
    server: plane.server,
    binDir,
    kubectlPath: plane.kubectlPath,
    dir: plane.dir,
    daemonPid: process.pid,
    pids: plane.pids(),
    startupMs: (node ?? plane).timings.total ?? 0,
    ...(node ? { nodeName: node.nodeName } : {}),
  };
  writeFileSync(paths.state, `${JSON.stringify(state, null, 2)}\n`);

  const keepAlive = setInterval(() => {}, 1 << 30);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    await (node ?? plane).stop();
    for (const file of [paths.state, paths.kubeconfig, paths.pid, paths.node]) rmSync(file, { force: true });
    clearInterval(keepAlive);
    log('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal));
  log(`ready: export KUBECONFIG=${paths.kubeconfig}`);
}
