/**
 * What docs/keys.md tells admins to do, run as written with the real kubeseal binary, kubectl and
 * controller processes against real control planes:
 *
 * - rotate and retire, through the API server's service proxy: `kubeseal keys` lists the keys and
 *   how many SealedSecrets need each, `kubeseal --re-encrypt <directory>` moves them to the newest
 *   key, the old key's count drops to zero, and relabelling retires it while everything stays Synced;
 * - the disaster drill: cluster A (controller with --key-backup-recipient) seals, renews twice and
 *   is destroyed; a new control plane B gets only the escrow ConfigMap and the SealedSecrets (as
 *   from git) plus the admin's age identity; `kubeseal keys restore | kubectl apply` puts the keys
 *   back and B's controller unseals every SealedSecret A sealed.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startOwnControlPlane, useCluster, type ClusterClient, type ControlPlane } from '../harness/cluster.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { createNetns, exposeController, netnsUnavailable, startControllerIn, type Netns } from '../harness/netns.ts';
import { runKubeseal, type CliResult } from '../run-cli.ts';
import { generateAgeIdentity } from '../../shared/age.ts';
import type { ControllerKeys } from '../../shared/controller-api.ts';
import { parsePrivateKey, keyFingerprint } from '../../shared/keys.ts';
import { apply, getSealed, getSecret, kubectlJson, synced, text } from './kube.ts';

const cluster = useCluster();
const noNetns = await netnsUnavailable();
const scratch = mkdtempSync(join(tmpdir(), 'kubeseal-keys-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';
const secret = (name: string, namespace: string) => JSON.stringify({
  apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: { password: `pw-of-${name}` },
});
const keysLoaded = (controller: ControllerProcess, n: number) => controller.waitForKeys(n);

function ok(result: CliResult): string {
  expect(result.stderr, result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout.toString();
}

/** The fingerprints of a controller namespace's key Secrets, by Secret name. */
async function keyFingerprints(client: ClusterClient, namespace: string): Promise<Record<string, string>> {
  const list = await kubectlJson<{ items: { metadata: { name: string }; data: Record<string, string> }[] }>(client, ['get', 'secrets', '-n', namespace, '-l', KEY_LABEL]);
  return Object.fromEntries(list.items.map((s) => [s.metadata.name, keyFingerprint(parsePrivateKey(Buffer.from(s.data['tls.key'] ?? '', 'base64'), s.metadata.name))]));
}

