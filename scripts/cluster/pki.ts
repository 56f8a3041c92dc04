/**
 * Throw-away certificates and kubeconfigs for a local control plane.
 *
 * One CA signs everything: the kube-apiserver's serving certificate (SANs 127.0.0.1 and localhost)
 * and the client certificates that identify users. kube-apiserver maps a client certificate to
 * user = CN and groups = every O, so an admin is CN=admin, O=system:masters. Keys are RSA 2048
 * (node-forge can sign only with RSA); generating one takes ~0.1 s through Node's native crypto.
 */
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { stringify } from 'yaml';

/** A certificate and its private key, both PEM. */
export interface CertificateAndKey {
  readonly cert: string;
  readonly key: string;
}

export interface CertificateRequest {
  readonly commonName: string;
  /** Subject O= entries; for client certificates these are the user's groups. */
  readonly organizations?: readonly string[];
  readonly usage: 'server' | 'client';
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

const VALIDITY_MS = 365 * 24 * 3600 * 1000;
/** Backdated so that a clock a little behind the CA's does not reject a fresh certificate. */
const BACKDATE_MS = 3600 * 1000;

function newCertificate(publicKey: forge.pki.PublicKey): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive serial: clear the top bit so DER needs no sign byte.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + VALIDITY_MS);
  return cert;
}

export function createCertificateAuthority(commonName: string): CertificateAndKey {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = newCertificate(keys.publicKey);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

export function issueCertificate(ca: CertificateAndKey, request: CertificateRequest): CertificateAndKey {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = newCertificate(keys.publicKey);
  cert.setSubject([
    ...(request.organizations ?? []).map((value) => ({ name: 'organizationName', value })),
    { name: 'commonName', value: request.commonName },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(request.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    request.usage === 'server' ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

export interface KubeconfigRequest {
  readonly server: string;
  /** PEM bundle the client trusts for the server's certificate. */
  readonly caCert: string;
  readonly user: string;
  readonly client: CertificateAndKey;
}

/**
 * Writes a self-contained kubeconfig (certificates inlined as *-data), so that any client given
 * only its path works: kubectl, @kubernetes/client-node, a child process.
 */
export function writeKubeconfig(path: string, request: KubeconfigRequest): void {
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: request.server, 'certificate-authority-data': b64(request.caCert) } }],
    users: [
      {
        name: request.user,
        user: { 'client-certificate-data': b64(request.client.cert), 'client-key-data': b64(request.client.key) },
      },
    ],
    contexts: [{ name: request.user, context: { cluster: 'local', user: request.user, namespace: 'default' } }],
    'current-context': request.user,
    preferences: {},
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
}
