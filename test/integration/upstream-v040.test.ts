/**
 * Side by side with upstream v0.40.0 on the real control plane: upstream's own kubeseal and
 * controller (built from its module source by scripts/upstream-build.sh; the controller runs with
 * in-cluster configuration, scripts/cluster/upstream-controller.ts) next to ours.
 *
 *  - upstream's kubeseal seals (every scope, --raw, a template with template.data) -> ours unseals
 *    into exactly the Secret that was sealed;
 *  - our kubeseal seals -> upstream's controller unseals;
 *  - the same SealedSecret (cluster-wide, so the very same bytes fit both namespaces) with
 *    spec.template.data gives the same Secret, or the same Synced=False, in both controllers;
 *  - keys made by one controller are used by the other: ours makes the first key and upstream
 *    loads it without making its own; upstream renews (SIGUSR1) and ours seals with that key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureUpstreamBinaries, startUpstreamController, UPSTREAM_RELEASE, type UpstreamBinaries, type UpstreamController } from '../../scripts/cluster/upstream-controller.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { runKubeseal } from '../run-cli.ts';
import { b64, getSealed, getSecret, kubectlJson, synced, text, type SealedSecretObject, type SecretObject } from './kube.ts';

const cluster = useCluster();
const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';
const admin = { KUBECONFIG: cluster.kubeconfigPath };

let binaries: UpstreamBinaries;
let ours: ControllerProcess;
let theirs: UpstreamController;
/** Homes (keys) and app namespaces of ours (o) and upstream's (u). */
const ns = { homeO: '', homeU: '', appO: '', appU: '' };

interface KeySecret {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  type: string;
  data: Record<string, string>;
}

async function keySecrets(namespace: string): Promise<KeySecret[]> {
  return (await kubectlJson<{ items: KeySecret[] }>(cluster, ['get', 'secrets', '-n', namespace, '-l', KEY_LABEL])).items;
}

/** A key Secret as an operator copies it (kubectl get -o yaml, server fields removed). */
async function copyKey(key: KeySecret, to: string): Promise<void> {
  const copy = { apiVersion: 'v1', kind: 'Secret', type: key.type, data: key.data, metadata: { name: key.metadata.name, namespace: to, labels: key.metadata.labels, annotations: key.metadata.annotations } };
  const created = await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(copy) });
  expect(created.code, created.stderr).toBe(0);
}

const certUrl = (http: string) => `${http}/v1/cert.pem`;
const servedCert = async (http: string) => (await fetch(certUrl(http))).text();

/** Upstream's kubeseal v0.40.0, or ours (bin undefined). */
async function kubeseal(bin: string | undefined, args: readonly string[], stdin: string): Promise<string> {
  const result = await runKubeseal(args, { bin, env: admin, stdin });
  expect(result.stderr, `kubeseal ${args.join(' ')}`).toBe('');
  expect(result.code).toBe(0);
  return result.stdout.toString();
}

const BINARY = Buffer.from([0, 255, 254, 128, 10, 13, 0xc3, 0x28]);
/** The value --raw seals, in a file (kubeseal's stdin is a socket here, which /dev/stdin cannot open). */
const RAW_VALUE = 'raw ✓ value';
let rawFile = '';

/** The Secret each case seals: binary and non-ASCII values, a type, labels and annotations. */
/** The annotation kubeseal puts on the SealedSecret and into its template for a scope. */
const scopeAnnotation = (scope: string): Record<string, string> => (scope === 'strict' ? {} : { [`sealedsecrets.bitnami.com/${scope}`]: 'true' });

function secretFor(name: string, namespace: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/basic-auth',
    metadata: { name, namespace, labels: { app: 'shop' }, annotations: { team: 'payments' } },
    data: { username: b64('admin'), password: b64('s3cr3t ✓'), blob: b64(BINARY), empty: '' },
  };
}

/** What of a Secret must be the same whoever sealed or unsealed it. */
function view(secret: SecretObject): Record<string, unknown> {
  return {
    type: secret.type,
    data: secret.data ?? {},
    labels: secret.metadata.labels ?? {},
    annotations: secret.metadata.annotations ?? {},
    immutable: secret.immutable ?? false,
    owners: (secret.metadata.ownerReferences ?? []).map(({ kind, name, controller }) => ({ kind, name, controller })),
  };
}

