/**
 * Limits on untrusted input, in one place (docs/security.md lists them and what each protects).
 * Every reader of untrusted bytes (stdin, files, URLs, HTTP bodies) stops at its limit with a
 * one-line error rather than buffering without end; parsers refuse nesting and documents past
 * theirs before any recursive step runs.
 */

const MiB = 1024 * 1024;

/**
 * Manifests, key files and --raw values read by kubeseal: 16 MiB. The API server refuses objects
 * over about 1.5 MiB (etcd's request limit) and Secrets over 1 MiB, so anything larger can never
 * be applied; upstream seals multi-MB values, and so do we, well below this.
 */
export const MAX_INPUT_BYTES = 16 * MiB;

/**
 * One kubeconfig file: a few KiB usually, megabytes with many clusters and inlined certificates;
 * past 16 MiB it is not a kubeconfig (KUBECONFIG naming a log or an image, say).
 */
export const MAX_KUBECONFIG_BYTES = 16 * MiB;

/** A sealing certificate (--cert file or URL): a PEM of a few KiB; 1 MiB leaves room for bundles. */
export const MAX_CERTIFICATE_BYTES = 1 * MiB;

/** An answer of the API server or of the controller through it. */
export const MAX_RESPONSE_BYTES = 16 * MiB;

/** Documents in one manifest stream. */
export const MAX_DOCUMENTS = 10_000;

/**
 * Nesting of maps and lists in one document. A Secret or SealedSecret needs fewer than 10 levels;
 * the limit keeps every recursive step after parsing (copying, printing) far from the stack's end.
 */
export const MAX_NESTING_DEPTH = 100;

/** Alias expansions per YAML document: a few aliases are normal, a "billion laughs" is not. */
export const MAX_YAML_ALIASES = 100;

/** Network steps of kubeseal, bounded even with --request-timeout 0 (which bounds nothing else). */
export const NETWORK_TIMEOUTS = {
  /** TCP connect, as Go's net.Dialer in client-go. */
  connectMs: 30_000,
  /** TLS handshake, as Go's http.Transport TLSHandshakeTimeout in client-go and kubeseal --cert. */
  tlsHandshakeMs: 10_000,
  /** From the request sent to the first byte of the answer. */
  firstByteMs: 60_000,
  /** Silence while an answer's body is arriving. */
  bodyIdleMs: 30_000,
  /** The whole of a --cert URL download: a certificate is small, a trickle is an error. */
  certificateUrlMs: 30_000,
} as const;

/** "16 MiB" */
export function formatBytes(bytes: number): string {
  return bytes % MiB === 0 ? `${bytes / MiB} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}
