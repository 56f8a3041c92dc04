/**
 * A pool of threads that unseal SealedSecrets (one per core by default), so RSA never blocks the
 * event loop and both cores of a small node work. Keys are copied to every thread when they change.
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

export interface UnsealPool {
  setKeys(keys: readonly { fingerprint: string; privateKey: KeyObject }[]): void;
  /** Unseal, trying the keys in `order` (fingerprints) first. */
  unseal(sealed: SealedSecret, order: readonly string[]): Promise<UnsealResult>;
  close(): Promise<void>;
}

// Compiled, this file is .js and so is its worker; under Node's type stripping (tests), both are .ts.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './unseal-worker.ts' : './unseal-worker.js', import.meta.url);

export function createUnsealPool(options: { size?: number; acceptDeprecatedV1Data: boolean }): UnsealPool {
  const size = options.size ?? Math.max(1, availableParallelism());
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
  const lanes: Lane[] = Array.from({ length: size }, spawn);

  // A thread that dies takes its in-flight work with it: reject that work and start a new thread.
  function fail(lane: Lane, error: Error): void {
    for (const waiter of lane.pending.values()) waiter.reject(error);
    lane.pending.clear();
    const index = lanes.indexOf(lane);
    if (index >= 0 && !closed) lanes[index] = spawn();
  }

  return {
    setKeys(list) {
      keys = { type: 'keys', keys: list.map((k) => ({ fingerprint: k.fingerprint, key: k.privateKey })) };
      for (const lane of lanes) lane.worker.postMessage(keys);
    },
    unseal(sealed, order) {
      if (closed) return Promise.reject(new Error('unseal pool is closed'));
      const lane = lanes.reduce((best, l) => (l.pending.size < best.pending.size ? l : best));
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
      await Promise.all(lanes.map((l) => l.worker.terminate()));
    },
  };
}
