/**
 * The Helm chart (deploy/helm/sealed-secrets) as rendered by helm v3 (scripts/helm-build.sh):
 * helm lint, golden renders of several value sets, the controller arguments it passes, and the
 * schema refusing misspelled and mistyped values. The comparison with deploy/ (kustomize) and a
 * real install are in test/integration/helm.test.ts.
 *
 * Golden files: test/helm/golden/<value set>.yaml, rendered from test/helm/values/<value set>.yaml
 * (`default`: no values file). Regenerate them after a deliberate change with
 *   UPDATE_HELM_GOLDEN=1 npx vitest run --project unit test/helm/chart.test.ts
 * and review the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Deployment, V1PolicyRule, V1Role } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config.ts';
import { createMetrics } from '../../controller/metrics.ts';
import { CHART_DIR, ensureHelm, type Helm } from '../harness/helm.ts';
import { GOLDEN_DIR, NAME, NAMESPACE, VALUE_SETS, objects, only, render as renderWith, template as templateWith, valuesArgs, type KubeObject } from './render.ts';

let helm: Helm;

// Builds helm the first time (minutes; `npm test` does it before vitest), then milliseconds.
beforeAll(async () => {
  helm = await ensureHelm();
}, 30 * 60_000);

afterAll(() => {
  helm?.dispose();
});

const template = (args: readonly string[]) => templateWith(helm, args);
const render = (args: readonly string[]) => renderWith(helm, args);

describe('helm lint', () => {
  it.each(VALUE_SETS)('passes with the %s values', async (set) => {
    const { code, stdout, stderr } = await helm.run(['lint', '--strict', CHART_DIR, '--namespace', NAMESPACE, ...valuesArgs(set)]);
    expect(stderr + stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(code).toBe(0);
  });
});

describe('helm template', () => {
  it.each(VALUE_SETS)('renders the %s values as test/helm/golden/ has them', async (set) => {
    const { code, stdout, stderr } = await template(['--include-crds', ...valuesArgs(set)]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const golden = join(GOLDEN_DIR, `${set}.yaml`);
    if (process.env.UPDATE_HELM_GOLDEN === '1') writeFileSync(golden, stdout);
    expect(stdout, `differs from ${golden}: regenerate with UPDATE_HELM_GOLDEN=1 if intended`).toBe(readFileSync(golden, 'utf8'));
  });

  it('by default names the controller as kubeseal expects: sealed-secrets-controller in kube-system, first port http', async () => {
    const rendered = await render([]);
    const service = only<{ spec: { ports: { name: string; port: number }[] } }>(rendered, 'Service', NAME);
    expect(service.spec.ports[0]).toMatchObject({ name: 'http', port: 8080 });
    expect(only<KubeObject>(rendered, 'Deployment', NAME).metadata.namespace).toBe(NAMESPACE);
    const proxier = only<V1Role>(rendered, 'Role', `${NAME}-service-proxier`);
    expect(proxier.rules?.find((r) => r.resources?.includes('services/proxy'))?.resourceNames).toContain(`http:${NAME}:http`);
    // Whatever the release is called: upstream's chart would name these after the release.
    const other = await render(['--set', 'replicaCount=2']);
    const renamedRelease = await helm.run(['template', 'my-secrets', CHART_DIR, '--namespace', NAMESPACE]);
    expect(objects(renamedRelease.stdout).filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual([NAME, `${NAME}-metrics`]);
    expect(other.length).toBe(rendered.length);
  });

  it.each(VALUE_SETS)('passes the controller arguments it parses (%s values), naming the Lease and ConfigMap the Role grants', async (set) => {
    const rendered = await render(valuesArgs(set));
    const deployment = rendered.find((o) => o.kind === 'Deployment') as V1Deployment | undefined;
    expect(deployment).toBeDefined();
    const container = deployment!.spec!.template.spec!.containers[0]!;
    const config = loadConfig({ args: container.args ?? [], env: { POD_NAMESPACE: deployment!.metadata!.namespace!, POD_NAME: 'pod-1' } });
    const keyAdmin = rendered.find((o) => o.kind === 'Role' && o.metadata.name.endsWith('-key-admin')) as V1Role;
    const named = (rules: readonly V1PolicyRule[] | undefined, resource: string) => (rules ?? []).filter((r) => r.resources?.includes(resource) && r.resourceNames).flatMap((r) => r.resourceNames ?? []);
    expect(named(keyAdmin.rules, 'leases')).toEqual(config.leaderElect ? [config.leaseName] : []);
    expect(named(keyAdmin.rules, 'configmaps')).toEqual([...(config.certConfigMap ? [config.certConfigMap] : []), config.keyBackupConfigMap]);
    if (config.leaderElect === false) expect(deployment!.spec!.replicas).toBe(1);
  });

  it('upstream values mean the same: keyrenewperiod "0", secretName, logLevel, additionalNamespaces, rateLimit', async () => {
    const rendered = await render(['--set-string', 'keyrenewperiod=0', '--set', 'secretName=my-keys,logLevel=ERROR,additionalNamespaces={a,b},rateLimit=7,updateStatus=false,skipRecreate=true']);
    const args = only<V1Deployment>(rendered, 'Deployment', NAME).spec!.template.spec!.containers[0]!.args ?? [];
    const config = loadConfig({ args, env: { POD_NAMESPACE: NAMESPACE } });
    expect(config).toMatchObject({ keyRenewPeriodMs: 0, keyPrefix: 'my-keys', logLevel: 'ERROR', additionalNamespaces: ['a', 'b'], allNamespaces: false, rateLimit: 7, updateStatus: false, skipRecreate: true });
  });

  it('alerts on metrics the controller exports, with their labels', async () => {
    const rendered = await render(['--set', 'metrics.prometheusRule.enabled=true']);
    const rule = rendered.find((o) => o.kind === 'PrometheusRule') as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } } | undefined;
    const rules = rule!.spec.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toContain('SealedSecretUnsealFailed');
    const registry = createMetrics('test').registry;
    const exported = new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, m] as const));
    for (const { expr } of rules) {
      for (const match of expr.matchAll(/(sealed_secrets_controller_[a-z_]+)(?:\{([^}]*)\})?/g)) {
        const metric = registry.getSingleMetric(match[1]!);
        expect(exported.has(match[1]!), `${match[1]} is not exported by controller/metrics.ts`).toBe(true);
        const labelNames = (metric as unknown as { labelNames: string[] }).labelNames;
        for (const label of (match[2] ?? '').split(',').filter(Boolean).map((l) => l.split('=')[0]!.trim())) {
          expect(labelNames, `${match[1]} has no label ${label}`).toContain(label);
        }
      }
    }
  });

  it('names the kube-API endpoints in the egress policy it looks up, and asks for them when there is no cluster', async () => {
    const withCidr = await render(['--set', 'networkPolicy.enabled=true,networkPolicy.egress.enabled=true,networkPolicy.egress.kubeapiCidr=10.1.2.3/32,networkPolicy.egress.kubeapiPort=6443']);
    const policy = only<{ spec: { policyTypes: string[]; egress: unknown[] } }>(withCidr, 'NetworkPolicy', NAME);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '10.1.2.3/32' } }], ports: [{ protocol: 'TCP', port: 6443 }] }]);
    const noCluster = await template(['--set', 'networkPolicy.enabled=true,networkPolicy.egress.enabled=true']);
    expect(noCluster.code).not.toBe(0);
    expect(noCluster.stderr).toMatch(/networkPolicy\.egress: cannot look up the API server's address .*set networkPolicy\.egress\.kubeapiCidr and kubeapiPort/);
  });
});

describe('values.schema.json', () => {
  const refused: [string, string[], RegExp][] = [
    ['a misspelled top-level value', ['--set', 'secretNmae=keys'], /secretNmae/],
    ['a misspelled nested value', ['--set', 'metrics.serviceMonitor.enable=true'], /enable/],
    ['a string for replicaCount', ['--set-string', 'replicaCount=two'], /replicaCount/],
    ['a string for a boolean', ['--set-string', 'updateStatus=yes'], /updateStatus/],
    ['a duration without a unit', ['--set-string', 'keyrenewperiod=30d'], /keyrenewperiod/],
    ['an unknown log level', ['--set', 'logLevel=LOUD'], /logLevel/],
    ['a number for a label value', ['--set', 'podLabels.tier=3'], /podLabels/],
    ['a key backup recipient that is not an age X25519 recipient', ['--set', 'keyBackup.recipients={AGE-SECRET-KEY-1X}'], /keyBackup/],
  ];
  it.each(refused)('refuses %s, naming it', async (_, args, names) => {
    const { code, stdout, stderr } = await template(args);
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(stderr).toMatch(names);
  });

  it.each([
    ['rbac.pspEnabled=true', /rbac\.pspEnabled: PodSecurityPolicy was removed in Kubernetes 1\.25/],
    ['metrics.dashboards.create=true', /metrics\.dashboards\.create: this chart ships no Grafana dashboard/],
    ['leaderElection.enabled=false', /replicaCount > 1 needs leaderElection\.enabled=true/],
  ])('refuses upstream values it cannot honour with a one-line reason: %s', async (set, message) => {
    const { code, stderr } = await template(['--set', set]);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(message);
  });
});
