/**
 * The controller's HTTP API, called as kubeseal (or anyone who can reach it) calls it: upstream's
 * paths, bodies and status codes, and the attacks behind upstream's 2026 advisories, which must
 * fail here: scope widening through /v1/rotate (CVE-2026-22728) and one-bit decryption oracles
 * through spec.template.data on /v1/verify and /v1/rotate (upstream PRs #2019 and #2049).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startController, type ControllerProcess } from '../harness/controller.ts';
import { readSealedSecret, type SealedSecret } from '../../shared/kube.ts';
import { parseDocuments } from '../../shared/manifest.ts';
import { randomBytes } from 'node:crypto';
import { apply, getSecret, kubectlJson, seal, text } from './kube.ts';

const cluster = useCluster();
let controller: ControllerProcess;
let victim: SealedSecret;
let victimYaml = '';
let app = '';
let home = '';
let client = 0;

beforeAll(async () => {
  home = await cluster.createNamespace('http-home');
  app = await cluster.createNamespace('http-app');
  controller = await startController({ kubeconfigPath: cluster.kubeconfigPath, namespace: home, watch: [app], args: ['--rate-limit', '5', '--rate-limit-burst', '5', '--max-request-bytes', '65536'] });
  await controller.waitForKeys(1);
  victimYaml = await seal({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'victim', namespace: app }, stringData: { password: 'topsecret-value' } }, `${controller.http}/v1/cert.pem`);
  victim = readSealedSecret(parseDocuments(victimYaml)[0], 'victim');
});
afterAll(async () => {
  await controller?.stop();
});

/** Every test is its own client (X-Forwarded-For), so rate limits of one do not hit another. */
function post(path: string, body: string | object, headers: Record<string, string> = {}) {
  return fetch(`${controller.http}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.9.${Math.floor(client / 250)}.${client++ % 250}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
const variant = (change: (s: SealedSecret) => void): SealedSecret => {
  const copy = structuredClone(victim);
  change(copy);
  return copy;
};

describe('endpoints as upstream', () => {
  it('/healthz answers ok', async () => {
    const response = await fetch(`${controller.http}/healthz`);
    expect([response.status, response.headers.get('content-type'), await response.text()]).toEqual([200, 'text/plain; charset=utf-8', 'ok\n']);
  });

  it('/v1/cert.pem serves the newest certificate, the same as the published ConfigMap', async () => {
    const response = await fetch(`${controller.http}/v1/cert.pem`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-pem-file');
    const pem = await response.text();
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    const configMap = await eventually(() => kubectlJson<{ data: Record<string, string> }>(cluster, ['get', 'configmap', 'sealed-secrets-cert', '-n', home]));
    expect(configMap.data['cert.pem']).toBe(pem);
  });

  it('/v1/verify: 200 when it opens (JSON or YAML), 409 when it does not, 500 for what is not one SealedSecret', async () => {
    const ok = await post('/v1/verify', victim);
    expect([ok.status, await ok.text()]).toEqual([200, '']);
    expect((await post('/v1/verify', victimYaml, { 'content-type': 'application/yaml' })).status).toBe(200);
    expect((await post('/v1/verify', variant((s) => { s.metadata.name = 'renamed'; }))).status).toBe(409);
    expect((await post('/v1/verify', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } })).status).toBe(500);
    expect((await post('/v1/verify', `${victimYaml}---\n${victimYaml}`)).status).toBe(500);
    expect((await post('/v1/verify', 'not yaml: [')).status).toBe(500);
  });

  it('/v1/rotate returns the SealedSecret re-sealed with the newest key, same name, namespace and scope', async () => {
    const response = await post('/v1/rotate', victim);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await response.text();
    expect(text).not.toContain('topsecret');
    const rotated = JSON.parse(text) as SealedSecret;
    expect(rotated.metadata).toEqual({ name: 'victim', namespace: app });
    expect(rotated.spec.template).toEqual(victim.spec.template);
    expect(rotated.spec.encryptedData.password).not.toBe(victim.spec.encryptedData.password);
    expect((await post('/v1/verify', rotated)).status).toBe(200);
    // moved to another namespace (template included), it no longer opens: nothing is returned
    const moved = await post('/v1/rotate', variant((s) => { s.metadata.namespace = 'elsewhere'; s.spec.template!.metadata!.namespace = 'elsewhere'; }));
    expect([moved.status, await moved.text()]).toEqual([500, 'error decrypting secret\n']);
  });

  it('unknown paths are 404', async () => {
    expect((await fetch(`${controller.http}/v1/nope`)).status).toBe(404);
  });
});

describe('upstream advisories: the attacks fail', () => {
  it('CVE-2026-22728: a template claiming a wider scope cannot widen it through /v1/rotate', async () => {
    const widened = variant((s) => {
      s.spec.template = { ...s.spec.template, metadata: { ...s.spec.template?.metadata, annotations: { 'sealedsecrets.bitnami.com/cluster-wide': 'true' } } };
    });
    const response = await post('/v1/rotate', widened);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/spec.template.metadata declares a wider scope than metadata/);
    // claiming it consistently, at the top level too, only changes the label: nothing opens
    const topLevel = variant((s) => {
      s.metadata.annotations = { 'sealedsecrets.bitnami.com/cluster-wide': 'true' };
      s.spec.template = { ...s.spec.template, metadata: { ...s.spec.template?.metadata, annotations: { 'sealedsecrets.bitnami.com/cluster-wide': 'true' } } };
    });
    const refused = await post('/v1/rotate', topLevel);
    expect(refused.status).toBe(500);
    expect(await refused.text()).not.toMatch(/encryptedData/);
    // a template pointing at another namespace cannot move the values: the result is for metadata's
    const moved = await post('/v1/rotate', variant((s) => { s.spec.template!.metadata!.namespace = 'kube-system'; }));
    expect(moved.status).toBe(200);
    expect((JSON.parse(await moved.text()) as SealedSecret).spec.template?.metadata?.namespace).toBe(app);
  });

  it('accepts upstream\'s README forms: a cluster-wide or namespace-wide SealedSecret without a template, or whose template has no scope annotation', async () => {
    for (const scope of ['cluster-wide', 'namespace-wide'] as const) {
      const annotations = { [`sealedsecrets.bitnami.com/${scope}`]: 'true' };
      const sealedYaml = await seal({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wide', namespace: app, labels: { team: 'a' } }, stringData: { password: 'topsecret-wide' } }, `${controller.http}/v1/cert.pem`, ['--scope', scope]);
      const sealed = readSealedSecret(parseDocuments(sealedYaml)[0], 'wide');
      const noTemplate = structuredClone(sealed);
      delete noTemplate.spec.template;
      const response = await post('/v1/rotate', noTemplate);
      const text = await response.text();
      expect(response.status, text).toBe(200);
      const rotated = JSON.parse(text) as SealedSecret;
      // upstream's answer: metadata copied into the template, scope kept
      expect(rotated.metadata).toEqual({ name: 'wide', namespace: app, annotations });
      expect(rotated.spec.template).toEqual({ metadata: { name: 'wide', namespace: app, annotations } });
      expect((await post('/v1/verify', { ...rotated, metadata: { ...rotated.metadata, name: 'renamed' } })).status).toBe(200);
      const unscoped = structuredClone(sealed);
      delete unscoped.spec.template!.metadata!.annotations;
      const kept = await post('/v1/rotate', unscoped);
      expect(kept.status).toBe(200);
      const keptBody = JSON.parse(await kept.text()) as SealedSecret;
      expect(keptBody.metadata.annotations).toEqual(annotations);
      expect(keptBody.spec.template?.metadata).toMatchObject({ annotations, labels: { team: 'a' } });
    }
  });

  it('PR #2019: /v1/verify never renders template.data, so it cannot leak a bit of the plaintext', async () => {
    const probe = (template: string) => variant((s) => { s.spec.template = { ...s.spec.template, data: { x: template } }; });
    const guessRight = await post('/v1/verify', probe('{{ if eq .password "topsecret-value" }}{{ fail "hit" }}{{ end }}'));
    const guessWrong = await post('/v1/verify', probe('{{ if eq .password "wrong" }}{{ fail "hit" }}{{ end }}'));
    const broken = await post('/v1/verify', probe('{{ this is not a template'));
    expect([guessRight.status, guessWrong.status, broken.status]).toEqual([200, 200, 200]);
  });

  it('PR #2049: /v1/rotate never renders template.data either', async () => {
    const probe = (template: string) => variant((s) => { s.spec.template = { ...s.spec.template, data: { x: template } }; });
    const right = await post('/v1/rotate', probe('{{ if eq .password "topsecret-value" }}{{ fail "hit" }}{{ end }}'));
    const wrong = await post('/v1/rotate', probe('{{ if eq .password "wrong" }}{{ fail "hit" }}{{ end }}'));
    expect([right.status, wrong.status]).toEqual([200, 200]);
    const body = JSON.parse(await right.text()) as SealedSecret;
    expect(body.spec.template?.data).toEqual({ x: '{{ if eq .password "topsecret-value" }}{{ fail "hit" }}{{ end }}' });
  });

  it('both decrypting endpoints are rate limited per client', async () => {
    for (const path of ['/v1/verify', '/v1/rotate']) {
      const headers = { 'x-forwarded-for': `192.0.2.${path.length}` };
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await post(path, victim, headers)).status);
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses.slice(5)).toContain(429);
      const limited = await post(path, victim, headers);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      // another client is not affected
      expect((await post(path, victim)).status).toBe(200);
    }
  });

  it('the limit keys on the right-most X-Forwarded-For entry: a new left-most one per request is still limited', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await post('/v1/verify', victim, { 'x-forwarded-for': `198.51.100.${i}, 192.0.2.200` })).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toContain(429);
  });

  it('verify work is bounded in RSA operations: per request (413) and for all clients together (429); unsealing goes on', async () => {
    const many = variant((s) => { s.spec.encryptedData = Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`k${i}`, 'AgA='])); });
    const tooMuch = await post('/v1/verify', many);
    expect([tooMuch.status, await tooMuch.text()]).toEqual([413, 'opening this SealedSecret may take 1200 RSA operations (values times sealing keys), more than the 1000 allowed per request; send fewer values per request\n']);
    // A flood from 40 clients, each within its request limit, of values that each cost an RSA-4096 operation.
    const heavy = variant((s) => {
      s.spec.encryptedData = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`k${i}`, Buffer.concat([Buffer.from([2, 0]), randomBytes(512 + 16)]).toString('base64')]));
    });
    const flood = Array.from({ length: 40 }, () => post('/v1/verify', heavy).then(async (r) => [r.status, await r.text()] as const));
    const sealedYaml = await seal({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'during-flood', namespace: app }, stringData: { password: 'pw-during-flood' } }, `${controller.http}/v1/cert.pem`);
    await apply(cluster, sealedYaml);
    const secret = await eventually(() => getSecret(cluster, app, 'during-flood'), { timeoutMs: 60_000 });
    expect(text(secret.data?.password)).toBe('pw-during-flood');
    const answers = await Promise.all(flood);
    const counts = { opened: 0, refused: 0, limited: 0 };
    for (const [status, body] of answers) {
      if (status === 409) counts.refused++;
      else if (status === 429 && body === 'limit exceeded: the decrypting endpoints are busy, retry later\n') counts.limited++;
      else counts.opened++;
    }
    // 1000 operations at once plus 100 per second: most of the 3,200 asked for were refused up front
    expect(counts.opened).toBe(0);
    expect(counts.limited).toBeGreaterThan(20);
    expect(counts.refused).toBeGreaterThan(0);
  });

  it('both decrypting endpoints refuse large bodies', async () => {
    const huge = variant((s) => { s.spec.encryptedData.padding = 'A'.repeat(100_000); });
    expect((await post('/v1/verify', huge)).status).toBe(413);
    expect((await post('/v1/rotate', huge)).status).toBe(413);
  });

  it('no endpoint echoes plaintext or key material, in responses or logs', async () => {
    const responses = await Promise.all([post('/v1/rotate', variant((s) => { s.metadata.name = 'other'; })), post('/v1/verify', victim)]);
    for (const response of responses) expect(await response.text()).not.toMatch(/topsecret|PRIVATE KEY/);
    expect(controller.logs()).not.toMatch(/topsecret|PRIVATE KEY/);
    const metrics = await (await fetch(`${controller.metrics}/metrics`)).text();
    expect(metrics).toMatch(/sealed_secrets_controller_http_requests_total\{path="\/v1\/verify",code="200",method="post"\} \d+/);
    expect(metrics).toMatch(/sealed_secrets_controller_http_requests_total\{path="\/v1\/rotate",code="429",method="post"\} \d+/);
    expect(metrics).not.toMatch(/topsecret/);
  });
});
