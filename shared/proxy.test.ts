import { describe, expect, it } from 'vitest';
import { proxyFor } from './proxy.ts';

describe('proxyFor: the proxy for a --cert URL, as Go\'s http.ProxyFromEnvironment picks it', () => {
  const env = { HTTP_PROXY: 'http://plain.proxy:3128', HTTPS_PROXY: 'http://tls.proxy:3128' };
  it('uses the proxy of the URL\'s own scheme, upper case before lower case', () => {
    expect(proxyFor(new URL('http://certs.example.com/cert.pem'), env)).toBe('http://plain.proxy:3128');
    expect(proxyFor(new URL('https://certs.example.com/cert.pem'), env)).toBe('http://tls.proxy:3128');
    expect(proxyFor(new URL('http://certs.example.com/'), { http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:1' })).toBe('http://upper:1');
    expect(proxyFor(new URL('http://certs.example.com/'), { http_proxy: 'http://lower:1' })).toBe('http://lower:1');
  });
  it('never falls back from HTTPS_PROXY to HTTP_PROXY', () => {
    expect(proxyFor(new URL('https://certs.example.com/'), { HTTP_PROXY: 'http://plain.proxy:3128' })).toBeUndefined();
  });
  it('reads "host:port" as an http proxy', () => {
    expect(proxyFor(new URL('http://certs.example.com/'), { HTTP_PROXY: 'proxy.corp:8080' })).toBe('http://proxy.corp:8080');
  });
  it('never proxies localhost or loopback addresses; empty means none', () => {
    for (const url of ['http://localhost:8080/c', 'http://127.0.0.1/c', 'http://127.9.8.7/c', 'http://[::1]:80/c']) expect(proxyFor(new URL(url), env)).toBeUndefined();
    expect(proxyFor(new URL('http://certs.example.com/'), { HTTP_PROXY: '' })).toBeUndefined();
  });
});

describe('proxyFor: NO_PROXY', () => {
  const proxied = (url: string, noProxy: string) => proxyFor(new URL(url), { HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1', NO_PROXY: noProxy }) !== undefined;
  it('"*" bypasses everything', () => {
    expect(proxied('https://api.example.com', '*')).toBe(false);
  });
  it('"example.com" matches it and its subdomains; ".example.com" and "*.example.com" only subdomains', () => {
    expect(proxied('https://example.com', 'example.com')).toBe(false);
    expect(proxied('https://api.example.com', 'example.com')).toBe(false);
    expect(proxied('https://notexample.com', 'example.com')).toBe(true);
    expect(proxied('https://example.com', '.example.com')).toBe(true);
    expect(proxied('https://api.example.com', '.example.com')).toBe(false);
    expect(proxied('https://api.example.com', '*.example.com')).toBe(false);
    expect(proxied('https://API.Example.COM', ' other.org , EXAMPLE.com')).toBe(false);
  });
  it('IP addresses and CIDR blocks match IP hosts', () => {
    expect(proxied('https://10.0.0.1:6443', '10.0.0.1')).toBe(false);
    expect(proxied('https://10.0.0.2:6443', '10.0.0.1')).toBe(true);
    expect(proxied('https://10.96.0.1', '10.96.0.0/12')).toBe(false);
    expect(proxied('https://10.112.0.1', '10.96.0.0/12')).toBe(true);
    expect(proxied('https://[fd00::2]:6443', 'fd00::/8')).toBe(false);
    expect(proxied('https://[fd00::2]:6443', '10.0.0.0/8')).toBe(true);
  });
  it('an entry with a port matches that port only (default ports count)', () => {
    expect(proxied('https://api.example.com:6443', 'api.example.com:6443')).toBe(false);
    expect(proxied('https://api.example.com:443', 'api.example.com:6443')).toBe(true);
    expect(proxied('https://api.example.com', 'api.example.com:443')).toBe(false);
    expect(proxied('https://10.0.0.1:6443', '10.0.0.1:6443')).toBe(false);
  });
});
