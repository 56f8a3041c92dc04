/**
 * deploy/, the kustomize base: what it renders, that a real API server accepts it, and that its
 * RBAC gives the controller what it needs and no more, and any signed-in user exactly what kubeseal
 * needs (the certificate ConfigMap and the service proxy).
 *
 * The RBAC is applied for real, but into a namespace of this test standing in for kube-system,
 * with the cluster-scoped names suffixed: the API server is shared with other spec files, which
 * may install deploy/ in kube-system themselves.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type {
  V1Deployment,
  V1PodDisruptionBudget,
  V1PolicyRule,
  V1Role,
  V1Service,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { repoRoot } from '../../scripts/cluster/control-plane.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { readFixture } from '../fixtures/fixtures.ts';
import { apply, getSealed, getSecret, kubectlJson, seal, synced, text } from './kube.ts';

const cluster = useCluster();
const DEPLOY_DIR = join(repoRoot(), 'deploy');
const CONTROLLER_NAMESPACE = 'kube-system';
const NAME = 'sealed-secrets-controller';
const CERT_CONFIGMAP = 'sealed-secrets-cert';
const KEY_BACKUP_CONFIGMAP = 'sealed-secrets-key-backup';

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

let rendered: KubeObject[] = [];

beforeAll(async () => {
  const { code, stdout, stderr } = await cluster.kubectl(['kustomize', DEPLOY_DIR]);
  if (code !== 0) throw new Error(`kubectl kustomize ${DEPLOY_DIR} failed:\n${stderr}`);
  rendered = parseAllDocuments(stdout).map((doc) => doc.toJS() as KubeObject);
});

function find<T>(kind: string, name: string): T {
  const found = rendered.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name} in deploy/, found ${found.length}`);
  return found[0] as T;
}

/** The resourceNames of the only rule of `role` on `resource` that has any. */
function namedIn(rules: readonly V1PolicyRule[] | undefined, resource: string): string[] {
  const named = (rules ?? []).filter((r) => r.resources?.includes(resource) && r.resourceNames);
  expect(named).toHaveLength(1);
  return named[0]?.resourceNames ?? [];
}

