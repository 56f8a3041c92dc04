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

const isLeader = async (r: ControllerProcess) => /^sealed_secrets_controller_leader 1/m.test(await (await fetch(`${r.metrics}/metrics`)).text());

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
    await leader.waitForLog(/new sealing key generated/);
    await eventually(async () => {
      const pems = await Promise.all(replicas.map(async (r) => (await fetch(`${r.http}/v1/cert.pem`)).text()));
      expect(pems[0]).toMatch(/BEGIN CERTIFICATE/);
      expect(pems[1]).toBe(pems[0]);
    });
    expect(follower.logs()).not.toMatch(/new sealing key generated/);
    const lease = await kubectlJson<{ spec: { holderIdentity: string } }>(cluster, ['get', 'lease', 'sealed-secrets-controller', '-n', home]);
    expect(lease.spec.holderIdentity).toBe(leader.identity);

    const secret = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: app }, stringData: { v: name } });
    await apply(cluster, await seal(secret('before'), `${follower.http}/v1/cert.pem`));
    expect(text((await eventually(() => getSecret(cluster, app, 'before'))).data?.v)).toBe('before');
    expect(follower.logs()).not.toMatch(/SealedSecret unsealed successfully/);

    // the leader crashes: the follower takes over within the lease duration
    const killedAt = Date.now();
    await leader.kill();
    await follower.waitForLog(/msg="leading: unsealing/, 20_000);
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
    await other.waitForLog(/msg="leading: unsealing/, 20_000);
    // released Lease: no need to wait for the 15 s default lease to expire
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
  });
});