describe.skipIf(noNetns !== null)('rotate and retire through the controller', () => {
  let netns: Netns;
  let controller: ControllerProcess;
  let home = '';
  let app = '';
  const admin = { KUBECONFIG: cluster.kubeconfigPath };
  // A subcommand is the first word; the flags follow it.
  const kubeseal = (args: readonly string[], stdin?: string) => runKubeseal(
    args[0] === 'keys' ? ['keys', '--controller-namespace', home, ...args.slice(1)] : ['--controller-namespace', home, ...args],
    { env: admin, ...(stdin === undefined ? {} : { stdin }) },
  );
  const listed = async (): Promise<ControllerKeys> => JSON.parse(ok(await kubeseal(['keys', '-o', 'json']))) as ControllerKeys;
  const repo = join(scratch, 'repo');

  beforeAll(async () => {
    home = await cluster.createNamespace('keys-cli-home');
    app = await cluster.createNamespace('keys-cli-app');
    netns = await createNetns();
    controller = await startControllerIn(netns, { kubeconfigPath: cluster.kubeconfigPath, server: cluster.server, namespace: home, watch: [app] });
    await keysLoaded(controller, 1);
    await exposeController(cluster, { namespace: home, name: 'sealed-secrets-controller', address: netns.address, targetPort: 8080 });
  });
  afterAll(async () => {
    await controller?.stop();
    await netns?.destroy();
  });

  it('kubeseal keys lists the key, and counts the SealedSecrets that need it once the controller opened them', async () => {
    const [name, fingerprint] = Object.entries(await keyFingerprints(cluster, home))[0] ?? [];
    const table = ok(await kubeseal(['keys'])).trimEnd().split('\n').map((line) => line.split(/\s{3,}/));
    expect(table[0]).toEqual(['NAME', 'FINGERPRINT', 'NOT BEFORE', 'SEALING', 'RETIRED', 'SEALED SECRETS']);
    expect(table.slice(1)).toEqual([[name, fingerprint, expect.stringMatching(/^\d{4}-\d\d-\d\dT/), 'yes', 'no', '0']]);

    mkdirSync(join(repo, 'team'), { recursive: true });
    for (const [file, names] of [['db.yaml', ['db']], ['team/api.yaml', ['api', 'worker']]] as const) {
      const sealed = names.map(async (n) => ok(await kubeseal(['-o', 'yaml'], secret(n, app))));
      writeFileSync(join(repo, file), (await Promise.all(sealed)).join(''));
      await apply(cluster, readFileSync(join(repo, file), 'utf8'));
    }
    writeFileSync(join(repo, 'kustomization.yaml'), 'resources:\n- db.yaml\n- team/api.yaml\n');
    const counted = await eventually(async () => {
      const keys = await listed();
      expect(keys.keys.map((k) => [k.name, k.sealedSecrets])).toEqual([[name, 3]]);
      return keys;
    }, { timeoutMs: 60_000 });
    expect(counted.missing).toEqual([]);
  });

  it('after a renewal, --re-encrypt of the directory moves every SealedSecret to the new key; the old key\'s count drops to zero', async () => {
    const before = await keyFingerprints(cluster, home);
    controller.child.kill('SIGUSR1');
    await keysLoaded(controller, 2);
    const after = await keyFingerprints(cluster, home);
    const [newName, newFingerprint] = Object.entries(after).find(([n]) => !(n in before)) ?? [];
    const [oldName] = Object.keys(before);
    await eventually(async () => expect((await listed()).keys.find((k) => k.sealing)?.name).toBe(newName));

    const kustomization = readFileSync(join(repo, 'kustomization.yaml'), 'utf8');
    const result = await kubeseal(['--re-encrypt', repo]);
    expect(result.stderr).toBe('re-encrypted 3 SealedSecrets, 0 already current, 0 failed\n');
    expect(result).toMatchObject({ code: 0, stdout: Buffer.alloc(0) });
    expect(readFileSync(join(repo, 'kustomization.yaml'), 'utf8')).toBe(kustomization);
    expect(readdirSync(join(repo, 'team'))).toEqual(['api.yaml']);

    for (const file of ['db.yaml', 'team/api.yaml']) await apply(cluster, readFileSync(join(repo, file), 'utf8'));
    await eventually(async () => {
      const keys = await listed();
      expect(Object.fromEntries(keys.keys.map((k) => [k.name, k.sealedSecrets]))).toEqual({ [oldName as string]: 0, [newName as string]: 3 });
    }, { timeoutMs: 60_000 });
    const status = await getSealed(cluster, app, 'worker') as Awaited<ReturnType<typeof getSealed>> & { status?: { keyFingerprints?: string[] } };
    expect(status.status?.keyFingerprints).toEqual([newFingerprint]);
    expect(text((await getSecret(cluster, app, 'worker')).data?.password)).toBe('pw-of-worker');

    // Nothing left to do: the cluster's status shows each is sealed with the sealing key already.
    const again = await kubeseal(['--re-encrypt', repo]);
    expect(again).toMatchObject({ code: 0, stderr: 're-encrypted 0 SealedSecrets, 3 already current, 0 failed\n' });
  });

  it('relabelling the unused old key retires it: listed as retired, no longer sealing or needed, every Secret still Synced', async () => {
    const keys = await listed();
    const old = keys.keys.find((k) => !k.sealing);
    expect(old?.sealedSecrets).toBe(0);
    const relabel = await cluster.kubectl(['label', 'secret', old?.name ?? '', '-n', home, '--overwrite', `${KEY_LABEL}=retired`]);
    expect(relabel.code, relabel.stderr).toBe(0);
    await eventually(async () => {
      const now = await listed();
      expect(now.keys.map((k) => [k.name, k.sealing, k.retired])).toEqual(expect.arrayContaining([[old?.name, false, true]]));
      expect(now.missing).toEqual([]);
    });
    for (const name of ['db', 'api', 'worker']) expect(synced(await getSealed(cluster, app, name))?.status).toBe('True');
    const table = ok(await kubeseal(['keys']));
    expect(table).toMatch(new RegExp(`^${old?.name}\\s{3,}\\S+\\s{3,}\\S+\\s{3,}no\\s{3,}yes\\s{3,}0$`, 'm'));
  });

  it('kubeseal keys against a Service with no such controller fails in one line naming the fix', async () => {
    const result = await runKubeseal(['keys', '--controller-namespace', home, '--controller-name', 'nothing-here'], { env: admin });
    expect(result.code).toBe(1);
    expect(result.stdout.toString()).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^error: .*"nothing-here".*not found.*--controller-name/)]);
  });
});

