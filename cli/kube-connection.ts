/**
 * Which cluster kubeseal talks to and as whom, following client-go's rules as kubectl does:
 *
 * - kubeconfig files: --kubeconfig alone (it must exist), else every existing file of $KUBECONFIG,
 *   else ~/.kube/config; merged so that the first file to define a cluster, user or context (or
 *   current-context) wins (cli/kubeconfig.ts, the one merge offline sealing uses too);
 * - no file at all: the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT and its token),
 *   unless --server says where to go;
 * - the kubectl flags on top: --context, --cluster and --user pick entries; --server,
 *   --certificate-authority, --insecure-skip-tls-verify, --tls-server-name, --proxy-url,
 *   --token, --client-certificate/--client-key, --username/--password and --as/--as-group/--as-uid
 *   override them. -n/--namespace plays no part here: the controller's namespace is
 *   --controller-namespace;
 * - no proxy-url anywhere: HTTPS_PROXY, HTTP_PROXY and NO_PROXY (shared/proxy.ts).
 *
 * Types only from @kubernetes/client-node: cli/api.ts loads the library and parses the files.
 */
import type { Cluster, User } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { UsageError, UserError } from '../shared/errors.ts';
import { parseDuration } from '../shared/flags.ts';
import { kubeconfigFiles } from '../shared/kubeconfig-auth.ts';
import { loadKubeconfig, selectContext, type KubeconfigData } from './kubeconfig.ts';
import { proxyFor } from '../shared/proxy.ts';
import type { KubeFlags } from './options.ts';
import { quoteName } from '../shared/untrusted.ts';

/** Where to connect and with which credentials; `headers` are sent with every request. */
export interface Connection {
  readonly cluster: Cluster;
  readonly user: User;
  /** Impersonation headers client-node does not send itself (Impersonate-Group, Impersonate-Uid). */
  readonly headers: Readonly<Record<string, string | string[]>>;
  /** 0: no limit. */
  readonly timeoutMs: number;
  /** How the connection was found, for messages ("kubeconfig /root/.kube/config", "in-cluster"). */
  readonly source: string;
}

