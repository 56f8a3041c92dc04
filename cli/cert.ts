/**
 * Where the sealing certificate comes from: --cert as a local file, a file:// URL or an http(s)
 * URL (a one-letter scheme is a Windows drive letter, hence a file, as upstream). Without --cert
 * it is fetched from the controller through the cluster (cli/remote.ts, loaded only then).
 *
 * URLs honour HTTP_PROXY, HTTPS_PROXY and NO_PROXY as upstream's Go client does (shared/proxy.ts),
 * and https trusts the system's CA certificates too (cli/system-ca.ts).
 */
import { fileURLToPath } from 'node:url';
import { UserError } from '../shared/errors.ts';
import { formatBytes, MAX_CERTIFICATE_BYTES, NETWORK_TIMEOUTS } from '../shared/input-limits.ts';
import { remoteText } from '../shared/untrusted.ts';
import { readStreamBounded, TooLargeError } from './bounded-read.ts';
import type { Io } from './io.ts';
import { proxyFor, proxyHost } from '../shared/proxy.ts';
import { trustSystemCertificates } from './system-ca.ts';
import { networkDetail } from './net.ts';

function isFilename(location: string): boolean {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(location)?.[1];
  return scheme === undefined || scheme.length === 1;
}

/** The certificate bytes named by --cert; `deadlineMs` bounds a URL's whole download (tests shorten it). */
export async function readCertificate(location: string, io: Io, deadlineMs: number = NETWORK_TIMEOUTS.certificateUrlMs): Promise<Buffer> {
  if (isFilename(location)) return io.readFile(location, '--cert', MAX_CERTIFICATE_BYTES);
  const url = (() => {
    try {
      return new URL(location);
    } catch {
      throw new UserError(`--cert "${location}" is neither a file nor a valid URL; pass a certificate file or an http(s):// URL`);
    }
  })();
  if (url.protocol === 'file:') return io.readFile(fileURLToPath(url), '--cert', MAX_CERTIFICATE_BYTES);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`--cert "${location}": unsupported URL scheme ${url.protocol}; use a file, file://, http:// or https://`);
  }
  if (url.protocol === 'https:') trustSystemCertificates();
  const proxy = proxyFor(url, io.env);
  const via = proxy ? ` through the proxy ${proxyHost(proxy)}` : '';
  const failed = (detail: string, hint: string): UserError => new UserError(`cannot fetch "${location}"${via}: ${detail}; ${hint}`);
  // One deadline for the whole download (a certificate is a few KiB: a trickle is an error); the
  // fetch implementation bounds connect + TLS handshake to 10 s on its own (undici's connect timeout).
  const deadline = AbortSignal.timeout(deadlineMs);
  const init = { headers: { accept: 'application/x-pem-file, */*' }, signal: deadline };
  const seconds = deadlineMs / 1000;
  const timedOut = (): UserError => failed(`the server did not send the certificate within ${seconds} s`, 'check the URL, or fetch the certificate into a file and pass that');
  let response: { status: number; statusText: string; body: AsyncIterable<Uint8Array> | null };
  try {
    if (proxy) {
      // undici (not Node's bundled fetch) only when a proxy is configured: loading it costs start-up time.
      const { ProxyAgent, fetch: proxiedFetch } = await import('undici');
      response = await proxiedFetch(url, { ...init, dispatcher: new ProxyAgent(proxy) });
    } else {
      response = await fetch(url, init) as unknown as typeof response;
    }
  } catch (error) {
    if (deadline.aborted) throw timedOut();
    const cause = (error as { cause?: unknown }).cause;
    const { detail, kind } = networkDetail(cause ?? error);
    const hint = kind === 'not-tls' ? 'use http:// for a plain HTTP server, or check the port'
      : kind === 'untrusted' ? 'check the server\'s certificate, or that the CA that signed it is trusted (system store, NODE_EXTRA_CA_CERTS)'
        : `check the URL${proxy ? ', the proxy settings' : ''} and your network`;
    throw failed(detail, hint);
  }
  if (response.status !== 200) {
    throw new UserError(`cannot fetch "${location}"${via}: ${response.status} ${remoteText(response.statusText, 100)}`.trimEnd());
  }
  try {
    return await readStreamBounded(response.body ?? (async function* () {})(), MAX_CERTIFICATE_BYTES, `the certificate at "${location}"`);
  } catch (error) {
    if (error instanceof TooLargeError) throw new UserError(`cannot fetch "${location}"${via}: the answer is larger than ${formatBytes(MAX_CERTIFICATE_BYTES)}, so it is not a certificate; check the URL`);
    if (deadline.aborted) throw timedOut();
    throw failed(networkDetail((error as { cause?: unknown }).cause ?? error).detail, 'check the URL and your network');
  }
}
