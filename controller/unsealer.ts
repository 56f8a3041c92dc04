/**
 * One pass over one SealedSecret: unseal it (on the thread pool), plan the Secret (reconcile.ts),
 * write what changed, then record the outcome as an Event, the Synced condition and metrics. A
 * pass that changes nothing writes nothing: no Secret update, no Event, no status.
 */
import { apiPath, EVENTS, SEALED_SECRETS, SECRETS } from '../shared/api-path.ts';
import { DecryptError, errorMessage } from '../shared/errors.ts';
import type { SealedSecret, Secret } from '../shared/kube.ts';
import { isKeyFingerprint } from '../shared/keys.ts';
import { TemplateError, UnsupportedError } from '../shared/sealed-secret.ts';
import { isConflict, isNotFound, type KubeClient } from './kube-client.ts';
import type { Logger } from './log.ts';
import { conditionLabels, type Metrics } from './metrics.ts';
import type { Outcome } from './queue.ts';
import { EVENT_UNSEALED, EVENT_UNSEAL_FAILED, EVENT_UPDATE_FAILED, nextStatus, planSecret, sealedSecretEvent, type SyncResult } from './reconcile.ts';
import type { UnsealPool } from './unseal-pool.ts';

const secretPath = (namespace: string, name?: string) => apiPath(SECRETS, { namespace, name });

/**
 * Which key to try first. With K keys a miss costs an RSA private operation, so: the key that
 * opened this SealedSecret before (by uid, learned by this process); else the keys its status
 * names (`status.keyFingerprints`, written by whichever replica unsealed it last: what makes a
 * restart or a failover with 12 keys cost what one key costs); else the key that was newest when
 * the SealedSecret was created (it was most likely sealed with the certificate of that day); then
 * the keys that opened the most others; ties go to the newest key, the one sealing today.
 *
 * The status is a hint, never trusted: a stale or wrong one (the SealedSecret re-sealed since, a
 * status written by hand) costs at most one RSA operation per key it names, then every other key
 * is tried as without it. Only fingerprints of loaded keys count, and at most HINTED of them.
 * Why the status rather than a store of our own: it already travels with the object to every
 * replica's informer (no extra request, no extra object to keep in step), it is upstream's own
 * subresource (users' Secrets and the SealedSecret's spec stay as upstream writes them), and it
 * goes when the SealedSecret goes.
 */
export interface KeyTrialOrder {
  orderFor(sealed: { uid?: string; createdAt?: Date; hint?: readonly unknown[] }, keys: readonly { fingerprint: string; orderingTime: Date }[]): string[];
  learn(uid: string | undefined, used: readonly string[]): void;
  forget(uid: string | undefined): void;
}

/** At most this many keys of a status hint go first (a SealedSecret's values share one key, nearly always). */
const HINTED = 2;

export function createKeyTrialOrder(): KeyTrialOrder {
  const byObject = new Map<string, string>();
  const hits = new Map<string, number>();
  return {
    orderFor({ uid, createdAt, hint }, newestFirst) {
      const rank = (fp: string) => hits.get(fp) ?? 0;
      const general = newestFirst.map((k) => k.fingerprint).sort((a, b) => rank(b) - rank(a));
      const known = uid === undefined ? undefined : byObject.get(uid);
      const loaded = new Set(general);
      const hinted = (hint ?? []).filter((fp): fp is string => typeof fp === 'string' && loaded.has(fp)).slice(0, HINTED);
      const ofTheDay = createdAt === undefined ? undefined : newestFirst.find((k) => k.orderingTime.getTime() <= createdAt.getTime())?.fingerprint;
      const first = [known, ...hinted, ofTheDay].filter((fp): fp is string => fp !== undefined);
      return [...new Set([...first, ...general])];
    },
    learn(uid, used) {
      const first = used[0];
      if (uid === undefined || first === undefined) return;
      if (byObject.get(uid) !== first) hits.set(first, (hits.get(first) ?? 0) + 1);
      byObject.set(uid, first);
    },
    forget(uid) {
      if (uid !== undefined) byObject.delete(uid);
    },
  };
}

/** The keys status.keyFingerprints says the SealedSecret needs that are not among the loaded (active) keys. */
function missingKeys(sealed: SealedSecret, keys: readonly { fingerprint: string }[]): string[] {
  const loaded = new Set(keys.map((k) => k.fingerprint));
  // Read back from the API: only fingerprints of the form reach the Synced message.
  const needed: unknown = sealed.status?.keyFingerprints;
  return (Array.isArray(needed) ? needed : []).filter((fp): fp is string => isKeyFingerprint(fp) && !loaded.has(fp));
}

