/**
 * The Helm chart against real parts: the same objects as the kustomize base (deploy/, rendered by
 * our kubectl), and a real `helm install` / `upgrade` / `uninstall` on a control plane of this
 * spec's own, with the controller run as a process under the chart's ServiceAccount token and
 * RBAC (there is no kubelet here: the Deployment makes no pods). Rendering alone (lint, golden
 * files, schema) is test/helm/chart.test.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Deployment, V1Probe } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startOwnControlPlane, useCluster, type ControlPlane } from '../harness/cluster.ts';
import { repoRoot } from '../../scripts/cluster/control-plane.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { CHART_DIR, ensureHelm, type Helm } from '../harness/helm.ts';
import { NAME, NAMESPACE, RELEASE, objects, render as renderWith, type KubeObject } from '../helm/render.ts';
import { fixturePath, readFixture } from '../fixtures/fixtures.ts';
import { runKubeseal } from '../run-cli.ts';

const cluster = useCluster();
/** The namespace test/fixtures/upstream-strict.yaml was sealed for. */
const UPSTREAM_NAMESPACE = 'demo';

let helm: Helm;

beforeAll(async () => {
  helm = await ensureHelm();
}, 30 * 60_000);

afterAll(() => {
  helm?.dispose();
});

const render = (args: readonly string[]) => renderWith(helm, args);

// ---- chart vs kustomize ------------------------------------------------------------------------

/** Labels only Helm's conventions add (upstream's chart has them; deploy/ has no release). */
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/instance', 'app.kubernetes.io/version', 'app.kubernetes.io/part-of'];
/**
 * The chart names its Roles as upstream's chart does (<fullname>-key-admin, ...), deploy/ as
 * upstream's controller.yaml does. chart name -> deploy/ name, per kind.
 */
const RENAMED: Record<string, string> = {
  [`Role/${NAME}-key-admin`]: 'sealed-secrets-key-admin',
  [`RoleBinding/${NAME}-key-admin`]: NAME,
  [`Role/${NAME}-service-proxier`]: 'sealed-secrets-service-proxier',
  [`RoleBinding/${NAME}-service-proxier`]: 'sealed-secrets-service-proxier',
  [`Role/${NAME}-cert-reader`]: 'sealed-secrets-cert-reader',
  [`RoleBinding/${NAME}-cert-reader`]: 'sealed-secrets-cert-reader',
};
const PODS = '<the Deployment pods>';

/**
 * One object as both must agree on. Selectors differ on purpose (each keeps its upstream's, since
 * a Deployment's selector is immutable): each must select the pods its own Deployment makes, and is
 * then replaced by a placeholder. Probe fields equal to the API's defaults are dropped.
 */
