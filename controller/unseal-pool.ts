/**
 * A pool of threads that unseal SealedSecrets (one per core by default), so RSA never blocks the
 * event loop and both cores of a small node work. Keys are copied to every thread when they change.
 *
 * Work for the HTTP API (/v1/verify, /v1/rotate: anyone who reaches the service proxy) runs on
 * threads of its own, never on the unseal threads: a flood of verify requests can slow verify,
 * never the Secrets of new SealedSecrets (issue 8, class 9). server.ts bounds that work in RSA
 * operations per request and per second.
 */
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SealedSecret, Secret } from '../shared/kube.ts';
import type { WorkerReply, WorkerRequest } from './unseal-worker.ts';
import { fromWorkerError } from './worker-errors.ts';

export interface UnsealResult {
  readonly secret: Secret;
  /** Fingerprints of the keys that opened the values. */
  readonly keysUsed: readonly string[];
}

/** Which threads do the work: the unseal threads, or the HTTP API's own. */
export type UnsealPriority = 'unseal' | 'http';

export interface UnsealPool {
  setKeys(keys: readonly { fingerprint: string; privateKey: KeyObject }[]): void;
  /** Unseal, trying the keys in `order` (fingerprints) first. */
  unseal(sealed: SealedSecret, order: readonly string[], priority?: UnsealPriority): Promise<UnsealResult>;
  close(): Promise<void>;
}

// Compiled, this file is .js and so is its worker; under Node's type stripping (tests), both are .ts.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './unseal-worker.ts' : './unseal-worker.js', import.meta.url);

export function createUnsealPool(options: { size?: number; httpSize?: number; acceptDeprecatedV1Data: boolean }): UnsealPool {
  const size = options.size ?? Math.max(1, availableParallelism());
  const httpSize = Math.max(1, options.httpSize ?? 1);
  interface Lane { worker: Worker; pending: Map<number, { resolve: (r: UnsealResult) => void; reject: (e: Error) => void }> }
  let keys: WorkerRequest & { type: 'keys' } = { type: 'keys', keys: [] };
  let nextId = 1;
  let closed = false;

  const spawn = (): Lane => {
    // A thread holds keys and one SealedSecret at a time: a small heap is plenty, and bounds memory.
    const lane: Lane = { worker: new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 } }), pending: new Map() };
    lane.worker.on('message', (reply: WorkerReply) => {
      const waiter = lane.pending.get(reply.id);
      lane.pending.delete(reply.id);
      if (!waiter) return;
      if (reply.ok) waiter.resolve({ secret: reply.secret, keysUsed: reply.keysUsed });
      else waiter.reject(fromWorkerError(reply.error));
    });
    lane.worker.on('error', (error) => fail(lane, error));
    lane.worker.on('exit', (code) => fail(lane, new Error(`unseal thread exited with code ${code}`)));
    lane.worker.postMessage(keys);
    lane.worker.unref();
    return lane;
  };
  const groups: Record<UnsealPriority, Lane[]> = {
    unseal: Array.from({ length: size }, spawn),
    http: Array.from({ length: httpSize }, spawn),
  };
  const all = (): Lane[] => [...groups.unseal, ...groups.http];

  // A thread that dies takes its in-flight work with it: reject that work and start a new thread.
  function fail(lane: Lane, error: Error): void {
    for (const waiter of lane.pending.values()) waiter.reject(error);
    lane.pending.clear();
    for (const lanes of Object.values(groups)) {
      const index = lanes.indexOf(lane);
      if (index >= 0 && !closed) lanes[index] = spawn();
    }
  }

  return {
    setKeys(list) {
      keys = { type: 'keys', keys: list.map((k) => ({ fingerprint: k.fingerprint, key: k.privateKey })) };
      for (const lane of all()) lane.worker.postMessage(keys);
    },
    unseal(sealed, order, priority = 'unseal') {
      if (closed) return Promise.reject(new Error('unseal pool is closed'));
      const lane = groups[priority].reduce((best, l) => (l.pending.size < best.pending.size ? l : best));
      const id = nextId++;
      return new Promise<UnsealResult>((resolve, reject) => {
        lane.pending.set(id, { resolve, reject });
        if (lane.pending.size === 1) lane.worker.ref();
        lane.worker.postMessage({ type: 'unseal', id, sealed, order: [...order], acceptDeprecatedV1Data: options.acceptDeprecatedV1Data } satisfies WorkerRequest);
      }).finally(() => {
        if (lane.pending.size === 0) lane.worker.unref();
      });
    },
    async close() {
      closed = true;
      await Promise.all(all().map((l) => l.worker.terminate()));
    },
  };
}
