/**
 * The controller's policy for sealing keys: which is newest, when a new one is due, and how long to
 * wait so that a new key is strictly newer. The key Secret's format is shared/key-secret.ts.
 */
import type { SealingKey } from '../shared/key-secret.ts';

/** Keys newest first (ties: by name, so every replica agrees). */
export function sortNewestFirst(keys: Iterable<SealingKey>): SealingKey[] {
  return [...keys].sort((a, b) => b.orderingTime.getTime() - a.orderingTime.getTime() || a.name.localeCompare(b.name));
}

/** A new key is due when there is none, or the newest was made before --key-cutoff-time. */
export function needsNewKey(keys: readonly SealingKey[], cutoff: Date | undefined): boolean {
  const newest = sortNewestFirst(keys)[0];
  return newest === undefined || (cutoff !== undefined && newest.orderingTime.getTime() < cutoff.getTime());
}

/**
 * How long to wait before making a new key so that it is strictly newer than `newest`: NotBefore
 * and creationTimestamp have whole seconds, and a key made in the newest key's second would tie
 * with it (ties go by name: the old key could stay the sealing one). Never more than a second: a
 * newest key further ahead is clock skew that waiting does not fix.
 */
export function waitBeforeNewKey(newest: SealingKey | undefined, now: Date): number {
  if (newest === undefined) return 0;
  const nextSecond = Math.floor(newest.orderingTime.getTime() / 1000) * 1000 + 1000;
  const wait = nextSecond - now.getTime();
  return wait > 0 && wait <= 1000 ? wait : 0;
}

/** When the next key is due: the newest key's time plus the renew period (undefined: never). */
export function nextRenewal(keys: readonly SealingKey[], periodMs: number): Date | undefined {
  const newest = sortNewestFirst(keys)[0];
  if (periodMs <= 0 || newest === undefined) return undefined;
  return new Date(newest.orderingTime.getTime() + periodMs);
}
