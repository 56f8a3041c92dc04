/**
 * The SealedSecret side of the controller, on every replica: informers on the SealedSecrets it
 * unseals (all namespaces, or its own plus --additional-namespaces), the lookup of their current
 * copies, and a metadata-only watch on Secrets so a deleted Secret is recreated. What needs a pass
 * goes to the work queue attached while this replica leads; without one, nothing is queued.
 */
import { apiPath, namespacePath, SEALED_SECRETS, SECRETS } from '../shared/api-path.ts';
import { errorMessage } from '../shared/errors.ts';
import type { SealedSecret, Secret } from '../shared/kube.ts';
import { objectKey, startInformer, type Informer } from './informer.ts';
import type { KeyUsage } from './key-usage.ts';
import { isNotFound, type KubeClient } from './kube-client.ts';
import type { Logger } from './log.ts';
import { conditionLabels, type Metrics } from './metrics.ts';
import type { WorkQueue } from './queue.ts';
import { isControlledBy, isManaged, needsReconcile } from './reconcile.ts';
import { sleep } from './time.ts';

export interface SealedSecretWatchOptions {
  readonly client: KubeClient;
  /**
   * Namespaces to unseal in; undefined: all. One that cannot be read yet is watched as soon as it
   * can (probed with backoff); start-up waits only for the first answer about each.
   */
  readonly namespaces: readonly string[] | undefined;
  readonly labelSelector: string;
  /** Follow Secret deletions and recreate the Secrets of SealedSecrets (false: --skip-recreate). */
  readonly recreateDeleted: boolean;
  /** --old-gc-behavior: a deleted SealedSecret gets a pass too, which deletes its Secret. */
  readonly oldGcBehavior: boolean;
  /** Told when a SealedSecret is gone, so per-object memory goes with it (the key trial order). */
  readonly forget: (uid: string | undefined) => void;
  /** Kept up to date with every SealedSecret's status.keyFingerprints. */
  readonly usage?: KeyUsage;
  /**
   * Statuses are written (not --update-status=false): then a listed SealedSecret without a Synced
   * condition was never unsealed by any controller (ours or upstream's), so its Secret is probably
   * missing too and is created without being read first. A wrong guess costs one 409.
   */
  readonly neverSyncedMeansMissing?: boolean;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

export interface SealedSecretWatch {
  /** The informers' current copy of a SealedSecret ("namespace/name"). */
  lookup(key: string): SealedSecret | undefined;
  /**
   * Whether the Secret of `key` is probably missing (its deletion was seen, its SealedSecret
   * appeared after the first list, or was listed never synced: neverSyncedMeansMissing).
   * Answers true once per such event: the hint is used up.
   */
  probablyMissing(key: string): boolean;
  /** Resolves once every SealedSecret informer started so far has listed. */
  readonly synced: Promise<void>;
  /** Queue work on `queue` from now on (while leading); the returned function detaches it. */
  attach(queue: Pick<WorkQueue, 'add'>): () => void;
  /** Queue every known SealedSecret. */
  enqueueAll(): void;
  /** Queue again those whose Synced condition is False: new keys may open them now. */
  enqueueFailed(): void;
  /** Queue these SealedSecrets ("namespace/name"), e.g. those needing a key just retired. */
  enqueueKeys(keys: Iterable<string>): void;
}

/**
 * Wait until namespace `name` can be read, then call `onFound`. Only NotFound means "not there
 * (yet)"; any other failure (401, a transient 5xx, unreachable) is retried too, never taken as a
 * reason to skip the namespace for the life of the process. Retries back off to 30 s; a namespace
 * created later is picked up then. Stops when `signal` aborts. Needs only `get` on namespaces.
 * `firstAnswer` is called once the first probe has an answer, whatever it is.
 */
async function whenNamespaceReadable(
  client: KubeClient,
  name: string,
  on: { onFound: () => void; firstAnswer: () => void },
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      await client.request('GET', namespacePath(name), { signal });
      if (attempt > 0) log.info('namespace now readable: watching it', { namespace: name });
      on.onFound();
      on.firstAnswer();
      return;
    } catch (error) {
      on.firstAnswer();
      if (signal.aborted) return;
      if (attempt === 0) {
        if (isNotFound(error)) log.warn('namespace does not exist (yet): watching it once it does', { namespace: name });
        else log.warn('cannot read namespace; retrying', { namespace: name, error: errorMessage(error) });
      }
    }
    await sleep(Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5)), signal);
  }
}

