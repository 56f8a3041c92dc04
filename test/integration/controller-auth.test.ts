/**
 * The controller's credentials and start-up against the real API server (issue 8, class 10):
 * a kubeconfig `tokenFile` (a ServiceAccount token, relative to the kubeconfig) works for the
 * controller and for kubeseal; a namespace it cannot read at start-up (403) or that does not exist
 * yet is watched once it can be read; SIGTERM stops a controller whose keys never load.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { runKubeseal } from '../run-cli.ts';
import { apply, getSecret, seal, text } from './kube.ts';

const cluster = useCluster();
const scratch = mkdtempSync(join(tmpdir(), 'controller-auth-'));
const controllers: ControllerProcess[] = [];
afterAll(async () => {
  await Promise.all(controllers.map((c) => c.kill()));
  rmSync(scratch, { recursive: true, force: true });
});

/** A kubeconfig for the shared API server with `user` as its credentials (the admin's cluster entry). */
function kubeconfigWith(name: string, user: Record<string, unknown>): string {
  const admin = parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as { clusters: { name: string }[] };
  const clusterEntry = admin.clusters[0];
  const dir = mkdtempSync(join(scratch, `${name}-`));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [clusterEntry],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: clusterEntry?.name, user: name } }],
    'current-context': name,
  }));
  return path;
}

async function kubectl(args: string[], input?: string): Promise<string> {
  const result = await cluster.kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

describe('a kubeconfig tokenFile, and namespaces that cannot be read at start-up', () => {
  it('works for the controller and kubeseal; a 403 or missing namespace is watched once it can be read', async () => {
    const home = await cluster.createNamespace('auth-home');
    const app = await cluster.createNamespace('auth-app');
    const later = `${home}-later`;
    const role = `${home}-ctl`;
    // Everything the controller needs except reading namespaces: probing --additional-namespaces gets 403.
    await kubectl(['create', 'serviceaccount', 'ctl', '-n', home]);
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: role }, rules: [
          { apiGroups: [''], resources: ['secrets', 'events', 'configmaps'], verbs: ['*'] },
          { apiGroups: ['bitnami.com'], resources: ['sealedsecrets', 'sealedsecrets/status'], verbs: ['*'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['*'] },
        ] },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: role }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ kind: 'ServiceAccount', name: 'ctl', namespace: home }] },
      ],
    }));
    const token = (await kubectl(['create', 'token', 'ctl', '-n', home, '--duration', '1h'])).trim();
    const kubeconfig = kubeconfigWith('sa', { tokenFile: 'token' });
    writeFileSync(join(kubeconfig, '..', 'token'), `${token}\n`);

    const controller = await startController({ kubeconfigPath: kubeconfig, namespace: home, watch: [app, later] });
    controllers.push(controller);
    await controller.waitForKeys(1, 90_000);

    // kubeseal reads the same kubeconfig: no Service here, so the certificate comes from the ConfigMap
    const fetched = await eventually(async () => {
      const result = await runKubeseal(['--fetch-cert', '--controller-namespace', home], { env: { KUBECONFIG: kubeconfig } });
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.toString();
    }, { timeoutMs: 60_000 });
    expect(fetched).toBe(await (await fetch(`${controller.http}/v1/cert.pem`)).text());

    // now it may read namespaces: app, refused at start-up, is watched on a retry
    await kubectl(['create', 'clusterrole', `${role}-ns`, '--verb=get', '--resource=namespaces']);
    await kubectl(['create', 'clusterrolebinding', `${role}-ns`, `--clusterrole=${role}-ns`, `--serviceaccount=${home}:ctl`]);
    const cert = `${controller.http}/v1/cert.pem`;
    await apply(cluster, await seal({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'after-403', namespace: app }, stringData: { password: 'pw-after-403' } }, cert));
    expect(text((await eventually(() => getSecret(cluster, app, 'after-403'), { timeoutMs: 90_000 })).data?.password)).toBe('pw-after-403');

    // and a namespace that did not exist is watched once it does
    await kubectl(['create', 'namespace', later]);
    await apply(cluster, await seal({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'in-later', namespace: later }, stringData: { password: 'pw-in-later' } }, cert));
    expect(text((await eventually(() => getSecret(cluster, later, 'in-later'), { timeoutMs: 90_000 })).data?.password)).toBe('pw-in-later');
    expect(controller.logs()).not.toContain(token);
    expect(await controller.stop()).toBe(0);
  }, 300_000);
});

describe('SIGTERM while the keys never load', () => {
  it('a refused token: the controller serves HTTP, and SIGTERM ends the process', async () => {
    const home = await cluster.createNamespace('auth-bad');
    const controller = await startController({ kubeconfigPath: kubeconfigWith('bad', { token: 'not-a-valid-token' }), namespace: home });
    controllers.push(controller);
    expect((await fetch(`${controller.http}/healthz`)).status).toBe(200);
    expect(await controller.stop()).toBe(0);
    expect(controller.logs()).toMatch(/msg="?shutting down/);
    expect(controller.logs()).not.toContain('not-a-valid-token');
  }, 60_000);
});
