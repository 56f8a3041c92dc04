/**
 * Proxies from the environment, by the rules of Go's http.ProxyFromEnvironment (which upstream's
 * kubeseal and kubectl use for --cert URLs and the API server alike):
 *
 * - HTTP_PROXY for http:// URLs, HTTPS_PROXY for https:// ones, upper case before lower case; no
 *   fallback from one to the other; "host:port" means an http:// proxy;
 * - never for localhost or a loopback address;
 * - NO_PROXY (or no_proxy): comma-separated; "*" matches everything; an IP address or a CIDR
 *   block matches IP hosts; "example.com" matches it and its subdomains, ".example.com" and
 *   "*.example.com" only subdomains; an entry with ":port" matches that port only.
 */

/** Environment variables, as process.env or a test's own. */
export type Env = Readonly<Record<string, string | undefined>>;

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
const isIp = (host: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':');

/** The proxy URL for `url`, or undefined to connect directly. */
export function proxyFor(url: URL, env: Env): string | undefined {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopback(host)) return undefined;
  const proxy = url.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  if (!proxy) return undefined;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (bypassed(host, port, env.NO_PROXY ?? env.no_proxy ?? '')) return undefined;
  return proxy.includes('://') ? proxy : `http://${proxy}`;
}

function bypassed(host: string, port: string, noProxy: string): boolean {
  for (const raw of noProxy.split(',')) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (isIp(host) && inCidr(host, entry)) return true;
      continue;
    }
    // "host:port", "[v6]:port" or a bare IPv6 address
    let entryPort = '';
    const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (withPort) [, entry = '', entryPort = ''] = withPort;
    entry = entry.replace(/^\[|\]$/g, '');
    if (entryPort && entryPort !== port) continue;
    if (isIp(entry)) {
      if (entry === host) return true;
      continue;
    }
    if (entry.startsWith('*.')) entry = entry.slice(1);
    if (entry.startsWith('.')) {
      if (host.endsWith(entry)) return true;
    } else if (host === entry || host.endsWith(`.${entry}`)) {
      return true;
    }
  }
  return false;
}

function inCidr(ip: string, cidr: string): boolean {
  const [network = '', bits = ''] = cidr.split('/');
  const family = network.includes(':') ? 'ipv6' : 'ipv4';
  if (family !== (ip.includes(':') ? 'ipv6' : 'ipv4')) return false;
  try {
    // node:net only here: loading it costs start-up time every other command would pay.
    const list = new (process.getBuiltinModule('node:net').BlockList)();
    list.addSubnet(network, Number(bits), family);
    return list.check(ip, family);
  } catch {
    return false; // not a CIDR block after all
  }
}

/** Where a proxy is, for messages: never its credentials. */
export function proxyHost(proxy: string): string {
  try {
    return new URL(proxy).host;
  } catch {
    return '(unparsable proxy URL)';
  }
}
