/**
 * Keys admins can manage (issue 14, the controller side), on the real API server: which key opens
 * what (status.keyFingerprints, the `-o wide` column, GET /v1/keys, the per-key gauges), retiring
 * a key (relabelled: it no longer unseals; the SealedSecrets that need it say so), and escrow
 * (--key-backup-recipient: the backup ConfigMap, and a new controller that gets only that
 * ConfigMap plus the admin's age identity opens every SealedSecret of the old one).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, useCluster } from '../harness/cluster.ts';
import { CONTROLLER, startController, type ControllerProcess } from '../harness/controller.ts';
import { fixturePath, readFixture, sealingKey, secondKey } from '../fixtures/fixtures.ts';
import { ageDecrypter, generateAgeIdentity } from '../../shared/age.ts';
import type { ControllerKeys } from '../../shared/controller-api.ts';
import { openKeyBackup } from '../../shared/key-backup.ts';
import { keyFingerprint } from '../../shared/keys.ts';
import { apply, b64, getSealed, getSecret, kubectlJson, seal, synced, text, type SealedSecretObject } from './kube.ts';

const cluster = useCluster();
const running: ControllerProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

const FP_ONE = keyFingerprint(sealingKey());
const FP_TWO = keyFingerprint(secondKey());
const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';

async function controllerIn(home: string, watch: string[], args: string[] = []): Promise<ControllerProcess> {
  const controller = await startController({ kubeconfigPath: cluster.kubeconfigPath, namespace: home, watch, args: ['--key-renew-period', '0', '--key-size', '2048', ...args] });
  running.push(controller);
  return controller;
}

/** A key Secret in upstream's format, from the fixture key pairs (one: sealing-*, two: second-*). */
const keySecret = (name: string, namespace: string, which: 'one' | 'two') => ({
  apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
  metadata: { name, namespace, labels: { [KEY_LABEL]: 'active' } },
  data: which === 'one'
    ? { 'tls.crt': b64(readFixture('sealing-cert.pem')), 'tls.key': b64(readFixture('sealing-key.pem')) }
    : { 'tls.crt': b64(readFixture('second-cert.pem')), 'tls.key': b64(readFixture('second-key.pem')) },
});
const secret = (name: string, namespace: string, value: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: { value } });
const certFile = (which: 'one' | 'two') => fixturePath(which === 'one' ? 'sealing-cert.pem' : 'second-cert.pem');
const keysOf = async (controller: ControllerProcess): Promise<ControllerKeys> => (await fetch(`${controller.http}/v1/keys`)).json() as Promise<ControllerKeys>;
const metricsOf = async (controller: ControllerProcess): Promise<string> => (await fetch(`${controller.metrics}/metrics`)).text();
const keyFingerprints = async (namespace: string, name: string) => ((await getSealed(cluster, namespace, name)) as SealedSecretObject & { status?: { keyFingerprints?: string[] } }).status?.keyFingerprints;

describe('which key opens what', () => {
  it('records the opening keys in status.keyFingerprints, counts them per key in /v1/keys and the metrics, and shows them with -o wide', async () => {
    const home = await cluster.createNamespace('km-home');
    const app = await cluster.createNamespace('km-app');
    await apply(cluster, keySecret('key-one', home, 'one'));
    const controller = await controllerIn(home, [app]);
    await controller.waitForLeading();
    for (const name of ['a', 'b']) await apply(cluster, await seal(secret(name, app, `value ${name}`), certFile('one')));
    await apply(cluster, keySecret('key-two', home, 'two'));
    await eventually(async () => expect((await keysOf(controller)).keys).toHaveLength(2));
    await apply(cluster, await seal(secret('c', app, 'value c'), certFile('two')));

    for (const [name, fp] of [['a', FP_ONE], ['b', FP_ONE], ['c', FP_TWO]] as const) {
      await eventually(async () => expect(await keyFingerprints(app, name)).toEqual([fp]));
    }
    // The counts come from the status the controller wrote, as every replica reads it back.
    const report = await eventually(async () => {
      const keys = await keysOf(controller);
      expect(keys.keys.map((k) => [k.name, k.sealedSecrets])).toEqual([['key-two', 1], ['key-one', 2]]);
      return keys;
    });
    expect(report).toEqual({
      keys: [
        { name: 'key-two', fingerprint: FP_TWO, notBefore: '2026-11-28T01:47:18Z', sealing: true, retired: false, sealedSecrets: 1 },
        { name: 'key-one', fingerprint: FP_ONE, notBefore: '2026-11-28T01:47:17Z', sealing: false, retired: false, sealedSecrets: 2 },
      ],
      missing: [],
    });
    // A replica that does not lead reads the same counts from the status fields.
    const follower = await controllerIn(home, [app]);
    await eventually(async () => expect(await keysOf(follower)).toEqual(report));
    expect(follower.logs()).not.toMatch(/msg="leading/);
    const metrics = await metricsOf(controller);
    expect(metrics).toContain(`sealed_secrets_controller_key_sealed_secrets{key="key-one",fingerprint="${FP_ONE}"} 2`);
    expect(metrics).toContain(`sealed_secrets_controller_key_sealed_secrets{key="key-two",fingerprint="${FP_TWO}"} 1`);
    expect(metrics).toMatch(new RegExp(`^sealed_secrets_controller_key_age_seconds\\{key="key-one",fingerprint="${FP_ONE.replace(/[+/]/g, '\\$&')}"\\} \\d`, 'm'));

    const wide = await cluster.kubectl(['get', 'sealedsecrets', '-n', app, '-o', 'wide']);
    expect(wide.code).toBe(0);
    const [header, ...rows] = wide.stdout.toString().trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'STATUS', 'SYNCED', 'AGE', 'KEYS']);
    expect(rows.find((r) => r.startsWith('c '))).toContain(FP_TWO);
    // Without -o wide the columns are upstream's.
    const plain = await cluster.kubectl(['get', 'sealedsecrets', '-n', app]);
    expect(plain.stdout.toString().split('\n')[0]?.split(/\s+/).filter(Boolean)).toEqual(['NAME', 'STATUS', 'SYNCED', 'AGE']);
  });
});

