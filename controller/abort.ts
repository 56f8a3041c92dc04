/** Waiting that gives way to shutdown. */

/**
 * Resolves when `promise` settles or `signal` aborts, whichever is first; never rejects. Use it for
 * waits that may never end (keys that never load under a bad token): shutdown must not wait on them.
 */
export function untilAborted(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    promise.then(done, done);
  });
}

/** Resolves once `signal` aborts (at once if it already has). */
export function aborted(signal: AbortSignal): Promise<void> {
  return untilAborted(new Promise<never>(() => undefined), signal);
}
