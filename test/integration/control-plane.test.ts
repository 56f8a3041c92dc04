/**
 * The test control plane itself: admin access from every kind of client, RBAC, the garbage
 * collector and namespace controller, restarting the API server, and that no process outlives
 * its owner.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApiException, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startOwnControlPlane, useCluster } from '../harness/cluster.ts';
import { repoRoot, startControlPlane, sweepStaleTempDirs, type ControlPlane } from '../../scripts/cluster/control-plane.ts';

const cluster = useCluster();
const core = cluster.kc.makeApiClient(CoreV1Api);
const custom = cluster.kc.makeApiClient(CustomObjectsApi);
const HARNESS = join(repoRoot(), 'scripts', 'cluster', 'control-plane.ts');

/** True while `pid` is a live process (a zombie counts as dead). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(isAlive);
}

async function expectApiError(promise: Promise<unknown>, code: number): Promise<void> {
  const error = await promise.then(
    () => new Error('expected the API call to fail'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiException);
  expect((error as ApiException<unknown>).code).toBe(code);
}

function sealedSecret(name: string) {
  return { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name }, spec: { encryptedData: { a: 'AgA=' } } };
}

describe('the shared control plane', () => {
  it('is a v1.37.2 API server that reports ready', async () => {
    const version = await cluster.kubectl(['version', '-o', 'json']);
    expect(version.code).toBe(0);
    expect((JSON.parse(version.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion).toBe('v1.37.2');
    const readyz = await cluster.kubectl(['get', '--raw', '/readyz']);
    expect(readyz).toMatchObject({ code: 0, stdout: 'ok' });
    expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('gives kubectl, client-node and a child process given only the kubeconfig admin access', async () => {
    const whoami = await cluster.kubectl(['auth', 'whoami', '-o', 'json']);
    expect(whoami.code).toBe(0);
    const { status } = JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; groups: string[] } } };
    expect(status.userInfo.username).toBe('admin');
    expect(status.userInfo.groups).toContain('system:masters');

    expect((await core.readNamespace({ name: 'default' })).metadata?.name).toBe('default');

    const script = [
      "import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';",
      'const kc = new KubeConfig(); kc.loadFromDefault();',
      "const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name: 'kube-system' });",
      'console.log(ns.metadata.name);',
    ].join('\n');
    const child = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun) => {
      const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: repoRoot(),
        env: { PATH: process.env.PATH ?? '', KUBECONFIG: cluster.kubeconfigPath },
      });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      proc.on('close', (code) => resolveRun({ code, stdout, stderr }));
    });
    expect(child.stderr).toBe('');
    expect(child).toMatchObject({ code: 0, stdout: 'kube-system\n' });
  });

  // Needs the CA of a control plane started by the harness (not there with KUBECONFIG_TEST).
  it.skipIf(cluster.dir === null)('refuses anonymous requests', async () => {
    const ca = readFileSync(join(cluster.dir ?? '', 'pki', 'ca.crt'), 'utf8');
    const status = await new Promise<number>((resolveStatus, reject) => {
      const req = request(`${cluster.server}/api/v1/namespaces`, { ca }, (res) => {
        res.resume();
        resolveStatus(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
  });

  it('creates a fresh namespace per call', async () => {
    const [a, b] = await Promise.all([cluster.createNamespace('Same Prefix!'), cluster.createNamespace('Same Prefix!')]);
    expect(a).toMatch(/^same-prefix-[0-9a-f]{8}$/);
    expect(b).not.toBe(a);
    expect((await core.readNamespace({ name: a })).status?.phase).toBe('Active');
  });
});

describe.skipIf(cluster.dir === null)('RBAC', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await cluster.createNamespace('rbac');
  });

  it('authenticates a user kubeconfig as that user and its groups', async () => {
    const alice = cluster.userKubeconfig('alice', ['team-a', 'auditors']);
    const whoami = await cluster.kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: alice });
    expect(whoami.code).toBe(0);
    const { userInfo } = (JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; groups: string[] } } }).status;
    expect(userInfo.username).toBe('alice');
    expect(userInfo.groups).toEqual(expect.arrayContaining(['team-a', 'auditors', 'system:authenticated']));
    expect(userInfo.groups).not.toContain('system:masters');
  });

  it('refuses a non-admin identity until a role is bound, then allows exactly that role', async () => {
    const bob = cluster.userKubeconfig('bob');
    const denied = await cluster.kubectl(['get', 'sealedsecrets', '-n', ns], { kubeconfig: bob });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('User "bob" cannot list resource "sealedsecrets" in API group "bitnami.com"');
    const bobCustom = cluster.kubeConfig(bob).makeApiClient(CustomObjectsApi);
    const list = () => bobCustom.listNamespacedCustomObject({ group: 'bitnami.com', version: 'v1alpha1', namespace: ns, plural: 'sealedsecrets' });
    await expectApiError(list(), 403);

    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: { metadata: { name: 'read-sealedsecrets' }, rules: [{ apiGroups: ['bitnami.com'], resources: ['sealedsecrets'], verbs: ['get', 'list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'bob-reads-sealedsecrets' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-sealedsecrets' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob' }],
      },
    });
    await eventually(async () => expect((await list()) as { items: unknown[] }).toMatchObject({ items: [] }));
    const allowed = await cluster.kubectl(['get', 'sealedsecrets', '-n', ns], { kubeconfig: bob });
    expect(allowed).toMatchObject({ code: 0, stdout: '' });
    expect(allowed.stderr).toContain('No resources found');

    // Only that: no Secrets, no SealedSecrets elsewhere, no writes.
    await expectApiError(cluster.kubeConfig(bob).makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: ns }), 403);
    await expectApiError(bobCustom.listNamespacedCustomObject({ group: 'bitnami.com', version: 'v1alpha1', namespace: 'default', plural: 'sealedsecrets' }), 403);
    await expectApiError(
      bobCustom.createNamespacedCustomObject({ group: 'bitnami.com', version: 'v1alpha1', namespace: ns, plural: 'sealedsecrets', body: sealedSecret('nope') }),
      403,
    );
  });
});

describe('kube-controller-manager', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await cluster.createNamespace('gc');
  });

  it('garbage-collects a Secret whose owning SealedSecret is deleted', async () => {
    const owner = (await custom.createNamespacedCustomObject({
      group: 'bitnami.com',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'sealedsecrets',
      body: sealedSecret('owner'),
    })) as { metadata: { uid: string } };
    const ownerReferences = [{ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'owner', uid: owner.metadata.uid, controller: true }];
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'owned', ownerReferences }, stringData: { a: 'b' } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'independent' }, stringData: { a: 'b' } } });

    // While the owner exists the Secret stays.
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 2_000));
    expect((await core.readNamespacedSecret({ name: 'owned', namespace: ns })).metadata?.name).toBe('owned');

    await custom.deleteNamespacedCustomObject({ group: 'bitnami.com', version: 'v1alpha1', namespace: ns, plural: 'sealedsecrets', name: 'owner' });
    await eventually(() => expectApiError(core.readNamespacedSecret({ name: 'owned', namespace: ns }), 404), { timeoutMs: 60_000, intervalMs: 500 });
    expect((await core.readNamespacedSecret({ name: 'independent', namespace: ns })).metadata?.name).toBe('independent');
  });

  it('garbage-collects a Secret whose owner never existed', async () => {
    const ownerReferences = [{ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'ghost', uid: '6c1d0f3e-0000-4000-8000-000000000000' }];
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'orphan', ownerReferences }, stringData: { a: 'b' } } });
    await eventually(() => expectApiError(core.readNamespacedSecret({ name: 'orphan', namespace: ns }), 404), { timeoutMs: 60_000, intervalMs: 500 });
  });

  it('finalizes a deleted namespace with SealedSecrets and Secrets in it', async () => {
    const doomed = await cluster.createNamespace('doomed');
    await custom.createNamespacedCustomObject({ group: 'bitnami.com', version: 'v1alpha1', namespace: doomed, plural: 'sealedsecrets', body: sealedSecret('s') });
    await core.createNamespacedSecret({ namespace: doomed, body: { metadata: { name: 's' }, stringData: { a: 'b' } } });
    await core.deleteNamespace({ name: doomed });
    await eventually(() => expectApiError(core.readNamespace({ name: doomed }), 404), { timeoutMs: 60_000, intervalMs: 500 });
  });
});

describe('a control plane of its own', () => {
  let plane: ControlPlane | null = null;
  afterAll(async () => {
    await plane?.stop();
  });

  it('starts within 90 s, survives an API server restart on the same port, and stops without leftovers', async () => {
    plane = await startOwnControlPlane();
    expect(plane.timings.total).toBeLessThan(90_000);
    const before = plane.pids();
    expect(before.controllerManager).toBeNull();
    const ns = await plane.createNamespace('restart');
    expect((await plane.kubectl(['create', 'configmap', 'kept', '-n', ns, '--from-literal=a=b'])).code).toBe(0);

    await plane.restartApiServer();
    const after = plane.pids();
    expect(after.apiServer).not.toBe(before.apiServer);
    expect(after.etcd).toBe(before.etcd);
    expect(isAlive(before.apiServer)).toBe(false);
    const kept = await plane.kubectl(['get', 'configmap', 'kept', '-n', ns, '-o', 'jsonpath={.data.a}']);
    expect(kept).toMatchObject({ code: 0, stdout: 'b' });
    expect((await plane.kubectl(['get', 'sealedsecrets', '-n', ns])).code).toBe(0);

    const { dir } = plane;
    await plane.stop();
    await plane.stop(); // idempotent
    expect([after.etcd, after.apiServer].filter(isAlive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
  });

  it('fails with the failing process and its last log lines, leaving nothing behind', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'fake-bins-'));
    try {
      const binDir = join(scratch, 'bin');
      mkdirSync(binDir);
      for (const name of ['etcd', 'kubectl']) symlinkSync(join(cluster.binDir, name), join(binDir, name));
      writeFileSync(join(binDir, 'kube-apiserver'), '#!/bin/sh\necho "fake kube-apiserver: refusing to start" >&2\nexit 3\n', { mode: 0o755 });
      const dir = join(scratch, 'plane');
      await expect(startControlPlane({ binDir, dir, crdDirs: [] })).rejects.toThrow(
        /kube-apiserver exited with code 3 while waiting for kube-apiserver \/readyz[\s\S]*fake kube-apiserver: refusing to start/,
      );
      expect(existsSync(dir)).toBe(false);
      expect(processesMentioning(dir)).toEqual([]);

      await expect(startControlPlane({ binDir: scratch })).rejects.toThrow(/etcd is missing: run `npm run cluster:build`/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  /** Starts a control plane in a child Node process and returns it with the plane's pids and dir. */
  async function planeInChild() {
    const script = [
      `import { startControlPlane } from ${JSON.stringify(pathToFileURL(HARNESS).href)};`,
      `const plane = await startControlPlane({ binDir: ${JSON.stringify(cluster.binDir)}, crdDirs: [] });`,
      'console.log(JSON.stringify({ dir: plane.dir, pids: plane.pids() }));',
      'setInterval(() => {}, 60_000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const line = await new Promise<string>((resolveLine, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) resolveLine(stdout.split('\n')[0] ?? '');
      });
      child.on('exit', (code) => reject(new Error(`child exited with ${code}: ${stderr}`)));
    });
    const started = JSON.parse(line) as { dir: string; pids: { etcd: number; apiServer: number } };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
      child.on('exit', (code, signal) => resolveExit({ code, signal })),
    );
    return { child, exited, ...started, pids: [started.pids.etcd, started.pids.apiServer] };
  }

  it('dies with its owner even when the owner is SIGKILLed', async () => {
    const { child, exited, dir, pids } = await planeInChild();
    try {
      expect(pids.filter(isAlive)).toHaveLength(2);
      child.kill('SIGKILL');
      expect((await exited).signal).toBe('SIGKILL');
      await eventually(() => expect(pids.filter(isAlive)).toEqual([]), { timeoutMs: 10_000 });
      // Nothing could remove its directory; the next control plane to start does.
      expect(existsSync(dir)).toBe(true);
      sweepStaleTempDirs();
      expect(existsSync(dir)).toBe(false);
    } finally {
      for (const pid of pids.filter(isAlive)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is stopped and removed when its owner gets SIGTERM', async () => {
    const { child, exited, dir, pids } = await planeInChild();
    try {
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 143, signal: null });
      await eventually(() => expect(pids.filter(isAlive)).toEqual([]), { timeoutMs: 10_000 });
      expect(existsSync(dir)).toBe(false);
    } finally {
      for (const pid of pids.filter(isAlive)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
