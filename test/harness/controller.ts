/**
 * The controller as users run it: `node dist/controller/main.js` in a child process, against a
 * real API server, with its own namespace for keys and Lease so parallel spec files never meet.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tiedToParent } from '../../scripts/cluster/processes.ts';

export const CONTROLLER = fileURLToPath(new URL('../../dist/controller/main.js', import.meta.url));

export interface ControllerProcess {
  /** http://host:port of the API (/healthz, /v1/cert.pem, ...). */
  readonly http: string;
  readonly metrics: string;
  readonly child: ChildProcess;
  readonly identity: string;
  /** Everything it logged so far (stdout and stderr). */
  logs(): string;
  /** Resolves with the first log line (present or future) matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The value of the unlabelled metric sealed_secrets_controller_<name>, or undefined while it has none. */
  metric(name: string): Promise<number | undefined>;
  /** Resolves once it has exactly `count` sealing keys loaded (the keys metric). */
  waitForKeys(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once it leads (the leader metric is 1). */
  waitForLeading(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then wait for the exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash), then wait for the exit. */
  kill(): Promise<void>;
}

export interface StartControllerOptions {
  readonly kubeconfigPath: string;
  /** The controller's own namespace (POD_NAMESPACE): keys, Lease, certificate ConfigMap. */
  readonly namespace: string;
  /** Namespaces to unseal in (besides its own); the controller never watches all namespaces in tests. */
  readonly watch?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  readonly name?: string;
  /** Where it listens; default 127.0.0.1 on free ports. */
  readonly listen?: { readonly http: string; readonly metrics: string };
  /** How to run it; default tiedToParent (it dies with this process). netns.ts runs it in a network namespace. */
  readonly command?: (binary: string, args: readonly string[]) => [string, string[]];
  /** Called with the child right after spawning (e.g. to register it for clean-up). */
  readonly onSpawn?: (child: ChildProcess) => void;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startController(options: StartControllerOptions): Promise<ControllerProcess> {
  const name = options.name ?? `ctl-${Math.random().toString(36).slice(2, 7)}`;
  const args = [
    CONTROLLER,
    '--listen-addr', options.listen?.http ?? '127.0.0.1:0',
    '--listen-metrics-addr', options.listen?.metrics ?? '127.0.0.1:0',
    '--all-namespaces=false',
    ...(options.watch && options.watch.length > 0 ? ['--additional-namespaces', options.watch.join(',')] : []),
    ...(options.args ?? []),
  ];
  const [command, commandArgs] = (options.command ?? tiedToParent)(process.execPath, args);
  const child = spawn(command, commandArgs, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: options.kubeconfigPath, POD_NAMESPACE: options.namespace, POD_NAME: name, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  options.onSpawn?.(child);
  let text = '';
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of waiters) {
      const line = text.split('\n').find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    running.delete(child);
    resolve(code);
  }));

  const waitForLog = (pattern: RegExp, timeoutMs = 60_000): Promise<string> => {
    const present = text.split('\n').find((l) => pattern.test(l));
    if (present !== undefined) return Promise.resolve(present);
    return new Promise((resolve, reject) => {
      const waiter = { pattern, resolve: (line: string) => { clearTimeout(timer); resolve(line); } };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`controller ${name} did not log ${pattern} within ${timeoutMs} ms; its log:\n${text}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then((code) => {
        if (waiters.delete(waiter)) {
          clearTimeout(timer);
          reject(new Error(`controller ${name} exited (${code}) before logging ${pattern}; its log:\n${text}`));
        }
      });
    });
  };

  const serving = await waitForLog(/msg=serving /);
  const metricsUrl = `http://${/metrics=(\S+)/.exec(serving)?.[1] ?? ''}/metrics`;
  const metric = async (metricName: string): Promise<number | undefined> => {
    const found = new RegExp(`^sealed_secrets_controller_${metricName} (\\S+)$`, 'm').exec(await (await fetch(metricsUrl)).text());
    return found ? Number(found[1]) : undefined;
  };
  const waitForMetric = async (metricName: string, wanted: number, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last: number | undefined;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`controller ${name} exited before ${metricName} was ${wanted}; its log:\n${text}`);
      last = await metric(metricName).catch(() => undefined);
      if (last === wanted) return;
      if (Date.now() > deadline) throw new Error(`controller ${name}: ${metricName} was ${last} after ${timeoutMs} ms, not ${wanted}; its log:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const http = /http=(\S+)/.exec(serving)?.[1] ?? '';
  const metrics = /metrics=(\S+)/.exec(serving)?.[1] ?? '';
  const identity = /identity=(\S+)/.exec(await waitForLog(/msg=starting /))?.[1] ?? '';
  return {
    http: `http://${http}`,
    metrics: `http://${metrics}`,
    child,
    identity,
    logs: () => text,
    waitForLog,
    metric,
    waitForKeys: (count, timeoutMs = 60_000) => waitForMetric('keys', count, timeoutMs),
    waitForLeading: (timeoutMs = 60_000) => waitForMetric('leader', 1, timeoutMs),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
