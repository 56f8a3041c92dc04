import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readFixture, sealingKey, sealingPublicKey } from '../test/fixtures/fixtures.ts';
import { UserError } from './errors.ts';
import { readSealedSecret, type SealedSecret } from './kube.ts';
import { formatYaml, parseDocuments } from './manifest.ts';
import { checkTemplateScope, compareTemplate, reencryptSealedSecret } from './re-encrypt.ts';
import { CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION } from './scope.ts';
import { sealSecret, unsealSealedSecret } from './sealed-secret.ts';

const publicKey = sealingPublicKey();
const keys = [sealingKey()];
const options = { publicKey, random: randomBytes };
const upstream = (name: string): SealedSecret => readSealedSecret(parseDocuments(readFixture(name))[0], name);
const masked = (yaml: string) => yaml.replace(/: Ag[A-Za-z0-9+/=]+$/gm, ': <sealed>');
const values = (sealed: SealedSecret) => unsealSealedSecret(sealed, { keys }).secret.data ?? {};
const cw = { [CLUSTER_WIDE_ANNOTATION]: 'true' };
const nw = { [NAMESPACE_WIDE_ANNOTATION]: 'true' };

/** A SealedSecret as upstream's README writes it: top-level metadata only, no template. */
function readmeForm(scope: 'cluster-wide' | 'namespace-wide'): SealedSecret {
  const sealed = sealSecret({ metadata: { name: 'db', namespace: 'demo', annotations: scope === 'cluster-wide' ? cw : nw }, stringData: { password: 'pw-1' } }, options);
  delete sealed.spec.template;
  return sealed;
}

function reencrypt(sealed: SealedSecret): SealedSecret {
  return reencryptSealedSecret(sealed, values(sealed), options);
}

describe('reencryptSealedSecret', () => {
  it('re-encrypting kubeseal\'s own output gives what sealing gives (every scope), with fresh ciphertexts', () => {
    for (const name of ['upstream-strict.yaml', 'upstream-namespace-wide.yaml', 'upstream-cluster-wide.yaml']) {
      const sealed = upstream(name);
      const result = reencrypt(sealed);
      expect(masked(formatYaml(result))).toBe(masked(readFixture(name)));
      expect(result.spec.encryptedData.password).not.toBe(sealed.spec.encryptedData.password);
      expect(values(result)).toEqual(values(sealed));
    }
  });

  it.each(['cluster-wide', 'namespace-wide'] as const)('accepts upstream\'s README form (%s, no template) and returns upstream\'s result', (scope) => {
    const sealed = readmeForm(scope);
    const result = reencrypt(sealed);
    const annotations = scope === 'cluster-wide' ? cw : nw;
    // upstream v0.40.0 copies the top-level metadata into the template, then NewSealedSecret
    expect(result.metadata).toEqual({ name: 'db', namespace: 'demo', annotations });
    expect(result.spec.template).toEqual({ metadata: { name: 'db', namespace: 'demo', annotations } });
    // still in that scope: opens under another name (and for cluster-wide, another namespace)
    const moved = structuredClone(result);
    moved.metadata.name = 'other';
    if (scope === 'cluster-wide') moved.metadata.namespace = 'elsewhere';
    expect(values(moved)).toEqual(values(sealed));
  });

  it('accepts a template without scope annotations (narrower): the top-level scope is kept, the template\'s labels too', () => {
    const sealed = upstream('upstream-namespace-wide.yaml');
    delete sealed.spec.template!.metadata!.annotations![NAMESPACE_WIDE_ANNOTATION];
    expect(compareTemplate(sealed)).toEqual({ widens: false, differs: true });
    const result = reencrypt(sealed);
    expect(result.metadata.annotations).toEqual(nw);
    expect(result.spec.template?.metadata?.annotations).toEqual({ ...nw, team: 'payments' });
    expect(result.spec.template?.metadata?.labels).toEqual({ app: 'shop' });
    expect(result.spec.template?.type).toBe('kubernetes.io/basic-auth');
  });

  it('refuses only a template that widens the scope', () => {
    const strict = upstream('upstream-strict.yaml');
    const widen = (top: Record<string, string> | undefined, template: Record<string, string>) => {
      const copy = structuredClone(strict);
      copy.metadata.annotations = top;
      copy.spec.template!.metadata!.annotations = template;
      return copy;
    };
    for (const [top, template] of [[undefined, cw], [undefined, nw], [nw, cw]] as const) {
      const sealed = widen(top, template);
      expect(compareTemplate(sealed).widens).toBe(true);
      expect(() => checkTemplateScope(sealed)).toThrow(UserError);
      expect(() => reencryptSealedSecret(sealed, {}, options)).toThrow(/declares a wider scope than metadata/);
    }
    for (const [top, template] of [[cw, {}], [cw, nw], [nw, {}], [cw, cw], [undefined, {}]] as const) {
      expect(compareTemplate(widen(top, template)).widens).toBe(false);
    }
  });

  it('a template naming another name or namespace is corrected to the top-level ones', () => {
    const sealed = upstream('upstream-strict.yaml');
    sealed.spec.template!.metadata!.namespace = 'kube-system';
    sealed.spec.template!.metadata!.name = 'other';
    expect(compareTemplate(sealed)).toEqual({ widens: false, differs: true });
    const result = reencrypt(sealed);
    expect([result.spec.template?.metadata?.name, result.spec.template?.metadata?.namespace]).toEqual(['db-creds', 'demo']);
    expect(values(result)).toEqual(values(sealed));
  });

  it('carries template.data, type and immutability over, and drops server-set metadata and owner references', () => {
    const sealed = upstream('upstream-strict.yaml');
    const opened = values(sealed);
    sealed.spec.template = { ...sealed.spec.template, immutable: true, data: { url: 'postgres://{{ .username }}@db' } };
    Object.assign(sealed.spec.template.metadata!, { uid: 'u-1', resourceVersion: '42', ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u' }] });
    const result = reencryptSealedSecret(sealed, opened, options);
    expect(result.spec.template?.data).toEqual({ url: 'postgres://{{ .username }}@db' });
    expect(result.spec.template?.immutable).toBe(true);
    expect(result.spec.template?.metadata).not.toHaveProperty('uid');
    expect(result.spec.template?.metadata).not.toHaveProperty('resourceVersion');
    expect(result.spec.template?.metadata).not.toHaveProperty('ownerReferences');
  });
});
