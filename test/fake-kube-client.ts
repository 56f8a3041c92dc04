/**
 * An in-memory Kubernetes API behind the controller's KubeClient interface, for fast unit tests of
 * the parts that talk to the API (unsealer, key manager, SealedSecret watch). Objects live by
 * collection path; create/replace/patch/delete bump one resourceVersion counter and notify
 * watchers, as the API server would. Integration specs prove the same against a real one.
 */
import type { KubeClient, RequestOptions, WatchEvent } from '../controller/kube-client.ts';
import { KubeApiError } from '../controller/kube-client.ts';
import { sleep } from '../controller/time.ts';

type Obj = Record<string, unknown> & { metadata?: Record<string, unknown> & { name?: string; namespace?: string; resourceVersion?: string } };

export interface Call {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly query?: RequestOptions['query'];
}

export interface FakeKube {
  readonly client: KubeClient;
  /** Every request and watch, in order (watches as method WATCH). */
  readonly calls: Call[];
  /** Store `object` in `collection` without recording a call; returns the stored copy. */
  seed(collection: string, object: Obj): Obj;
  /** The stored object, or undefined. */
  object(collection: string, name: string): Obj | undefined;
  /** Answer the next `method` on `path` with `error`, once. */
  failNext(method: string, path: string, error: KubeApiError): void;
  /** Whether a watch on `collection` is open. */
  watching(collection: string): boolean;
  /** Delete as someone else would (kubectl): watchers see DELETED. */
  remove(collection: string, name: string): void;
}

/** "…/secrets", "…/secrets/name" and "…/sealedsecrets/name/status" as collection, name, subresource. */
function split(path: string): { collection: string; name?: string; subresource?: string } {
  const match = /^(.*\/(?:secrets|sealedsecrets|configmaps|events|leases|namespaces))(?:\/([^/]+))?(?:\/(status))?$/.exec(path);
  if (!match) throw new Error(`fake API: unknown path ${path}`);
  const [, collection = '', name, subresource] = match;
  return { collection, ...(name === undefined ? {} : { name: decodeURIComponent(name) }), ...(subresource === undefined ? {} : { subresource }) };
}

/** What the controller sends: label selectors "k=v", "k!=v", "k" (exists), comma-joined; field selector "metadata.name=x". */
function matches(object: Obj, query: RequestOptions['query']): boolean {
  const meta = object.metadata ?? {};
  const labels = (meta.labels ?? {}) as Record<string, string>;
  const parts = (selector: unknown) => (typeof selector === 'string' && selector !== '' ? selector.split(',') : []);
  const label = (part: string) => {
    const [k = '', v] = part.split(/!?=/);
    if (v === undefined) return k in labels;
    return part.includes('!=') ? labels[k] !== v : labels[k] === v;
  };
  return parts(query?.labelSelector).every(label) && parts(query?.fieldSelector).map((p) => p.split('=')).every(([k, v]) => k === 'metadata.name' && meta.name === v);
}

