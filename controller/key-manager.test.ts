import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeKube, until, type FakeKube } from '../test/fake-kube-client.ts';
import { readFixture, sealingKey, secondKey } from '../test/fixtures/fixtures.ts';
import { keySecret } from '../shared/key-secret.ts';
import { keyFingerprint } from '../shared/keys.ts';
import { publishCertificate, startKeyManager } from './key-manager.ts';
import { createLogger } from './log.ts';

const SECRETS = '/api/v1/namespaces/home/secrets';
const CONFIG_MAPS = '/api/v1/namespaces/home/configmaps';
const first = { privateKey: sealingKey(), certificate: readFixture('sealing-cert.pem') };
const second = { privateKey: secondKey(), certificate: readFixture('second-cert.pem') };
/** A key Secret as the controller (or upstream's) stored it under `name`. */
const stored = (name: string, key: typeof first) => {
  const secret = keySecret({ prefix: 'sealed-secrets-key', namespace: 'home', labels: {}, annotations: {}, ...key });
  return { ...secret, metadata: { ...secret.metadata, name } };
};
const notBefore = (pem: string) => new Date(new X509Certificate(pem).validFrom).getTime();

const stops: AbortController[] = [];
afterEach(() => stops.splice(0).forEach((c) => c.abort()));

function start(kube: FakeKube) {
  const stop = new AbortController();
  stops.push(stop);
  const lines: string[] = [];
  const manager = startKeyManager({
    client: kube.client, namespace: 'home', prefix: 'sealed-secrets-key', order: 'CertNotBefore', keySize: 2048, keyTtlMs: 86_400_000,
    commonName: '', labels: { team: 'a' }, annotations: {}, signal: stop.signal, now: () => new Date(),
    log: createLogger({ level: 'DEBUG', format: 'text', infoToStdout: true, write: (_s, line) => lines.push(line) }),
  });
  return { manager, lines, stop };
}

