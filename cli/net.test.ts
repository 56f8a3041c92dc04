/**
 * The bounded reader and the network bounds, with short limits so each phase can be shown to end:
 * connect/TLS handshake, first byte, body silence, a trickling --cert URL, endless bodies.
 * Servers listen on loopback only.
 */
import { request as httpRequest, createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../shared/errors.ts';
import { boundedCollector, readFileBounded, readStreamBounded, TooLargeError } from './bounded-read.ts';
import { readCertificate } from './cert.ts';
import type { Io } from './io.ts';
import { guardRequest, networkDetail, NetworkTimeoutError, type NetworkTimeouts } from './net.ts';

const short: NetworkTimeouts = { connectMs: 2_000, tlsHandshakeMs: 300, firstByteMs: 300, bodyIdleMs: 300 };

const listen = (server: Server | ReturnType<typeof createTcpServer>): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));

function get(url: string, timeouts: NetworkTimeouts): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { rejectUnauthorized: false }, (response: IncomingMessage) => {
      readStreamBounded(response, 1024 * 1024, 'the answer').then(resolve, reject);
    });
    guardRequest(req, timeouts);
    req.on('error', reject);
    req.end();
  });
}

describe('the bounded reader', () => {
  it('stops an endless stream after the limit, having pulled at most one chunk more', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) {
        pulled += 65_536;
        yield new Uint8Array(65_536);
      }
    }
    await expect(readStreamBounded(endless(), 1024 * 1024, 'stdin')).rejects.toThrow(TooLargeError);
    expect(pulled).toBeLessThanOrEqual(1024 * 1024 + 65_536);
  });
  it('reads up to the limit exactly, and a device file (size 0 to stat) no further than it', () => {
    const collector = boundedCollector(4, 'x');
    collector.add(new Uint8Array([1, 2]));
    collector.add(new Uint8Array([3, 4]));
    expect([...collector.result()]).toEqual([1, 2, 3, 4]);
    expect(() => collector.add(new Uint8Array([5]))).toThrow(/^x is larger than 4 bytes, the most kubeseal reads/);
    expect(() => readFileBounded('/dev/zero', 1024 * 1024, '--secret-file "/dev/zero"')).toThrow(/larger than 1 MiB/);
  });
});

describe('network bounds', () => {
  const sockets = new Set<Socket>();
  const silent = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  const mute = createServer(() => undefined); // reads the request, never answers
  const stalls = createServer((_req, res) => {
    res.writeHead(200);
    res.write('-----BEGIN'); // then nothing
  });
  const trickles = createServer((_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('A'), 50);
    res.on('close', () => clearInterval(timer));
  });
  let ports: number[] = [];
  beforeAll(async () => {
    ports = await Promise.all([silent, mute, stalls, trickles].map(listen));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    for (const server of [mute, stalls, trickles]) server.closeAllConnections();
    await Promise.all([silent, mute, stalls, trickles].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  it.each([
    ['a TLS handshake that never completes', () => `https://127.0.0.1:${ports[0]}/`, 'tls-handshake'],
    ['an answer that never starts', () => `http://127.0.0.1:${ports[1]}/`, 'first-byte'],
    ['a body that stops', () => `http://127.0.0.1:${ports[2]}/`, 'body'],
  ])('%s ends with a NetworkTimeoutError for that phase', async (_, url, phase) => {
    const error = await get(url(), short).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkTimeoutError);
    expect((error as NetworkTimeoutError).phase).toBe(phase);
    expect(networkDetail(error).detail).toMatch(/^it (did not complete the TLS handshake|did not start to answer|stopped sending its answer) within 0\.3 s$/);
  });

  it('a trickling --cert URL fails at its deadline with a clear line', async () => {
    const io = { env: {}, readFile: () => Buffer.alloc(0) } as unknown as Io;
    const error = await readCertificate(`http://127.0.0.1:${ports[3]}/cert.pem`, io, 500).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/^cannot fetch "http:\/\/127\.0\.0\.1:\d+\/cert\.pem": the server did not send the certificate within 0\.5 s; check the URL, or fetch the certificate into a file and pass that$/);
  });
});