describe('deploy/ renders', () => {
  it('with deploy/crd.yaml a byte-identical copy of crds/sealedsecret.yaml', () => {
    // kustomize refuses files outside deploy/, so the CRD is copied; see deploy/README.md.
    const copy = readFileSync(join(DEPLOY_DIR, 'crd.yaml'), 'utf8');
    const source = readFileSync(join(repoRoot(), 'crds', 'sealedsecret.yaml'), 'utf8');
    expect(copy, 'deploy/crd.yaml differs: run `cp crds/sealedsecret.yaml deploy/crd.yaml`').toBe(source);
  });

  it('these objects, every namespaced one in kube-system', () => {
    const summary = rendered.map((o) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`).sort();
    expect(summary).toEqual(
      [
        'ClusterRole secrets-unsealer',
        'ClusterRoleBinding sealed-secrets-controller',
        'CustomResourceDefinition sealedsecrets.bitnami.com',
        'Deployment kube-system/sealed-secrets-controller',
        'PodDisruptionBudget kube-system/sealed-secrets-controller',
        'Role kube-system/sealed-secrets-cert-reader',
        'Role kube-system/sealed-secrets-key-admin',
        'Role kube-system/sealed-secrets-service-proxier',
        'RoleBinding kube-system/sealed-secrets-cert-reader',
        'RoleBinding kube-system/sealed-secrets-controller',
        'RoleBinding kube-system/sealed-secrets-service-proxier',
        'Service kube-system/sealed-secrets-controller',
        'Service kube-system/sealed-secrets-controller-metrics',
        'ServiceAccount kube-system/sealed-secrets-controller',
      ].sort(),
    );
  });

  it('a hardened Deployment of 2 replicas with upstream names, ports and probes', () => {
    const deployment = find<V1Deployment>('Deployment', NAME);
    const spec = deployment.spec!;
    expect(spec.replicas).toBe(2);
    // Upstream's selector: a Deployment's selector is immutable, so this one applies over upstream's.
    expect(spec.selector.matchLabels).toEqual({ name: NAME });
    const pod = spec.template.spec!;
    expect(spec.template.metadata?.labels).toMatchObject({ name: NAME, 'app.kubernetes.io/name': 'sealed-secrets' });
    expect(pod.serviceAccountName).toBe(NAME);
    expect(pod.securityContext).toEqual({ fsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm).toEqual({
      topologyKey: 'kubernetes.io/hostname',
      labelSelector: { matchLabels: { name: NAME } },
    });

    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0]!;
    expect(container.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 8081, protocol: 'TCP' },
    ]);
    for (const probe of [container.startupProbe, container.livenessProbe]) {
      expect(probe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    }
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.env?.filter((e) => e.valueFrom)).toEqual([
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ]);
    expect(container.resources?.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    // The CPU limit sizes the unsealing thread pool, and so bounds memory: see deployment.yaml.
    expect(container.resources?.limits).toEqual({ cpu: '1', memory: '512Mi' });
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.volumes?.map((v) => ({ name: v.name, emptyDir: v.emptyDir !== undefined }))).toEqual([{ name: 'tmp', emptyDir: true }]);
  });

  it('controller flags the controller accepts, naming the Lease and ConfigMap that role.yaml grants', () => {
    const container = find<V1Deployment>('Deployment', NAME).spec!.template.spec!.containers[0]!;
    const config = loadConfig({ args: container.args ?? [], env: { POD_NAMESPACE: CONTROLLER_NAMESPACE, POD_NAME: `${NAME}-7d9c-x2x4` } });
    expect(config).toMatchObject({
      namespace: CONTROLLER_NAMESPACE,
      keyPrefix: 'sealed-secrets-key',
      updateStatus: true,
      leaderElect: true,
      listenAddr: ':8080',
      listenMetricsAddr: ':8081',
    });
    expect(config.identity.startsWith(`${NAME}-7d9c-x2x4`)).toBe(true);
    expect(config.leaseName, '--leader-elect-lease-name as the controller parses it').toBe(NAME);
    expect(config.certConfigMap, '--cert-configmap as the controller parses it').toBe(CERT_CONFIGMAP);

    const keyAdmin = find<V1Role>('Role', 'sealed-secrets-key-admin');
    expect(namedIn(keyAdmin.rules, 'leases')).toEqual([config.leaseName]);
    expect(namedIn(keyAdmin.rules, 'configmaps')).toEqual([config.certConfigMap, config.keyBackupConfigMap]);
    expect(namedIn(find<V1Role>('Role', 'sealed-secrets-cert-reader').rules, 'configmaps')).toEqual([config.certConfigMap]);
  });

  it('a Service whose first port name makes the proxy path that service-proxier allows', () => {
    const service = find<V1Service>('Service', NAME);
    expect(service.spec?.selector).toEqual({ name: NAME });
    expect(service.spec?.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
    // kubeseal proxies to scheme:service:<name of the first port>.
    const proxied = `http:${NAME}:${service.spec?.ports?.[0]?.name ?? ''}`;
    const proxier = find<V1Role>('Role', 'sealed-secrets-service-proxier');
    expect(namedIn(proxier.rules, 'services/proxy')).toEqual([`http:${NAME}:`, `http:${NAME}:http`, NAME]);
    expect(namedIn(proxier.rules, 'services/proxy')).toContain(proxied);
    expect(namedIn(proxier.rules, 'services')).toEqual([NAME]);

    const metrics = find<V1Service>('Service', `${NAME}-metrics`);
    expect(metrics.spec?.selector).toEqual({ name: NAME });
    expect(metrics.spec?.ports).toEqual([{ name: 'metrics', port: 8081, targetPort: 'metrics', protocol: 'TCP' }]);
  });

  it('a PodDisruptionBudget that keeps one of the two replicas', () => {
    const pdb = find<V1PodDisruptionBudget>('PodDisruptionBudget', NAME);
    expect(pdb.spec?.minAvailable).toBe(1);
    expect(pdb.spec?.selector?.matchLabels).toEqual({ name: NAME });
  });
});

describe('kubectl apply -k deploy/', () => {
  it('is accepted by the API server (server-side dry run)', async () => {
    const { code, stdout, stderr } = await cluster.kubectl(['apply', '--dry-run=server', '-k', DEPLOY_DIR]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(rendered.length);
    expect(stdout).toContain(`deployment.apps/${NAME}`);
  });
});

// ---- RBAC, for real ------------------------------------------------------------------------

interface Identity {
  readonly user: string;
  readonly groups: readonly string[];
}

/** A namespace name nothing grants anything in (can-i needs no namespace to exist). */
const ELSEWHERE = 'some-app';
const ALL_NAMESPACES = '*';
const CLUSTER = '';

let standIn = '';
let controller: Identity = { user: '', groups: [] };
const someone: Identity = { user: 'someone', groups: ['system:authenticated'] };
const anonymous: Identity = { user: 'system:anonymous', groups: ['system:unauthenticated'] };

/** kube-system in the checks below means the stand-in namespace. */
const ns = (namespace: string): string => (namespace === CONTROLLER_NAMESPACE ? standIn : namespace);

/** `kubectl auth can-i` as `who`; throws when kubectl answers neither yes nor no. */
async function canI(who: Identity, verb: string, resource: string, namespace: string, subresource?: string): Promise<boolean> {
  const args = ['auth', 'can-i', verb, resource, `--as=${who.user}`, ...who.groups.map((g) => `--as-group=${g}`)];
  if (namespace === ALL_NAMESPACES) args.push('--all-namespaces');
  else if (namespace !== CLUSTER) args.push('-n', ns(namespace));
  if (subresource) args.push(`--subresource=${subresource}`);
  const { code, stdout, stderr } = await cluster.kubectl(args);
  const answer = stdout.trim();
  if (code === 0 && answer === 'yes') return true;
  if (code === 1 && answer.startsWith('no')) return false;
  throw new Error(`kubectl ${args.join(' ')}: exit code ${code}, stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`);
}

/** deploy/'s ServiceAccount, RBAC and Services, moved from kube-system to `namespace`. */
function movedTo(namespace: string, clusterSuffix: string): KubeObject[] {
  const kinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Service']);
  return rendered
    .filter((o) => kinds.has(o.kind))
    .map((original) => {
      const o = structuredClone(original) as KubeObject & { roleRef?: { name: string }; subjects?: { kind: string; namespace?: string }[] };
      if (o.metadata.namespace !== undefined) {
        expect(o.metadata.namespace).toBe(CONTROLLER_NAMESPACE);
        o.metadata.namespace = namespace;
      } else {
        o.metadata.name += clusterSuffix;
      }
      if (o.kind === 'ClusterRoleBinding' && o.roleRef) o.roleRef.name += clusterSuffix;
      for (const subject of o.subjects ?? []) {
        if (subject.kind !== 'ServiceAccount') continue;
        expect(subject.namespace).toBe(CONTROLLER_NAMESPACE);
        subject.namespace = namespace;
      }
      return o;
    });
}

/** Admin-made SubjectAccessReview: may `who` do this? */
async function reviewAccess(
  who: Identity,
  attributes: { verb: string; resource: string; subresource?: string; name?: string; namespace?: string },
): Promise<boolean> {
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user: who.user, groups: who.groups, resourceAttributes: { group: '', ...attributes } },
  };
  const { code, stdout, stderr } = await cluster.kubectl(['create', '-o', 'json', '-f', '-'], { input: JSON.stringify(review) });
  if (code !== 0) throw new Error(`SubjectAccessReview failed: ${stderr}`);
  return (JSON.parse(stdout) as { status?: { allowed?: boolean } }).status?.allowed === true;
}

/** kubectl as the controller's ServiceAccount (impersonated by the admin). */
function asController(args: readonly string[], input?: string) {
  return cluster.kubectl([...args, `--as=${controller.user}`], input === undefined ? {} : { input });
}

/** What the controller's leader does to publish `cert`: read the ConfigMap, then create or replace it. */
async function publishAsController(cert: string): Promise<void> {
  const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CERT_CONFIGMAP, namespace: standIn }, data: { 'cert.pem': cert } };
  const current = await asController(['get', 'configmap', CERT_CONFIGMAP, '-n', standIn, '-o', 'json']);
  let written;
  if (current.code !== 0) {
    expect(current.stderr).toMatch(/NotFound/);
    written = await asController(['create', '-f', '-'], JSON.stringify(body));
  } else {
    const { resourceVersion } = (JSON.parse(current.stdout) as { metadata: { resourceVersion: string } }).metadata;
    written = await asController(['replace', '-f', '-'], JSON.stringify({ ...body, metadata: { ...body.metadata, resourceVersion } }));
  }
  expect(written.stderr).toBe('');
  expect(written.code).toBe(0);
}

interface Installed {
  readonly namespace: string;
  /** The ServiceAccount's user name there. */
  readonly user: string;
  remove(): Promise<void>;
}

/** Applies deploy/'s RBAC and Services to a new namespace standing in for kube-system. */
async function installStandIn(prefix: string): Promise<Installed> {
  const namespace = await cluster.createNamespace(prefix);
  const clusterSuffix = `-${randomBytes(4).toString('hex')}`;
  const user = `system:serviceaccount:${namespace}:${NAME}`;
  const items = movedTo(namespace, clusterSuffix);
  const applied = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
  if (applied.code !== 0) throw new Error(`applying deploy/'s RBAC failed:\n${applied.stderr}`);
  return {
    namespace,
    user,
    async remove() {
      await cluster.kubectl(['delete', 'clusterrolebinding', `${NAME}${clusterSuffix}`, '--ignore-not-found']);
      await cluster.kubectl(['delete', 'clusterrole', `secrets-unsealer${clusterSuffix}`, '--ignore-not-found']);
      await cluster.kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    },
  };
}

describe('RBAC (applied to a namespace standing in for kube-system)', () => {
  let installed: Installed | undefined;

  beforeAll(async () => {
    installed = await installStandIn('deploy-rbac');
    standIn = installed.namespace;
    controller = { user: installed.user, groups: [] };
    // The authorizer learns of new bindings through a watch: wait until it has.
    await eventually(async () => {
      expect(await canI(controller, 'create', 'leases.coordination.k8s.io', CONTROLLER_NAMESPACE)).toBe(true);
      expect(await canI(controller, 'list', 'sealedsecrets.bitnami.com', ALL_NAMESPACES)).toBe(true);
      expect(await canI(someone, 'get', `configmaps/${CERT_CONFIGMAP}`, CONTROLLER_NAMESPACE)).toBe(true);
    });
  });

  afterAll(async () => {
    await installed?.remove();
  });

  // [verb, resource, namespace (kube-system = the stand-in; '*' all; '' cluster-scoped), subresource?]
  type Check = [verb: string, resource: string, namespace: string, subresource?: string];

  const controllerMay: Check[] = [
    // secrets-unsealer, everywhere
    ['get', 'sealedsecrets.bitnami.com', ELSEWHERE],
    ['list', 'sealedsecrets.bitnami.com', ALL_NAMESPACES],
    ['watch', 'sealedsecrets.bitnami.com', ALL_NAMESPACES],
    ['update', 'sealedsecrets.bitnami.com', ELSEWHERE, 'status'],
    ['patch', 'sealedsecrets.bitnami.com', ELSEWHERE, 'status'],
    ['get', 'secrets', ELSEWHERE],
    ['list', 'secrets', ALL_NAMESPACES],
    ['watch', 'secrets', ALL_NAMESPACES],
    ['create', 'secrets', ELSEWHERE],
    ['update', 'secrets', ELSEWHERE],
    ['delete', 'secrets', ELSEWHERE],
    // As upstream: the ClusterRole covers kube-system too (SealedSecrets may live there).
    ['delete', 'secrets', CONTROLLER_NAMESPACE],
    ['create', 'events', ELSEWHERE],
    ['patch', 'events', ELSEWHERE],
    ['get', 'namespaces/some-app', CLUSTER],
    // sealed-secrets-key-admin, in its own namespace
    ['create', 'secrets', CONTROLLER_NAMESPACE],
    ['list', 'secrets', CONTROLLER_NAMESPACE],
    ['watch', 'secrets', CONTROLLER_NAMESPACE],
    ['get', 'secrets/sealed-secrets-key', CONTROLLER_NAMESPACE],
    ['create', 'leases.coordination.k8s.io', CONTROLLER_NAMESPACE],
    ['get', `leases.coordination.k8s.io/${NAME}`, CONTROLLER_NAMESPACE],
    ['update', `leases.coordination.k8s.io/${NAME}`, CONTROLLER_NAMESPACE],
    ['create', 'configmaps', CONTROLLER_NAMESPACE],
    ['get', `configmaps/${CERT_CONFIGMAP}`, CONTROLLER_NAMESPACE],
    ['update', `configmaps/${CERT_CONFIGMAP}`, CONTROLLER_NAMESPACE],
    ['get', `configmaps/${KEY_BACKUP_CONFIGMAP}`, CONTROLLER_NAMESPACE],
    ['update', `configmaps/${KEY_BACKUP_CONFIGMAP}`, CONTROLLER_NAMESPACE],
  ];

  const controllerMayNot: Check[] = [
    ['create', 'sealedsecrets.bitnami.com', ELSEWHERE],
    ['update', 'sealedsecrets.bitnami.com', ELSEWHERE],
    ['patch', 'sealedsecrets.bitnami.com', ELSEWHERE],
    ['delete', 'sealedsecrets.bitnami.com', ELSEWHERE],
    ['patch', 'secrets', ELSEWHERE],
    ['deletecollection', 'secrets', ELSEWHERE],
    ['create', 'pods', CONTROLLER_NAMESPACE],
    ['get', 'pods', ELSEWHERE],
    ['create', `serviceaccounts/${NAME}`, CONTROLLER_NAMESPACE, 'token'],
    ['update', `deployments.apps/${NAME}`, CONTROLLER_NAMESPACE],
    ['create', 'rolebindings.rbac.authorization.k8s.io', CONTROLLER_NAMESPACE],
    ['bind', 'clusterroles.rbac.authorization.k8s.io', CLUSTER],
    ['impersonate', 'users', CLUSTER],
    ['create', 'customresourcedefinitions.apiextensions.k8s.io', CLUSTER],
    ['list', 'namespaces', CLUSTER],
    ['create', 'namespaces', CLUSTER],
    ['delete', 'events', ELSEWHERE],
    // Leases: only its own, only in its namespace.
    ['create', 'leases.coordination.k8s.io', ELSEWHERE],
    ['get', `leases.coordination.k8s.io/${NAME}`, ELSEWHERE],
    ['update', 'leases.coordination.k8s.io/kube-scheduler', CONTROLLER_NAMESPACE],
    ['delete', `leases.coordination.k8s.io/${NAME}`, CONTROLLER_NAMESPACE],
    ['list', 'leases.coordination.k8s.io', CONTROLLER_NAMESPACE],
    // ConfigMaps: only the certificate's, only in its namespace.
    ['create', 'configmaps', ELSEWHERE],
    ['update', `configmaps/${CERT_CONFIGMAP}`, ELSEWHERE],
    ['get', 'configmaps/kube-proxy', CONTROLLER_NAMESPACE],
    ['update', 'configmaps/kube-proxy', CONTROLLER_NAMESPACE],
    ['list', 'configmaps', CONTROLLER_NAMESPACE],
    ['watch', 'configmaps', CONTROLLER_NAMESPACE],
    ['patch', `configmaps/${CERT_CONFIGMAP}`, CONTROLLER_NAMESPACE],
    ['delete', `configmaps/${CERT_CONFIGMAP}`, CONTROLLER_NAMESPACE],
    ['delete', `configmaps/${KEY_BACKUP_CONFIGMAP}`, CONTROLLER_NAMESPACE],
  ];

  const anyoneMay: Check[] = [
    ['get', `configmaps/${CERT_CONFIGMAP}`, CONTROLLER_NAMESPACE],
    ['get', `services/${NAME}`, CONTROLLER_NAMESPACE],
    ['create', `services/http:${NAME}:http`, CONTROLLER_NAMESPACE, 'proxy'],
    ['get', `services/http:${NAME}:http`, CONTROLLER_NAMESPACE, 'proxy'],
    ['create', `services/http:${NAME}:`, CONTROLLER_NAMESPACE, 'proxy'],
    ['get', `services/${NAME}`, CONTROLLER_NAMESPACE, 'proxy'],
  ];

  const anyoneMayNot: Check[] = [
    ['get', 'configmaps/kube-proxy', CONTROLLER_NAMESPACE],
    ['list', 'configmaps', CONTROLLER_NAMESPACE],
    ['watch', 'configmaps', CONTROLLER_NAMESPACE],
    ['update', `configmaps/${CERT_CONFIGMAP}`, CONTROLLER_NAMESPACE],
    ['get', `configmaps/${CERT_CONFIGMAP}`, ELSEWHERE],
    ['get', `configmaps/${KEY_BACKUP_CONFIGMAP}`, CONTROLLER_NAMESPACE],
    ['get', 'secrets/sealed-secrets-key', CONTROLLER_NAMESPACE],
    ['list', 'secrets', CONTROLLER_NAMESPACE],
    ['get', 'secrets', ELSEWHERE],
    ['list', 'services', CONTROLLER_NAMESPACE],
    ['get', 'services/kube-dns', CONTROLLER_NAMESPACE],
    ['update', `services/${NAME}`, CONTROLLER_NAMESPACE],
    ['create', 'services/http:kube-dns:', CONTROLLER_NAMESPACE, 'proxy'],
    ['create', `services/https:${NAME}:`, CONTROLLER_NAMESPACE, 'proxy'],
    ['create', `services/http:${NAME}:metrics`, CONTROLLER_NAMESPACE, 'proxy'],
    ['get', `leases.coordination.k8s.io/${NAME}`, CONTROLLER_NAMESPACE],
    ['list', 'sealedsecrets.bitnami.com', ELSEWHERE],
  ];

  const show = (check: Check) => `${check[0]} ${check[1]}${check[3] ? `/${check[3]}` : ''} in ${check[2] || 'the cluster'}`;

  it.each(controllerMay.map((c) => [show(c), c] as const))('the controller may %s', async (_, [verb, resource, namespace, subresource]) => {
    expect(await canI(controller, verb, resource, namespace, subresource)).toBe(true);
  });

  it.each(controllerMayNot.map((c) => [show(c), c] as const))('the controller may not %s', async (_, [verb, resource, namespace, subresource]) => {
    expect(await canI(controller, verb, resource, namespace, subresource)).toBe(false);
  });

  it.each(anyoneMay.map((c) => [show(c), c] as const))('any signed-in user may %s', async (_, [verb, resource, namespace, subresource]) => {
    expect(await canI(someone, verb, resource, namespace, subresource)).toBe(true);
  });

  it.each(anyoneMayNot.map((c) => [show(c), c] as const))('a signed-in user may not %s', async (_, [verb, resource, namespace, subresource]) => {
    expect(await canI(someone, verb, resource, namespace, subresource)).toBe(false);
  });

  it('nobody anonymous may read the certificate or use the proxy', async () => {
    // can-i cannot ask for someone who may not even ask: the admin asks for them.
    expect(await reviewAccess(anonymous, { verb: 'get', resource: 'configmaps', name: CERT_CONFIGMAP, namespace: standIn })).toBe(false);
    expect(await reviewAccess(anonymous, { verb: 'create', resource: 'services', subresource: 'proxy', name: `http:${NAME}:http`, namespace: standIn })).toBe(false);
    // The same question for a signed-in user, to show the review works.
    expect(await reviewAccess(someone, { verb: 'get', resource: 'configmaps', name: CERT_CONFIGMAP, namespace: standIn })).toBe(true);
  });

  it('lets the controller publish the certificate and hold its Lease with the requests it makes', async () => {
    // controller/key-manager.ts publishCertificate: GET, then POST or PUT.
    await publishAsController(readFixture('second-cert.pem'));
    await publishAsController(readFixture('sealing-cert.pem'));

    // controller/lease-store.ts: GET, POST, PUT of one Lease.
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: NAME, namespace: standIn },
      spec: { holderIdentity: `${NAME}-a_x1`, leaseDurationSeconds: 15 },
    };
    const created = await asController(['create', '-o', 'json', '-f', '-'], JSON.stringify(lease));
    expect(created.stderr).toBe('');
    const current = JSON.parse(created.stdout) as { metadata: { resourceVersion: string } };
    const taken = { ...lease, metadata: { ...lease.metadata, resourceVersion: current.metadata.resourceVersion }, spec: { ...lease.spec, holderIdentity: `${NAME}-b_y2` } };
    expect((await asController(['replace', '-f', '-'], JSON.stringify(taken))).stderr).toBe('');
    expect((await asController(['get', 'lease', NAME, '-n', standIn, '-o', 'jsonpath={.spec.holderIdentity}'])).stdout).toBe(`${NAME}-b_y2`);

    for (const denied of [
      ['get', 'configmaps', '-n', standIn],
      ['delete', 'lease', NAME, '-n', standIn],
      ['get', 'leases', '-n', standIn],
    ]) {
      const result = await asController(denied);
      expect(result.code, denied.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/forbidden/);
    }
  });

  // Real requests need a client certificate signed by our own control plane's CA.
  it.skipIf(cluster.dir === null)('lets a signed-in user read the certificate ConfigMap and reach the controller through the proxy', async () => {
    const cert = readFixture('sealing-cert.pem');
    await publishAsController(cert);
    await cluster.kubectl(['create', 'configmap', 'not-the-cert', '-n', standIn, '--from-literal=a=b']);
    const user = cluster.userKubeconfig('someone');

    const read = await cluster.kubectl(['get', 'configmap', CERT_CONFIGMAP, '-n', standIn, '-o', 'jsonpath={.data.cert\\.pem}'], { kubeconfig: user });
    expect(read.stderr).toBe('');
    expect(read.stdout).toBe(cert);

    for (const denied of [
      ['get', 'configmap', 'not-the-cert', '-n', standIn],
      ['get', 'configmaps', '-n', standIn],
      ['get', 'secrets', '-n', standIn],
    ]) {
      const result = await cluster.kubectl(denied, { kubeconfig: user });
      expect(result.code, denied.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/forbidden/);
    }

    // Allowed through: no pod serves the Service here, so the proxy itself answers 503.
    const path = (service: string) => `/api/v1/namespaces/${standIn}/services/${service}/proxy/v1/cert.pem`;
    const proxied = await cluster.kubectl(['get', '--raw', path(`http:${NAME}:http`)], { kubeconfig: user });
    expect(proxied.code).toBe(1);
    expect(proxied.stderr).not.toMatch(/forbidden/i);
    expect(proxied.stderr).toMatch(/ServiceUnavailable|no endpoints available/);
    const other = await cluster.kubectl(['get', '--raw', path(`http:${NAME}-metrics:metrics`)], { kubeconfig: user });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/forbidden/i);
  });
});

// ---- the controller itself, with nothing but deploy/'s RBAC --------------------------------

// It authenticates as its ServiceAccount with a client certificate signed by our control plane's CA.
describe.skipIf(cluster.dir === null)('the controller, running with only the permissions deploy/ grants it', () => {
  let installed: Installed | undefined;
  let running: ControllerProcess | undefined;
  let app = '';

  beforeAll(async () => {
    installed = await installStandIn('deploy-home');
    app = await cluster.createNamespace('deploy-app');
    const identity = cluster.userKubeconfig(installed.user, ['system:serviceaccounts', `system:serviceaccounts:${installed.namespace}`]);
    const { namespace } = installed;
    await eventually(async () => {
      expect(await canI({ user: installed!.user, groups: [] }, 'create', 'leases.coordination.k8s.io', namespace)).toBe(true);
    });
    // The Deployment's flags, less the listen addresses: the harness picks free local ports.
    const args = find<V1Deployment>('Deployment', NAME).spec!.template.spec!.containers[0]!.args!.filter((a) => !a.startsWith('--listen'));
    running = await startController({ kubeconfigPath: identity, namespace, watch: [app], args });
    await running.waitForKeys(1);
  });

  afterAll(async () => {
    await running?.stop();
    await installed?.remove();
    if (app) await cluster.kubectl(['delete', 'namespace', app, '--wait=false', '--ignore-not-found']);
  });

  it('elects itself with its Lease, keeps its key and publishes the certificate', async () => {
    const namespace = installed!.namespace;
    const served = await (await fetch(`${running!.http}/v1/cert.pem`)).text();
    expect(served).toContain('BEGIN CERTIFICATE');
    await eventually(async () => {
      const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>(cluster, ['get', 'lease', NAME, '-n', namespace]);
      expect(lease.spec.holderIdentity).toBe(running!.identity);
      const configMap = await kubectlJson<{ data?: Record<string, string> }>(cluster, ['get', 'configmap', CERT_CONFIGMAP, '-n', namespace]);
      expect(configMap.data?.['cert.pem']).toBe(served);
    });
    const keys = await kubectlJson<{ items: { type: string }[] }>(cluster, ['get', 'secrets', '-n', namespace, '-l', 'sealedsecrets.bitnami.com/sealed-secrets-key=active']);
    expect(keys.items.map((k) => k.type)).toEqual(['kubernetes.io/tls']);
  });

  it('unseals, writes status and events, and recreates a deleted Secret', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: app }, stringData: { password: 'hunter2' } };
    await apply(cluster, await seal(secret, `${running!.http}/v1/cert.pem`));
    const created = await eventually(() => getSecret(cluster, app, 'db'));
    expect(text(created.data?.password)).toBe('hunter2');
    await eventually(async () => expect(synced(await getSealed(cluster, app, 'db'))?.status).toBe('True'));
    const events = await kubectlJson<{ items: { reason: string }[] }>(cluster, ['get', 'events', '-n', app, '--field-selector', 'involvedObject.name=db']);
    expect(events.items.map((e) => e.reason)).toContain('Unsealed');

    const deleted = await cluster.kubectl(['delete', 'secret', 'db', '-n', app]);
    expect(deleted.code).toBe(0);
    await eventually(async () => expect(text((await getSecret(cluster, app, 'db')).data?.password)).toBe('hunter2'));
  });

  it('was never refused anything', () => {
    expect(running!.logs()).not.toMatch(/forbidden/i);
  });
});
