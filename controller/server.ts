/**
 * The controller's HTTP API, with upstream's paths, bodies, content types and status codes
 * (pkg/controller/server.go), served by every replica from the moment the process starts:
 *
 *   /healthz        200 "ok\n"
 *   /v1/cert.pem    200 the newest certificate (application/x-pem-file); 500 before a key exists
 *   /v1/verify      POST a SealedSecret: 200 it opens, 409 it does not, 500 not a SealedSecret
 *   /v1/rotate      POST a SealedSecret: 200 the same, re-sealed with the newest key (JSON)
 *   /v1/keys        GET: the key Secrets, active and retired, and how many SealedSecrets need each
 *                   (JSON, shared/controller-api.ts ControllerKeys; ours, not upstream's)
 *
 * Hardening beyond upstream (its 2026 advisories): the two decrypting endpoints are rate limited
 * and size limited, never render spec.template.data, take the scope only from the SealedSecret's
 * top-level metadata, and refuse a template that would widen that scope. Responses and logs
 * never contain plaintext or key material.
 *
 * The app takes capabilities (functions), not the controller, so tests can drive it directly.
 */
import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { ControllerKeys } from '../shared/controller-api.ts';
import { errorMessage, UserError } from '../shared/errors.ts';
import { readSealedSecret, SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND, type SealedSecret } from '../shared/kube.ts';
import { checkTemplateScope, compareTemplate, reencryptSealedSecret } from '../shared/re-encrypt.ts';
import { shownObject } from '../shared/untrusted.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { webRouter } from './web.ts';

// Not `import { createServer } from 'node:http'`: an ES import of node:http builds a facade of all
// its exports, which loads Node's bundled undici (~13 MiB and ~0.2-0.5 s of start-up on a loaded
// node; docs/benchmarks.md). The builtin itself costs neither.
const { createServer } = process.getBuiltinModule('node:http');

export interface ServerCapabilities {
  /** PEM of the newest certificate and its public key, or undefined while there is no key. */
  newest(): { certificate: string; publicKey: KeyObject } | undefined;
  /** Unseal the values of a SealedSecret (never its template). Rejects with a DecryptError when no key fits. */
  open(sealed: SealedSecret): Promise<Record<string, string>>;
  /** How many sealing keys `open` may try per value. */
  keyCount(): number;
  /** What GET /v1/keys answers (kept cheap: no walk over SealedSecrets); without it, 404. */
  keys?(): ControllerKeys;
}

export interface ServerOptions {
  readonly capabilities: ServerCapabilities;
  readonly rateLimit: number;
  readonly rateLimitBurst: number;
  readonly maxRequestBytes: number;
  /**
   * Proxies in front of the controller that append their caller's address to X-Forwarded-For
   * (the API server's service proxy is one). The rate limits key on the address that many hops
   * back from the peer; 0: on the peer address alone.
   */
  readonly trustedProxyHops: number;
  /**
   * RSA private operations the decrypting endpoints may spend per second, all clients together,
   * and at most per request (also the bucket's burst). A request is charged its worst case, values
   * times keys, before any work: RSA is what costs, and a body of many values is one request.
   */
  readonly rsaOpsPerSecond: number;
  readonly maxRequestRsaOps: number;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now?: () => number;
  /** The sealing page's built files (dist/web), served at / and /assets; undefined: no page (--web=false). */
  readonly webDir?: string;
}

/** Token buckets per client: `rate` tokens per second, `burst` at once; a request takes `cost` tokens. */
function limiter(rate: number, burst: number, now: () => number): (client: string, cost?: number) => { ok: boolean; retryAfterS: number; remaining: number } {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (client, cost = 1) => {
    const t = now();
    if (buckets.size > 65_536) buckets.clear(); // bounded memory, as upstream's 65536-entry store
    const bucket = buckets.get(client) ?? { tokens: burst, at: t };
    bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * rate);
    bucket.at = t;
    buckets.set(client, bucket);
    if (bucket.tokens < cost) return { ok: false, retryAfterS: Math.max(1, Math.ceil((cost - bucket.tokens) / Math.max(rate, 1e-9))), remaining: Math.floor(bucket.tokens) };
    bucket.tokens -= cost;
    return { ok: true, retryAfterS: 0, remaining: Math.floor(bucket.tokens) };
  };
}

/** The most RSA private operations opening `sealed` can take: every value may try every key. */
export function rsaCost(sealed: SealedSecret, keys: number): number {
  const values = Object.keys(sealed.spec.encryptedData).length + (sealed.spec.data ? 1 : 0);
  return Math.max(1, values) * Math.max(1, keys);
}

