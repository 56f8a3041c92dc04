/**
 * A keyed work queue in the manner of client-go's workqueue: a key is queued at most once, a key
 * being worked on is never worked on twice at the same time (an add meanwhile makes it run again
 * afterwards), at most `concurrency` keys run at once, and failures are retried after an
 * exponential backoff up to `maxRetries` times. It only runs between start() and the abort of the
 * signal given to start(); aborting also aborts the work in flight.
 */
import { errorMessage } from '../shared/errors.ts';
import type { Logger } from './log.ts';
import type { Timers } from './time.ts';

export type Outcome = { readonly retry: false } | { readonly retry: true };

export interface WorkQueueOptions {
  readonly concurrency: number;
  readonly maxRetries: number;
  /** Delay before retry number `attempt` (1 for the first retry). */
  readonly backoffMs: (attempt: number) => number;
  readonly handle: (key: string, signal: AbortSignal) => Promise<Outcome>;
  /** Where a handler's exception is reported (it is then retried like a failure). */
  readonly log: Logger;
  readonly timers?: Pick<Timers, 'setTimeout' | 'clearTimeout'>;
}

export interface WorkQueue {
  /** Queue `key`; `fresh` (the object changed) forgets earlier failures. */
  add(key: string, options?: { fresh?: boolean }): void;
  /** Process keys until `signal` aborts. */
  start(signal: AbortSignal): void;
  /** Keys waiting, running or waiting to retry. */
  readonly size: number;
  /** Resolves when nothing is queued or running (retries waiting do not count). */
  idle(): Promise<void>;
}

/** 5 s, 10 s, 20 s, ... capped at 5 min, with ±20 % jitter: retries spread over minutes. */
export function defaultBackoff(random: () => number = Math.random): (attempt: number) => number {
  return (attempt) => Math.min(300_000, 5000 * 2 ** (attempt - 1)) * (0.8 + 0.4 * random());
}

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  // Unref'd: a retry waiting for minutes must not keep the process alive.
  const timers: Pick<Timers, 'setTimeout' | 'clearTimeout'> = options.timers ?? {
    setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
    clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  };
  const queue: string[] = [];
  const queued = new Set<string>();
  const running = new Set<string>();
  const dirty = new Set<string>();
  const attempts = new Map<string, number>();
  const waiting = new Map<string, unknown>();
  let signal: AbortSignal | undefined;
  let idleWaiters: (() => void)[] = [];

  const checkIdle = (): void => {
    if (queue.length === 0 && running.size === 0) {
      for (const resolve of idleWaiters) resolve();
      idleWaiters = [];
    }
  };

  function pump(): void {
    while (signal && !signal.aborted && running.size < options.concurrency && queue.length > 0) {
      const key = queue.shift() as string;
      queued.delete(key);
      running.add(key);
      void work(key, signal);
    }
    checkIdle();
  }

  async function work(key: string, current: AbortSignal): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await options.handle(key, current);
    } catch (error) {
      // A handler should answer with an Outcome; an exception is a bug or an unforeseen failure.
      if (!current.aborted) options.log.error('work item failed unexpectedly; retrying', { key, error: errorMessage(error) });
      outcome = { retry: true };
    }
    running.delete(key);
    if (current.aborted) {
      checkIdle();
      return;
    }
    if (dirty.delete(key)) {
      enqueue(key);
    } else if (outcome.retry) {
      const attempt = (attempts.get(key) ?? 0) + 1;
      if (attempt <= options.maxRetries) {
        attempts.set(key, attempt);
        waiting.set(key, timers.setTimeout(() => {
          waiting.delete(key);
          enqueue(key);
        }, options.backoffMs(attempt)));
      } else {
        attempts.delete(key);
      }
    } else {
      attempts.delete(key);
    }
    pump();
  }

  function enqueue(key: string): void {
    if (queued.has(key)) return;
    if (running.has(key)) {
      dirty.add(key);
      return;
    }
    queued.add(key);
    queue.push(key);
    pump();
  }

  return {
    add(key, addOptions = {}) {
      if (addOptions.fresh) attempts.delete(key);
      const timer = waiting.get(key);
      if (timer !== undefined) {
        timers.clearTimeout(timer);
        waiting.delete(key);
      }
      enqueue(key);
    },
    start(newSignal) {
      signal = newSignal;
      newSignal.addEventListener('abort', () => {
        for (const timer of waiting.values()) timers.clearTimeout(timer);
        waiting.clear();
        queue.length = 0;
        queued.clear();
        dirty.clear();
        attempts.clear();
        checkIdle();
      }, { once: true });
      pump();
    },
    get size() {
      return queue.length + running.size + waiting.size;
    },
    idle() {
      if (queue.length === 0 && running.size === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
