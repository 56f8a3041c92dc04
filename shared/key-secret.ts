/**
 * The sealing key Secret, as upstream stores it and both shells read it: type kubernetes.io/tls in
 * the controller's namespace, named by generateName from --key-prefix, labelled
 * sealedsecrets.bitnami.com/sealed-secrets-key=active, with tls.key (PKCS#1 PEM) and tls.crt. The
 * controller loads and writes these; kubeseal --recovery-unseal reads backups of them. Keys
 * therefore move between upstream and us in both directions.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { decodeBase64 } from './base64.ts';
import { UserError } from './errors.ts';
import { keyFingerprint, parsePrivateKey, pemBlocks, privateKeyToPem } from './keys.ts';
import { isObject, type Secret } from './kube.ts';

export const KEY_LABEL = 'sealedsecrets.bitnami.com/sealed-secrets-key';
export const ACTIVE_KEY_SELECTOR = `${KEY_LABEL}=active`;
export const KEY_SECRET_TYPE = 'kubernetes.io/tls';

/** What "newest" means (--key-order-priority): the certificate's NotBefore or the Secret's creation time. */
export type KeyOrderPriority = 'CertNotBefore' | 'SecretCreationTimestamp';

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

/** The bytes of data[`key`] of a (parsed, untrusted) key Secret; `where` names it in errors. */
function field(secret: unknown, key: string, where: string): Buffer {
  const data = isObject(secret) && isObject(secret.data) ? secret.data : {};
  const encoded = data[key];
  if (typeof encoded !== 'string') throw new UserError(`${where}: secret must contain a '${key}' key; pass a sealing key Secret or a PEM private key`);
  const bytes = decodeBase64(encoded);
  if (bytes === undefined) throw new UserError(`${where}: data["${key}"] is not valid base64`);
  return bytes;
}

/** The private key of a key Secret (tls.key), without looking at its certificate: what recovery needs. */
export function privateKeyOfSecret(secret: unknown, where: string): KeyObject {
  return parsePrivateKey(field(secret, 'tls.key', where), where);
}

/** Read a key Secret whole; throws a UserError naming what is wrong (the controller logs it and skips the key). */
export function keyFromSecret(secret: Secret, order: KeyOrderPriority): SealingKey {
  const name = secret.metadata?.name ?? '(unnamed)';
  const where = `key Secret ${name}`;
  const privateKey = privateKeyOfSecret(secret, where);
  const firstCert = pemBlocks(field(secret, 'tls.crt', where).toString('utf8')).find((b) => b.type === 'CERTIFICATE');
  if (!firstCert) throw new UserError(`${where} has no certificate in tls.crt`);
  const cert = new X509Certificate(firstCert.pem);
  if (!cert.checkPrivateKey(privateKey)) throw new UserError(`${where}: tls.crt does not belong to tls.key`);
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
    type: KEY_SECRET_TYPE,
    data: {
      'tls.crt': Buffer.from(options.certificate).toString('base64'),
      'tls.key': Buffer.from(privateKeyToPem(options.privateKey)).toString('base64'),
    },
  };
}
