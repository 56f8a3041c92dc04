/**
 * The controller against a real API server, run as users run it, with kubeseal and kubectl as
 * clients: seal -> apply -> the Secret appears; scopes; managed/patch/unowned Secrets; deleted
 * Secrets recreated; status and events as Argo CD reads them; garbage collection.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import bcryptjs from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hybridEncrypt } from '../../shared/crypto.ts';
import { encryptionLabel } from '../../shared/scope.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { apply, b64, getSealed, getSecret, kubectlJson, seal, synced, text } from './kube.ts';

const cluster = useCluster();
let controller: ControllerProcess;
let home = '';
let ns = '';
let other = '';
let cert = '';

beforeAll(async () => {
  home = await cluster.createNamespace('ctl-home');
  ns = await cluster.createNamespace('ctl-app');
  other = await cluster.createNamespace('ctl-other');
  controller = await startController({ kubeconfigPath: cluster.kubeconfigPath, namespace: home, watch: [ns, other] });
  await controller.waitForKeys(1);
  cert = `${controller.http}/v1/cert.pem`;
});
afterAll(async () => {
  await controller?.stop();
});

const secret = (name: string, namespace: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  stringData: { username: 'admin', password: 's3cr3t' },
  ...extra,
});

describe('unsealing', () => {
  it('seal -> apply -> the Secret appears with exactly the data, binary values too', async () => {
    const binary = Buffer.from([0, 255, 254, 128, 10, 13]);
    await apply(cluster, await seal(secret('basic', ns, { data: { blob: b64(binary) }, type: 'kubernetes.io/basic-auth', metadata: { name: 'basic', namespace: ns, labels: { app: 'shop' }, annotations: { team: 'payments' } } }), cert));
    const created = await eventually(() => getSecret(cluster, ns, 'basic'));
    expect(Object.keys(created.data ?? {}).sort()).toEqual(['blob', 'password', 'username']);
    expect(Buffer.from(created.data?.blob ?? '', 'base64').equals(binary)).toBe(true);
    expect(text(created.data?.password)).toBe('s3cr3t');
    expect(created.type).toBe('kubernetes.io/basic-auth');
    expect(created.metadata.labels).toEqual({ app: 'shop' });
    expect(created.metadata.annotations).toEqual({ team: 'payments' });
    const sealed = await getSealed(cluster, ns, 'basic');
    expect(created.metadata.ownerReferences).toEqual([{ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', name: 'basic', uid: sealed.metadata.uid, controller: true }]);
    // status and event as Argo CD's health check reads them
    const status = await eventually(async () => {
      const s = await getSealed(cluster, ns, 'basic');
      expect(synced(s)?.status).toBe('True');
      return s;
    });
    expect(status.status?.observedGeneration).toBe(status.metadata.generation);
    const events = await kubectlJson<{ items: { reason: string; type: string; involvedObject: { name: string } }[] }>(cluster, ['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=basic']);
    expect(events.items.map((e) => [e.reason, e.type])).toContainEqual(['Unsealed', 'Normal']);
    const columns = await cluster.kubectl(['get', 'sealedsecret', 'basic', '-n', ns]);
    expect(columns.stdout).toMatch(/NAME\s+STATUS\s+SYNCED\s+AGE\nbasic\s+True\s+\d+s/);
  });

  it('keeps immutable and type from the template', async () => {
    await apply(cluster, await seal(secret('frozen', ns, { immutable: true, type: 'Opaque' }), cert));
    const created = await eventually(() => getSecret(cluster, ns, 'frozen'));
    expect(created.immutable).toBe(true);
  });

  it('a strict SealedSecret renamed or moved does not open: Synced=False with the reason', async () => {
    const sealedYaml = await seal(secret('original', ns), cert);
    await apply(cluster, sealedYaml.replace(/name: original/g, 'name: renamed'));
    await apply(cluster, sealedYaml.replaceAll(`namespace: ${ns}`, `namespace: ${other}`));
    for (const [namespace, name] of [[ns, 'renamed'], [other, 'original']] as const) {
      const failed = await eventually(async () => {
        const s = await getSealed(cluster, namespace, name);
        expect(synced(s)?.status).toBe('False');
        return s;
      });
      expect(synced(failed)?.message).toBe('no key could decrypt secret (password, username)');
      expect((await cluster.kubectl(['get', 'secret', name, '-n', namespace])).code).not.toBe(0);
      const events = await kubectlJson<{ items: { reason: string; type: string }[] }>(cluster, ['get', 'events', '-n', namespace, '--field-selector', `involvedObject.name=${name}`]);
      expect(events.items.map((e) => [e.reason, e.type])).toContainEqual(['ErrUnsealFailed', 'Warning']);
    }
  });

  it('namespace-wide opens under any name in its namespace; cluster-wide anywhere', async () => {
    const wide = await seal(secret('wide', ns), cert, ['--scope', 'namespace-wide']);
    await apply(cluster, wide.replace(/name: wide/g, 'name: wide-renamed'));
    expect(text((await eventually(() => getSecret(cluster, ns, 'wide-renamed'))).data?.username)).toBe('admin');
    const everywhere = await seal(secret('everywhere', ns), cert, ['--scope', 'cluster-wide']);
    await apply(cluster, everywhere.replaceAll(`namespace: ${ns}`, `namespace: ${other}`));
    expect(text((await eventually(() => getSecret(cluster, other, 'everywhere'))).data?.password)).toBe('s3cr3t');
  });

  it('opens values sealed by @linode/kubeseal-encrypt (namespace-wide)', async () => {
    const { encryptSecretItem } = await import('@linode/kubeseal-encrypt');
    const { X509Certificate } = await import('node:crypto');
    const pem = await (await fetch(cert)).text();
    const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const value = await encryptSecretItem(spki, ns, 'from linode ✓');
    await apply(cluster, {
      apiVersion: 'bitnami.com/v1alpha1',
      kind: 'SealedSecret',
      metadata: { name: 'linode', namespace: ns, annotations: { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } },
      spec: { encryptedData: { token: value }, template: { metadata: { name: 'linode', namespace: ns } } },
    });
    expect(text((await eventually(() => getSecret(cluster, ns, 'linode'))).data?.token)).toBe('from linode ✓');
  });

  it('renders spec.template.data as upstream: plaintext parts, Sprig, encrypted wins, null omits', async () => {
    const sealedYaml = await seal(secret('templated', ns), cert);
    const templated = sealedYaml.replace('  template:\n', [
      '  template:',
      '    data:',
      '      host: db.internal',
      '      dsn: "postgres://{{ .username }}:{{ .password | urlquery }}@{{ .host }}/{{ .username | upper }}"',
      '      username: "loses to the encrypted value"',
      '      password: null',
      '',
    ].join('\n'));
    // kubectl create, not apply: client-side apply drops null values from what it sends.
    const created0 = await cluster.kubectl(['create', '-f', '-'], { input: templated });
    expect([created0.code, created0.stderr]).toEqual([0, '']);
    const created = await eventually(() => getSecret(cluster, ns, 'templated'));
    expect(Object.keys(created.data ?? {}).sort()).toEqual(['dsn', 'host', 'username']);
    expect(text(created.data?.dsn)).toBe('postgres://admin:s3cr3t@db.internal/ADMIN');
    expect(text(created.data?.username)).toBe('admin');
    expect(synced(await getSealed(cluster, ns, 'templated'))?.status).toBe('True');
  });

  it('renders Sprig\'s crypto helpers on the unseal threads: htpasswd, AES, a generated CA and a certificate it signs', async () => {
    const sealedYaml = await seal(secret('crypto-template', ns), cert);
    await apply(cluster, sealedYaml.replace('  template:\n', [
      '  template:',
      '    data:',
      '      htpasswd: "{{ htpasswd .username .password }}"',
      '      roundtrip: "{{ encryptAES \\"k\\" .password | decryptAES \\"k\\" }}"',
      '      tls: "{{ $ca := genCA \\"ca\\" 30 }}{{ $c := genSignedCert \\"svc\\" nil (list \\"svc.local\\") 30 $ca }}{{ $ca.Cert }}{{ $c.Cert }}"',
      '',
    ].join('\n')));
    const created = await eventually(() => getSecret(cluster, ns, 'crypto-template'));
    const [user, hash] = text(created.data?.htpasswd).split(':');
    expect(user).toBe('admin');
    expect(bcryptjs.compareSync('s3cr3t', hash!)).toBe(true);
    expect(text(created.data?.roundtrip)).toBe('s3cr3t');
    const [ca, leaf] = text(created.data?.tls).match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)!.map((p) => new X509Certificate(p));
    expect(ca!.ca).toBe(true);
    expect(leaf!.checkIssued(ca!) && leaf!.verify(ca!.publicKey)).toBe(true);
    expect(leaf!.subjectAltName).toBe('DNS:svc.local');
  });

  it('a template that fails: Synced=False with Go\'s message, no Secret, no value in the message', async () => {
    const sealedYaml = await seal(secret('bad-template', ns), cert);
    await apply(cluster, sealedYaml.replace('  template:\n', '  template:\n    data:\n      config: "{{ .password | fail }}"\n'));
    const failed = await eventually(async () => {
      const s = await getSealed(cluster, ns, 'bad-template');
      expect(synced(s)?.status).toBe('False');
      return s;
    });
    expect(synced(failed)?.message).toMatch(/^template: config:1:\d+: executing "config" .*\(config\)$/);
    expect(synced(failed)?.message).not.toContain('s3cr3t');
    const { code } = await cluster.kubectl(['get', 'secret', 'bad-template', '-n', ns]);
    expect(code).not.toBe(0);
  });

  it('keeps going after a malformed SealedSecret', async () => {
    await apply(cluster, { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'garbage', namespace: ns }, spec: { encryptedData: { a: 'not base64 !!!', b: 'AgA=' } } });
    const failed = await eventually(async () => {
      const s = await getSealed(cluster, ns, 'garbage');
      expect(synced(s)?.status).toBe('False');
      return s;
    });
    expect(synced(failed)?.message).toMatch(/^.*illegal base64 data \(a\)/);
    await apply(cluster, await seal(secret('after-garbage', ns), cert));
    await eventually(() => getSecret(cluster, ns, 'after-garbage'));
  });

  it('a deprecated v1 spec.data whose plaintext is a JSON number: Synced=False and an Event, neither with the plaintext (issue 8)', async () => {
    const publicKey = new X509Certificate(await (await fetch(cert)).text()).publicKey;
    const blob = hybridEncrypt(publicKey, Buffer.from('31337424242'), encryptionLabel('strict', ns, 'v1-number'), randomBytes);
    await apply(cluster, { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'v1-number', namespace: ns }, spec: { data: blob.toString('base64'), encryptedData: {} } });
    const failed = await eventually(async () => {
      const s = await getSealed(cluster, ns, 'v1-number');
      expect(synced(s)?.status).toBe('False');
      return s;
    });
    expect(synced(failed)?.message).toMatch(/^the deprecated spec.data does not hold a Secret: spec.data is not a Kubernetes object \(it is a number\)/);
    const events = await eventually(async () => {
      const list = await kubectlJson<{ items: { reason: string; message: string }[] }>(cluster, ['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=v1-number']);
      expect(list.items.length).toBeGreaterThan(0);
      return list.items;
    });
    expect(JSON.stringify(events)).not.toContain('31337424242');
    expect(JSON.stringify(failed.status)).not.toContain('31337424242');
    expect(controller.logs()).not.toContain('31337424242');
  });
});

describe('existing Secrets', () => {
  it('never overwrites a Secret it does not own', async () => {
    await apply(cluster, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'unowned', namespace: ns }, stringData: { username: 'mine' } });
    await apply(cluster, await seal(secret('unowned', ns), cert));
    const failed = await eventually(async () => {
      const s = await getSealed(cluster, ns, 'unowned');
      expect(synced(s)?.status).toBe('False');
      return s;
    });
    expect(synced(failed)?.message).toBe('Resource "unowned" already exists and is not managed by SealedSecret');
    expect(text((await getSecret(cluster, ns, 'unowned')).data?.username)).toBe('mine');
    const events = await kubectlJson<{ items: { reason: string }[] }>(cluster, ['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=unowned']);
    expect(events.items.map((e) => e.reason)).toContain('ErrUpdateFailed');
  });

  it('takes over a Secret annotated managed', async () => {
    await apply(cluster, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'managed', namespace: ns, annotations: { 'sealedsecrets.bitnami.com/managed': 'true' } }, stringData: { username: 'old', extra: 'gone' } });
    await apply(cluster, await seal(secret('managed', ns), cert));
    const taken = await eventually(async () => {
      const s = await getSecret(cluster, ns, 'managed');
      expect(text(s.data?.username)).toBe('admin');
      return s;
    });
    expect(taken.data?.extra).toBeUndefined();
    expect(taken.metadata.ownerReferences?.[0]?.kind).toBe('SealedSecret');
  });

  it('merges into a Secret annotated patch', async () => {
    await apply(cluster, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'patched', namespace: ns, labels: { keep: 'label' }, annotations: { 'sealedsecrets.bitnami.com/patch': 'true' } }, stringData: { username: 'old', extra: 'kept' } });
    await apply(cluster, await seal(secret('patched', ns), cert));
    const merged = await eventually(async () => {
      const s = await getSecret(cluster, ns, 'patched');
      expect(text(s.data?.username)).toBe('admin');
      return s;
    });
    expect(text(merged.data?.extra)).toBe('kept');
    expect(merged.metadata.labels).toEqual({ keep: 'label' });
    expect(merged.metadata.ownerReferences ?? []).toEqual([]);
  });

  it('recreates a deleted Secret it owns', async () => {
    await apply(cluster, await seal(secret('phoenix', ns), cert));
    const first = await eventually(() => getSecret(cluster, ns, 'phoenix'));
    expect((await cluster.kubectl(['delete', 'secret', 'phoenix', '-n', ns])).code).toBe(0);
    const second = await eventually(async () => {
      const s = await getSecret(cluster, ns, 'phoenix');
      expect(s.metadata.uid).not.toBe(first.metadata.uid);
      return s;
    });
    expect(text(second.data?.password)).toBe('s3cr3t');
  });

  it('writes nothing when nothing changed: a metadata-only edit leaves Secret, events and status alone', async () => {
    await apply(cluster, await seal(secret('still', ns), cert));
    const before = await eventually(async () => {
      const s = await getSealed(cluster, ns, 'still');
      expect(synced(s)?.status).toBe('True');
      return s;
    });
    const secretBefore = await getSecret(cluster, ns, 'still');
    expect((await cluster.kubectl(['label', 'sealedsecret', 'still', '-n', ns, 'touched=yes'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await getSecret(cluster, ns, 'still')).metadata.resourceVersion).toBe(secretBefore.metadata.resourceVersion);
    expect(synced(await getSealed(cluster, ns, 'still'))).toEqual(synced(before));
    const events = await kubectlJson<{ items: unknown[] }>(cluster, ['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=still']);
    expect(events.items).toHaveLength(1);
  });

  it('updates the Secret when the SealedSecret changes', async () => {
    await apply(cluster, await seal(secret('changing', ns), cert));
    await eventually(() => getSecret(cluster, ns, 'changing'));
    await apply(cluster, await seal(secret('changing', ns, { stringData: { password: 'rotated' } }), cert));
    await eventually(async () => expect(text((await getSecret(cluster, ns, 'changing')).data?.password)).toBe('rotated'));
  });

  it('the garbage collector deletes the Secret with its SealedSecret', async () => {
    await apply(cluster, await seal(secret('doomed', ns), cert));
    await eventually(() => getSecret(cluster, ns, 'doomed'));
    expect((await cluster.kubectl(['delete', 'sealedsecret', 'doomed', '-n', ns])).code).toBe(0);
    await eventually(async () => expect((await cluster.kubectl(['get', 'secret', 'doomed', '-n', ns])).code).not.toBe(0), { timeoutMs: 60_000 });
  });
});

describe('what users can see', () => {
  it('serves /healthz and metrics under upstream names', async () => {
    expect(await (await fetch(`${controller.http}/healthz`)).text()).toBe('ok\n');
    const metrics = await (await fetch(`${controller.metrics}/metrics`)).text();
    expect(metrics).toMatch(/^sealed_secrets_controller_unseal_requests_total \d+/m);
    expect(metrics).toMatch(/^sealed_secrets_controller_unseal_errors_total\{reason="unseal",namespace="[^"]+"\} \d+/m);
    expect(metrics).toMatch(/^sealed_secrets_controller_condition_info\{namespace="[^"]+",name="basic",condition="Synced",ss_app_kubernetes_io_instance=""\} 1/m);
    expect(metrics).toMatch(/^sealed_secrets_controller_leader 1/m);
    expect(metrics).toMatch(/^sealed_secrets_controller_keys 1/m);
  });

  it('publishes the certificate in a ConfigMap any authenticated user can read', async () => {
    const pem = await (await fetch(cert)).text();
    const configMap = await eventually(() => kubectlJson<{ data: Record<string, string> }>(cluster, ['get', 'configmap', 'sealed-secrets-cert', '-n', home]));
    expect(configMap.data['cert.pem']).toBe(pem);
  });

  it('never logs plaintext', () => {
    expect(controller.logs()).not.toMatch(/s3cr3t|from linode|PRIVATE KEY/);
  });
});

describe('--metrics-omit-secret-labels (upstream v0.39, #1972)', () => {
  it('unseals as usual but exports no condition_info series, so the metrics never name a SealedSecret', async () => {
    const home2 = await cluster.createNamespace('ctl-omit-home');
    const app2 = await cluster.createNamespace('ctl-omit-app');
    const quiet = await startController({ kubeconfigPath: cluster.kubeconfigPath, namespace: home2, watch: [app2], args: ['--metrics-omit-secret-labels', '--key-size', '2048'] });
    try {
      await quiet.waitForKeys(1);
      await apply(cluster, await seal(secret('inventory-name', app2), `${quiet.http}/v1/cert.pem`));
      await eventually(async () => expect(synced(await getSealed(cluster, app2, 'inventory-name'))?.status).toBe('True'));
      const metrics = await (await fetch(`${quiet.metrics}/metrics`)).text();
      expect(metrics).toMatch(/^sealed_secrets_controller_unseal_requests_total [1-9]\d*/m);
      expect(metrics).not.toMatch(/condition_info/);
      expect(metrics).not.toContain('inventory-name');
    } finally {
      await quiet.stop();
    }
  });
});
