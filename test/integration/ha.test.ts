/**
 * High availability: replicas elect one leader through a coordination.k8s.io Lease; only the
 * leader unseals and renews keys; every replica serves the HTTP API; when the leader dies another
 * replica takes over without a human.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { apply, getSecret, kubectlJson, seal, text } from './kube.ts';

const cluster = useCluster();
const FAST = ['--leader-elect-lease-duration', '3s', '--leader-elect-renew-deadline', '2s', '--leader-elect-retry-period', '500ms'];
const replicas: ControllerProcess[] = [];
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
});

const metric = (r: ControllerProcess, name: string): Promise<number | undefined> => r.metric(name);
const isLeader = async (r: ControllerProcess) => (await metric(r, 'leader')) === 1;
/** Waits (up to `timeoutMs`) until `r` reports itself leader on its metrics endpoint. */
const becomesLeader = (r: ControllerProcess, timeoutMs: number) => eventually(async () => expect(await isLeader(r)).toBe(true), { timeoutMs, intervalMs: 100 });
const keySecrets = async (ns: string) => (await kubectlJson<{ items: unknown[] }>(cluster, ['get', 'secrets', '-n', ns, '-l', 'sealedsecrets.bitnami.com/sealed-secrets-key'])).items.length;

describe('two replicas', () => {
  it('elect one leader, share the keys, and fail over when the leader dies', async () => {
    const home = await cluster.createNamespace('ha-home');
    const app = await cluster.createNamespace('ha-app');
    replicas.push(...(await Promise.all([0, 1].map((i) => startController({ kubeconfigPath: cluster.kubeconfigPath, namespace: home, watch: [app], args: FAST, name: `replica-${i}` })))));
    await eventually(async () => {
      const leaders = await Promise.all(replicas.map(isLeader));
      expect(leaders.filter(Boolean)).toHaveLength(1);
    });
    const leader = (await isLeader(replicas[0] as ControllerProcess)) ? (replicas[0] as ControllerProcess) : (replicas[1] as ControllerProcess);
    const follower = replicas.find((r) => r !== leader) as ControllerProcess;

    // one key, made by the leader; both replicas serve the same certificate
    await eventually(async () => expect(await metric(leader, 'keys')).toBe(1), { timeoutMs: 60_000 });
    await eventually(async () => {
      const pems = await Promise.all(replicas.map(async (r) => (await fetch(`${r.http}/v1/cert.pem`)).text()));
      expect(pems[0]).toMatch(/BEGIN CERTIFICATE/);
      expect(pems[1]).toBe(pems[0]);
    });
    expect(await keySecrets(home)).toBe(1); // the follower made none
    const lease = await kubectlJson<{ spec: { holderIdentity: string } }>(cluster, ['get', 'lease', 'sealed-secrets-controller', '-n', home]);
    expect(lease.spec.holderIdentity).toBe(leader.identity);

    const secret = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: app }, stringData: { v: name } });
    await apply(cluster, await seal(secret('before'), `${follower.http}/v1/cert.pem`));
    expect(text((await eventually(() => getSecret(cluster, app, 'before'))).data?.v)).toBe('before');
    expect(await metric(follower, 'unseal_requests_total')).toBe(0);
    // the Event is written just after the Secret, by the leader
    await eventually(async () => {
      const events = await kubectlJson<{ items: { reason: string; reportingInstance?: string }[] }>(cluster, ['get', 'events', '-n', app, '--field-selector', 'involvedObject.name=before']);
      expect(events.items.filter((e) => e.reason === 'Unsealed').map((e) => e.reportingInstance)).toEqual([leader.identity]);
    });

    // the leader crashes: the follower takes over within the lease duration
    const killedAt = Date.now();
    await leader.kill();
    await becomesLeader(follower, 20_000);
    const failoverMs = Date.now() - killedAt;
    expect(failoverMs).toBeLessThan(10_000);
    await apply(cluster, await seal(secret('after'), `${follower.http}/v1/cert.pem`));
    expect(text((await eventually(() => getSecret(cluster, app, 'after'))).data?.v)).toBe('after');
  });

  it('a leader that stops cleanly hands over at once', async () => {
    const home = await cluster.createNamespace('ha-clean');
    const pair = await Promise.all([0, 1].map((i) => startController({ kubeconfigPath: cluster.kubeconfigPath, namespace: home, args: ['--key-size', '2048'], name: `clean-${i}` })));
    replicas.push(...pair);
    await eventually(async () => expect((await Promise.all(pair.map(isLeader))).filter(Boolean)).toHaveLength(1));
    const leader = (await isLeader(pair[0] as ControllerProcess)) ? pair[0] as ControllerProcess : pair[1] as ControllerProcess;
    const other = pair.find((r) => r !== leader) as ControllerProcess;
    const stoppedAt = Date.now();
    expect(await leader.stop()).toBe(0);
    await becomesLeader(other, 20_000);
    // released Lease: no need to wait for the 15 s default lease to expire
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
  });
});
