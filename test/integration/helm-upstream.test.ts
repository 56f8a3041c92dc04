/**
 * docs/migration.md's Helm path, against a real upstream release: upstream's own chart (v0.36.6,
 * from its Go module, which carries helm/sealed-secrets/: scripts/upstream-chart.sh) installed with its defaults on a control
 * plane of this spec's own, then `helm upgrade` of that release to our chart with the doc's
 * command, and `helm rollback` back to upstream's. There is no kubelet here (upstream's image
 * could not be pulled anyway): what is proven is the release and its objects — the Deployment's
 * selector accepts the upgrade (it is immutable), the objects keep upstream's names, the CRD and
 * the sealing keys are untouched both ways. test/integration/helm.test.ts runs the controller
 * under our chart's objects; helm-node.test.ts runs it in pods.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/cluster/control-plane.ts';
import { startOwnControlPlane, type ControlPlane } from '../harness/cluster.ts';
import { CHART_DIR, ensureHelm, type Helm } from '../harness/helm.ts';
import { UPSTREAM_VERSION } from '../harness/upstream-kubeseal.ts';
import { fixturePath } from '../fixtures/fixtures.ts';
import { NAMESPACE, RELEASE } from '../helm/render.ts';

/** Upstream's chart names everything after the release. */
const UPSTREAM_NAME = 'sealed-secrets';
const KEY = 'sealed-secrets-keyq7x2k';

/**
 * helm/sealed-secrets of upstream's Go module at UPSTREAM_VERSION, from Go's module cache:
 * scripts/upstream-chart.sh fetched it before vitest (npm test runs it); GOPROXY=off keeps this
 * spec offline.
 */
async function upstreamChart(): Promise<string> {
  const script = join(repoRoot(), 'scripts', 'upstream-chart.sh');
  return new Promise<string>((resolve, reject) => {
    execFile('bash', [script], { env: { ...process.env, GOPROXY: 'off', UPSTREAM_VERSION }, timeout: 60_000 }, (error, stdout, stderr) => {
      const dir = stdout.trim().split('\n').pop()?.trim() ?? '';
      if (error || !dir.startsWith('/')) reject(new Error(`${script} failed: ${stderr.trim()}`));
      else resolve(dir);
    });
  });
}

describe(`helm upgrade of an upstream ${UPSTREAM_VERSION} release to our chart, and back`, () => {
  let cp: ControlPlane;
  let helm: Helm;
  let chart = '';
  const json = async <T>(args: readonly string[]): Promise<T> => {
    const result = await cp.kubectl([...args, '-o', 'json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as T;
  };
  const deployment = () => json<V1Deployment>(['get', 'deployment', UPSTREAM_NAME, '-n', NAMESPACE]);
  const uidOf = async (args: readonly string[]) => (await json<{ metadata: { uid: string } }>(args)).metadata.uid;
  const run = (args: readonly string[]) => helm.run(args, { kubeconfig: cp.kubeconfigPath, timeoutMs: 300_000 });

  beforeAll(async () => {
    [cp, helm, chart] = await Promise.all([startOwnControlPlane({ crdDirs: [] }), ensureHelm(), upstreamChart()]);
  }, 30 * 60_000);

  afterAll(async () => {
    helm?.dispose();
    await cp?.stop();
  });

  it('upgrades upstream\'s release in place with the documented command, keeping names, selector, CRD and keys; rolls back', async () => {
    // Upstream's release, as most clusters have it: its chart, its defaults.
    const installed = await run(['install', RELEASE, chart, '--namespace', NAMESPACE]);
    expect(installed.code, installed.stderr).toBe(0);
    const upstream = await deployment();
    expect(upstream.spec?.template.spec?.containers[0]?.image).toMatch(/bitnami\/sealed-secrets-controller/);
    // The key upstream's controller would have made (docs/migration.md: picked up as it is).
    expect((await cp.kubectl(['create', 'secret', 'tls', KEY, '-n', NAMESPACE, '--cert', fixturePath('sealing-cert.pem'), '--key', fixturePath('sealing-key.pem')])).code).toBe(0);
    expect((await cp.kubectl(['label', 'secret', KEY, '-n', NAMESPACE, 'sealedsecrets.bitnami.com/sealed-secrets-key=active'])).code).toBe(0);
    const keyUid = await uidOf(['get', 'secret', KEY, '-n', NAMESPACE]);
    const crdUid = await uidOf(['get', 'crd', 'sealedsecrets.bitnami.com']);

    // docs/migration.md's command (no image registry here: our chart's default image).
    const upgraded = await run(['upgrade', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--set', `fullnameOverride=${UPSTREAM_NAME}`]);
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const ours = await deployment();
    expect(ours.metadata?.uid).toBe(upstream.metadata?.uid); // updated in place, not replaced
    expect(ours.spec?.selector).toEqual(upstream.spec?.selector);
    expect(ours.spec?.replicas).toBe(2);
    const container = ours.spec?.template.spec?.containers[0];
    expect(container?.image).toMatch(/(^|\/)sealed-secrets-controller:/);
    expect(container?.image).not.toMatch(/bitnami/);
    expect(container?.command ?? []).toEqual([]); // our image's entrypoint, not upstream's `controller`
    // The Service kubeseal reaches with --controller-name sealed-secrets, and the RBAC behind it.
    expect((await cp.kubectl(['get', 'service', UPSTREAM_NAME, '-n', NAMESPACE])).code).toBe(0);
    const canRead = await cp.kubectl(['auth', 'can-i', 'watch', 'sealedsecrets.bitnami.com', '--all-namespaces', `--as=system:serviceaccount:${NAMESPACE}:${UPSTREAM_NAME}`]);
    expect(canRead.stdout.trim()).toBe('yes');
    expect(await uidOf(['get', 'secret', KEY, '-n', NAMESPACE])).toBe(keyUid);
    expect(await uidOf(['get', 'crd', 'sealedsecrets.bitnami.com'])).toBe(crdUid);

    // Going back: upstream's chart again, the keys and the CRD still untouched.
    const rolledBack = await run(['rollback', RELEASE, '1', '--namespace', NAMESPACE]);
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    const back = await deployment();
    expect(back.spec?.template.spec?.containers[0]?.image).toBe(upstream.spec?.template.spec?.containers[0]?.image);
    expect(back.spec?.selector).toEqual(upstream.spec?.selector);
    expect(await uidOf(['get', 'secret', KEY, '-n', NAMESPACE])).toBe(keyUid);
    expect(await uidOf(['get', 'crd', 'sealedsecrets.bitnami.com'])).toBe(crdUid);
  }, 600_000);
});