/** A request body as a SealedSecret; throws UserError. Like upstream, multi-document bodies are refused. */
async function readBody(body: unknown): Promise<SealedSecret> {
  // The YAML parser loads with the first body: most replicas never get one (kubeseal verifies offline).
  const { parseDocuments } = await import('../shared/manifest.ts');
  // The bytes, so that invalid UTF-8 is refused as kubeseal refuses it, not replaced with U+FFFD.
  const docs = parseDocuments(Buffer.isBuffer(body) ? body : new Uint8Array(0), 'request body');
  if (docs.length !== 1) throw new UserError(`request body must hold exactly one SealedSecret, it holds ${docs.length}`);
  const doc = docs[0] as { apiVersion?: unknown; kind?: unknown };
  if (doc?.apiVersion !== SEALED_SECRET_API_VERSION || doc.kind !== SEALED_SECRET_KIND) {
    throw new UserError(`request body must be a ${SEALED_SECRET_API_VERSION} ${SEALED_SECRET_KIND}`);
  }
  return readSealedSecret(doc, 'request body');
}

export function createApp(options: ServerOptions): express.Express {
  const { capabilities, metrics, log } = options;
  const now = options.now ?? Date.now;
  const allow = limiter(options.rateLimit, options.rateLimitBurst, now);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Express (proxy-addr) walks X-Forwarded-For from the right: with n trusted hops, req.ip is the
  // n-th address left of the peer (or the left-most one when there are fewer). Entries left of it
  // are whatever the client wrote, so they never name the client.
  app.set('trust proxy', options.trustedProxyHops);

  const instrument = (path: string) => (req: Request, res: Response, next: NextFunction) => {
    const end = metrics.httpDuration.startTimer({ path, method: req.method.toLowerCase() });
    res.on('finish', () => {
      end();
      metrics.httpRequests.inc({ path, code: String(res.statusCode), method: req.method.toLowerCase() });
    });
    next();
  };
  // Through the API server's service proxy every caller has the API server's address as peer; the
  // proxy appends the caller's address to X-Forwarded-For, the right-most entry (one trusted hop).
  const clientOf = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? '';
  const rateLimited = (req: Request, res: Response, next: NextFunction) => {
    const verdict = allow(`${req.path} ${clientOf(req)}`);
    res.setHeader('X-RateLimit-Limit', String(options.rateLimitBurst));
    res.setHeader('X-RateLimit-Remaining', String(verdict.remaining));
    if (verdict.ok) return next();
    res.setHeader('Retry-After', String(verdict.retryAfterS));
    res.status(429).type('text/plain').send('limit exceeded\n');
  };
  const body = express.raw({ type: () => true, limit: options.maxRequestBytes });
  const rsaBudget = limiter(options.rsaOpsPerSecond, options.maxRequestRsaOps, now);
  /** Charge the RSA budget for opening `sealed`, or answer 413/429 and return false. */
  const chargeRsa = (sealed: SealedSecret, res: Response): boolean => {
    const cost = rsaCost(sealed, capabilities.keyCount());
    if (cost > options.maxRequestRsaOps) {
      res.status(413).type('text/plain; charset=utf-8')
        .send(`opening this SealedSecret may take ${cost} RSA operations (values times sealing keys), more than the ${options.maxRequestRsaOps} allowed per request; send fewer values per request\n`);
      return false;
    }
    const verdict = rsaBudget('', cost);
    if (verdict.ok) return true;
    res.setHeader('Retry-After', String(verdict.retryAfterS));
    res.status(429).type('text/plain; charset=utf-8').send('limit exceeded: the decrypting endpoints are busy, retry later\n');
    return false;
  };

  app.all('/healthz', (_req, res) => {
    res.status(200).type('text/plain; charset=utf-8').send('ok\n');
  });

  // Readiness (the Deployment's readinessProbe): ready once a sealing key is loaded, so that during
  // a rollout the Service never sends a certificate fetch to a pod that would answer 500.
  // /healthz stays liveness: it answers from the first moment, keys or not.
  app.all('/readyz', (_req, res) => {
    if (capabilities.newest()) res.status(200).type('text/plain; charset=utf-8').send('ok\n');
    else res.status(503).type('text/plain; charset=utf-8').send('no sealing key loaded yet\n');
  });

  app.all('/v1/cert.pem', instrument('/v1/cert.pem'), (_req, res) => {
    const newest = capabilities.newest();
    if (!newest) {
      res.status(500).type('text/plain; charset=utf-8').send('cannot get certificate\n');
      return;
    }
    res.status(200).setHeader('Content-Type', 'application/x-pem-file');
    res.end(Buffer.from(newest.certificate));
  });

  const listKeys = capabilities.keys;
  if (listKeys) {
    // O(keys), like /v1/cert.pem: not behind the decrypting endpoints' rate limit (admins poll it).
    app.get('/v1/keys', instrument('/v1/keys'), (_req, res) => {
      res.status(200).type('application/json').send(`${JSON.stringify(listKeys())}\n`);
    });
  }

  app.all('/v1/verify', instrument('/v1/verify'), rateLimited, body, async (req, res) => {
    let sealed: SealedSecret;
    try {
      sealed = await readBody(req.body);
    } catch (error) {
      log.info('verify: bad request body', { error: errorMessage(error) });
      res.status(500).end();
      return;
    }
    if (!chargeRsa(sealed, res)) return;
    try {
      await capabilities.open(sealed);
      res.status(200).end();
    } catch {
      res.status(409).end();
    }
  });

  app.all('/v1/rotate', instrument('/v1/rotate'), rateLimited, body, async (req, res) => {
    let sealed: SealedSecret;
    try {
      sealed = await readBody(req.body);
      checkTemplateScope(sealed);
    } catch (error) {
      log.info('rotate: bad request body', { error: errorMessage(error) });
      res.status(400).type('text/plain; charset=utf-8').send(`${errorMessage(error)}\n`);
      return;
    }
    const newest = capabilities.newest();
    if (!newest) {
      res.status(500).type('text/plain; charset=utf-8').send('cannot get certificate\n');
      return;
    }
    if (!chargeRsa(sealed, res)) return;
    let values: Record<string, string>;
    try {
      values = await capabilities.open(sealed);
    } catch (error) {
      log.info('rotate: cannot decrypt', { sealedsecret: shownObject(sealed.metadata.namespace, sealed.metadata.name), error: errorMessage(error) });
      res.status(500).type('text/plain; charset=utf-8').send('error decrypting secret\n');
      return;
    }
    if (compareTemplate(sealed).differs) {
      // As upstream: the top-level metadata the values are bound to wins; say so, without values.
      log.warn('rotate: spec.template.metadata disagrees with metadata (name, namespace or scope); re-encrypting for metadata', { sealedsecret: shownObject(sealed.metadata.namespace, sealed.metadata.name) });
    }
    let rotated: SealedSecret;
    try {
      rotated = reencryptSealedSecret(sealed, values, { publicKey: newest.publicKey, random: randomBytes });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      res.status(400).type('text/plain; charset=utf-8').send(`${errorMessage(error)}\n`);
      return;
    }
    res.status(200).type('application/json').send(`${JSON.stringify(rotated)}\n`);
  });

  if (options.webDir !== undefined) app.use(webRouter(options.webDir));

  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain; charset=utf-8').send('404 page not found\n');
  });
  // Express 5 routes rejected promises and body-parser errors here.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: number; type?: string }).status;
    if (status === 413) {
      res.status(413).type('text/plain; charset=utf-8').send(`request body larger than ${options.maxRequestBytes} bytes\n`);
      return;
    }
    if (status !== undefined && status >= 400 && status < 500) {
      res.status(400).end();
      return;
    }
    log.error('HTTP handler failed', { error: errorMessage(error) });
    res.status(500).end();
  });
  return app;
}

