/**
 * Trust the operating system's CA certificates as well as Node's bundled list, as Go's TLS clients
 * (upstream kubeseal, kubectl) do: a private CA or a TLS-inspecting proxy installed system-wide
 * (or named by SSL_CERT_FILE / SSL_CERT_DIR) then works the same with both.
 *
 * It changes the process's default CA list, so it is called only on paths that make TLS
 * connections without a CA of their own (https --cert URLs, an API server whose kubeconfig names
 * no CA): reading the store takes ~40 ms.
 */
export function trustSystemCertificates(): void {
  const tls = process.getBuiltinModule('node:tls');
  // Both exist from Node 22.19 (engines); a Node without them keeps its bundled list.
  if (typeof tls.getCACertificates !== 'function' || typeof tls.setDefaultCACertificates !== 'function') return;
  tls.setDefaultCACertificates([...new Set([...tls.getCACertificates('bundled'), ...tls.getCACertificates('system')])]);
}
