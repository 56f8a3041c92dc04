/**
 * Time, in one place: the timers type the controller's loops take (so tests run on a fake clock),
 * the one abortable sleep, and the RFC 3339 forms the Kubernetes API reads and writes. Waits
 * that give way to an abort without a timeout are abort.ts's.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** setTimeout/clearTimeout and sleep, injectable so tests run on a fake clock. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Resolves after `ms`, or at once when `signal` aborts (never rejects on abort). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Resolves after `ms` or as soon as `signal` aborts, whichever comes first. Never rejects on
 * abort: every caller checks its signal after waking up anyway.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  try {
    await delay(Math.max(0, ms), undefined, signal ? { signal } : undefined);
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}

/** The real clock's timers. */
export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  sleep,
};

/**
 * RFC 3339 in UTC as the API server writes it: whole seconds (metav1.Time: Events, conditions) or
 * exactly six fractional digits (metav1.MicroTime: Leases, which kube-apiserver requires so);
 * milliseconds for log records, as slog prints them.
 */
export function rfc3339(date: Date, precision: 'seconds' | 'millis' | 'micro' = 'seconds'): string {
  const iso = date.toISOString();
  if (precision === 'millis') return iso;
  return precision === 'micro' ? iso.replace(/\.(\d{3})Z$/, '.$1000Z') : iso.replace(/\.\d{3}Z$/, 'Z');
}
