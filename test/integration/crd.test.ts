/**
 * The SealedSecret CRD (crds/sealedsecret.yaml) as a real kube-apiserver serves it: names, schema
 * validation, pruning, the status subresource and kubectl's printer columns, all as upstream.
 */
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../harness/cluster.ts';

const GROUP = 'bitnami.com';
const VERSION = 'v1alpha1';
const PLURAL = 'sealedsecrets';

interface SealedSecretObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; resourceVersion?: string };
  spec?: Record<string, unknown>;
  status?: { observedGeneration?: number; conditions?: Record<string, unknown>[] };
}

const cluster = useCluster();
const custom = cluster.kc.makeApiClient(CustomObjectsApi);
let ns = '';

beforeAll(async () => {
  ns = await cluster.createNamespace('crd');
});

function sealedSecret(name: string, spec: unknown): Record<string, unknown> {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'SealedSecret', metadata: { name }, ...(spec === undefined ? {} : { spec }) };
}

async function create(body: Record<string, unknown>): Promise<SealedSecretObject> {
  return (await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body })) as SealedSecretObject;
}

async function get(name: string): Promise<SealedSecretObject> {
  return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name })) as SealedSecretObject;
}

/** Creates `body` expecting the API server to refuse it; returns the status code and message. */
async function rejection(body: Record<string, unknown>): Promise<{ code: number; message: string }> {
  try {
    await create(body);
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const status = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as { message?: string };
    return { code: error.code, message: status.message ?? '' };
  }
  throw new Error(`the API server accepted ${JSON.stringify(body)}`);
}

