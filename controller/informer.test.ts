import { describe, expect, it } from 'vitest';
import { startInformer, type KubeObject } from './informer.ts';
import { KubeApiError, type KubeClient, type WatchEvent } from './kube-client.ts';
import { silentLogger } from './log.ts';

type Obj = KubeObject & Record<string, unknown> & { metadata: { name: string; namespace: string; resourceVersion: string } };
const obj = (name: string, rv: string): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: rv } });

/**
 * A scripted API: each list returns the next of `lists`; each watch runs the next of `watches`
 * (events, then how it ends). Records what was asked.
 */
function fakeClient(lists: { items: Obj[]; rv: string }[], watches: { events: WatchEvent[]; end: 'close' | KubeApiError }[]) {
  const calls: string[] = [];
  let listed = 0;
  let watched = 0;
  const client: KubeClient = {
    server: '',
    async request<T>(_method: string, _path: string, options: { query?: Record<string, unknown> } = {}) {
      const list = lists[Math.min(listed++, lists.length - 1)] as { items: Obj[]; rv: string };
      calls.push(`list limit=${String(options.query?.limit)}`);
      return { items: list.items, metadata: { resourceVersion: list.rv } } as T;
    },
    async watch(_path, options) {
      const script = watches[watched++];
      calls.push(`watch rv=${String(options.query?.resourceVersion)}`);
      if (!script) return new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve()));
      for (const event of script.events) options.onEvent(event);
      if (script.end !== 'close') throw script.end;
    },
  };
  return { client, calls };
}

describe('informer', () => {
  it('lists, watches from the list\'s version, re-watches after a close, re-lists after 410 Gone', async () => {
    const { client, calls } = fakeClient(
      [{ items: [obj('a', '1'), obj('b', '2')], rv: '10' }, { items: [obj('a', '12'), obj('c', '13')], rv: '20' }],
      [
        { events: [{ type: 'MODIFIED', object: obj('a', '11') }], end: 'close' },
        { events: [], end: new KubeApiError(410, 'Expired', 'too old resource version') },
      ],
    );
    const seen: string[] = [];
    const controller = new AbortController();
    let syncs = 0;
    const informer = startInformer<Obj>({
      client, path: '/x', cache: true, log: silentLogger, signal: controller.signal, sleep: async () => undefined,
      onAdd: (o) => seen.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
      onUpdate: (o) => seen.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`),
      onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
      onSync: () => syncs++,
    });
    await informer.synced;
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await informer.done;
    expect(calls).toEqual(['list limit=500', 'watch rv=10', 'watch rv=11', 'list limit=500', 'watch rv=20']);
    // the re-list reports what changed meanwhile: a updated, b gone, c new
    expect(seen).toEqual(['add a@1', 'add b@2', 'update a@11', 'delete b', 'update a@12', 'add c@13']);
    expect([...informer.cache.keys()].sort()).toEqual(['ns/a', 'ns/c']);
    expect(syncs).toBe(2);
  });

  it('backs off and retries after other failures, resuming from the last version', async () => {
    const { client, calls } = fakeClient(
      [{ items: [], rv: '5' }],
      [
        { events: [{ type: 'ADDED', object: obj('x', '6') }], end: new KubeApiError(0, 'Unreachable', 'connection refused') },
        { events: [{ type: 'BOOKMARK', object: obj('', '9') }], end: new KubeApiError(500, '', 'boom') },
      ],
    );
    const delays: number[] = [];
    const controller = new AbortController();
    const informer = startInformer<Obj>({ client, path: '/x', cache: true, log: silentLogger, signal: controller.signal, random: () => 0.5, sleep: async (ms) => { delays.push(ms); } });
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await informer.done;
    expect(calls).toEqual(['list limit=500', 'watch rv=5', 'watch rv=6', 'watch rv=9']);
    expect(delays).toEqual([1000, 1000]);
  });

  it('without a cache, lists one item only and keeps nothing', async () => {
    const { client, calls } = fakeClient([{ items: [obj('big', '1')], rv: '7' }], [{ events: [{ type: 'DELETED', object: obj('s', '8') }], end: 'close' }]);
    const deleted: string[] = [];
    const controller = new AbortController();
    const informer = startInformer<Obj>({ client, path: '/x', cache: false, metadataOnly: true, log: silentLogger, signal: controller.signal, onDelete: (o) => deleted.push(o.metadata.name) });
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await informer.done;
    expect(calls.slice(0, 2)).toEqual(['list limit=1', 'watch rv=7']);
    expect(deleted).toEqual(['s']);
    expect(informer.cache.size).toBe(0);
  });

  it('keeps no managedFields in its cache, from lists and from watch events alike', async () => {
    const withFields = (name: string, rv: string): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: rv, managedFields: [{ manager: 'kubectl' }] } as Obj['metadata'] });
    const { client } = fakeClient([{ items: [withFields('a', '1')], rv: '10' }], [{ events: [{ type: 'ADDED', object: withFields('b', '11') }], end: 'close' }]);
    const controller = new AbortController();
    const informer = startInformer<Obj>({ client, path: '/x', cache: true, log: silentLogger, signal: controller.signal, sleep: async () => undefined });
    await informer.synced;
    await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await informer.done;
    expect([...informer.cache.values()].map((o) => [o.metadata.name, 'managedFields' in o.metadata])).toEqual([['a', false], ['b', false]]);
  });
});
