/**
 * Sealing keys as upstream stores them: Secrets of type kubernetes.io/tls in the controller's
 * namespace, named by generateName from --key-prefix, labelled
 * sealedsecrets.bitnami.com/sealed-secrets-key=active, with tls.key (PKCS#1 PEM) and tls.crt; plus
 * the pre-0.9 legacy key, a Secret named exactly like the prefix. Keys therefore move between
 * upstream and this controller in both directions. The newest key seals; every key unseals.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { decodeBase64 } from '../shared/base64.ts';
import { keyFingerprint, parsePrivateKey, pemBlocks, privateKeyToPem } from '../shared/keys.ts';
import type { Secret } from '../shared/kube.ts';

export const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';
export const ACTIVE_KEY_SELECTOR = `${KEY_LABEL}=active`;

export interface SealingKey {
  /** Name of the Secret holding it. */
  readonly name: string;
  readonly fingerprint: string;
  readonly privateKey: KeyObject;
  /** PEM of the first certificate of tls.crt: what /v1/cert.pem serves when this key is newest. */
  readonly certificate: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** What "newest" means: NotBefore, or the Secret's creation time (--key-order-priority). */
  readonly orderingTime: Date;
}

export type KeyOrder = 'CertNotBefore' | 'SecretCreationTimestamp';

/** Read a key Secret; throws an Error naming what is wrong (the caller logs it and skips the key). */
export function keyFromSecret(secret: Secret, order: KeyOrder): SealingKey {
  const name = secret.metadata?.name ?? '(unnamed)';
  const field = (key: string): string => {
    const encoded = secret.data?.[key];
    const bytes = encoded === undefined ? undefined : decodeBase64(encoded);
    if (bytes === undefined) throw new Error(`key Secret ${name} has no valid data["${key}"]`);
    return bytes.toString('utf8');
  };
  const privateKey = parsePrivateKey(field('tls.key'), `key Secret ${name} tls.key`);
  const firstCert = pemBlocks(field('tls.crt')).find((b) => b.type === 'CERTIFICATE');
  if (!firstCert) throw new Error(`key Secret ${name} has no certificate in tls.crt`);
  const cert = new X509Certificate(firstCert.pem);
  if (!cert.checkPrivateKey(privateKey)) throw new Error(`key Secret ${name}: tls.crt does not belong to tls.key`);
  const notBefore = new Date(cert.validFrom);
  const created = secret.metadata?.creationTimestamp ? new Date(secret.metadata.creationTimestamp) : notBefore;
  return {
    name,
    fingerprint: keyFingerprint(privateKey),
    privateKey,
    certificate: cert.toString(),
    notBefore,
    notAfter: new Date(cert.validTo),
    orderingTime: order === 'SecretCreationTimestamp' ? created : notBefore,
  };
}

/** Keys newest first (ties: by name, so every replica agrees). */
export function sortNewestFirst(keys: Iterable<SealingKey>): SealingKey[] {
  return [...keys].sort((a, b) => b.orderingTime.getTime() - a.orderingTime.getTime() || a.name.localeCompare(b.name));
}

/** A new key is due when there is none, or the newest was made before --key-cutoff-time. */
export function needsNewKey(keys: readonly SealingKey[], cutoff: Date | undefined): boolean {
  const newest = sortNewestFirst(keys)[0];
  return newest === undefined || (cutoff !== undefined && newest.orderingTime.getTime() < cutoff.getTime());
}

/**
 * How long to wait before making a new key so that it is strictly newer than `newest`: NotBefore
 * and creationTimestamp have whole seconds, and a key made in the newest key's second would tie
 * with it (ties go by name: the old key could stay the sealing one). Never more than a second: a
 * newest key further ahead is clock skew that waiting does not fix.
 */
export function waitBeforeNewKey(newest: SealingKey | undefined, now: Date): number {
  if (newest === undefined) return 0;
  const nextSecond = Math.floor(newest.orderingTime.getTime() / 1000) * 1000 + 1000;
  const wait = nextSecond - now.getTime();
  return wait > 0 && wait <= 1000 ? wait : 0;
}

/** When the next key is due: the newest key's time plus the renew period (undefined: never). */
export function nextRenewal(keys: readonly SealingKey[], periodMs: number): Date | undefined {
  const newest = sortNewestFirst(keys)[0];
  if (periodMs <= 0 || newest === undefined) return undefined;
  return new Date(newest.orderingTime.getTime() + periodMs);
}

/** The Secret that stores a new key, exactly in upstream's format. */
export function keySecret(options: {
  prefix: string;
  namespace: string;
  privateKey: KeyObject;
  certificate: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
}): Secret {
  const labels = { ...options.labels, [KEY_LABEL]: 'active' };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      generateName: options.prefix,
      namespace: options.namespace,
      labels,
      ...(Object.keys(options.annotations).length > 0 ? { annotations: { ...options.annotations } } : {}),
    },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(options.certificate).toString('base64'),
      'tls.key': Buffer.from(privateKeyToPem(options.privateKey)).toString('base64'),
    },
  };
}