function normalized(list: readonly KubeObject[]): Map<string, unknown> {
  const deployment = list.find((o) => o.kind === 'Deployment') as V1Deployment;
  const podLabels = deployment.spec!.template.metadata!.labels!;
  const selects = (selector: Record<string, string> | undefined) => {
    expect(selector, 'a selector').toBeDefined();
    expect(podLabels).toMatchObject(selector!);
    return PODS;
  };
  const dropLabels = (labels: Record<string, string> | undefined) => {
    for (const key of HELM_LABELS) delete labels?.[key];
  };
  const result = new Map<string, unknown>();
  for (const original of list) {
    const o = structuredClone(original) as KubeObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const renamed = RENAMED[`${o.kind}/${o.metadata.name}`];
    if (renamed) o.metadata.name = renamed;
    if (o.kind === 'RoleBinding' && o.roleRef?.kind === 'Role') o.roleRef.name = RENAMED[`Role/${o.roleRef.name}`] ?? o.roleRef.name;
    dropLabels(o.metadata.labels);
    if (o.kind === 'Deployment') {
      o.spec.selector.matchLabels = selects(o.spec.selector.matchLabels);
      dropLabels(o.spec.template.metadata.labels);
      const term = o.spec.template.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm;
      if (term) term.labelSelector.matchLabels = selects(term.labelSelector.matchLabels);
      for (const container of o.spec.template.spec.containers) {
        for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe] as (V1Probe | undefined)[]) {
          if (probe?.initialDelaySeconds === 0) delete probe.initialDelaySeconds;
          if (probe?.successThreshold === 1) delete probe.successThreshold;
        }
      }
    }
    if (o.kind === 'Service') o.spec.selector = selects(o.spec.selector);
    if (o.kind === 'PodDisruptionBudget') o.spec.selector.matchLabels = selects(o.spec.selector.matchLabels);
    result.set(`${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
  }
  return result;
}

describe('the chart and deploy/ (kustomize) do not drift', () => {
  it('render the same objects with the chart defaults in kube-system (up to Helm labels, Role names and selectors)', async () => {
    const chart = normalized(await render(['--include-crds']));
    const { code, stdout, stderr } = await cluster.kubectl(['kustomize', join(repoRoot(), 'deploy')]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const kustomize = normalized(objects(stdout));
    expect([...chart.keys()].sort()).toEqual([...kustomize.keys()].sort());
    for (const [key, object] of kustomize) expect(chart.get(key), key).toEqual(object);
  });

  it('carry the same CRD, byte for byte, as crds/', () => {
    const source = readFileSync(join(repoRoot(), 'crds', 'sealedsecret.yaml'), 'utf8');
    expect(readFileSync(join(CHART_DIR, 'crds', 'sealedsecret.yaml'), 'utf8'), 'run `cp crds/sealedsecret.yaml deploy/helm/sealed-secrets/crds/`').toBe(source);
  });

  it('have one version: the chart, its appVersion (the image tag) and package.json', () => {
    const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
    expect(chart.version).toBe(pkg.version);
    expect(chart.appVersion).toBe(pkg.version);
  });
});

// ---- a real install ----------------------------------------------------------------------------

describe('helm install, upgrade and uninstall on a real API server (no kubelet: the controller runs as a process)', () => {
  let cp: ControlPlane;
  let appNamespace = '';
  let controller: ControllerProcess | undefined;
  let saKubeconfig = '';
  let someone = '';
  const keySecrets = async (): Promise<string[]> => {
    const { stdout } = await cp.kubectl(['get', 'secrets', '-n', NAMESPACE, '-l', 'sealedsecrets.bitnami.com/sealed-secrets-key', '-o', 'jsonpath={range .items[*]}{.metadata.uid}{"\\n"}{end}']);
    return stdout.split('\n').filter(Boolean).sort();
  };
  const deploymentArgs = async (): Promise<string[]> => {
    const { stdout } = await cp.kubectl(['get', 'deployment', NAME, '-n', NAMESPACE, '-o', 'json']);
    return (JSON.parse(stdout) as V1Deployment).spec!.template.spec!.containers[0]!.args ?? [];
  };
  /** The chart's controller arguments, as the pod would run them, but listening on loopback. */
  const runController = async (): Promise<ControllerProcess> =>
    startController({
      kubeconfigPath: saKubeconfig,
      namespace: NAMESPACE,
      watch: [appNamespace, UPSTREAM_NAMESPACE],
      args: (await deploymentArgs()).filter((a) => !a.startsWith('--listen-')),
    });

  beforeAll(async () => {
    // No CRD applied by the harness: the chart's crds/ installs it.
    cp = await startOwnControlPlane({ crdDirs: [] });
  });

  afterAll(async () => {
    await controller?.stop();
    await cp?.stop();
  });

  it('refuses a misspelled value at install time, creating nothing', async () => {
    const refused = await helm.run(['install', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--set', 'replicaCuont=3'], { kubeconfig: cp.kubeconfigPath });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/values don't meet the specifications of the schema.*\n?.*replicaCuont/s);
    expect((await cp.kubectl(['get', 'deployment', NAME, '-n', NAMESPACE])).code).not.toBe(0);
  });

  it('installs the CRD, RBAC, Services and Deployment with the default values', async () => {
    const installed = await helm.run(['install', RELEASE, CHART_DIR, '--namespace', NAMESPACE], { kubeconfig: cp.kubeconfigPath });
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    // The notes tell kubeseal needs no flags.
    expect(installed.stdout).toMatch(/^ {2}kubeseal --fetch-cert > cert\.pem$/m);
    const established = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/sealedsecrets.bitnami.com']);
    expect(established.code).toBe(0);
    const { stdout } = await cp.kubectl(['get', 'deployment,service,serviceaccount,role,rolebinding,poddisruptionbudget', '-n', NAMESPACE, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
    expect(stdout.trim().split('\n').sort()).toEqual([
      `deployment.apps/${NAME}`,
      `poddisruptionbudget.policy/${NAME}`,
      `role.rbac.authorization.k8s.io/${NAME}-cert-reader`,
      `role.rbac.authorization.k8s.io/${NAME}-key-admin`,
      `role.rbac.authorization.k8s.io/${NAME}-service-proxier`,
      `rolebinding.rbac.authorization.k8s.io/${NAME}-cert-reader`,
      `rolebinding.rbac.authorization.k8s.io/${NAME}-key-admin`,
      `rolebinding.rbac.authorization.k8s.io/${NAME}-service-proxier`,
      `service/${NAME}`,
      `service/${NAME}-metrics`,
      `serviceaccount/${NAME}`,
    ]);
  });

  it('gives the ServiceAccount and signed-in users what they need', async () => {
    const sa = `system:serviceaccount:${NAMESPACE}:${NAME}`;
    const canI = async (as: string[], ...args: string[]) => (await cp.kubectl(['auth', 'can-i', ...args, ...as])).stdout.trim();
    await eventually(async () => expect(await canI([`--as=${sa}`], 'create', 'leases.coordination.k8s.io', '-n', NAMESPACE)).toBe('yes'));
    expect(await canI([`--as=${sa}`], 'list', 'sealedsecrets.bitnami.com', '--all-namespaces')).toBe('yes');
    expect(await canI([`--as=${sa}`], 'update', `leases.coordination.k8s.io/${NAME}`, '-n', NAMESPACE)).toBe('yes');
    expect(await canI([`--as=${sa}`], 'update', 'configmaps/sealed-secrets-cert', '-n', NAMESPACE)).toBe('yes');
    expect(await canI([`--as=${sa}`], 'patch', 'secrets', '-n', 'default')).toBe('no');
    const user = ['--as=someone', '--as-group=system:authenticated'];
    expect(await canI(user, 'create', `services/http:${NAME}:http`, '--subresource=proxy', '-n', NAMESPACE)).toBe('yes');
    expect(await canI(user, 'get', 'configmaps/sealed-secrets-cert', '-n', NAMESPACE)).toBe('yes');
    expect(await canI(user, 'get', 'secrets', '-n', NAMESPACE)).toBe('no');
  });

  it('runs the controller with the chart arguments under its ServiceAccount token: it picks up the key an upstream install left, makes none, elects itself, publishes the certificate', async () => {
    appNamespace = await cp.createNamespace('helm-app');
    // What an upstream install leaves behind (docs/migration.md): its sealing key, a kubernetes.io/tls
    // Secret labelled active, and a SealedSecret sealed by upstream's kubeseal v0.36.6 with it.
    const key = await cp.kubectl(['create', 'secret', 'tls', 'sealed-secrets-keyq7x2k', '-n', NAMESPACE, '--cert', fixturePath('sealing-cert.pem'), '--key', fixturePath('sealing-key.pem')]);
    expect(key.code).toBe(0);
    expect((await cp.kubectl(['label', 'secret', 'sealed-secrets-keyq7x2k', '-n', NAMESPACE, 'sealedsecrets.bitnami.com/sealed-secrets-key=active'])).code).toBe(0);
    expect((await cp.kubectl(['create', 'namespace', UPSTREAM_NAMESPACE])).code).toBe(0);
    expect((await cp.kubectl(['apply', '-f', fixturePath('upstream-strict.yaml')])).code).toBe(0);
    const token = await cp.kubectl(['create', 'token', NAME, '-n', NAMESPACE, '--duration=1h']);
    expect(token.code).toBe(0);
    const admin = parse(readFileSync(cp.kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
    const dir = mkdtempSync(join(tmpdir(), 'helm-sa-'));
    saKubeconfig = join(dir, 'kubeconfig');
    writeFileSync(saKubeconfig, JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: cp.server, 'certificate-authority-data': admin.clusters[0]!.cluster['certificate-authority-data']! } }],
      users: [{ name: 'sa', user: { token: token.stdout.trim() } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'sa' } }],
      'current-context': 'c',
    }));
    controller = await runController();
    await eventually(async () => {
      const { stdout } = await cp.kubectl(['get', 'configmap', 'sealed-secrets-cert', '-n', NAMESPACE, '-o', 'jsonpath={.data.cert\\.pem}']);
      expect(stdout.trim()).toBe(readFixture('sealing-cert.pem').trim());
    }, { timeoutMs: 60_000 });
    expect(await keySecrets()).toHaveLength(1);
    expect(controller.logs()).not.toMatch(/new sealing key generated/);
    await eventually(async () => {
      const { stdout } = await cp.kubectl(['get', 'secret', 'db-creds', '-n', UPSTREAM_NAMESPACE, '-o', 'jsonpath={.data.password}']);
      expect(Buffer.from(stdout, 'base64').toString()).toBe('s3cr3t: with <html> & unicode ✓');
    }, { timeoutMs: 60_000 });
    const lease = await cp.kubectl(['get', 'lease', NAME, '-n', NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}']);
    expect(lease.stdout).toBe(controller.identity);
  });

  it('lets a signed-in user seal with kubeseal and no flags, and the controller unseals it', async () => {
    someone = cp.userKubeconfig('someone', []);
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: appNamespace }, stringData: { password: 'chart-installed' } };
    // No pod serves the Service here, so kubeseal falls back to the ConfigMap the chart's RBAC lets it read.
    const sealed = await runKubeseal(['-o', 'yaml'], { stdin: JSON.stringify(secret), env: { KUBECONFIG: someone } });
    expect(sealed.stderr).toMatch(/using the one it published in ConfigMap kube-system\/sealed-secrets-cert/);
    expect(sealed.code).toBe(0);
    const applied = await cp.kubectl(['apply', '-f', '-'], { input: sealed.stdout.toString() });
    expect(applied.code).toBe(0);
    await eventually(async () => {
      const { stdout } = await cp.kubectl(['get', 'secret', 'db', '-n', appNamespace, '-o', 'jsonpath={.data.password}']);
      expect(Buffer.from(stdout, 'base64').toString()).toBe('chart-installed');
    }, { timeoutMs: 60_000 });
  });

  it('upgrades with a changed value: a new pod template, the same keys', async () => {
    const before = await keySecrets();
    const generation = (await cp.kubectl(['get', 'deployment', NAME, '-n', NAMESPACE, '-o', 'jsonpath={.metadata.generation}'])).stdout;
    const upgraded = await helm.run(['upgrade', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--reuse-values', '--set', 'logLevel=DEBUG'], { kubeconfig: cp.kubeconfigPath });
    expect(upgraded.stderr).toBe('');
    expect(upgraded.code).toBe(0);
    expect(await deploymentArgs()).toContain('--log-level=DEBUG');
    expect(Number((await cp.kubectl(['get', 'deployment', NAME, '-n', NAMESPACE, '-o', 'jsonpath={.metadata.generation}'])).stdout)).toBe(Number(generation) + 1);
    // What the rollout does: the old pod stops, a new one starts with the new arguments.
    await controller?.stop();
    controller = await runController();
    expect(controller.child.spawnargs).toContain('--log-level=DEBUG');
    await eventually(async () => {
      const lease = await cp.kubectl(['get', 'lease', NAME, '-n', NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}']);
      expect(lease.stdout).toBe(controller!.identity);
    }, { timeoutMs: 60_000 });
    expect(await keySecrets()).toEqual(before);
  });

  it('uninstalls, leaving the sealing keys, the CRD and what was unsealed', async () => {
    await controller?.stop();
    controller = undefined;
    const keys = await keySecrets();
    const removed = await helm.run(['uninstall', RELEASE, '--namespace', NAMESPACE], { kubeconfig: cp.kubeconfigPath });
    expect(removed.code).toBe(0);
    const { stdout } = await cp.kubectl(['get', 'deployment,service,serviceaccount,role,rolebinding', '-n', NAMESPACE, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
    expect(stdout.trim()).toBe('');
    expect(keys).toHaveLength(1);
    expect(await keySecrets()).toEqual(keys);
    expect((await cp.kubectl(['get', 'crd', 'sealedsecrets.bitnami.com'])).code).toBe(0);
    expect((await cp.kubectl(['get', 'sealedsecret,secret', 'db', '-n', appNamespace])).code).toBe(0);
  });
});