/** The metrics app: only /metrics, like upstream's metrics server. */
export function createMetricsApp(metrics: Metrics): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain; charset=utf-8').send('404 page not found\n');
  });
  return app;
}

/** ":8080" -> all interfaces, port 8080; "127.0.0.1:0"; "[::1]:8080". */
export function parseListenAddress(address: string): { host?: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!match) throw new UserError(`invalid listen address "${address}": use host:port or :port`);
  const host = match[1] ?? match[2];
  return { ...(host ? { host } : {}), port: Number(match[3]) };
}

/** Start `server` on a listen address; resolves with the address bound ("127.0.0.1:41234", "[::]:8080"). */
export function listen(server: Server, address: string): Promise<string> {
  const { host, port } = parseListenAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}` : address);
    });
  });
}

/** Stop a server started by listen (a no-op if it never started), then drop its connections. */
export async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  await new Promise((resolve) => server.close(resolve));
  server.closeAllConnections();
}

export interface ServersOptions extends ServerOptions {
  readonly listenAddr: string;
  readonly listenMetricsAddr: string;
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
}

/** Both servers, listening. close() stops them (and is safe to call however start-up went). */
export interface Servers {
  /** The addresses bound, e.g. "127.0.0.1:41234". */
  readonly http: string;
  readonly metrics: string;
  close(): Promise<void>;
}

/** Start the API and the metrics server; if either cannot listen, close both and throw. */
export async function startServers(options: ServersOptions): Promise<Servers> {
  const api = createServer({ requestTimeout: options.readTimeoutMs, headersTimeout: Math.min(options.readTimeoutMs, 60_000) }, createApp(options));
  api.setTimeout(options.writeTimeoutMs);
  const metrics = createServer({ requestTimeout: options.readTimeoutMs }, createMetricsApp(options.metrics));
  const close = async () => {
    await Promise.all([closeServer(api), closeServer(metrics)]);
  };
  try {
    const [http, metricsAddress] = await Promise.all([listen(api, options.listenAddr), listen(metrics, options.listenMetricsAddr)]);
    return { http, metrics: metricsAddress, close };
  } catch (error) {
    await close();
    throw error;
  }
}
