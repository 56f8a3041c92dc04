/**
 * Which SealedSecrets need which sealing key, from their status.keyFingerprints as the
 * SealedSecret informers see them (every replica: the leader writes the field, all read it back).
 * Counts per fingerprint are kept as objects come and go, so /v1/keys and the metrics read them
 * in O(keys), never by walking the SealedSecrets.
 */
import type { ControllerKey, ControllerKeys } from '../shared/controller-api.ts';
import type { SealingKey } from '../shared/key-secret.ts';
import { rfc3339 } from './time.ts';

export interface KeyUsage {
  /** What status.keyFingerprints of SealedSecret `object` ("namespace/name") says now (undefined: nothing). */
  set(object: string, fingerprints: readonly string[] | undefined): void;
  delete(object: string): void;
  /** How many SealedSecrets need the key with `fingerprint`. */
  count(fingerprint: string): number;
  /** Every fingerprint some SealedSecret needs, with how many. */
  counts(): ReadonlyMap<string, number>;
  /** The SealedSecrets that need any of `fingerprints` (walks them all: for key changes, not per request). */
  needing(fingerprints: ReadonlySet<string>): string[];
}

export function createKeyUsage(): KeyUsage {
  const byObject = new Map<string, readonly string[]>();
  const counts = new Map<string, number>();
  const add = (fingerprints: readonly string[], delta: number) => {
    for (const fp of new Set(fingerprints)) {
      const next = (counts.get(fp) ?? 0) + delta;
      if (next > 0) counts.set(fp, next);
      else counts.delete(fp);
    }
  };
  const remove = (object: string) => {
    const previous = byObject.get(object);
    if (previous === undefined) return;
    add(previous, -1);
    byObject.delete(object);
  };
  return {
    set(object, fingerprints) {
      const next = fingerprints ?? [];
      const previous = byObject.get(object) ?? [];
      if (previous.length === next.length && previous.every((fp, i) => fp === next[i])) return;
      remove(object);
      if (next.length === 0) return;
      const copy = [...next];
      byObject.set(object, copy);
      add(copy, 1);
    },
    delete: remove,
    count: (fingerprint) => counts.get(fingerprint) ?? 0,
    counts: () => counts,
    needing(fingerprints) {
      const found: string[] = [];
      for (const [object, fps] of byObject) if (fps.some((fp) => fingerprints.has(fp))) found.push(object);
      return found;
    },
  };
}

/**
 * The keys as GET /v1/keys reports them. `active` newest first (the first seals), `retired`
 * relabelled keys; `missing` lists what SealedSecrets need that no active key provides.
 */
export function keyReport(active: readonly SealingKey[], retired: readonly SealingKey[], counts: ReadonlyMap<string, number>): ControllerKeys {
  const entry = (key: SealingKey, sealing: boolean, isRetired: boolean): ControllerKey => ({
    name: key.name,
    fingerprint: key.fingerprint,
    notBefore: rfc3339(key.notBefore),
    sealing,
    retired: isRetired,
    sealedSecrets: counts.get(key.fingerprint) ?? 0,
  });
  const activeFingerprints = new Set(active.map((k) => k.fingerprint));
  return {
    keys: [...active.map((k, i) => entry(k, i === 0, false)), ...retired.filter((k) => !activeFingerprints.has(k.fingerprint)).map((k) => entry(k, false, true))],
    missing: [...counts].filter(([fp]) => !activeFingerprints.has(fp)).sort(([a], [b]) => a.localeCompare(b)).map(([fingerprint, sealedSecrets]) => ({ fingerprint, sealedSecrets })),
  };
}
