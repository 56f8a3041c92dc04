/**
 * The Transport (transport.ts) over undici's fetch and a dispatcher: for a kubeconfig (client-node
 * gives undici dispatchers: exec plugins' client certificates, SOCKS proxies) and for proxies
 * (CONNECT tunnels). Loaded only on those paths.
 */
import { fetch, type Dispatcher } from 'undici';
import type { Transport } from './transport.ts';

export function undiciTransport(dispatcher: () => Promise<Dispatcher | undefined>): Transport {
  return async (url, request) => {
    const response = await fetch(url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      dispatcher: await dispatcher(),
      signal: request.signal,
    });
    const decoder = new TextDecoder();
    return {
      status: response.status,
      statusText: response.statusText,
      text: () => response.text(),
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
