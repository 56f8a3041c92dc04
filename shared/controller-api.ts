/**
 * What the controller publishes for kubeseal, named once for both shells: the ConfigMap holding
 * its newest certificate (controller --cert-configmap; kubeseal's fallback when the service proxy
 * is blocked) and the key in it.
 */

/** Default name of the certificate ConfigMap in the controller's namespace. */
export const CERT_CONFIGMAP = 'sealed-secrets-cert';
/** The ConfigMap's data key holding the PEM certificate. */
export const CERT_CONFIGMAP_KEY = 'cert.pem';
