import { describe, expect, it } from 'vitest';
import { fakeKube } from '../test/fake-kube-client.ts';
import { readFixture, sealingKey, secondKey } from '../test/fixtures/fixtures.ts';
import { ageDecrypter, generateAgeIdentity } from '../shared/age.ts';
import { openKeyBackup } from '../shared/key-backup.ts';
import { keyFromSecret, keySecret, type SealingKey } from '../shared/key-secret.ts';
import type { Secret } from '../shared/kube.ts';
import { createEscrow, escrowEncrypter } from './escrow.ts';
import { KubeApiError } from './kube-client.ts';
import { silentLogger } from './log.ts';
import { createMetrics } from './metrics.ts';

const CONFIG_MAPS = '/api/v1/namespaces/home/configmaps';
const stored = (name: string, privateKey = sealingKey(), certificate = readFixture('sealing-cert.pem')): Secret => {
  const secret = keySecret({ prefix: 'k', namespace: 'home', labels: {}, annotations: {}, privateKey, certificate });
  return { ...secret, metadata: { ...secret.metadata, name, uid: `uid-${name}`, resourceVersion: '3' } };
};

async function setUp(recipients: string[]) {
  const kube = fakeKube();
  const metrics = createMetrics('test');
  const keys: { key: SealingKey; secret: Secret }[] = [];
  const add = (secret: Secret) => keys.push({ key: keyFromSecret(secret, 'CertNotBefore'), secret });
  const escrow = createEscrow({ client: kube.client, namespace: 'home', name: 'backup', encrypter: await escrowEncrypter(recipients), keys: () => keys, metrics, log: silentLogger });
  const sync = async () => {
    escrow.backUp(new AbortController().signal);
    await escrow.idle();
  };
  const writes = () => kube.calls.filter((c) => c.path.startsWith(CONFIG_MAPS) && c.method !== 'GET').map((c) => c.method);
  return { kube, metrics, keys, add, sync, writes, escrow };
}

describe('escrow', () => {
  it('publishes every key, encrypted to the recipients; writes again only for a new key; keeps entries of keys gone', async () => {
    const admin = await generateAgeIdentity();
    const t = await setUp([admin.recipient]);
    t.add(stored('key-a'));
    await t.sync();
    expect(t.writes()).toEqual(['POST']);
    await t.sync();
    expect(t.writes()).toEqual(['POST']); // nothing new: nothing written
    t.add(stored('key-b', secondKey(), readFixture('second-cert.pem')));
    await t.sync();
    expect(t.writes()).toEqual(['POST', 'PUT']);
    const configMap = t.kube.object(CONFIG_MAPS, 'backup');
    expect(configMap?.metadata?.labels).toMatchObject({ 'app.kubernetes.io/component': 'key-backup' });
    const opened = await openKeyBackup(configMap, { decrypter: await ageDecrypter([admin.identity], 'id'), where: 'backup' });
    expect(opened.map((o) => o.secret.metadata?.name)).toEqual(['key-a', 'key-b']);
    expect(JSON.stringify(configMap)).not.toContain('PRIVATE KEY');
    t.keys.splice(0, 1); // key-a deleted from the cluster: its backup stays
    await t.sync();
    expect(t.writes()).toEqual(['POST', 'PUT']);
    expect(Object.keys(t.kube.object(CONFIG_MAPS, 'backup')?.data ?? {})).toContain('key-a.age');
    expect((await t.metrics.keyBackupTimestamp.get()).values[0]?.value).toBeGreaterThan(0);
    expect((await t.metrics.keyBackupErrors.get()).values[0]?.value).toBe(0);
  });

  it('re-encrypts every entry when the recipients change', async () => {
    const first = await generateAgeIdentity();
    const second = await generateAgeIdentity();
    const before = await setUp([first.recipient]);
    before.add(stored('key-a'));
    await before.sync();
    const after = await setUp([second.recipient]);
    after.kube.seed(CONFIG_MAPS, before.kube.object(CONFIG_MAPS, 'backup') as never);
    after.add(stored('key-a'));
    await after.sync();
    expect(after.writes()).toEqual(['PUT']);
    const opened = await openKeyBackup(after.kube.object(CONFIG_MAPS, 'backup'), { decrypter: await ageDecrypter([second.identity], 'id'), where: 'b' });
    expect(opened).toHaveLength(1);
  });

  it('retries after a failed write, and says so in the metric meanwhile', async () => {
    const admin = await generateAgeIdentity();
    const t = await setUp([admin.recipient]);
    t.add(stored('key-a'));
    t.kube.failNext('POST', CONFIG_MAPS, new KubeApiError(500, 'InternalError', 'boom'));
    const stop = new AbortController();
    t.escrow.backUp(stop.signal);
    const errors = async () => (await t.metrics.keyBackupErrors.get()).values[0]?.value;
    while ((await errors()) !== 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await t.metrics.keyBackupTimestamp.get()).values[0]?.value).toBe(0);
    stop.abort();
    await t.escrow.idle();
    expect(t.writes()).toEqual(['POST']); // the failed one; the retry waits for its backoff
  });

  it('reads again at once after a conflict, but backs off when conflicts keep coming', async () => {
    const admin = await generateAgeIdentity();
    const t = await setUp([admin.recipient]);
    t.add(stored('key-a'));
    const conflict = () => new KubeApiError(409, 'AlreadyExists', 'configmaps "backup" already exists');
    t.kube.failNext('POST', CONFIG_MAPS, conflict());
    await t.sync();
    expect(t.writes()).toEqual(['POST', 'POST']); // one conflict: written on the second try, no error counted
    expect((await t.metrics.keyBackupErrors.get()).values[0]?.value).toBe(0);

    const u = await setUp([admin.recipient]);
    u.add(stored('key-a'));
    for (let i = 0; i < 10; i++) u.kube.failNext('POST', CONFIG_MAPS, conflict());
    const stop = new AbortController();
    u.escrow.backUp(stop.signal);
    const errors = async () => (await u.metrics.keyBackupErrors.get()).values[0]?.value;
    while ((await errors()) !== 1) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    stop.abort();
    await u.escrow.idle();
    expect(u.writes()).toEqual(['POST', 'POST', 'POST', 'POST']); // the first and three at once, then the backoff
  });

  it('refuses a recipient with a bad checksum, quoting only the recipient', async () => {
    const { recipient } = await generateAgeIdentity();
    const broken = `${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`;
    await expect(escrowEncrypter([broken])).rejects.toThrow(`invalid --key-backup-recipient "${broken}": not a valid age X25519 recipient (bad checksum)`);
  });
});
