/**
 * Where the sealing certificate comes from: --cert as a local file, a file:// URL or an http(s)
 * URL (a one-letter scheme is a Windows drive letter, hence a file, as upstream). Without --cert
 * it is fetched from the controller through the cluster (cli/remote.ts, loaded only then).
 *
 * URLs honour HTTP_PROXY, HTTPS_PROXY and NO_PROXY as upstream's Go client does (shared/proxy.ts),
 * and https trusts the system's CA certificates too (cli/system-ca.ts).
 */
import { fileURLToPath } from 'node:url';
import { errorMessage, UserError } from '../shared/errors.ts';
import type { Io } from './io.ts';
import { proxyFor, proxyHost } from '../shared/proxy.ts';
import { trustSystemCertificates } from './system-ca.ts';

function isFilename(location: string): boolean {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(location)?.[1];
  return scheme === undefined || scheme.length === 1;
}

/** The certificate bytes named by --cert. */
export async function readCertificate(location: string, io: Io): Promise<Buffer> {
  if (isFilename(location)) return io.readFile(location, '--cert');
  const url = (() => {
    try {
      return new URL(location);
    } catch {
      throw new UserError(`--cert "${location}" is neither a file nor a valid URL`);
    }
  })();
  if (url.protocol === 'file:') return io.readFile(fileURLToPath(url), '--cert');
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`--cert "${location}": unsupported URL scheme ${url.protocol}; use a file, file://, http:// or https://`);
  }
  if (url.protocol === 'https:') trustSystemCertificates();
  const proxy = proxyFor(url, io.env);
  const via = proxy ? ` through the proxy ${proxyHost(proxy)}` : '';
  const init = { headers: { accept: 'application/x-pem-file, */*' }, signal: AbortSignal.timeout(30_000) };
  let response: { status: number; statusText: string; arrayBuffer(): Promise<ArrayBuffer> };
  try {
    if (proxy) {
      // undici (not Node's bundled fetch) only when a proxy is configured: loading it costs start-up time.
      const { ProxyAgent, fetch: proxiedFetch } = await import('undici');
      response = await proxiedFetch(url, { ...init, dispatcher: new ProxyAgent(proxy) });
    } else {
      response = await fetch(url, init);
    }
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    throw new UserError(`cannot fetch "${location}"${via}: ${errorMessage(cause ?? error)}; check the URL${proxy ? ', the proxy settings' : ''} and your network`);
  }
  if (response.status !== 200) {
    throw new UserError(`cannot fetch "${location}"${via}: ${response.status} ${response.statusText}`.trimEnd());
  }
  return Buffer.from(await response.arrayBuffer());
}
