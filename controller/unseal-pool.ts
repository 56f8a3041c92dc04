/**
 * Unsealing off the event loop without threads of our own: each RSA private operation is a
 * WebCrypto decrypt (shared/crypto.ts webCryptoOpener), which Node runs on libuv's thread pool.
 * So RSA never blocks the event loop, both cores of a small node work, and there is no V8
 * isolate per unseal thread (each ~15 MiB idle, up to its 56 MiB heap limit under load: with
 * 2 + 1 of them they were a third of the controller's memory, docs/benchmarks.md).
 *
 * `size` bounds the RSA operations in flight for unsealing, `httpSize` those of the HTTP API
 * (/v1/verify, /v1/rotate: anyone who reaches the service proxy), each through its own gate: a
 * flood of verify requests can slow verify, never the Secrets of new SealedSecrets (issue 8,
 * class 9), as long as both fit in libuv's pool (4 threads unless UV_THREADPOOL_SIZE says
 * otherwise; run.ts keeps the default sizes within it). server.ts bounds that work in RSA
 * operations per request and per second.
 *
 * spec.template.data is rendered on a thread of its own, started on first use (template-thread.ts).
 */
import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { hybridDecryptAsync, webCryptoOpener, type SessionKeyOpener } from '../shared/crypto.ts';
import type { SealedSecret, Secret } from '../shared/kube.ts';
import { unsealSealedSecretAsync } from '../shared/sealed-secret.ts';
import { createTemplateThread, type TemplateThread } from './template-thread.ts';

export interface UnsealResult {
  readonly secret: Secret;
  /** Fingerprints of the keys that opened the values. */
  readonly keysUsed: readonly string[];
}

/** Whose gate the RSA work goes through: unsealing, or the HTTP API's. */
export type UnsealPriority = 'unseal' | 'http';

export interface UnsealPool {
  setKeys(keys: readonly { fingerprint: string; privateKey: KeyObject }[]): void;
  /** Unseal, trying the keys in `order` (fingerprints) first. */
  unseal(sealed: SealedSecret, order: readonly string[], priority?: UnsealPriority): Promise<UnsealResult>;
  close(): Promise<void>;
}

/** At most `size` of the gated operations run at once; the others wait their turn in order. */
function createGate(size: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (running < size) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next in line (running stays the same), or free it.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

export function createUnsealPool(options: { size?: number; httpSize?: number; acceptDeprecatedV1Data: boolean }): UnsealPool {
  const gates: Record<UnsealPriority, ReturnType<typeof createGate>> = {
    unseal: createGate(Math.max(1, options.size ?? availableParallelism())),
    http: createGate(Math.max(1, options.httpSize ?? 1)),
  };
  let keys: readonly { fingerprint: string; opener: SessionKeyOpener }[] = [];
  let templates: TemplateThread | undefined;
  let closed = false;

  return {
    setKeys(list) {
      keys = list.map((k) => ({ fingerprint: k.fingerprint, opener: webCryptoOpener(k.privateKey) }));
    },
    async unseal(sealed, order, priority = 'unseal') {
      if (closed) throw new Error('unseal pool is closed');
      const rank = new Map(order.map((fp, i) => [fp, i]));
      const ordered = [...keys].sort((a, b) => (rank.get(a.fingerprint) ?? Infinity) - (rank.get(b.fingerprint) ?? Infinity));
      const gate = gates[priority];
      const openers: SessionKeyOpener[] = ordered.map(({ opener }) => ({
        ...opener,
        open: (rsaPart, label) => gate(() => opener.open(rsaPart, label)),
      }));
      const { secret, keysUsed } = await unsealSealedSecretAsync(sealed, {
        keyCount: openers.length,
        open: (ciphertext, label, indexes) => hybridDecryptAsync(indexes.map((i) => openers[i] as SessionKeyOpener), ciphertext, label),
        acceptDeprecatedV1Data: options.acceptDeprecatedV1Data,
        renderTemplates: (input) => (templates ??= createTemplateThread()).render(input),
      });
      return { secret, keysUsed: keysUsed.map((i) => ordered[i]?.fingerprint ?? '') };
    },
    async close() {
      closed = true;
      await templates?.close();
    },
  };
}
