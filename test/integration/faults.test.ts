/**
 * Faults: the API server restarts under a running controller (its watches break and come back
 * with expired resourceVersions, 410 Gone); the controller keeps going and converges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startOwnControlPlane, type ControlPlane } from '../harness/cluster.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { apply, getSecret, seal, text } from './kube.ts';

let plane: ControlPlane;
let controller: ControllerProcess;
beforeAll(async () => {
  plane = await startOwnControlPlane({ withControllerManager: false });
  for (const ns of ['home', 'app', 'elsewhere']) await plane.kubectl(['create', 'namespace', ns]);
  controller = await startController({ kubeconfigPath: plane.kubeconfigPath, namespace: 'home', watch: ['app'], args: ['--log-level', 'DEBUG', '--key-size', '2048'] });
  await eventually(async () => expect((await fetch(`${controller.http}/v1/cert.pem`)).status).toBe(200), { timeoutMs: 60_000 });
});
afterAll(async () => {
  await controller?.stop();
  await plane?.stop();
});

const secret = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'app' }, stringData: { v: name } });

describe('an API server restart under a running controller', () => {
  it('recovers its watches (re-listing after 410 Gone) and converges', async () => {
    const cert = `${controller.http}/v1/cert.pem`;
    await apply(plane, await seal(secret('before'), cert));
    await eventually(() => getSecret(plane, 'app', 'before'));
    // Move etcd's revision past what the controller has seen, so its watches resume from an
    // expired resourceVersion once the new API server's watch cache starts.
    for (let i = 0; i < 20; i++) await plane.kubectl(['create', 'configmap', `bump-${i}`, '-n', 'elsewhere']);
    const lists = async () => Number(/^sealed_secrets_controller_informer_lists_total\{resource="sealedsecrets"\} (\S+)$/m.exec(await (await fetch(`${controller.metrics}/metrics`)).text())?.[1]);
    const listedBefore = await lists();
    await plane.restartApiServer();

    // the SealedSecret informer lists again: its watch resumed from an expired version (410 Gone)
    await eventually(async () => expect(await lists()).toBeGreaterThan(listedBefore), { timeoutMs: 60_000 });
    await apply(plane, await seal(secret('after'), cert));
    expect(text((await eventually(() => getSecret(plane, 'app', 'after'), { timeoutMs: 60_000 })).data?.v)).toBe('after');
    // deletions are still followed: the Secret of the first SealedSecret comes back
    await plane.kubectl(['delete', 'secret', 'before', '-n', 'app']);
    expect(text((await eventually(() => getSecret(plane, 'app', 'before'), { timeoutMs: 60_000 })).data?.v)).toBe('before');
    expect(controller.child.exitCode).toBeNull();
    expect((await fetch(`${controller.http}/healthz`)).status).toBe(200);
  });
});
