import { describe, expect, it } from 'vitest';
import { proxyFor } from './cert.ts';

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
