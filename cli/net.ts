/**
 * What every network step of kubeseal shares: bounded connect, TLS handshake, first byte and body
 * silence (shared/input-limits.ts NETWORK_TIMEOUTS), even with --request-timeout 0, as upstream's
 * Go transport bounds its TLS handshake to 10 s; and one wording for network failures, so that
 * raw OpenSSL text never reaches the user.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { errorMessage } from '../shared/errors.ts';
import { NETWORK_TIMEOUTS } from '../shared/input-limits.ts';
import { remoteText } from '../shared/untrusted.ts';

export type NetworkPhase = 'connect' | 'tls-handshake' | 'first-byte' | 'body' | 'whole';

/** A network step that took longer than its bound. */
export class NetworkTimeoutError extends Error {
  readonly phase: NetworkPhase;
  readonly ms: number;
  constructor(phase: NetworkPhase, ms: number) {
    super(`network ${phase} timeout after ${ms} ms`);
    this.name = 'NetworkTimeoutError';
    this.phase = phase;
    this.ms = ms;
  }
}

export interface NetworkTimeouts {
  readonly connectMs: number;
  readonly tlsHandshakeMs: number;
  readonly firstByteMs: number;
  readonly bodyIdleMs: number;
}

/**
 * Bound each phase of one node:http(s) request: getting a connected socket (through an agent or
 * proxy), the TLS handshake, the first byte of the answer after the request is sent, and silence
 * while the body arrives. On expiry the request is destroyed with a NetworkTimeoutError.
 */
export function guardRequest(req: ClientRequest, timeouts: NetworkTimeouts = NETWORK_TIMEOUTS): void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (phase: NetworkPhase, ms: number): void => {
    clearTimeout(timer);
    timer = setTimeout(() => req.destroy(new NetworkTimeoutError(phase, ms)), ms);
    timer.unref();
  };
  const disarm = (): void => clearTimeout(timer);
  // A proxy agent hands over the socket only once its tunnel (and TLS) is up: bound that too.
  arm('connect', timeouts.connectMs + timeouts.tlsHandshakeMs);
  req.once('socket', (socket: Socket & { encrypted?: boolean }) => {
    // The request is written as soon as the connection is ready: from then on, wait for the answer.
    const ready = (): void => arm('first-byte', timeouts.firstByteMs);
    const handshake = (): void => {
      if (socketSecure(socket)) return ready();
      arm('tls-handshake', timeouts.tlsHandshakeMs);
      socket.once('secureConnect', ready);
    };
    if (socket.connecting) {
      arm('connect', timeouts.connectMs);
      socket.once('connect', handshake);
    } else handshake();
  });
  req.once('response', (response: IncomingMessage) => {
    disarm();
    response.socket?.setTimeout(timeouts.bodyIdleMs, () => response.destroy(new NetworkTimeoutError('body', timeouts.bodyIdleMs)));
    response.once('end', () => response.socket?.setTimeout(0));
  });
  req.once('close', disarm);
}

/** A plain socket once connected; a TLS socket once its handshake is done. */
function socketSecure(socket: Socket & { encrypted?: boolean }): boolean {
  if (!socket.encrypted) return true;
  // TLSSocket: `_secureEstablished` is the only synchronous flag for a finished handshake.
  return (socket as unknown as { _secureEstablished?: boolean })._secureEstablished === true;
}

const PHASES: Record<NetworkPhase, string> = {
  connect: 'could not connect',
  'tls-handshake': 'did not complete the TLS handshake',
  'first-byte': 'did not start to answer',
  body: 'stopped sending its answer',
  whole: 'did not send its whole answer',
};

/** OpenSSL's codes for a TLS client talking to something that is not TLS (plain HTTP, mostly). */
const NOT_TLS = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|UNKNOWN_PROTOCOL|RECORD_LAYER_FAILURE/;
/** Certificate verification failures. */
const UNTRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|ERR_TLS/;

/**
 * One phrase for why a request got no answer: our words for timeouts and TLS failures (never
 * OpenSSL's text), Node's own short text (an address and a code) for socket errors.
 */
export function networkDetail(error: unknown): { detail: string; kind: 'timeout' | 'not-tls' | 'untrusted' | 'other' } {
  if (error instanceof NetworkTimeoutError) return { detail: `it ${PHASES[error.phase]} within ${error.ms / 1000} s`, kind: 'timeout' };
  const code = String((error as NodeJS.ErrnoException).code ?? '');
  const message = errorMessage(error);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { detail: 'it did not accept the connection or complete the TLS handshake within 10 s', kind: 'timeout' };
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { detail: 'it did not start to answer in time', kind: 'timeout' };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { detail: 'it stopped sending its answer', kind: 'timeout' };
  if (NOT_TLS.test(code) || (code === 'EPROTO' && /wrong version number|packet length too long|http request/i.test(message))) {
    return { detail: 'it does not speak TLS (is it a plain http:// server, or the wrong port?)', kind: 'not-tls' };
  }
  if (UNTRUSTED.test(code)) return { detail: `its TLS certificate is not accepted (${code})`, kind: 'untrusted' };
  if (code === 'ECONNRESET' && /socket disconnected before secure TLS connection/i.test(message)) {
    return { detail: 'it closed the connection during the TLS handshake (is it a TLS server?)', kind: 'not-tls' };
  }
  return { detail: remoteText(message) || code || 'the connection failed', kind: 'other' };
}