describe('the key manager', () => {
  it('loads the labelled key Secrets and the legacy one, newest first, skipping an unreadable one loudly', async () => {
    const kube = fakeKube();
    kube.seed(SECRETS, stored('sealed-secrets-keyabc', first));
    kube.seed(SECRETS, { ...stored('sealed-secrets-key', second), metadata: { name: 'sealed-secrets-key', namespace: 'home' } }); // legacy: no label
    kube.seed(SECRETS, { ...stored('broken', first), data: { 'tls.key': 'bm90IGEga2V5', 'tls.crt': 'AAAA' } });
    kube.seed(SECRETS, { ...stored('unrelated', second), metadata: { name: 'unrelated', namespace: 'home' } });
    const { manager, lines } = start(kube);
    await manager.synced;
    const expected = [first, second].sort((a, b) => notBefore(b.certificate) - notBefore(a.certificate)).map((k) => keyFingerprint(k.privateKey));
    expect(manager.keys().map((k) => k.fingerprint)).toEqual(expected);
    expect(manager.keys().map((k) => k.name).sort()).toEqual(['sealed-secrets-key', 'sealed-secrets-keyabc']);
    expect(lines.filter((l) => l.includes('level=ERROR'))).toHaveLength(1);
    expect(lines.find((l) => l.includes('level=ERROR'))).toMatch(/msg="ignoring unreadable sealing key Secret" secret=broken error=/);
    expect(lines.join('')).not.toMatch(/PRIVATE KEY|bm90IGEga2V5/);
  });

  it('follows key Secrets while running: added, removed, each change told to listeners', async () => {
    const kube = fakeKube();
    const { manager } = start(kube);
    await manager.synced;
    await until(() => kube.watching(SECRETS));
    let changes = 0;
    manager.onChange(() => changes++);
    kube.seed(SECRETS, stored('sealed-secrets-keyabc', first));
    await until(() => manager.keys().length === 1);
    kube.remove(SECRETS, 'sealed-secrets-keyabc');
    await until(() => manager.keys().length === 0);
    expect(changes).toBe(2);
  });

  it('retires a key relabelled away from active (labelled or legacy): reported, never used', async () => {
    const kube = fakeKube();
    kube.seed(SECRETS, stored('sealed-secrets-keyabc', first));
    kube.seed(SECRETS, { ...stored('sealed-secrets-key', second), metadata: { name: 'sealed-secrets-key', namespace: 'home' } }); // legacy
    const { manager } = start(kube);
    await manager.synced;
    await until(() => kube.watching(SECRETS));
    expect(manager.keys()).toHaveLength(2);
    const relabel = async (name: string) => {
      const current = kube.object(SECRETS, name) as ReturnType<typeof stored>;
      await kube.client.request('PUT', `${SECRETS}/${name}`, { body: { ...current, metadata: { ...current.metadata, labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'retired' } } } });
    };
    await relabel('sealed-secrets-keyabc');
    await until(() => manager.keys().length === 1 && manager.retired().length === 1);
    expect(manager.retired().map((k) => [k.name, k.fingerprint])).toEqual([['sealed-secrets-keyabc', keyFingerprint(first.privateKey)]]);
    expect(manager.secret('sealed-secrets-keyabc')?.metadata?.name).toBe('sealed-secrets-keyabc');
    await relabel('sealed-secrets-key');
    await until(() => manager.keys().length === 0 && manager.retired().length === 2);
    kube.remove(SECRETS, 'sealed-secrets-keyabc');
    await until(() => manager.retired().length === 1);
    expect(manager.secret('sealed-secrets-keyabc')).toBeUndefined();
  });

  it('generates a key Secret in upstream\'s format, and uses it only once stored', async () => {
    const kube = fakeKube();
    const { manager } = start(kube);
    await manager.synced;
    const key = await manager.generate('test');
    const posted = kube.calls.filter((c) => c.method === 'POST' && c.path === SECRETS);
    expect(posted).toHaveLength(1);
    expect(posted[0]?.body).toMatchObject({
      type: 'kubernetes.io/tls',
      metadata: { generateName: 'sealed-secrets-key', namespace: 'home', labels: { team: 'a', 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' } },
    });
    expect(key.name).toMatch(/^sealed-secrets-key/);
    expect(manager.keys()[0]?.fingerprint).toBe(key.fingerprint);
    expect(new X509Certificate(key.certificate).checkPrivateKey(key.privateKey)).toBe(true);
  });

  it('renews on request only while its renewal loop runs (the leader); makes the first key when there is none', async () => {
    const kube = fakeKube();
    kube.seed(SECRETS, stored('sealed-secrets-keyabc', first));
    const { manager, lines } = start(kube);
    await manager.synced;
    manager.requestRenewal('renewal requested (SIGUSR1)');
    expect(lines.at(-1)).toMatch(/level=WARN msg="not the leader: send SIGUSR1 to the leading replica to renew the key" .*reason="renewal requested \(SIGUSR1\)"/);
    const term = new AbortController();
    const renewal = manager.runRenewal({ periodMs: 0, signal: term.signal });
    await new Promise((resolve) => setImmediate(resolve));
    expect(kube.calls.filter((c) => c.method === 'POST')).toHaveLength(0); // a key exists, no period: nothing due
    manager.requestRenewal('renewal requested (SIGUSR1)');
    await until(() => manager.keys().length === 2, 20_000);
    term.abort();
    await renewal;
    manager.requestRenewal('again');
    expect(lines.at(-1)).toMatch(/not the leader/);

    const empty = fakeKube();
    const fresh = start(empty);
    const loop = fresh.manager.runRenewal({ periodMs: 0, signal: fresh.stop.signal });
    await until(() => fresh.manager.keys().length === 1, 20_000);
    expect(fresh.lines.join('')).toMatch(/msg="new sealing key generated" reason="no sealing key yet"/);
    fresh.stop.abort();
    await loop;
  });

  it('publishes the certificate in a ConfigMap: creates it, then replaces it only when it differs', async () => {
    const kube = fakeKube();
    const signal = new AbortController().signal;
    await publishCertificate(kube.client, { namespace: 'home', name: 'sealed-secrets-cert', certificate: first.certificate, signal });
    expect(kube.object(CONFIG_MAPS, 'sealed-secrets-cert')?.data).toEqual({ 'cert.pem': first.certificate });
    await publishCertificate(kube.client, { namespace: 'home', name: 'sealed-secrets-cert', certificate: first.certificate, signal });
    await publishCertificate(kube.client, { namespace: 'home', name: 'sealed-secrets-cert', certificate: second.certificate, signal });
    expect(kube.calls.filter((c) => c.path.startsWith(CONFIG_MAPS)).map((c) => `${c.method} ${c.path}`)).toEqual([
      `GET ${CONFIG_MAPS}/sealed-secrets-cert`, `POST ${CONFIG_MAPS}`,
      `GET ${CONFIG_MAPS}/sealed-secrets-cert`,
      `GET ${CONFIG_MAPS}/sealed-secrets-cert`, `PUT ${CONFIG_MAPS}/sealed-secrets-cert`,
    ]);
    expect(kube.object(CONFIG_MAPS, 'sealed-secrets-cert')?.data).toEqual({ 'cert.pem': second.certificate });
  });
});