export function fakeKube(): FakeKube {
  const store = new Map<string, Map<string, Obj>>();
  const watchers = new Map<string, Set<{ query: RequestOptions['query']; onEvent: (event: WatchEvent) => void }>>();
  const failures: { method: string; path: string; error: KubeApiError }[] = [];
  const calls: Call[] = [];
  let version = 100;
  let uid = 0;

  const bucket = (collection: string) => {
    let found = store.get(collection);
    if (!found) store.set(collection, (found = new Map()));
    return found;
  };
  /** As the API server: a change that moves an object into or out of a watch's selector is ADDED or DELETED there. */
  const notify = (collection: string, type: WatchEvent['type'], object: Obj, previous?: Obj) => {
    for (const watcher of watchers.get(collection) ?? []) {
      const now = matches(object, watcher.query);
      const before = previous !== undefined && matches(previous, watcher.query);
      const moved = now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
      const seen = type === 'MODIFIED' && previous !== undefined ? moved : now ? type : undefined;
      if (seen !== undefined) watcher.onEvent({ type: seen, object: structuredClone(object) as WatchEvent['object'] });
    }
  };
  const stamp = (object: Obj): Obj => {
    const copy = structuredClone(object);
    copy.metadata = { ...copy.metadata, resourceVersion: String(++version) };
    return copy;
  };
  const create = (collection: string, object: Obj): Obj => {
    const meta = object.metadata ?? {};
    const name = meta.name ?? `${String(meta.generateName ?? 'x')}${String(++uid).padStart(5, '0')}`;
    if (bucket(collection).has(name)) throw new KubeApiError(409, 'AlreadyExists', `"${name}" already exists`);
    const stored = stamp({ ...object, metadata: { creationTimestamp: '2026-01-01T00:00:00Z', uid: `uid-${++uid}`, ...meta, name } });
    bucket(collection).set(name, stored);
    notify(collection, 'ADDED', stored);
    return stored;
  };

  const client: KubeClient = {
    server: '',
    async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
      calls.push({ method, path, ...(options.body === undefined ? {} : { body: options.body }), ...(options.query ? { query: options.query } : {}) });
      const failure = failures.findIndex((f) => f.method === method && f.path === path);
      if (failure >= 0) throw failures.splice(failure, 1)[0]?.error;
      const { collection, name, subresource } = split(path);
      const objects = bucket(collection);
      const existing = name === undefined ? undefined : objects.get(name);
      const notFound = () => new KubeApiError(404, 'NotFound', `"${name}" not found`);
      switch (method) {
        case 'GET':
          if (name === undefined) return { items: [...objects.values()].filter((o) => matches(o, options.query)).map((o) => structuredClone(o)), metadata: { resourceVersion: String(version) } } as T;
          if (!existing) throw notFound();
          return structuredClone(existing) as T;
        case 'POST':
          return create(collection, options.body as Obj) as T;
        case 'PUT': {
          if (!existing || name === undefined) throw notFound();
          const stored = stamp(options.body as Obj);
          objects.set(name, stored);
          notify(collection, 'MODIFIED', stored, existing);
          return structuredClone(stored) as T;
        }
        case 'PATCH': {
          if (!existing || name === undefined) throw notFound();
          const patch = options.body as Obj;
          const stored = stamp(subresource === 'status' ? { ...existing, status: patch.status } : { ...existing, ...patch });
          objects.set(name, stored);
          notify(collection, 'MODIFIED', stored, existing);
          return structuredClone(stored) as T;
        }
        case 'DELETE':
          if (!existing || name === undefined) throw notFound();
          objects.delete(name);
          notify(collection, 'DELETED', existing);
          return { kind: 'Status', status: 'Success' } as T;
        default:
          throw new Error(`fake API: method ${method}`);
      }
    },
    watch(path, options) {
      calls.push({ method: 'WATCH', path, ...(options.query ? { query: options.query } : {}) });
      const { collection } = split(path);
      let set = watchers.get(collection);
      if (!set) watchers.set(collection, (set = new Set()));
      const watcher = { query: options.query, onEvent: options.onEvent };
      set.add(watcher);
      // Open until aborted, as a long watch.
      return new Promise<void>((resolve) => {
        const done = () => {
          set.delete(watcher);
          resolve();
        };
        if (options.signal?.aborted) done();
        else options.signal?.addEventListener('abort', done, { once: true });
      });
    },
  };

  return {
    client,
    calls,
    seed: (collection, object) => {
      const stored = stamp({ ...object, metadata: { uid: `uid-${++uid}`, ...object.metadata } });
      bucket(collection).set(stored.metadata?.name ?? '', stored);
      notify(collection, 'ADDED', stored);
      return stored;
    },
    object: (collection, name) => store.get(collection)?.get(name),
    failNext: (method, path, error) => failures.push({ method, path, error }),
    watching: (collection) => (watchers.get(collection)?.size ?? 0) > 0,
    remove: (collection, name) => {
      const existing = store.get(collection)?.get(name);
      if (!existing) return;
      store.get(collection)?.delete(name);
      notify(collection, 'DELETED', existing);
    },
  };
}

/** Resolves once `check` returns true (polling the event loop), or rejects after `ms`. */
export async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(5);
  }
}