/** What unsealing needs of a SealedSecret (not its status). */
function forUnsealing(sealed: SealedSecret): SealedSecret {
  const { name, namespace, uid, annotations } = sealed.metadata;
  return { metadata: { name, namespace, uid, annotations }, spec: sealed.spec };
}

export interface UnsealerOptions {
  readonly client: KubeClient;
  readonly pool: UnsealPool;
  readonly keyOrder: KeyTrialOrder;
  /** The loaded keys, newest first. */
  readonly keys: () => readonly { fingerprint: string; orderingTime: Date }[];
  /**
   * Whether the Secret is known to be missing (its deletion was just seen, or the SealedSecret is
   * new): then create it straight away instead of reading it first, one request less.
   */
  readonly probablyMissing: (key: string) => boolean;
  /** The informer's current copy of a SealedSecret ("namespace/name"). */
  readonly lookup: (key: string) => SealedSecret | undefined;
  readonly updateStatus: boolean;
  readonly oldGcBehavior: boolean;
  readonly identity: string;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => Date;
}

/**
 * `message` is the Event's text; `status`, when set, the Synced condition's (upstream: an unseal
 * error is the bare error in status and `Failed to unseal: <error>` in the Event).
 */
type Failure = { reason: 'unseal' | 'update' | 'unmanaged'; event: string; message: string; status?: string; retry: boolean };