async function createSealed(sealed: Record<string, unknown>): Promise<void> {
  // kubectl create with JSON, not apply: client-side apply would drop the null template values.
  const created = await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify(sealed) });
  expect(created.code, created.stderr).toBe(0);
}

async function syncedSealed(namespace: string, name: string): Promise<SealedSecretObject> {
  return eventually(async () => {
    const s = await getSealed(cluster, namespace, name);
    expect(s.status?.observedGeneration).toBe(s.metadata.generation);
    expect(synced(s)?.status).toMatch(/^(True|False)$/);
    return s;
  }, { timeoutMs: 60_000 });
}

async function unsealedSecret(namespace: string, name: string): Promise<SecretObject> {
  return eventually(() => getSecret(cluster, namespace, name), { timeoutMs: 60_000 });
}

/** The SealedSecret kubeseal printed, moved to `namespace` / `name` (cluster-wide scope only). */
function moved(sealed: Record<string, unknown>, namespace: string, name?: string): Record<string, unknown> {
  const copy = structuredClone(sealed) as { metadata: Record<string, unknown>; spec: { template: { metadata: Record<string, unknown> } } };
  copy.metadata = { ...copy.metadata, namespace, ...(name ? { name } : {}) };
  copy.spec.template.metadata = { ...copy.spec.template.metadata, namespace, ...(name ? { name } : {}) };
  return copy;
}

function withTemplateData(sealed: Record<string, unknown>, data: Record<string, string | null>): Record<string, unknown> {
  const copy = structuredClone(sealed) as { spec: { template: Record<string, unknown> } };
  copy.spec.template.data = data;
  return copy;
}

/** The distinct Warning Events of an object, `reason: message` (upstream repeats them per retry). */
async function warningEvents(namespace: string, name: string): Promise<string[]> {
  const events = await kubectlJson<{ items: { reason: string; type: string; message: string }[] }>(cluster, ['get', 'events', '-n', namespace, '--field-selector', `involvedObject.name=${name}`]);
  return [...new Set(events.items.filter((e) => e.type === 'Warning').map((e) => `${e.reason}: ${e.message}`))].sort();
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'up040-'));
  rawFile = join(dir, 'value');
  writeFileSync(rawFile, RAW_VALUE);
  binaries = await ensureUpstreamBinaries();
  for (const key of Object.keys(ns) as (keyof typeof ns)[]) ns[key] = await cluster.createNamespace(`up040-${key.toLowerCase()}`);
  ours = await startController({ kubeconfigPath: cluster.kubeconfigPath, namespace: ns.homeO, watch: [ns.appO] });
  await ours.waitForKeys(1);
  // Upstream's controller starts on the key ours made, as after a migration back.
  const [key] = await keySecrets(ns.homeO);
  await copyKey(key as KeySecret, ns.homeU);
  theirs = await startUpstreamController({ cluster, namespace: ns.homeU, watch: [ns.appU], binary: binaries.controller });
}, 900_000);
afterAll(async () => {
  await ours?.stop();
  await theirs?.stop();
  if (rawFile) rmSync(join(rawFile, '..'), { recursive: true, force: true });
});

