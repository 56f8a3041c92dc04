/**
 * The in-cluster transport (node:https) against a local TLS server whose certificate a throwaway
 * CA signed, as a cluster's CA signs kube-apiserver's: verification on, HTTP/1.1, keep-alive.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createCertificateAuthority, issueCertificate } from '../scripts/cluster/pki.ts';
import { httpsTransport, lines } from './transport.ts';

const ca = createCertificateAuthority('transport-test-ca');
const serving = issueCertificate(ca, { commonName: 'kube-apiserver', usage: 'server', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function start(handler: Parameters<typeof createServer>[1]): Promise<{ url: (path: string) => URL; sockets: Set<Socket> }> {
  const server = createServer({ key: serving.key, cert: serving.cert }, handler);
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: (path) => new URL(`https://127.0.0.1:${port}${path}`), sockets };
}

async function* from(parts: string[]): AsyncIterable<string> {
  for (const part of parts) yield part;
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('lines', () => {
  it('splits on newlines across chunk boundaries and keeps a last line without one', async () => {
    expect(await collect(lines(from(['{"a":', '1}\n{"b"', ':2}\n\n', '{"c":3}'])))).toEqual(['{"a":1}', '{"b":2}', '', '{"c":3}']);
    expect(await collect(lines(from([])))).toEqual([]);
  });
});

describe('httpsTransport', () => {
  it('verifies the server against the CA, sends method, headers and body, and reuses one connection', async () => {
    const seen: { method: string; auth: string; body: string; length: string; version: string }[] = [];
    const server = await start((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        seen.push({ method: request.method ?? '', auth: String(request.headers.authorization), body, length: String(request.headers['content-length']), version: request.httpVersion });
        response.writeHead(201, { 'content-type': 'application/json' });
        response.end('{"kind":"Secret","é":"ü"}');
      });
    });
    const send = httpsTransport({ ca: ca.cert });
    for (let i = 0; i < 3; i++) {
      const reply = await send(server.url('/api/v1/namespaces/x/secrets'), { method: 'POST', headers: { authorization: 'Bearer t' }, body: '{"ä":1}' });
      expect(reply.status).toBe(201);
      expect(JSON.parse(await reply.text())).toEqual({ kind: 'Secret', é: 'ü' });
    }
    expect(seen).toEqual(Array(3).fill({ method: 'POST', auth: 'Bearer t', body: '{"ä":1}', length: String(Buffer.byteLength('{"ä":1}')), version: '1.1' }));
    expect(server.sockets.size).toBe(1);
  });

  it('refuses a server its CA did not sign', async () => {
    const server = await start((_request, response) => response.end('{}'));
    const other = createCertificateAuthority('another-ca');
    await expect(httpsTransport({ ca: other.cert })(server.url('/'), { method: 'GET', headers: {} })).rejects.toThrow(/certificate/);
  });

  it('sends once more on a new connection when the server drops the kept-alive one it reused', async () => {
    const perSocket = new Map<unknown, number>();
    let answered = 0;
    const server = await start((request, response) => {
      const count = (perSocket.get(request.socket) ?? 0) + 1;
      perSocket.set(request.socket, count);
      // The second request on a connection finds it closed (a server's idle timeout, racing the client).
      if (count === 2) {
        request.socket.destroy();
        return;
      }
      answered += 1;
      response.end(`{"n":${answered}}`);
    });
    const send = httpsTransport({ ca: ca.cert });
    expect(await (await send(server.url('/'), { method: 'GET', headers: {} })).text()).toBe('{"n":1}');
    expect(await (await send(server.url('/'), { method: 'GET', headers: {} })).text()).toBe('{"n":2}');
    expect(server.sockets.size).toBe(2);
  });

  it('does not send again when a fresh connection fails', async () => {
    let requests = 0;
    const server = await start((request) => {
      requests += 1;
      request.socket.destroy();
    });
    await expect(httpsTransport({ ca: ca.cert })(server.url('/'), { method: 'POST', headers: {}, body: '{}' })).rejects.toThrow(/socket hang up/);
    expect(requests).toBe(1);
  });

  it('streams a watch body chunk by chunk, UTF-8 intact across chunks, and stops when aborted', async () => {
    const server = await start((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const bytes = Buffer.from('{"type":"ADDED","x":"é"}\n');
      const split = bytes.indexOf(0xc3) + 1; // inside the two bytes of "é"
      response.write(bytes.subarray(0, split));
      setTimeout(() => response.write(bytes.subarray(split)), 20);
    });
    const abort = new AbortController();
    const reply = await httpsTransport({ ca: ca.cert })(server.url('/watch'), { method: 'GET', headers: {}, signal: abort.signal });
    const seen: string[] = [];
    await expect((async () => {
      for await (const line of lines(reply.chunks())) {
        seen.push(line);
        abort.abort();
      }
    })()).rejects.toThrow();
    expect(seen).toEqual(['{"type":"ADDED","x":"é"}']);
  });

  it('drains a body it is told to discard, and the connection serves the next request', async () => {
    const server = await start((_request, response) => response.end(JSON.stringify({ padding: 'x'.repeat(100_000) })));
    const send = httpsTransport({ ca: ca.cert });
    await (await send(server.url('/a'), { method: 'POST', headers: {}, body: '{}' })).discard();
    expect(JSON.parse(await (await send(server.url('/b'), { method: 'GET', headers: {} })).text()).padding).toHaveLength(100_000);
    expect(server.sockets.size).toBe(1);
  });

  it('gives up on a server that does not answer within timeoutMs, and leaves a watch (no timeout) open', async () => {
    const server = await start((request, response) => {
      if (request.url === '/watch') response.writeHead(200).flushHeaders();
      // /slow: never answered
    });
    const send = httpsTransport({ ca: ca.cert });
    const started = performance.now();
    await expect(send(server.url('/slow'), { method: 'GET', headers: {}, timeoutMs: 200 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(performance.now() - started).toBeLessThan(5000);
    const abort = new AbortController();
    const watch = await send(server.url('/watch'), { method: 'GET', headers: {}, signal: abort.signal });
    expect(watch.status).toBe(200);
    const read = (async () => {
      for await (const _chunk of watch.chunks()) break;
    })();
    let settled = false;
    void read.then(() => (settled = true), () => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(settled).toBe(false);
    abort.abort();
    await read.catch(() => undefined);
  });

  it('rejects a body that the server cuts short', async () => {
    const server = await start((request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('{"partial":');
      setTimeout(() => request.socket.destroy(), 20);
    });
    const send = httpsTransport({ ca: ca.cert });
    await expect((await send(server.url('/'), { method: 'GET', headers: {} })).text()).rejects.toThrow();
    await expect((await send(server.url('/'), { method: 'GET', headers: {} })).discard()).rejects.toThrow();
  });
});
