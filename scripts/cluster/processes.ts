/**
 * Child processes of the cluster tooling (control plane, node, test helpers): one place for how
 * they are started, tied to this process, stopped, waited on, and how a recorded pid is judged.
 *
 * Children never outlive this Node process: on Linux each is started through
 * `setpriv --pdeathsig SIGKILL`, so the kernel kills it when its parent dies however that happens
 * (even SIGKILL); on top of that, exit and signal handlers kill whatever is still registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const STOP_GRACE_MS = 10_000;
const LOG_TAIL_LINES = 25;

/**
 * Processes and directories owned by control planes of this Node process. Module-level on
 * purpose: the exit and signal handlers must reach them however the process ends.
 */
const owned = { processes: new Set<ChildProcess>(), dirs: new Set<string>(), handlersInstalled: false };

function killOwnedNow(signal: NodeJS.Signals): void {
  for (const child of owned.processes) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  }
}

export function installExitHandlers(): void {
  if (owned.handlersInstalled) return;
  owned.handlersInstalled = true;
  process.on('exit', () => {
    killOwnedNow('SIGKILL');
    for (const dir of owned.dirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killOwnedNow('SIGTERM');
      // Die as the signal would have made us, unless someone else handles it; exiting (rather
      // than re-raising) runs the 'exit' handler above, which also removes the directories.
      if (process.listenerCount(signal) === 0) process.exit(128 + osConstants.signals[signal]);
    });
  }
}

export function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

const SETPRIV = process.platform === 'linux' ? findOnPath('setpriv') : null;

/** The command line that runs `binary` so the kernel kills it when this process dies. */
export function tiedToParent(binary: string, args: readonly string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', binary, ...args]] : [binary, [...args]];
}

export interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  readonly exited: Promise<void>;
}

export interface StartProcessOptions {
  /** How to run it; default tiedToParent. */
  readonly command?: (binary: string, args: readonly string[]) => [string, string[]];
  readonly env?: NodeJS.ProcessEnv;
}

/** Starts `binary` with its output appended to `logPath`, owned by this process (see above). */
export function startProcess(name: string, binary: string, args: readonly string[], logPath: string, options: StartProcessOptions = {}): Managed {
  const fd = openSync(logPath, 'a');
  writeFileSync(fd, `\n=== ${new Date().toISOString()} ${binary} ${args.join(' ')}\n`);
  const [command, commandArgs] = (options.command ?? tiedToParent)(binary, args);
  let child: ChildProcess;
  try {
    child = spawn(command, commandArgs, { stdio: ['ignore', fd, fd], ...(options.env ? { env: options.env } : {}) });
  } finally {
    closeSync(fd);
  }
  installExitHandlers();
  owned.processes.add(child);
  const exited = new Promise<void>((resolveExit) => {
    child.once('exit', () => {
      owned.processes.delete(child);
      resolveExit();
    });
    child.once('error', (error) => {
      owned.processes.delete(child);
      writeFileSync(logPath, `spawn failed: ${error.message}\n`, { flag: 'a' });
      resolveExit();
    });
  });
  return { name, child, logPath, exited };
}

export function isRunning(managed: Managed): boolean {
  return managed.child.exitCode === null && managed.child.signalCode === null && managed.child.pid !== undefined;
}

export async function stopProcess(managed: Managed | null): Promise<void> {
  if (!managed || !isRunning(managed)) return;
  managed.child.kill('SIGTERM');
  const timedOut = await Promise.race([managed.exited.then(() => false), sleep(STOP_GRACE_MS, true)]);
  if (timedOut && isRunning(managed)) {
    managed.child.kill('SIGKILL');
    await managed.exited;
  }
}

export function logTail(managed: Managed): string {
  let text: string;
  try {
    text = readFileSync(managed.logPath, 'utf8');
  } catch {
    return `(no log at ${managed.logPath})`;
  }
  const lines = text.trimEnd().split('\n').slice(-LOG_TAIL_LINES);
  return `--- last lines of ${managed.logPath} ---\n${lines.join('\n')}`;
}

export function describeExit(managed: Managed): string {
  const { exitCode, signalCode } = managed.child;
  return signalCode ? `was killed by ${signalCode}` : `exited with code ${exitCode}`;
}

/**
 * Polls `check` until it returns true. Fails early when one of `watched` exits, and on timeout
 * with the last error `check` threw.
 */
export async function waitUntil(what: string, timeoutMs: number, watched: readonly Managed[], check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (let attempt = 0; ; attempt++) {
    for (const managed of watched) {
      if (!isRunning(managed)) throw new Error(`${managed.name} ${describeExit(managed)} while waiting for ${what}`);
    }
    try {
      if (await check()) return;
      lastError = '';
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
    }
    await sleep(attempt < 20 ? 100 : 500);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Registers a directory to remove when this process exits (unless released first). */
export function ownDir(dir: string): void {
  installExitHandlers();
  owned.dirs.add(dir);
}

export function releaseDir(dir: string): void {
  owned.dirs.delete(dir);
}

/**
 * Whether `pid` runs. A zombie (dead, not yet reaped by a parent or an init that is slow to reap)
 * does not: what it owned is free to clean up.
 */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return process.platform !== 'linux';
  }
}

/** The argv of a live `pid` (from /proc), or null when it does not run or /proc does not tell. */
export function commandLineOf(pid: number): string[] | null {
  if (!isPidAlive(pid)) return null;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
}

/**
 * Times the steps of a start-up: `done(step)` records how long the step took since the previous
 * one (or since creation) in `timings` and logs it.
 */
export function stepTimer(log: (line: string) => void): { timings: Record<string, number>; done: (step: string) => void } {
  const timings: Record<string, number> = {};
  let stepStart = Date.now();
  return {
    timings,
    done: (step) => {
      timings[step] = Date.now() - stepStart;
      stepStart = Date.now();
      log(`${step} ready after ${(timings[step] / 1000).toFixed(1)} s`);
    },
  };
}