const hasSyncedCondition = (sealed: SealedSecret): boolean => (sealed.status?.conditions ?? []).some((c) => c.type === 'Synced');

export async function watchSealedSecrets(options: SealedSecretWatchOptions): Promise<SealedSecretWatch> {
  const { client, metrics, log, signal } = options;
  /** Keys whose Secret was just deleted, or whose SealedSecret appeared after the first list. */
  const missing = new Set<string>();
  let listed = false;
  let queue: Pick<WorkQueue, 'add'> | undefined;
  const enqueue = (key: string, fresh = false) => queue?.add(key, { fresh });
  const informers: Informer<SealedSecret>[] = [];
  const lookup = (key: string): SealedSecret | undefined => {
    for (const informer of informers) {
      const found = informer.cache.get(key);
      if (found) return found;
    }
    return undefined;
  };
  const enqueueAll = (): void => {
    for (const informer of informers) for (const key of informer.cache.keys()) enqueue(key);
  };

  /** The SealedSecrets (and, unless --skip-recreate, the deleted Secrets) of one namespace or of all. */
  const watch = (namespace: string | undefined): void => {
    informers.push(startInformer<SealedSecret>({
      client,
      path: apiPath(SEALED_SECRETS, { namespace }),
      labelSelector: options.labelSelector,
      cache: true,
      log: log.with({ component: 'informer' }),
      signal,
      onAdd: (sealed) => {
        options.usage?.set(objectKey(sealed), sealed.status?.keyFingerprints);
        if (listed || (options.neverSyncedMeansMissing === true && !hasSyncedCondition(sealed))) missing.add(objectKey(sealed));
        enqueue(objectKey(sealed), true);
      },
      onUpdate: (sealed, old) => {
        options.usage?.set(objectKey(sealed), sealed.status?.keyFingerprints);
        if (needsReconcile(sealed, old)) enqueue(objectKey(sealed), true);
      },
      onDelete: (sealed) => {
        options.usage?.delete(objectKey(sealed));
        options.forget(sealed.metadata?.uid);
        metrics.conditionInfo.remove(conditionLabels(sealed));
        if (options.oldGcBehavior) enqueue(objectKey(sealed));
      },
      onSync: () => metrics.informerLists.inc({ resource: 'sealedsecrets' }),
    }));
    if (!options.recreateDeleted) return;
    // Deleted Secrets: a metadata-only watch with no cache, so memory does not grow with the
    // cluster's Secrets. A deleted Secret controlled by (or managed for) a SealedSecret is recreated.
    let first = true;
    startInformer<Secret>({
      client,
      path: apiPath(SECRETS, { namespace }),
      labelSelector: options.labelSelector,
      metadataOnly: true,
      cache: false,
      log: log.with({ component: 'secret-watch' }),
      signal,
      onDelete: (secret) => {
        const key = objectKey(secret);
        const sealed = lookup(key);
        if (!sealed) return;
        if (isControlledBy(secret, sealed.metadata.uid) || isManaged(secret)) {
          missing.add(key);
          enqueue(key, true);
        }
      },
      // After a gap (410 Gone) deletions may have been missed: check every SealedSecret again.
      onSync: () => {
        metrics.informerLists.inc({ resource: 'secrets' });
        if (!first) enqueueAll();
        first = false;
      },
    });
  };

  if (options.namespaces === undefined) {
    watch(undefined);
  } else {
    // Wait for the first answer about each; a namespace found later joins on its own.
    await Promise.all([...new Set(options.namespaces)].map((namespace) => new Promise<void>((firstAnswer) => {
      void whenNamespaceReadable(client, namespace, { onFound: () => watch(namespace), firstAnswer }, log, signal);
    })));
  }
  void Promise.all(informers.map((i) => i.synced)).then(() => {
    listed = true;
  });

  return {
    lookup,
    probablyMissing: (key) => missing.delete(key),
    get synced() {
      return Promise.all(informers.map((i) => i.synced)).then(() => undefined);
    },
    attach(next) {
      queue = next;
      return () => {
        if (queue === next) queue = undefined;
      };
    },
    enqueueAll,
    enqueueFailed() {
      for (const informer of informers) {
        for (const [key, sealed] of informer.cache) {
          if (sealed.status?.conditions?.some((c) => c.type === 'Synced' && c.status === 'False')) enqueue(key, true);
        }
      }
    },
    enqueueKeys(keys) {
      for (const key of keys) if (lookup(key)) enqueue(key, true);
    },
  };
}