export interface ConnectionRequest {
  readonly kubeconfig: string;
  readonly flags: KubeFlags;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Parses one kubeconfig file (client-node's loader); throws on a malformed file. */
  readonly parse: (file: string, text: string) => KubeconfigData;
  /** Where the in-cluster service account lives; tests point it elsewhere. */
  readonly serviceAccountDir?: string;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** kubectl's --request-timeout: "0" (none), whole seconds ("5"), or a Go duration ("1m30s"). In ms. */
export function parseRequestTimeout(value: string): number {
  const text = value.trim();
  if (text === '') return 0;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const ms = parseDuration(text, '--request-timeout');
  if (ms < 0) throw new UsageError(`invalid --request-timeout "${value}": it cannot be negative`);
  return ms;
}

/** "host:port" and bare hosts mean https, as in client-go. */
export function normalizeServer(server: string): string {
  const trimmed = server.trim().replace(/\/+$/, '');
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
}

/** Where kubeconfig files were looked for, for the "nothing configured" message. */
function searched(request: ConnectionRequest): string {
  if (request.kubeconfig) return `--kubeconfig "${request.kubeconfig}" is empty`;
  if (request.env.KUBECONFIG) return `$KUBECONFIG ("${request.env.KUBECONFIG}") names no existing file`;
  return `there is no ${kubeconfigFiles('', request.env)[0] ?? '~/.kube/config'}`;
}

/** No kubeconfig and not in a cluster: what to say, and what the caller should suggest. */
export class NoClusterError extends UserError {
  readonly where: string;
  constructor(where: string) {
    super(`no Kubernetes cluster configured: ${where} and kubeseal is not running in a cluster`);
    this.name = 'NoClusterError';
    this.where = where;
  }
}

function inCluster(request: ConnectionRequest): KubeconfigData | undefined {
  const host = request.env.KUBERNETES_SERVICE_HOST;
  const port = request.env.KUBERNETES_SERVICE_PORT;
  const dir = request.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (!host || !port || !existsSync(`${dir}/token`)) return undefined;
  const cluster: Cluster = { name: 'in-cluster', server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`, caFile: `${dir}/ca.crt`, skipTLSVerify: false };
  const user: User = { name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: `${dir}/token` } } };
  return { clusters: [cluster], users: [user], contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }], currentContext: 'in-cluster' };
}

/**
 * The connection the kubectl flags and kubeconfig rules select. Throws NoClusterError when
 * nothing is configured, UsageError for contradictory flags, UserError for names that do not exist.
 */
export function resolveConnection(request: ConnectionRequest): Connection {
  const { flags } = request;
  if (!flags.as && (flags.asGroup.length > 0 || flags.asUid)) {
    throw new UsageError('--as-group and --as-uid impersonate only together with --as <user>');
  }
  const timeoutMs = parseRequestTimeout(flags.requestTimeout);
  const loaded = loadKubeconfig(request);
  let data: KubeconfigData;
  let source: string;
  if (loaded) {
    ({ data, source } = loaded);
  } else if (flags.server) {
    data = { clusters: [], users: [], contexts: [] };
    source = '--server';
  } else {
    const service = inCluster(request);
    if (!service) throw new NoClusterError(searched(request));
    data = service;
    source = 'in-cluster service account';
  }

  const { name: contextName, context } = selectContext(data, flags.context, source);
  const clusterName = flags.cluster ?? context?.cluster;
  const userName = flags.user ?? context?.user;
  const foundCluster = clusterName === undefined ? undefined : data.clusters.find((c) => c.name === clusterName);
  if (flags.cluster && !foundCluster) throw new UserError(`cluster "${flags.cluster}" not found in ${source}; check --cluster`);
  const foundUser = userName === undefined ? undefined : data.users.find((u) => u.name === userName);
  if (flags.user && !foundUser) throw new UserError(`user "${flags.user}" not found in ${source}; check --user`);

  const server = flags.server ?? foundCluster?.server;
  if (!server) {
    if (contextName === undefined) throw new UserError(`${source} has no current-context; pass --context, or set one with kubectl config use-context`);
    if (!context) throw new UserError(`current-context ${quoteName(contextName)} is not defined in ${source}; pass --context, or fix the kubeconfig`);
    throw new UserError(`context ${quoteName(contextName)} names cluster ${quoteName(clusterName ?? '')}, which has no server in ${source}; fix the kubeconfig or pass --server`);
  }

  // client-go: a CA or --insecure-skip-tls-verify given as a flag replaces the kubeconfig's CA and insecure setting together.
  const tlsOverride = flags.insecureSkipTlsVerify || flags.certificateAuthority !== undefined;
  const base: Partial<Cluster> = foundCluster ?? {};
  // client-go: --proxy-url or the kubeconfig's proxy-url, else HTTPS_PROXY/HTTP_PROXY/NO_PROXY.
  const serverUrl = normalizeServer(server);
  const proxyUrl = flags.proxyUrl ?? base.proxyUrl ?? proxyFor(new URL(serverUrl), request.env);
  const cluster: Cluster = {
    name: foundCluster?.name ?? 'kubeseal',
    server: serverUrl,
    skipTLSVerify: tlsOverride ? flags.insecureSkipTlsVerify : base.skipTLSVerify === true,
    ...(tlsOverride
      ? (flags.certificateAuthority ? { caFile: flags.certificateAuthority } : {})
      : { ...(base.caFile ? { caFile: base.caFile } : {}), ...(base.caData ? { caData: base.caData } : {}) }),
    ...((flags.tlsServerName ?? base.tlsServerName) ? { tlsServerName: flags.tlsServerName ?? base.tlsServerName } : {}),
    ...(proxyUrl ? { proxyUrl } : {}),
  };

  const baseUser: Partial<User> = foundUser ?? {};
  const pick = <K extends keyof User>(key: K): Partial<Pick<User, K>> => (baseUser[key] ? ({ [key]: baseUser[key] } as Partial<Pick<User, K>>) : {});
  const user: User = {
    name: foundUser?.name ?? 'kubeseal',
    ...pick('exec'),
    ...pick('authProvider'),
    ...(flags.clientCertificate ? { certFile: flags.clientCertificate } : { ...pick('certFile'), ...pick('certData') }),
    ...(flags.clientKey ? { keyFile: flags.clientKey } : { ...pick('keyFile'), ...pick('keyData') }),
    ...(flags.token ? { token: flags.token } : pick('token')),
    ...(flags.username ? { username: flags.username } : pick('username')),
    ...(flags.password ? { password: flags.password } : pick('password')),
    ...(flags.as ? { impersonateUser: flags.as } : pick('impersonateUser')),
  };

  const headers: Record<string, string | string[]> = {};
  if (flags.as && flags.asGroup.length > 0) headers['Impersonate-Group'] = [...flags.asGroup];
  if (flags.as && flags.asUid) headers['Impersonate-Uid'] = flags.asUid;
  return { cluster, user, headers, timeoutMs, source };
}