describe('the disaster drill: escrow ConfigMap + age identity restore every key in a new cluster', () => {
  let a: ControlPlane | undefined;
  let b: ControlPlane | undefined;
  const running: ControllerProcess[] = [];
  afterAll(async () => {
    await Promise.all(running.map((c) => c.stop()));
    await a?.stop();
    await b?.stop();
  });

  it('cluster A seals and renews twice, is destroyed; B gets only git and the identity, and unseals all of it', async () => {
    const admin = await generateAgeIdentity();
    const identity = join(scratch, 'admin.agekey');
    writeFileSync(identity, `# public key: ${admin.recipient}\n${admin.identity}\n`, { mode: 0o600 });
    const git = join(scratch, 'git');
    mkdirSync(git);

    a = await startOwnControlPlane();
    const home = await a.createNamespace('drill-home');
    const app = await a.createNamespace('drill-app');
    const inA = await startController({ kubeconfigPath: a.kubeconfigPath, namespace: home, watch: [app], args: ['--key-backup-recipient', admin.recipient] });
    running.push(inA);
    await keysLoaded(inA, 1);
    const names = ['first', 'second', 'third'];
    for (const [index, name] of names.entries()) {
      if (index > 0) {
        inA.child.kill('SIGUSR1');
        await keysLoaded(inA, index + 1);
      }
      const sealed = await runKubeseal(['--cert', `${inA.http}/v1/cert.pem`, '-o', 'yaml'], { stdin: secret(name, app) });
      writeFileSync(join(git, `${name}.yaml`), ok(sealed));
      await apply(a, readFileSync(join(git, `${name}.yaml`), 'utf8'));
    }
    for (const name of names) await eventually(() => getSecret(a as ControlPlane, app, name));
    const keysOfA = await keyFingerprints(a, home);
    expect(Object.keys(keysOfA)).toHaveLength(3);
    // The escrow ConfigMap as an admin commits it to git, once it holds every key.
    const backup = await eventually(async () => {
      const result = await a!.kubectl(['get', 'configmap', 'sealed-secrets-key-backup', '-n', home, '-o', 'yaml']);
      expect(result.code, result.stderr).toBe(0);
      for (const name of Object.keys(keysOfA)) expect(result.stdout).toContain(`${name}.age:`);
      return result.stdout;
    }, { timeoutMs: 60_000 });
    expect(backup).not.toContain('BEGIN RSA PRIVATE KEY');
    writeFileSync(join(git, 'key-backup.yaml'), backup);

    await inA.stop();
    running.splice(running.indexOf(inA), 1);
    await a.stop();
    a = undefined;

    // Offline, before any cluster exists: the backup and the identity open what A sealed.
    const offline = await runKubeseal(['--recovery-unseal', '--recovery-private-key', join(git, 'key-backup.yaml'), '--recovery-age-identity', identity, '-o', 'yaml'], {
      stdin: names.map((n) => readFileSync(join(git, `${n}.yaml`), 'utf8')).join(''),
    });
    expect(ok(offline).match(/^kind: Secret$/gm)).toHaveLength(3);

    b = await startOwnControlPlane();
    for (const ns of [home, app]) expect((await b.kubectl(['create', 'namespace', ns])).code).toBe(0);
    // docs/keys.md, "Restore": the keys first, then the controller.
    const restored = await runKubeseal(['keys', 'restore', '--recovery-private-key', join(git, 'key-backup.yaml'), '--recovery-age-identity', identity, '--controller-namespace', home]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(/^3 key Secrets for namespace "[^"]+": /);
    const applied = await b.kubectl(['apply', '-f', '-'], { input: restored.stdout.toString() });
    expect(applied.code, applied.stderr).toBe(0);
    expect(await keyFingerprints(b, home)).toEqual(keysOfA);

    const inB = await startController({ kubeconfigPath: b.kubeconfigPath, namespace: home, watch: [app] });
    running.push(inB);
    await keysLoaded(inB, 3);
    for (const name of names) await apply(b, readFileSync(join(git, `${name}.yaml`), 'utf8'));
    for (const name of names) {
      const opened = await eventually(() => getSecret(b as ControlPlane, app, name), { timeoutMs: 60_000 });
      expect(text(opened.data?.password)).toBe(`pw-of-${name}`);
    }
    expect(inB.logs()).not.toMatch(/new sealing key generated/);
  });
});
