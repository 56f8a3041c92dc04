/**
 * What the controller publishes for kubeseal, named once for both shells: the ConfigMap holding
 * its newest certificate (controller --cert-configmap; kubeseal's fallback when the service proxy
 * is blocked) and the key in it.
 */

/** Default name of the certificate ConfigMap in the controller's namespace. */
export const CERT_CONFIGMAP = 'sealed-secrets-cert';
/** The ConfigMap's data key holding the PEM certificate. */
export const CERT_CONFIGMAP_KEY = 'cert.pem';

/** The controller's list of sealing keys (GET, JSON: ControllerKeys). */
export const KEYS_PATH = '/v1/keys';

/** One key Secret the controller sees, active or retired. */
export interface ControllerKey {
  /** The key Secret's name (in the controller's namespace). */
  readonly name: string;
  /** shared/keys.ts keyFingerprint: "SHA256:…", as in status.keyFingerprints and the metrics. */
  readonly fingerprint: string;
  /** The certificate's NotBefore, RFC 3339. */
  readonly notBefore: string;
  /** Whether this is the key that seals (the newest active one; /v1/cert.pem is its certificate). */
  readonly sealing: boolean;
  /** Relabelled away from `active`: neither seals nor unseals. */
  readonly retired: boolean;
  /** How many SealedSecrets need it (their status.keyFingerprints name it). */
  readonly sealedSecrets: number;
}

/** GET /v1/keys. */
export interface ControllerKeys {
  /** Active keys newest first, then retired ones newest first. */
  readonly keys: readonly ControllerKey[];
  /**
   * Keys that SealedSecrets need but that are retired or have no key Secret at all (deleted):
   * those SealedSecrets cannot be unsealed again until the key is restored.
   */
  readonly missing: readonly { readonly fingerprint: string; readonly sealedSecrets: number }[];
}