describe('retiring a key', () => {
  it('a relabelled key no longer unseals; SealedSecrets that need it turn Synced=False naming it, counted in a metric, until it is active again', async () => {
    const home = await cluster.createNamespace('km-retire');
    const app = await cluster.createNamespace('km-retire-app');
    await apply(cluster, keySecret('key-one', home, 'one'));
    await apply(cluster, keySecret('key-two', home, 'two'));
    const controller = await controllerIn(home, [app]);
    await controller.waitForLeading();
    await apply(cluster, await seal(secret('old', app, 'needs key one'), certFile('one')));
    await apply(cluster, await seal(secret('new', app, 'needs key two'), certFile('two')));
    await eventually(async () => expect(await keyFingerprints(app, 'old')).toEqual([FP_ONE]));
    await eventually(async () => expect(await keyFingerprints(app, 'new')).toEqual([FP_TWO]));

    expect((await cluster.kubectl(['label', 'secret', 'key-one', '-n', home, '--overwrite', `${KEY_LABEL}=retired`])).code).toBe(0);
    const failed = await eventually(async () => {
      const status = synced(await getSealed(cluster, app, 'old'));
      expect(status?.status).toBe('False');
      return status;
    });
    expect(failed?.message).toContain(`it needs sealing key ${FP_ONE}, which is retired or deleted`);
    expect(failed?.message).not.toMatch(/needs key one|PRIVATE/);
    expect(synced(await getSealed(cluster, app, 'new'))?.status).toBe('True');
    // Its Secret stays; it cannot be unsealed again (delete it: not recreated).
    expect(text((await getSecret(cluster, app, 'old')).data?.value)).toBe('needs key one');
    const keys = await keysOf(controller);
    expect(keys.keys.find((k) => k.name === 'key-one')).toMatchObject({ retired: true, sealing: false, sealedSecrets: 1 });
    expect(keys.missing).toEqual([{ fingerprint: FP_ONE, sealedSecrets: 1 }]);
    expect(await metricsOf(controller)).toContain(`sealed_secrets_controller_missing_key_sealed_secrets{fingerprint="${FP_ONE}"} 1`);
    await controller.waitForLog(new RegExp(`level=WARN msg="a sealing key that SealedSecrets need is retired or deleted.*fingerprint=${FP_ONE.replace(/[+/]/g, '\\$&')}`));

    // Back to active: it opens again.
    expect((await cluster.kubectl(['label', 'secret', 'key-one', '-n', home, '--overwrite', `${KEY_LABEL}=active`])).code).toBe(0);
    await eventually(async () => expect(synced(await getSealed(cluster, app, 'old'))?.status).toBe('True'));
    expect((await keysOf(controller)).missing).toEqual([]);
    expect(await metricsOf(controller)).not.toContain('sealed_secrets_controller_missing_key_sealed_secrets{');

    // Deleted outright: the same warning, naming the key as deleted.
    expect((await cluster.kubectl(['delete', 'secret', 'key-one', '-n', home])).code).toBe(0);
    await eventually(async () => expect((await keysOf(controller)).missing).toEqual([{ fingerprint: FP_ONE, sealedSecrets: 1 }]));
    await controller.waitForLog(/msg="a sealing key that SealedSecrets need is retired or deleted.* key=deleted/);
  });
});

describe('escrow', () => {
  it('backs up every key to the age recipients in a ConfigMap; a new controller restored from it alone opens every SealedSecret', async () => {
    const admin = await generateAgeIdentity();
    const other = await generateAgeIdentity();
    const homeA = await cluster.createNamespace('km-escrow-a');
    const app = await cluster.createNamespace('km-escrow-app');
    const a = await controllerIn(homeA, [app], ['--key-backup-recipient', `${admin.recipient},${other.recipient}`, '--key-backup-configmap', 'escrow']);
    await a.waitForKeys(1);
    const certA = async () => (await fetch(`${a.http}/v1/cert.pem`)).text();
    const dir = await mkdtemp(join(tmpdir(), 'km-escrow-'));
    const sealWithA = async (name: string) => {
      const cert = join(dir, `${name}.pem`);
      await writeFile(cert, await certA());
      await apply(cluster, await seal(secret(name, app, `sealed as ${name}`), cert));
      await eventually(() => getSecret(cluster, app, name));
    };
    await sealWithA('first');
    // Renew twice: three keys, each SealedSecret sealed with a different one.
    for (const [n, name] of [[2, 'second'], [3, 'third']] as const) {
      a.child.kill('SIGUSR1');
      await a.waitForKeys(n);
      await sealWithA(name);
    }
    const backup = await eventually(async () => {
      const configMap = await kubectlJson<{ data: Record<string, string>; metadata: { labels: Record<string, string> } }>(cluster, ['get', 'configmap', 'escrow', '-n', homeA]);
      expect(Object.keys(configMap.data).filter((k) => k.endsWith('.age'))).toHaveLength(3);
      return configMap;
    });
    expect(backup.metadata.labels).toMatchObject({ 'app.kubernetes.io/component': 'key-backup' });
    const stored = JSON.stringify(backup);
    expect(stored).not.toMatch(/PRIVATE KEY|sealed as/);
    const keySecrets = (await kubectlJson<{ items: { data: Record<string, string> }[] }>(cluster, ['get', 'secrets', '-n', homeA, '-l', KEY_LABEL])).items;
    for (const key of keySecrets) expect(stored).not.toContain(key.data['tls.key']?.slice(0, 64));
    expect(await metricsOf(a)).toMatch(/^sealed_secrets_controller_key_backup_errors_total 0$/m);
    expect(await metricsOf(a)).toMatch(/^sealed_secrets_controller_key_backup_timestamp_seconds [1-9]/m);
    // What git holds: the SealedSecrets as written, without what the API server added.
    const sealedObjects = (await kubectlJson<{ items: { metadata: { name: string; namespace: string }; spec: object }[] }>(cluster, ['get', 'sealedsecrets', '-n', app])).items
      .map(({ metadata, spec }) => ({ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: metadata.name, namespace: metadata.namespace }, spec }));
    expect(sealedObjects).toHaveLength(3);

    // Cluster A is gone: its controller, its keys, the Secrets. Only the ConfigMap (from git) and an identity remain.
    expect(await a.stop()).toBe(0);
    running.splice(0);
    // (A bare API server has no namespace or garbage collector: delete the objects themselves.)
    expect((await cluster.kubectl(['delete', 'secrets,configmaps', '--all', '-n', homeA])).code).toBe(0);
    expect((await cluster.kubectl(['delete', 'sealedsecrets,secrets', '--all', '-n', app])).code).toBe(0);

    const homeB = await cluster.createNamespace('km-escrow-b');
    const restored = await openKeyBackup(backup, { decrypter: await ageDecrypter([other.identity], 'identity.txt'), where: 'escrow.yaml' });
    expect(restored).toHaveLength(3);
    for (const { secret: key } of restored) await apply(cluster, { ...key, metadata: { ...key.metadata, namespace: homeB } });
    const b = await controllerIn(homeB, [app]);
    await b.waitForKeys(3);
    for (const object of sealedObjects) await apply(cluster, object);
    for (const name of ['first', 'second', 'third']) {
      expect(text((await eventually(() => getSecret(cluster, app, name))).data?.value)).toBe(`sealed as ${name}`);
    }
    expect(b.logs()).not.toMatch(/new sealing key generated/);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a malformed recipient at start-up with one line naming it, before doing anything', async () => {
    const child = spawn(process.execPath, [CONTROLLER, '--key-backup-recipient', 'age1notarecipient'], { env: { PATH: process.env.PATH, KUBECONFIG: cluster.kubeconfigPath }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(output.trim().split('\n')).toEqual(['error: invalid --key-backup-recipient "age1notarecipient": use an age X25519 recipient, "age1" and 58 more characters (age-keygen -y identity.txt prints it)']);
  });
});