describe('SealedSecret CRD', () => {
  it('is served as namespaced bitnami.com/v1alpha1 sealedsecrets with upstream names', async () => {
    const { code, stdout, stderr } = await cluster.kubectl(['api-resources', '--api-group=bitnami.com', '--no-headers']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // NAME SHORTNAMES APIVERSION NAMESPACED KIND (no short names upstream)
    expect(stdout.trim().split(/\s+/)).toEqual(['sealedsecrets', 'bitnami.com/v1alpha1', 'true', 'SealedSecret']);

    const crd = await cluster.kubectl(['get', 'crd', 'sealedsecrets.bitnami.com', '-o', 'json']);
    const spec = (JSON.parse(crd.stdout) as { spec: { names: Record<string, string>; versions: { name: string; served: boolean; storage: boolean }[] } }).spec;
    expect(spec.names).toMatchObject({ kind: 'SealedSecret', listKind: 'SealedSecretList', plural: 'sealedsecrets', singular: 'sealedsecret' });
    expect(spec.versions.map(({ name, served, storage }) => ({ name, served, storage }))).toEqual([{ name: 'v1alpha1', served: true, storage: true }]);
  });

  it('accepts a valid SealedSecret and keeps every field of the schema', async () => {
    const spec = {
      encryptedData: { password: 'AgBy3i4OJSWK+PiTySYZZA==', 'api.key': 'AgA+kDD0nMdzHqmSzJ2ULw==' },
      template: {
        type: 'kubernetes.io/basic-auth',
        immutable: true,
        metadata: { labels: { app: 'demo' }, annotations: { note: 'x' }, name: 'valid', namespace: ns },
        data: { 'config.yaml': 'password: {{ index . "password" }}' },
      },
    };
    const created = await create(sealedSecret('valid', spec));
    expect(created.spec).toEqual(spec);
    expect((await get('valid')).spec).toEqual(spec);
  });

  it('accepts an empty encryptedData and the deprecated base64 spec.data', async () => {
    const created = await create(sealedSecret('legacy', { encryptedData: {}, data: Buffer.from('sealed bytes').toString('base64') }));
    expect(created.spec).toEqual({ encryptedData: {}, data: 'c2VhbGVkIGJ5dGVz' });
  });

  it.each([
    { case: 'no spec', spec: undefined, path: 'spec', reason: 'Required value' },
    { case: 'no spec.encryptedData', spec: { template: { type: 'Opaque' } }, path: 'spec.encryptedData', reason: 'Required value' },
    { case: 'encryptedData not an object', spec: { encryptedData: 'AgB=' }, path: 'spec.encryptedData', reason: 'must be of type object' },
    { case: 'a number in encryptedData', spec: { encryptedData: { password: 42 } }, path: 'spec.encryptedData.password', reason: 'must be of type string' },
    { case: 'an object in encryptedData', spec: { encryptedData: { password: { nested: 'x' } } }, path: 'spec.encryptedData.password', reason: 'must be of type string' },
    { case: 'spec.data not base64', spec: { encryptedData: {}, data: 'not base64!' }, path: 'spec.data', reason: 'must be of type byte' },
    { case: 'template.immutable not a boolean', spec: { encryptedData: {}, template: { immutable: 'yes' } }, path: 'spec.template.immutable', reason: 'must be of type boolean' },
    { case: 'template.type not a string', spec: { encryptedData: {}, template: { type: 1 } }, path: 'spec.template.type', reason: 'must be of type string' },
    { case: 'a template label not a string', spec: { encryptedData: {}, template: { metadata: { labels: { a: 1 } } } }, path: 'spec.template.metadata.labels.a', reason: 'must be of type string' },
  ])('rejects $case', async ({ spec, path, reason }) => {
    const { code, message } = await rejection(sealedSecret(`invalid-${Math.random().toString(36).slice(2, 8)}`, spec));
    expect(code).toBe(422);
    expect(message).toContain(`${path}:`);
    expect(message).toContain(reason);
  });

  it('prunes unknown fields, except under encryptedData and template.metadata', async () => {
    await create(
      sealedSecret('pruned', {
        encryptedData: { a: 'AgA=' },
        unknownField: 'dropped',
        template: { unknownTemplateField: 1, metadata: { ownerReferences: [{ kept: true }] } },
      }),
    );
    expect((await get('pruned')).spec).toEqual({
      encryptedData: { a: 'AgA=' },
      template: { metadata: { ownerReferences: [{ kept: true }] } },
    });
  });

  it('has a status subresource: status only through /status, spec edits never touch it', async () => {
    const name = 'with-status';
    const created = await create({
      ...sealedSecret(name, { encryptedData: { a: 'AgA=' } }),
      status: { observedGeneration: 99 }, // ignored on create
    });
    expect(created.status).toBeUndefined();
    expect(created.metadata.generation).toBe(1);

    const condition = { type: 'Synced', status: 'True', message: 'unsealed fine', lastUpdateTime: '2026-01-02T03:04:05Z' };
    const patched = (await custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name, body: { status: { observedGeneration: 1, conditions: [condition] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as SealedSecretObject;
    expect(patched.status).toEqual({ observedGeneration: 1, conditions: [condition] });
    expect(patched.metadata.generation).toBe(1); // status writes do not bump the generation

    // Replacing through the main resource: spec changes, status in the body is ignored.
    const current = await get(name);
    const replaced = (await custom.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      name,
      body: { ...current, spec: { encryptedData: { a: 'AgA=', b: 'AgB=' } }, status: { observedGeneration: 7 } },
    })) as SealedSecretObject;
    expect(replaced.metadata.generation).toBe(2);
    expect(replaced.status).toEqual({ observedGeneration: 1, conditions: [condition] });

    // And /status ignores spec changes.
    const statusOnly = (await custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name, body: { spec: { encryptedData: {} }, status: { observedGeneration: 2 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as SealedSecretObject;
    expect(statusOnly.spec).toEqual({ encryptedData: { a: 'AgA=', b: 'AgB=' } });
    expect(statusOnly.status?.observedGeneration).toBe(2);
  });

  it('validates status through /status too', async () => {
    const name = 'bad-status';
    await create(sealedSecret(name, { encryptedData: {} }));
    const attempt = custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name, body: { status: { conditions: [{ message: 'no type, no status' }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await expect(attempt).rejects.toMatchObject({ code: 422 });
    await expect(attempt).rejects.toThrow(/status\.conditions\[0\]\.(type|status): Required value/);
  });

  it('kubectl get prints the STATUS, SYNCED and AGE columns from the first condition', async () => {
    await create(sealedSecret('columns', { encryptedData: {} }));
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name: 'columns',
        body: { status: { conditions: [{ type: 'Synced', status: 'False', message: 'no key could decrypt secret' }] } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await create(sealedSecret('no-status', { encryptedData: {} }));

    const { code, stdout, stderr } = await cluster.kubectl(['get', 'sealedsecrets', '-n', ns, 'columns', 'no-status']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [header, withStatus, withoutStatus] = stdout.trimEnd().split('\n').map((line) => line.trim().split(/\s{2,}/));
    expect(header).toEqual(['NAME', 'STATUS', 'SYNCED', 'AGE']);
    expect(withStatus?.slice(0, 3)).toEqual(['columns', 'no key could decrypt secret', 'False']);
    expect(withStatus?.[3]).toMatch(/^\d+s$/);
    expect(withoutStatus?.[0]).toBe('no-status');
    expect(withoutStatus?.[withoutStatus.length - 1]).toMatch(/^\d+s$/);

    // The singular name works as a resource name too.
    const singular = await cluster.kubectl(['get', 'sealedsecret', 'columns', '-n', ns, '-o', 'jsonpath={.status.conditions[0].status}']);
    expect(singular.stdout).toBe('False');
  });
});
