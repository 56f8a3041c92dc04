/**
 * A network namespace of its own, joined to the host by a veth pair on a private /24, for
 * processes that must have a non-loopback address the API server can reach (the controller in
 * test/harness/netns.ts; the node of scripts/cluster/node.ts), without touching the host's routes
 * or iptables: the only host change is the veth's host end and its address, deleted with it.
 *
 *   host network namespace                          network namespace sst-<X>-<pid>
 *   sstXh 10.200.X.1/24  ========== veth ==========  sstXn 10.200.X.2/24 (+ lo up)
 *
 * - `createNetns()` makes a network namespace with iproute2 (`ip netns add`) and a veth pair whose
 *   /24 is unique on this machine: the host end's name `sst<X>h` is the lock on 10.200.X.0/24
 *   (creating a link whose name exists fails, atomically), so parallel workers and other test runs
 *   never share a subnet. Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN) and `ip`.
 * - Processes run inside it through `nsenter --net=/run/netns/<name>`: only the network namespace
 *   changes (`ip netns exec` would also make a private mount namespace, which hides the mounts of
 *   kubelet from containerd), under `setpriv --pdeathsig SIGKILL` (nsenter execs in place, so the
 *   signal setting survives).
 * - `forward()` listens on the host end and forwards to a host address (the API server on
 *   127.0.0.1, which the namespace cannot see).
 *
 * Nothing outlives the owner: `destroy()` kills the processes it adopted and deletes the namespace
 * (which removes both veth ends), an exit handler does the same if the process ends without
 * calling it, and `createNetns()` first removes namespaces whose owner process (the pid in the
 * name) is gone.
 */
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPidAlive, tiedToParent } from './processes.ts';

const NAME_PATTERN = /^sst-(\d{1,3})-(\d+)$/;

export interface Netns {
  /** The network namespace's name (/run/netns/<name>). */
  readonly name: string;
  /** Address of the host end of the veth (host network namespace). */
  readonly hostAddress: string;
  /** Address inside the namespace: a non-loopback address the API server can proxy to. */
  readonly address: string;
  /** A scratch directory (kubeconfigs...), removed with the namespace. */
  readonly dir: string;
  /** The command line that runs `binary` inside the namespace, killed when this process dies. */
  command(binary: string, args: readonly string[]): [string, string[]];
  /** Registers a process started with command(), so that destroy() and the exit handler kill it. */
  adopt(child: ChildProcess): void;
  /** A TCP forwarder listening on hostAddress:<port, default random> to `target` in the host namespace. */
  forward(target: { host: string; port: number }, port?: number): Promise<Forwarder>;
  /** Kills what runs inside, closes forwarders, deletes the namespace and its veth. Idempotent. */
  destroy(): Promise<void>;
}

export interface Forwarder {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Namespaces this process created and the processes it started in them. Module-level on purpose,
 * as in processes.ts: the exit handler must reach them however the process ends.
 */
const owned = { namespaces: new Map<string, { hostLink: string; dir: string; children: Set<ChildProcess> }>(), handlerInstalled: false };

function installExitHandler(): void {
  if (owned.handlerInstalled) return;
  owned.handlerInstalled = true;
  process.on('exit', () => {
    for (const [name, entry] of owned.namespaces) {
      for (const child of entry.children) child.kill('SIGKILL');
      for (const args of [['netns', 'delete', name], ['link', 'delete', entry.hostLink]]) {
        try {
          execFileSync('ip', args, { stdio: 'ignore' });
        } catch {
          // already gone
        }
      }
      rmSync(entry.dir, { recursive: true, force: true });
    }
  });
}

function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ip ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

async function tryIp(args: readonly string[]): Promise<boolean> {
  try {
    await ip(args);
    return true;
  } catch {
    return false;
  }
}

async function listNetns(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  return out.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '').filter((name) => name !== '');
}

/** Why this machine cannot make network namespaces, or null when it can. */
export async function netnsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'creating network namespaces needs root';
  try {
    await listNetns();
    return null;
  } catch (error) {
    return `iproute2 cannot list network namespaces (${(error as Error).message})`;
  }
}

