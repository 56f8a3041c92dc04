/**
 * Sealing keys as a running controller handles them: renewal (SIGUSR1 and the renew period),
 * restarts that keep the keys, keys made by hand in upstream's format, the legacy key, relabelled
 * keys, and --key-cutoff-time. Every key is a kubernetes.io/tls Secret like upstream's.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { fixturePath, readFixture } from '../fixtures/fixtures.ts';
import { apply, getSealed, getSecret, kubectlJson, seal, synced, text } from './kube.ts';

const cluster = useCluster();
const running: ControllerProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

async function controllerIn(home: string, watch: string[], args: string[] = []): Promise<ControllerProcess> {
  const controller = await startController({ kubeconfigPath: cluster.kubeconfigPath, namespace: home, watch, args });
  running.push(controller);
  return controller;
}

async function keySecrets(namespace: string): Promise<{ metadata: { name: string }; type: string; data: Record<string, string> }[]> {
  return (await kubectlJson<{ items: { metadata: { name: string }; type: string; data: Record<string, string> }[] }>(cluster, ['get', 'secrets', '-n', namespace, '-l', 'sealedsecrets.bitnami.com/sealed-secrets-key=active'])).items;
}

const secret = (name: string, namespace: string, value: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: { value } });
const certOf = async (controller: ControllerProcess) => (await fetch(`${controller.http}/v1/cert.pem`)).text();
const keysLoaded = (controller: ControllerProcess, n: number) => controller.waitForKeys(n);

let home = '';
let app = '';
beforeAll(async () => {
  home = await cluster.createNamespace('keys-home');
  app = await cluster.createNamespace('keys-app');
});

describe('sealing keys', () => {
  it('stores the first key exactly as upstream does', async () => {
    const ns = await cluster.createNamespace('keys-format');
    const controller = await controllerIn(ns, []);
    await controller.waitForKeys(1);
    const [key, ...rest] = await keySecrets(ns);
    expect(rest).toEqual([]);
    expect(key?.type).toBe('kubernetes.io/tls');
    expect(key?.metadata.name).toMatch(/^sealed-secrets-key[a-z0-9]{5}$/);
    expect(text(key?.data['tls.key'])).toMatch(/^-{5}BEGIN RSA PRIVATE KEY-{5}\n/);
    expect(text(key?.data['tls.crt'])).toBe(await certOf(controller));
  });

  it('renews on SIGUSR1: the new key seals, every key still unseals, a restart keeps them all', async () => {
    const controller = await controllerIn(home, [app]);
    await controller.waitForKeys(1);
    const firstCert = await certOf(controller);
    await apply(cluster, await seal(secret('old', app, 'sealed with key 1'), `${controller.http}/v1/cert.pem`));
    await eventually(() => getSecret(cluster, app, 'old'));

    controller.child.kill('SIGUSR1');
    await keysLoaded(controller, 2);
    const secondCert = await certOf(controller);
    expect(secondCert).not.toBe(firstCert);
    await apply(cluster, await seal(secret('new', app, 'sealed with key 2'), `${controller.http}/v1/cert.pem`));
    expect(text((await eventually(() => getSecret(cluster, app, 'new'))).data?.value)).toBe('sealed with key 2');
    // the old SealedSecret still opens: delete its Secret and watch it come back
    await cluster.kubectl(['delete', 'secret', 'old', '-n', app]);
    expect(text((await eventually(() => getSecret(cluster, app, 'old'))).data?.value)).toBe('sealed with key 1');
    expect(await keySecrets(home)).toHaveLength(2);

    expect(await controller.stop()).toBe(0);
    running.splice(0);
    const restarted = await controllerIn(home, [app]);
    await keysLoaded(restarted, 2);
    await restarted.waitForLeading();
    await new Promise((r) => setTimeout(r, 1000));
    expect(restarted.logs()).not.toMatch(/new sealing key generated/);
    expect(await certOf(restarted)).toBe(secondCert);
    expect(await keySecrets(home)).toHaveLength(2);
  });

  it('renewals in quick succession: each new key seals at once (NotBefore has whole seconds)', async () => {
    // 2048-bit keys are made in well under a second, so without care two keys would share a
    // NotBefore second and tie.
    const ns = await cluster.createNamespace('keys-quick');
    const controller = await controllerIn(ns, [], ['--key-size', '2048']);
    await controller.waitForKeys(1);
    const served = [await certOf(controller)];
    for (let n = 2; n <= 4; n++) {
      controller.child.kill('SIGUSR1');
      await keysLoaded(controller, n);
      const cert = await certOf(controller);
      expect(served).not.toContain(cert);
      served.push(cert);
    }
    expect(await keySecrets(ns)).toHaveLength(4);
  });

  it('renews by itself every --key-renew-period', async () => {
    const ns = await cluster.createNamespace('keys-period');
    const controller = await controllerIn(ns, [], ['--key-renew-period', '4s', '--key-size', '2048']);
    await keysLoaded(controller, 3);
    expect((await keySecrets(ns)).length).toBeGreaterThanOrEqual(3);
  });

  it('uses a key Secret made by hand in upstream\'s format, added while running', async () => {
    const ns = await cluster.createNamespace('keys-byo');
    const target = await cluster.createNamespace('keys-byo-app');
    const controller = await controllerIn(ns, [target]);
    await keysLoaded(controller, 1);
    // upstream's docs: kubectl create secret tls ... && kubectl label secret ... =active
    expect((await cluster.kubectl(['create', 'secret', 'tls', 'my-own-key', '-n', ns, '--cert', fixturePath('sealing-cert.pem'), '--key', fixturePath('sealing-key.pem')])).code).toBe(0);
    expect((await cluster.kubectl(['label', 'secret', 'my-own-key', '-n', ns, 'sealedsecrets.bitnami.com/sealed-secrets-key=active'])).code).toBe(0);
    await keysLoaded(controller, 2);
    await apply(cluster, await seal(secret('byo', target, 'sealed with my own key'), fixturePath('sealing-cert.pem')));
    expect(text((await eventually(() => getSecret(cluster, target, 'byo'))).data?.value)).toBe('sealed with my own key');

    // relabelled to anything but "active", the key is dropped without a restart
    expect((await cluster.kubectl(['label', 'secret', 'my-own-key', '-n', ns, '--overwrite', 'sealedsecrets.bitnami.com/sealed-secrets-key=compromised'])).code).toBe(0);
    await controller.waitForLog(/sealing key removed.*my-own-key/);
    await apply(cluster, await seal(secret('byo-late', target, 'too late'), fixturePath('sealing-cert.pem')));
    const failed = await eventually(async () => {
      const s = await getSealed(cluster, target, 'byo-late');
      expect(synced(s)?.status).toBe('False');
      return s;
    });
    expect(synced(failed)?.message).toMatch(/no key could decrypt secret/);
  });

  it('reads the legacy key named exactly like the prefix; a new key picks up failed SealedSecrets', async () => {
    const ns = await cluster.createNamespace('keys-legacy');
    const target = await cluster.createNamespace('keys-legacy-app');
    const controller = await controllerIn(ns, [target]);
    await keysLoaded(controller, 1);
    // sealed for a key the controller does not have yet: fails, then opens once the key appears
    await apply(cluster, await seal(secret('waiting', target, 'from the legacy key'), fixturePath('second-cert.pem')));
    await eventually(async () => expect(synced(await getSealed(cluster, target, 'waiting'))?.status).toBe('False'));
    await apply(cluster, {
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
      metadata: { name: 'sealed-secrets-key', namespace: ns },
      data: { 'tls.crt': Buffer.from(readFixture('second-cert.pem')).toString('base64'), 'tls.key': Buffer.from(readFixture('second-key.pem')).toString('base64') },
    });
    await keysLoaded(controller, 2);
    expect(text((await eventually(() => getSecret(cluster, target, 'waiting'))).data?.value)).toBe('from the legacy key');
  });

  it('makes a new key at start when the newest is older than --key-cutoff-time', async () => {
    const ns = await cluster.createNamespace('keys-cutoff');
    const first = await controllerIn(ns, []);
    await keysLoaded(first, 1);
    await first.stop();
    running.splice(0);
    const cutoff = new Date(Date.now() + 60_000).toUTCString().replace('GMT', '+0000');
    const second = await controllerIn(ns, [], ['--key-cutoff-time', cutoff]);
    await second.waitForLog(/new sealing key generated.*reason="newest key older than --key-cutoff-time"/);
    expect(await keySecrets(ns)).toHaveLength(2);
  });

  it('skips an unreadable key Secret and keeps running', async () => {
    const ns = await cluster.createNamespace('keys-broken');
    const broken = { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'broken', namespace: ns, labels: { 'sealedsecrets.bitnami.com/sealed-secrets-key': 'active' } }, data: { 'tls.crt': 'AAAA', 'tls.key': 'AAAA' } };
    expect((await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(broken) })).code).toBe(0);
    const controller = await controllerIn(ns, []);
    await controller.waitForLog(/ignoring unreadable sealing key Secret.*broken/);
    await controller.waitForKeys(1);
    expect((await fetch(`${controller.http}/healthz`)).status).toBe(200);
  });
});
