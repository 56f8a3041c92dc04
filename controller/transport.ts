/**
 * How the controller's requests reach the API server: a Transport sends one HTTP/1.1 request and
 * hands back the status and a body to read whole or line by line (watches). kube-client.ts builds
 * every Kubernetes call on it.
 *
 * Two implementations. `httpsTransport` (node:https, keep-alive) is what a pod uses: Node's own
 * client, already in the binary, costs nothing to load, and spends about half the event-loop time
 * per request of undici's fetch (WHATWG streams and Headers objects for every call), which matters
 * when a cold pass makes four requests per SealedSecret (docs/benchmarks.md). The kubeconfig path
 * and proxies keep undici (undici-transport.ts): client-node hands out undici dispatchers, and a
 * CONNECT tunnel is undici's job, not ours to rewrite.
 */
import type * as Https from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';

export interface TransportRequest {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Give up when the server sends nothing for this long (ms); undefined: wait (watches). */
  readonly timeoutMs?: number | undefined;
}

export interface Reply {
  readonly status: number;
  readonly statusText: string;
  /** The whole body as text. */
  text(): Promise<string>;
  /** The body's chunks as text (UTF-8 decoded across chunk boundaries). */
  chunks(): AsyncIterable<string>;
  /** Read the body to its end and drop it (the connection goes back to the pool). */
  discard(): Promise<void>;
}

export type Transport = (url: URL, request: TransportRequest) => Promise<Reply>;

/** Lines of a newline-delimited body (a watch): each complete line once, the last one without its "\n" too. */
export async function* lines(chunks: AsyncIterable<string>): AsyncIterable<string> {
  let carry = '';
  for await (const chunk of chunks) {
    carry += chunk;
    let end = carry.indexOf('\n');
    while (end >= 0) {
      yield carry.slice(0, end);
      carry = carry.slice(end + 1);
      end = carry.indexOf('\n');
    }
  }
  if (carry !== '') yield carry;
}

/** The end of a response body; event listeners, not `for await`: a cold pass reads ~3000 of them. */
function ended(response: IncomingMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    response.once('end', resolve);
    response.once('error', reject);
    // After 'end' this changes nothing; without it, the body was cut short.
    response.once('close', () => reject(Object.assign(new Error('the response ended early'), { code: 'ECONNRESET' })));
  });
}

function replyFrom(response: IncomingMessage): Reply {
  return {
    status: response.statusCode ?? 0,
    statusText: response.statusMessage ?? '',
    async text() {
      response.setEncoding('utf8');
      let text = '';
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      await ended(response);
      return text;
    },
    chunks: () => response.setEncoding('utf8') as AsyncIterable<string>,
    async discard() {
      response.resume();
      await ended(response);
    },
  };
}

export interface HttpsTransportOptions {
  /** PEM of the CA that signs the API server's certificate. */
  readonly ca: string;
}

/**
 * node:https over one keep-alive pool. A request that fails with ECONNRESET on a reused socket
 * (the server closed an idle connection just as it was taken) is sent once more on a new one, as
 * Node's documentation advises: nothing was answered, and every call of ours is safe to repeat
 * (creates answer 409 the second time, which callers handle).
 */
export function httpsTransport(options: HttpsTransportOptions): Transport {
  // process.getBuiltinModule: an ES import of node:https builds a facade of every export (docs/benchmarks.md).
  const https = process.getBuiltinModule('node:https') as typeof Https;
  const agent = new https.Agent({ keepAlive: true, ca: options.ca, scheduling: 'lifo' });
  const once = (url: URL, request: TransportRequest) =>
    new Promise<{ reply: Reply } | { retry: true }>((resolve, reject) => {
      const headers: Record<string, string | number> = { ...request.headers };
      if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
      const outgoing: ClientRequest = https.request(url, { method: request.method, headers, agent, ...(request.signal ? { signal: request.signal } : {}) }, (response) => resolve({ reply: replyFrom(response) }));
      // The socket's idle timer (already there for keep-alive), not a timer and an AbortSignal per request.
      const { timeoutMs } = request;
      if (timeoutMs !== undefined) {
        outgoing.setTimeout(timeoutMs, () => outgoing.destroy(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
      }
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        if (outgoing.reusedSocket && error.code === 'ECONNRESET' && !request.signal?.aborted) resolve({ retry: true });
        else reject(error);
      });
      outgoing.end(request.body);
    });
  return async (url, request) => {
    const first = await once(url, request);
    if ('reply' in first) return first.reply;
    const second = await once(url, request);
    if ('reply' in second) return second.reply;
    throw Object.assign(new Error('connection reset by the server'), { code: 'ECONNRESET' });
  };
}