/** Deletes namespaces (their veth, their directories) left by test processes that died without cleaning up. */
async function sweepStale(): Promise<void> {
  for (const name of await listNetns()) {
    const match = NAME_PATTERN.exec(name);
    if (!match || isPidAlive(Number(match[2]))) continue;
    await tryIp(['netns', 'delete', name]);
    await tryIp(['link', 'delete', `sst${match[1]}h`]);
  }
  for (const entry of readdirSync(tmpdir())) {
    const match = /^sst-\d{1,3}-(\d+)-/.exec(entry);
    if (match && !isPidAlive(Number(match[1]))) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
}

function forwarder(listenHost: string, target: { host: string; port: number }, port = 0): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, listenHost, () => {
      const address = server.address();
      if (!address || typeof address !== 'object') {
        reject(new Error('forwarder has no address'));
        return;
      }
      resolve({
        host: listenHost,
        port: address.port,
        close: () => new Promise<void>((resolveClose) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolveClose());
        }),
      });
    });
  });
}

/**
 * Creates a network namespace `sst-<X>-<pid>` joined to the host by a veth pair on 10.200.X.0/24,
 * X free on this machine. Throws (with iproute2's message) when that is not possible.
 */
export async function createNetns(): Promise<Netns> {
  installExitHandler();
  await sweepStale();
  const taken = new Set((await listNetns()).map((name) => NAME_PATTERN.exec(name)?.[1]).filter((x) => x !== undefined));
  const routes = await ip(['-4', 'route', 'show']);
  const start = 1 + Math.floor(Math.random() * 250);
  for (let i = 0; i < 250; i++) {
    const x = ((start + i - 1) % 250) + 1;
    if (taken.has(String(x)) || routes.includes(`10.200.${x}.`)) continue;
    const hostLink = `sst${x}h`;
    const nsLink = `sst${x}n`;
    // The lock on the subnet: fails when another process holds the name.
    if (!(await tryIp(['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', nsLink]))) continue;
    const name = `sst-${x}-${process.pid}`;
    const entry = { hostLink, dir: mkdtempSync(join(tmpdir(), `${name}-`)), children: new Set<ChildProcess>() };
    owned.namespaces.set(name, entry);
    const hostAddress = `10.200.${x}.1`;
    const address = `10.200.${x}.2`;
    const forwarders = new Set<Forwarder>();
    let destroyed: Promise<void> | null = null;
    const destroy = (): Promise<void> => {
      destroyed ??= (async () => {
        await Promise.all([...entry.children].map((child) => new Promise<void>((resolveExit) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            resolveExit();
            return;
          }
          child.once('exit', () => resolveExit());
          child.kill('SIGKILL');
        })));
        await Promise.all([...forwarders].map((f) => f.close()));
        await tryIp(['netns', 'delete', name]);
        await tryIp(['link', 'delete', hostLink]);
        rmSync(entry.dir, { recursive: true, force: true });
        owned.namespaces.delete(name);
      })();
      return destroyed;
    };
    try {
      await ip(['netns', 'add', name]);
      await ip(['link', 'set', nsLink, 'netns', name]);
      await ip(['addr', 'add', `${hostAddress}/24`, 'dev', hostLink]);
      await ip(['link', 'set', hostLink, 'up']);
      await ip(['-n', name, 'addr', 'add', `${address}/24`, 'dev', nsLink]);
      await ip(['-n', name, 'link', 'set', nsLink, 'up']);
      await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    } catch (error) {
      await destroy();
      throw error;
    }
    return {
      name,
      hostAddress,
      address,
      dir: entry.dir,
      command: (binary, args) => tiedToParent('nsenter', [`--net=/run/netns/${name}`, '--', binary, ...args]),
      async forward(target, port) {
        const f = await forwarder(hostAddress, target, port);
        forwarders.add(f);
        return f;
      },
      adopt(child) {
        entry.children.add(child);
        child.once('exit', () => entry.children.delete(child));
      },
      destroy,
    };
  }
  throw new Error('no free 10.200.X.0/24 subnet for a network namespace (all 250 taken)');
}

