/**
 * Access to the API as a pod: the ServiceAccount token and the cluster's CA under
 * /var/run/secrets/kubernetes.io/serviceaccount and KUBERNETES_SERVICE_HOST/PORT, as client-go's
 * rest.InClusterConfig reads them. Written here rather than taken from @kubernetes/client-node
 * (whose loadFromCluster does the same) because loading client-node costs ~80 MiB of memory and
 * ~0.5 s of start-up, a third of the controller's footprint for reading two files
 * (docs/benchmarks.md); kubeconfig-access.ts still uses it when a kubeconfig is given.
 *
 * The token is read again once a minute (client-go's period): kubelet rotates projected tokens.
 */
import { readFileSync } from 'node:fs';
import { proxyFor, type Env } from '../shared/proxy.ts';
import type { KubeAccess } from './kube-client.ts';
import { httpsTransport, type Transport } from './transport.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const TOKEN_REFRESH_MS = 60_000;

export interface InClusterOptions {
  readonly env: Env & Readonly<Record<string, string | undefined>>;
  /** Reads a file of the ServiceAccount directory (injected for tests). */
  readonly readFile?: (path: string) => string;
  /** Monotonic milliseconds (injected for tests). */
  readonly now?: () => number;
  readonly dir?: string;
}

/** True when the controller should use in-cluster access: no kubeconfig asked for, and running in a pod. */
export function runsInCluster(explicitKubeconfig: string | undefined, env: Readonly<Record<string, string | undefined>>): boolean {
  return !explicitKubeconfig && !env.KUBECONFIG && !!env.KUBERNETES_SERVICE_HOST;
}

export function inClusterAccess(options: InClusterOptions): KubeAccess {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const now = options.now ?? (() => performance.now());
  const dir = options.dir ?? SERVICE_ACCOUNT_DIR;
  const host = options.env.KUBERNETES_SERVICE_HOST ?? '';
  const port = options.env.KUBERNETES_SERVICE_PORT || '443';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const read = (name: string, what: string): string => {
    try {
      return readFile(`${dir}/${name}`);
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'unreadable';
      throw new Error(`in-cluster configuration: cannot read the ${what} ${dir}/${name} (${code}); mount the ServiceAccount token or pass --kubeconfig`);
    }
  };
  // Read once at start: a pod without its CA cannot talk to the API server at all.
  const ca = read('ca.crt', 'cluster CA');
  let token = { value: '', readAt: -Infinity };
  let transport: Promise<Transport> | undefined;
  return {
    server,
    async headers() {
      if (now() - token.readAt >= TOKEN_REFRESH_MS) {
        // A failed re-read keeps the last token (it may still be valid); the first must succeed.
        try {
          token = { value: read('token', 'ServiceAccount token').trim(), readAt: now() };
        } catch (error) {
          if (token.value === '') throw error;
        }
      }
      return { authorization: `Bearer ${token.value}` };
    },
    transport: async (url, request) => {
      transport ??= makeTransport(server, ca, options.env);
      return (await transport)(url, request);
    },
  };
}

/**
 * Node's https client, HTTP/1.1; through HTTPS_PROXY/NO_PROXY as client-go reads them, undici's
 * tunnel (loaded only then; kubeconfig-access.ts says why HTTP/2 stays off).
 */
async function makeTransport(server: string, ca: string, env: Env): Promise<Transport> {
  const proxy = proxyFor(new URL(server), env);
  if (!proxy) return httpsTransport({ ca });
  const [{ ProxyAgent }, { undiciTransport }] = await Promise.all([import('undici'), import('./undici-transport.ts')]);
  const agent = new ProxyAgent({ uri: proxy, requestTls: { ca, allowH2: false }, allowH2: false });
  return undiciTransport(async () => agent);
}