export function createUnsealer(options: UnsealerOptions): (key: string, signal: AbortSignal) => Promise<Outcome> {
  const { client, metrics, log } = options;

  async function recordEvent(sealed: SealedSecret, type: 'Normal' | 'Warning', reason: string, message: string, signal: AbortSignal): Promise<void> {
    const event = sealedSecretEvent({ sealed, type, reason, message, now: options.now(), instance: options.identity });
    log[type === 'Normal' ? 'info' : 'warn'](message, { event: reason, sealedsecret: `${sealed.metadata.namespace}/${sealed.metadata.name}` });
    try {
      await client.request('POST', apiPath(EVENTS, { namespace: sealed.metadata.namespace ?? '' }), { body: event, signal, ignoreBody: true });
    } catch (error) {
      log.warn('could not record event', { reason, error: errorMessage(error) });
    }
  }

  async function writeStatus(sealed: SealedSecret, result: SyncResult, signal: AbortSignal): Promise<void> {
    const labels = conditionLabels(sealed);
    metrics.conditionInfo.set(labels, result.ok ? 1 : -1);
    if (!options.updateStatus) return;
    const status = nextStatus(sealed, result, options.now());
    if (status === undefined) return;
    try {
      await client.request('PATCH', apiPath(SEALED_SECRETS, { namespace: labels.namespace, name: labels.name, subresource: 'status' }), {
        body: { status },
        contentType: 'application/merge-patch+json',
        signal,
        ignoreBody: true,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      metrics.unsealErrors.inc({ reason: 'status', namespace: labels.namespace });
      log.warn('could not update status', { sealedsecret: `${labels.namespace}/${labels.name}`, error: errorMessage(error) });
    }
  }

  /** Write the Secret; returns a Failure or whether anything changed. */
  async function apply(sealed: SealedSecret, desired: Secret, signal: AbortSignal, probablyMissing: boolean): Promise<Failure | { changed: boolean }> {
    const namespace = sealed.metadata.namespace ?? '';
    const name = sealed.metadata.name ?? '';
    if (probablyMissing) {
      const plan = planSecret(desired, undefined, sealed.metadata.uid);
      try {
        if (plan.action === 'create') {
          await client.request('POST', secretPath(namespace), { body: plan.secret, signal, ignoreBody: true });
          return { changed: true };
        }
      } catch (error) {
        if (signal.aborted) throw error;
        // 409: it exists after all; go on as usual
        if (!isConflict(error)) return { reason: 'update', event: EVENT_UPDATE_FAILED, message: errorMessage(error), retry: true };
      }
    }
    let existing: Secret | undefined;
    try {
      existing = await client.request<Secret>('GET', secretPath(namespace, name), { signal });
    } catch (error) {
      if (!isNotFound(error)) return { reason: 'update', event: EVENT_UPDATE_FAILED, message: errorMessage(error), retry: true };
    }
    const plan = planSecret(desired, existing, sealed.metadata.uid);
    try {
      switch (plan.action) {
        case 'none':
          return { changed: false };
        case 'refuse':
          return { reason: plan.retry ? 'unmanaged' : 'update', event: EVENT_UPDATE_FAILED, message: plan.message, retry: plan.retry };
        case 'create':
          await client.request('POST', secretPath(namespace), { body: plan.secret, signal, ignoreBody: true });
          return { changed: true };
        case 'update':
          await client.request('PUT', secretPath(namespace, name), { body: plan.secret, signal, ignoreBody: true });
          return { changed: true };
      }
    } catch (error) {
      if (signal.aborted) throw error;
      // Someone else wrote meanwhile (409): try again soon with fresh data.
      return { reason: 'update', event: EVENT_UPDATE_FAILED, message: errorMessage(error), retry: true };
    }
  }

  return async function reconcile(key, signal) {
    metrics.unsealRequests.inc();
    const sealed = options.lookup(key);
    if (sealed === undefined) {
      // Deleted: Kubernetes' garbage collector removes the owned Secret, unless asked to do it here.
      if (options.oldGcBehavior) {
        const [namespace = '', name = ''] = key.split('/');
        try {
          await client.request('DELETE', secretPath(namespace, name), { signal });
        } catch (error) {
          if (!isNotFound(error)) log.warn('could not delete Secret', { secret: key, error: errorMessage(error) });
        }
      }
      return { retry: false };
    }
    if (sealed.metadata.deletionTimestamp) return { retry: false };
    const started = performance.now();
    const namespace = sealed.metadata.namespace ?? '';
    let failure: Failure | undefined;
    let changed = false;
    let keyFingerprints: readonly string[] | undefined;
    try {
      const created = sealed.metadata.creationTimestamp ? new Date(sealed.metadata.creationTimestamp) : undefined;
      // status.keyFingerprints comes from the API (anyone allowed to write the status): a hint, checked in orderFor.
      const hint: unknown = sealed.status?.keyFingerprints;
      const order = options.keyOrder.orderFor({ uid: sealed.metadata.uid, ...(created ? { createdAt: created } : {}), ...(Array.isArray(hint) ? { hint } : {}) }, options.keys());
      const { secret, keysUsed } = await options.pool.unseal(forUnsealing(sealed), order);
      options.keyOrder.learn(sealed.metadata.uid, keysUsed);
      keyFingerprints = keysUsed;
      const applied = await apply(sealed, secret, signal, options.probablyMissing(key));
      if ('changed' in applied) changed = applied.changed;
      else failure = applied;
    } catch (error) {
      if (signal.aborted) return { retry: false };
      // No key fits: a key may be restored later, so retry. Malformed, tampered or unsupported
      // content, or a template that fails, does not get better by waiting: only a new version of
      // the SealedSecret helps.
      const retry = error instanceof DecryptError ? error.failure === 'no-key' : !(error instanceof UnsupportedError || error instanceof TemplateError);
      const missing = error instanceof DecryptError && error.failure === 'no-key' ? missingKeys(sealed, options.keys()) : [];
      const detail = missing.length === 0
        ? errorMessage(error)
        : `${errorMessage(error)}; it needs sealing key ${missing.join(', ')}, which is retired or deleted: restore that key (from a backup, or label it active again) or seal the Secret again`;
      failure = { reason: 'unseal', event: EVENT_UNSEAL_FAILED, message: `Failed to unseal: ${detail}`, status: detail, retry };
    }
    if (signal.aborted) return { retry: false };
    metrics.unsealDuration.observe({ result: failure ? 'error' : changed ? 'written' : 'unchanged' }, (performance.now() - started) / 1000);
    if (failure) {
      metrics.unsealErrors.inc({ reason: failure.reason, namespace });
      const previous = sealed.status?.conditions?.find((c) => c.type === 'Synced');
      // The same failure again is not news: no second Event for it.
      const statusMessage = failure.status ?? failure.message;
      if (!(previous?.status === 'False' && previous.message === statusMessage)) {
        void recordEvent(sealed, 'Warning', failure.event, failure.message, signal);
      }
      await writeStatus(sealed, { ok: false, message: statusMessage, keyFingerprints }, signal);
      return { retry: failure.retry };
    }
    // Events are not awaited (as client-go's recorder): the pass does not wait for them.
    if (changed) void recordEvent(sealed, 'Normal', EVENT_UNSEALED, 'SealedSecret unsealed successfully', signal);
    await writeStatus(sealed, { ok: true, message: '', keyFingerprints }, signal);
    return { retry: false };
  };
}

