/**
 * List-then-watch of one collection, kept going forever: re-watches from the last resourceVersion
 * when the server closes the stream, re-lists when that version has expired (410 Gone), and backs
 * off exponentially (1 s to 30 s, with jitter) on any other failure, such as an API server restart.
 *
 * With `cache: true` it keeps every object (SealedSecrets, key Secrets) and, on a re-list, reports
 * objects that vanished meanwhile as deleted. With `cache: false` it keeps nothing and lists only
 * one item to learn the current resourceVersion: that is how the controller follows deletions of
 * Secrets without holding every Secret of the cluster in memory (see `metadataOnly`).
 */
import { isGone, KubeApiError, type KubeClient, type WatchEvent } from './kube-client.ts';
import type { Logger } from './log.ts';
import { sleep as defaultSleep } from './time.ts';

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export const objectKey = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * What the cache keeps of an object: all of it but metadata.managedFields (server-side apply's
 * bookkeeping, often a third of a small object's JSON), which nothing in the controller reads
 * (client-go's informers are usually told the same: StripManagedFields).
 */
function cached<T extends KubeObject>(object: T): T {
  const metadata = object.metadata as (KubeObject['metadata'] & { managedFields?: unknown }) | undefined;
  if (metadata?.managedFields !== undefined) delete metadata.managedFields;
  return object;
}

export interface InformerOptions<T extends KubeObject> {
  readonly client: KubeClient;
  /** Collection path, e.g. /apis/bitnami.com/v1alpha1/sealedsecrets or /api/v1/namespaces/x/secrets. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Ask for PartialObjectMetadata: names, labels, annotations, owners; never data. */
  readonly metadataOnly?: boolean;
  readonly cache: boolean;
  readonly log: Logger;
  readonly signal: AbortSignal;
  onAdd?(object: T): void;
  onUpdate?(object: T, old: T): void;
  onDelete?(object: T): void;
  /** After the first list, and after every re-list (when events may have been missed). */
  onSync?(): void;
  /** Injected for tests; defaults to time.ts's sleep. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
}

export interface Informer<T extends KubeObject> {
  /** Current objects by "namespace/name" (empty when cache is false). */
  readonly cache: ReadonlyMap<string, T>;
  /** Resolves after the first successful list. */
  readonly synced: Promise<void>;
  /** Resolves when the informer has stopped (its signal was aborted). */
  readonly done: Promise<void>;
}

const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const METADATA_ONE = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

export function startInformer<T extends KubeObject>(options: InformerOptions<T>): Informer<T> {
  const { client, path, signal, log } = options;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const cache = new Map<string, T>();
  let resolveSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => {
    resolveSynced = resolve;
  });
  const selectors = { labelSelector: options.labelSelector || undefined, fieldSelector: options.fieldSelector || undefined };

  async function list(): Promise<string> {
    if (!options.cache) {
      const page = await client.request<{ metadata?: { resourceVersion?: string } }>('GET', path, {
        query: { ...selectors, limit: 1 },
        accept: options.metadataOnly ? METADATA_LIST : undefined,
        signal,
      });
      return page.metadata?.resourceVersion ?? '';
    }
    const seen = new Map<string, T>();
    let next: string | undefined;
    let resourceVersion = '';
    do {
      const page = await client.request<{ items?: T[]; metadata?: { resourceVersion?: string; continue?: string } }>('GET', path, {
        query: { ...selectors, limit: 500, continue: next },
        accept: options.metadataOnly ? METADATA_LIST : undefined,
        signal,
      });
      for (const item of page.items ?? []) seen.set(objectKey(item), cached(item));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      next = page.metadata?.continue || undefined;
    } while (next);
    // Reconcile the cache with the fresh list: a re-list after a gap must report what changed.
    for (const [key, old] of cache) {
      if (!seen.has(key)) {
        cache.delete(key);
        options.onDelete?.(old);
      }
    }
    for (const [key, item] of seen) {
      const old = cache.get(key);
      cache.set(key, item);
      if (old === undefined) options.onAdd?.(item);
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) options.onUpdate?.(item, old);
    }
    return resourceVersion;
  }

  function apply(event: WatchEvent): string | undefined {
    const object = event.object as T;
    const key = objectKey(object);
    if (event.type === 'BOOKMARK') return object.metadata?.resourceVersion;
    if (event.type === 'DELETED') {
      const old = cache.get(key);
      cache.delete(key);
      options.onDelete?.(old ?? object);
    } else if (options.cache) {
      const old = cache.get(key);
      cache.set(key, cached(object));
      if (old === undefined) options.onAdd?.(object);
      else options.onUpdate?.(object, old);
    } else if (event.type === 'ADDED') {
      options.onAdd?.(object);
    } else {
      options.onUpdate?.(object, object);
    }
    return object.metadata?.resourceVersion;
  }

  async function loop(): Promise<void> {
    let resourceVersion = '';
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (resourceVersion === '') {
          resourceVersion = await list();
          resolveSynced();
          options.onSync?.();
        }
        await client.watch(path, {
          query: {
            ...selectors,
            resourceVersion,
            allowWatchBookmarks: true,
            // The server ends each watch after a while; re-watching keeps connections fresh.
            timeoutSeconds: 300 + Math.floor(random() * 300),
          },
          accept: options.metadataOnly ? METADATA_ONE : undefined,
          signal,
          onEvent: (event) => {
            failures = 0;
            resourceVersion = apply(event) ?? resourceVersion;
          },
        });
      } catch (error) {
        if (signal.aborted) break;
        if (isGone(error)) {
          log.debug('watch expired, listing again', { path });
          resourceVersion = '';
          continue;
        }
        failures++;
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5)) * (0.5 + random());
        log.warn('watch failed, retrying', { path, error: error instanceof KubeApiError ? error.message : String(error), retryInMs: Math.round(delay) });
        await sleep(delay, signal);
      }
    }
  }

  const done = loop();
  return { cache, synced, done };
}
