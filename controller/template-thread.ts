/**
 * The one thread that renders spec.template.data (template-worker.ts), started on first use:
 * a controller whose SealedSecrets have no templates never pays for its V8 isolate (~15 MiB).
 * A thread that dies fails the renders it had and is started again on the next one.
 */
import { Worker } from 'node:worker_threads';
import type { TemplateReply, TemplateRequest } from './template-worker.ts';
import { fromWorkerError } from './worker-errors.ts';

export interface TemplateThread {
  render(input: Omit<TemplateRequest, 'id'>): Promise<Record<string, Uint8Array>>;
  close(): Promise<void>;
}

// Compiled, this file is .js and so is its worker; under Node's type stripping (tests), both are .ts.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './template-worker.ts' : './template-worker.js', import.meta.url);

export function createTemplateThread(): TemplateThread {
  let worker: Worker | undefined;
  const pending = new Map<number, { resolve: (data: Record<string, Uint8Array>) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let closed = false;

  const fail = (from: Worker, error: Error): void => {
    if (worker !== from) return;
    worker = undefined;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  const start = (): Worker => {
    // Templates are bounded to 1 MiB of output each: a small heap is plenty, and bounds memory.
    const started = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 } });
    started.on('message', (reply: TemplateReply) => {
      const waiter = pending.get(reply.id);
      pending.delete(reply.id);
      if (pending.size === 0) started.unref();
      if (!waiter) return;
      if (reply.ok) waiter.resolve(reply.data);
      else waiter.reject(fromWorkerError(reply.error));
    });
    started.on('error', (error) => fail(started, error));
    started.on('exit', (code) => fail(started, new Error(`template thread exited with code ${code}`)));
    started.unref();
    return started;
  };

  return {
    render(input) {
      if (closed) return Promise.reject(new Error('template thread is closed'));
      const thread = (worker ??= start());
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        thread.ref();
        thread.postMessage({ id, templateData: input.templateData, decrypted: input.decrypted } satisfies TemplateRequest);
      });
    },
    async close() {
      closed = true;
      const thread = worker;
      worker = undefined;
      for (const waiter of pending.values()) waiter.reject(new Error('template thread is closed'));
      pending.clear();
      await thread?.terminate();
    },
  };
}
