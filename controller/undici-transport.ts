/**
 * The Transport (transport.ts) over undici's fetch and a dispatcher: for a kubeconfig (client-node
 * gives undici dispatchers: exec plugins' client certificates, SOCKS proxies) and for proxies
 * (CONNECT tunnels). Loaded only on those paths.
 */
import { fetch, type Dispatcher } from 'undici';
import type { Transport, TransportRequest } from './transport.ts';

/** The caller's signal, and the timeout as a second one (this path is not the pod's hot one). */
function timeoutSignal(request: TransportRequest): AbortSignal | undefined {
  const signals = [request.signal, request.timeoutMs === undefined ? undefined : AbortSignal.timeout(request.timeoutMs)].filter((s): s is AbortSignal => s !== undefined);
  return signals.length > 1 ? AbortSignal.any(signals) : signals[0];
}

export function undiciTransport(dispatcher: () => Promise<Dispatcher | undefined>): Transport {
  return async (url, request) => {
    const response = await fetch(url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      dispatcher: await dispatcher(),
      signal: timeoutSignal(request),
    });
    const decoder = new TextDecoder();
    return {
      status: response.status,
      statusText: response.statusText,
      text: () => response.text(),
      discard: async () => {
        await response.arrayBuffer();
      },
      async *chunks() {
        if (!response.body) return;
        for await (const chunk of response.body) {
          const text = decoder.decode(chunk as Uint8Array, { stream: true });
          if (text !== '') yield text;
        }
        const rest = decoder.decode();
        if (rest !== '') yield rest;
      },
    };
  };
}