describe(`upstream ${UPSTREAM_RELEASE}`, () => {
  it('its controller runs in-cluster as its chart\'s ServiceAccount and uses the key ours made, making none', async () => {
    expect(await servedCert(theirs.http)).toBe(await servedCert(ours.http));
    expect((await keySecrets(ns.homeU)).map((k) => k.metadata.name)).toEqual((await keySecrets(ns.homeO)).map((k) => k.metadata.name));
    const version = await runKubeseal(['--version'], { bin: binaries.kubeseal });
    expect(version.stdout.toString()).toBe(`kubeseal version: ${UPSTREAM_RELEASE}\n`);
  });

  it('its kubeseal seals every scope, --raw and templates; ours unseals exactly the Secret sealed', async () => {
    const cert = certUrl(ours.http);
    const cases: { name: string; sealed: Record<string, unknown>; expected: Record<string, unknown> }[] = [];
    for (const scope of ['strict', 'namespace-wide', 'cluster-wide']) {
      const name = `up-${scope}`;
      const printed = await kubeseal(binaries.kubeseal, ['--cert', cert, '--scope', scope, '-o', 'yaml'], JSON.stringify(secretFor(name, ns.appO)));
      const expected = secretFor(name, ns.appO) as { metadata: Record<string, unknown> };
      expected.metadata.annotations = { team: 'payments', ...scopeAnnotation(scope) };
      cases.push({ name, sealed: parse(printed) as Record<string, unknown>, expected });
    }
    // --raw: one value at a time, put into a SealedSecret by hand as upstream's docs show.
    for (const scope of ['strict', 'namespace-wide', 'cluster-wide']) {
      const name = `up-raw-${scope}`;
      const scopeArgs = scope === 'cluster-wide' ? [] : ['--namespace', ns.appO, ...(scope === 'strict' ? ['--name', name] : [])];
      const raw = (await kubeseal(binaries.kubeseal, ['--cert', cert, '--raw', '--scope', scope, `--from-file=${rawFile}`, ...scopeArgs], '')).trim();
      expect(raw).toMatch(/^Ag[A-Za-z0-9+/]+=*$/);
      const annotations = scopeAnnotation(scope);
      cases.push({
        name,
        sealed: { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name, namespace: ns.appO, annotations }, spec: { encryptedData: { value: raw }, template: { metadata: { name, namespace: ns.appO, annotations } } } },
        expected: { type: 'Opaque', metadata: { annotations }, data: { value: b64(RAW_VALUE) } },
      });
    }
    // template.data added to what upstream's kubeseal printed: plaintext parts, encrypted wins, null omits.
    const printed = parse(await kubeseal(binaries.kubeseal, ['--cert', cert, '-o', 'yaml'], JSON.stringify(secretFor('up-template', ns.appO)))) as Record<string, unknown>;
    cases.push({
      name: 'up-template',
      sealed: withTemplateData(printed, { host: 'db.internal', dsn: 'postgres://{{ .username }}:{{ .password | urlquery }}@{{ .host }}/', username: 'loses', empty: null }),
      expected: { ...secretFor('up-template', ns.appO), data: { username: b64('admin'), password: b64('s3cr3t ✓'), blob: b64(BINARY), host: b64('db.internal'), dsn: b64('postgres://admin:s3cr3t+%E2%9C%93@db.internal/') } },
    });

    for (const c of cases) await createSealed(c.sealed);
    for (const c of cases) {
      const secret = await unsealedSecret(ns.appO, c.name);
      const expected = c.expected as { type?: string; metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; data: Record<string, string> };
      expect(view(secret), c.name).toEqual({
        type: expected.type ?? 'Opaque',
        // kubectl returns an empty value as "" in data; so does the API for ours and upstream's.
        data: expected.data,
        labels: expected.metadata.labels ?? {},
        annotations: expected.metadata.annotations ?? {},
        immutable: false,
        owners: [{ kind: 'SealedSecret', name: c.name, controller: true }],
      });
      expect(synced(await syncedSealed(ns.appO, c.name))?.status, c.name).toBe('True');
    }
  });

  it('our kubeseal seals every scope and --raw; upstream\'s controller unseals exactly the Secret sealed', async () => {
    const cert = certUrl(theirs.http);
    const scopes = ['strict', 'namespace-wide', 'cluster-wide'];
    for (const scope of scopes) {
      await createSealed(parse(await kubeseal(undefined, ['--cert', cert, '--scope', scope, '-o', 'yaml'], JSON.stringify(secretFor(`ours-${scope}`, ns.appU)))) as Record<string, unknown>);
    }
    const raw = (await kubeseal(undefined, ['--cert', cert, '--raw', '--scope', 'strict', `--from-file=${rawFile}`, '--namespace', ns.appU, '--name', 'ours-raw'], '')).trim();
    await createSealed({ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'ours-raw', namespace: ns.appU }, spec: { encryptedData: { value: raw }, template: { metadata: { name: 'ours-raw', namespace: ns.appU } } } });

    for (const scope of scopes) {
      const name = `ours-${scope}`;
      expect(view(await unsealedSecret(ns.appU, name)), name).toEqual({
        type: 'kubernetes.io/basic-auth',
        data: (secretFor(name, ns.appU) as { data: Record<string, string> }).data,
        labels: { app: 'shop' },
        annotations: { team: 'payments', ...scopeAnnotation(scope) },
        immutable: false,
        owners: [{ kind: 'SealedSecret', name, controller: true }],
      });
      expect(synced(await syncedSealed(ns.appU, name))?.status, name).toBe('True');
    }
    expect(text((await unsealedSecret(ns.appU, 'ours-raw')).data?.value)).toBe(RAW_VALUE);
  });

  describe('the same SealedSecret with spec.template.data in both controllers', () => {
    /** One cluster-wide SealedSecret (sealed once), created in both app namespaces. */
    let base: Record<string, unknown>;
    beforeAll(async () => {
      base = parse(await kubeseal(undefined, ['--cert', certUrl(ours.http), '--scope', 'cluster-wide', '-o', 'yaml'], JSON.stringify(secretFor('tpl', ns.appO)))) as Record<string, unknown>;
    });
    const inBoth = async (name: string, data: Record<string, string | null>) => {
      for (const namespace of [ns.appO, ns.appU]) await createSealed(moved(withTemplateData(base, data), namespace, name));
      return { ours: await syncedSealed(ns.appO, name), theirs: await syncedSealed(ns.appU, name) };
    };

    it('renders the same bytes: plaintext in the context, encrypted wins, null omits, Sprig, binary values', async () => {
      const data = {
        host: 'db.internal',
        dsn: 'postgres://{{ .username }}:{{ .password | urlquery }}@{{ .host }}/{{ .username | upper }}',
        config: '{{- range $k, $v := . }}{{ $k }}={{ $v | b64enc }}\n{{ end -}}',
        digest: '{{ .blob | sha256sum }} {{ printf "%q %x %v" .password .blob (list 1 "a" 2.5) }}',
        missing: '{{ .nope }}|{{ index . "host" | quote }}|{{ dict "a" 1 "b" (list) | toJson }}',
        username: 'loses to the encrypted value',
        empty: null,
        dropped: null,
      };
      const both = await inBoth('tpl-good', data);
      expect(synced(both.ours)?.status).toBe('True');
      expect(synced(both.theirs)?.status).toBe('True');
      const mine = view(await unsealedSecret(ns.appO, 'tpl-good'));
      const upstream = view(await unsealedSecret(ns.appU, 'tpl-good'));
      expect(mine).toEqual(upstream);
      expect(Object.keys(mine.data as Record<string, string>).sort()).toEqual(['blob', 'config', 'digest', 'dsn', 'host', 'missing', 'password', 'username']);
    });

    it('a template error gives the same Synced=False and ErrUnsealFailed, and no Secret, in both', async () => {
      const cases: Record<string, Record<string, string | null>> = {
        'tpl-parse': { config: '{{ .password ' },
        'tpl-exec': { host: 'db', config: '{{ index .password 99 }}', other: '{{ .host | b64dec }}' },
      };
      for (const [name, data] of Object.entries(cases)) {
        const both = await inBoth(name, data);
        expect(synced(both.ours), name).toMatchObject({ status: 'False' });
        expect(synced(both.theirs), name).toMatchObject({ status: 'False' });
        const upstreamMessage = synced(both.theirs)?.message ?? '';
        expect(upstreamMessage, name).toMatch(/^template: config:1:/);
        expect(synced(both.ours)?.message, name).toBe(upstreamMessage);
        const events = await eventually(async () => {
          const found = await warningEvents(ns.appO, name);
          expect(found).toEqual(await warningEvents(ns.appU, name));
          return found;
        });
        expect(events).toEqual([`ErrUnsealFailed: Failed to unseal: ${upstreamMessage}`]);
        for (const namespace of [ns.appO, ns.appU]) expect((await cluster.kubectl(['get', 'secret', name, '-n', namespace])).code, `${namespace}/${name}`).not.toBe(0);
      }
    });

    // Upstream's Synced message is the bare error; only its Event says "Failed to unseal: ".
    it('the Synced message of a failed unseal is upstream\'s, without the Event\'s prefix', async () => {
      const both = await inBoth('tpl-status', { config: '{{ .password ' });
      expect(synced(both.ours)?.message).toBe(synced(both.theirs)?.message);
    });

    it('`fail` over a value: the same failure, but only upstream puts the value into the status', async () => {
      const both = await inBoth('tpl-fail', { config: '{{ .password | fail }}' });
      const mine = synced(both.ours)?.message ?? '';
      const upstream = synced(both.theirs)?.message ?? '';
      expect(synced(both.ours)?.status).toBe('False');
      expect(synced(both.theirs)?.status).toBe('False');
      // Up to the function's message they agree; upstream then prints the decrypted value.
      const prefix = 'template: config:1:15: executing "config" at <fail>: error calling fail: ';
      expect(upstream).toContain(prefix);
      expect(mine).toContain(prefix);
      expect(upstream).toContain('s3cr3t ✓');
      expect(mine).not.toContain('s3cr3t');
    });
  });

  // Upstream renders without limits (its worker would loop or allocate for as long as these
  // ask), so only ours runs them: each fails on its limit, and good SealedSecrets keep unsealing.
  it('hostile templates (ours only: upstream has no limits) fail on a limit; good SealedSecrets keep unsealing', async () => {
    const hostile: Record<string, string> = {
      'hostile-range': '{{ range until 100000000 }}x{{ end }}',
      'hostile-repeat': '{{ repeat 100000000 "x" }}',
      'hostile-nested': '{{ range $i := until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}',
      'hostile-recursion': '{{ define "a" }}{{ template "a" . }}{{ end }}{{ template "a" . }}',
    };
    const base = parse(await kubeseal(undefined, ['--cert', certUrl(ours.http), '--scope', 'cluster-wide', '-o', 'yaml'], JSON.stringify(secretFor('hostile', ns.appO)))) as Record<string, unknown>;
    for (const [name, template] of Object.entries(hostile)) await createSealed(moved(withTemplateData(base, { config: template }), ns.appO, name));
    await createSealed(moved(withTemplateData(base, { config: 'ok {{ .username }}' }), ns.appO, 'after-hostile'));
    expect(text((await unsealedSecret(ns.appO, 'after-hostile')).data?.config)).toBe('ok admin');
    for (const name of Object.keys(hostile)) {
      const failed = await syncedSealed(ns.appO, name);
      expect(synced(failed), name).toMatchObject({ status: 'False' });
      expect(synced(failed)?.message, name).toMatch(/^template: config: (template rendering exceeded \d+ steps|template value exceeds \d+ bytes|rendering exceeded the memory limit|template rendering exceeded its time limit) \(config\)$/);
      expect((await cluster.kubectl(['get', 'secret', name, '-n', ns.appO])).code, name).not.toBe(0);
    }
    expect((await fetch(`${ours.http}/healthz`)).status).toBe(200);
    expect(ours.child.exitCode).toBeNull();
  });

  it('a key upstream renews (SIGUSR1) is used by ours once copied: ours seals with it, both unseal', async () => {
    const before = await servedCert(theirs.http);
    process.kill(theirs.pid, 'SIGUSR1');
    const renewed = await eventually(async () => {
      const keys = await keySecrets(ns.homeU);
      expect(keys).toHaveLength(2);
      return keys;
    }, { timeoutMs: 60_000 });
    const newest = await eventually(async () => {
      const cert = await servedCert(theirs.http);
      expect(cert).not.toBe(before);
      return cert;
    }, { timeoutMs: 60_000 });
    const known = new Set((await keySecrets(ns.homeO)).map((k) => k.metadata.name));
    for (const key of renewed) if (!known.has(key.metadata.name)) await copyKey(key, ns.homeO);
    // Ours picks up key Secrets without a restart (as upstream v0.41 does).
    await eventually(async () => expect(await servedCert(ours.http)).toBe(newest), { timeoutMs: 60_000 });

    const value = randomBytes(12).toString('hex');
    const sealed = parse(await kubeseal(undefined, ['--cert', certUrl(ours.http), '--scope', 'cluster-wide', '-o', 'yaml'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'renewed', namespace: ns.appO }, stringData: { value } }))) as Record<string, unknown>;
    for (const namespace of [ns.appO, ns.appU]) await createSealed(moved(sealed, namespace));
    for (const namespace of [ns.appO, ns.appU]) expect(text((await unsealedSecret(namespace, 'renewed')).data?.value), namespace).toBe(value);
  });
});
