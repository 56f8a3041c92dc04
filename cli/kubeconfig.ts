/**
 * Kubeconfig files, loaded and merged once for every path that reads them, by client-go's rules:
 * --kubeconfig alone (it must exist), else every file of $KUBECONFIG, else ~/.kube/config; empty
 * or missing files count as none; the first file to define a cluster, user or context (or the
 * current-context) wins. An unknown --context is an error wherever a context is looked up.
 *
 * Two parsers feed the same merge: the cluster modes use client-node's loader (cli/api.ts), and
 * offline sealing reads only the contexts with the `yaml` package (`readContexts`), because the
 * Kubernetes client library takes half a second to load.
 */
import type { Cluster, Context, User } from '@kubernetes/client-node';
import { statSync } from 'node:fs';
import { parse } from 'yaml';
import { UserError } from '../shared/errors.ts';
import { formatBytes, MAX_KUBECONFIG_BYTES } from '../shared/input-limits.ts';
import { isObject } from '../shared/kube.ts';
import { kubeconfigFiles } from '../shared/kubeconfig-auth.ts';
import { readFileBounded, TooLargeError } from './bounded-read.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** Clusters, users and contexts of one or more kubeconfig files. */
export interface KubeconfigData {
  readonly clusters: readonly Cluster[];
  readonly users: readonly User[];
  readonly contexts: readonly Context[];
  readonly currentContext?: string;
}

export interface NamespaceChoice {
  /** The namespace to use for objects that have none; undefined when nothing configures one. */
  readonly namespace?: string;
  /** True when it came from -n/--namespace: then a Secret in another namespace is refused. */
  readonly explicit: boolean;
}

export interface KubeconfigRequest {
  /** --kubeconfig, or '' for $KUBECONFIG / ~/.kube/config. */
  readonly kubeconfig: string;
  readonly env: Env;
  /** Parses one kubeconfig file (its path, for relative paths in it, and its text); throws on a malformed file. */
  readonly parse: (file: string, text: string) => KubeconfigData;
}

/** The merged kubeconfig and where it came from ("kubeconfig /a, /b"), for messages. */
export interface LoadedKubeconfig {
  readonly data: KubeconfigData;
  readonly source: string;
}

/** Merge kubeconfig files: the first file to name a cluster, user or context keeps it (client-go). */
export function mergeKubeconfigs(parts: readonly KubeconfigData[]): KubeconfigData {
  const firstByName = <T extends { name: string }>(lists: readonly (readonly T[])[]): T[] => {
    const seen = new Map<string, T>();
    for (const list of lists) for (const item of list) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  const currentContext = parts.map((p) => p.currentContext).find((c) => c !== undefined && c !== '');
  return {
    clusters: firstByName(parts.map((p) => p.clusters)),
    users: firstByName(parts.map((p) => p.users)),
    contexts: firstByName(parts.map((p) => p.contexts)),
    ...(currentContext ? { currentContext } : {}),
  };
}

/** Size in bytes, or undefined when the file does not exist (or cannot be looked at). */
function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/**
 * Why a kubeconfig did not load, without the parser's message: js-yaml (client-node's loader) and
 * yaml quote the offending lines, and a kubeconfig holds tokens and keys. Only the position.
 */
function kubeconfigProblem(error: unknown): string {
  const name = (error as Error).name;
  const mark = (error as { mark?: { line?: number; column?: number } }).mark; // js-yaml, 0-based
  const linePos = (error as { linePos?: readonly { line: number; col: number }[] }).linePos?.[0]; // yaml, 1-based
  if (name === 'YAMLException') {
    return mark?.line !== undefined ? `it is not valid YAML (line ${mark.line + 1}, column ${(mark.column ?? 0) + 1})` : 'it is not valid YAML';
  }
  if (name === 'YAMLParseError') return linePos ? `it is not valid YAML (line ${linePos.line}, column ${linePos.col})` : 'it is not valid YAML';
  return 'its content is not a kubeconfig (clusters, users, contexts)';
}

/**
 * One kubeconfig file's text, read once and at most MAX_KUBECONFIG_BYTES (its size on disk is
 * not trusted: it may grow, or be a device). Invalid UTF-8 becomes U+FFFD, as in client-node's
 * own loader, and then fails the parse where it matters.
 */
function readKubeconfigText(file: string): string {
  try {
    return readFileBounded(file, MAX_KUBECONFIG_BYTES, `kubeconfig "${file}"`).toString('utf8');
  } catch (error) {
    if (error instanceof TooLargeError) {
      throw new UserError(`kubeconfig "${file}" is larger than ${formatBytes(MAX_KUBECONFIG_BYTES)}, the most kubeseal reads; check that KUBECONFIG and --kubeconfig name kubeconfig files`);
    }
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    throw new UserError(`cannot read kubeconfig "${file}" (${code}); check the path and the file's permissions`);
  }
}

/**
 * The kubeconfig files of `request`, parsed and merged; undefined when there is none (missing or
 * empty files). A missing --kubeconfig is an error, as in kubectl.
 */
export function loadKubeconfig(request: KubeconfigRequest): LoadedKubeconfig | undefined {
  if (request.kubeconfig && fileSize(request.kubeconfig) === undefined) {
    throw new UserError(`cannot read --kubeconfig "${request.kubeconfig}": no such file; check the path`);
  }
  const files = kubeconfigFiles(request.kubeconfig, request.env).filter((file) => (fileSize(file) ?? 0) > 0);
  if (files.length === 0) return undefined;
  const parts = files.map((file) => {
    const text = readKubeconfigText(file);
    try {
      return request.parse(file, text);
    } catch (error) {
      throw new UserError(`kubeconfig "${file}" is not valid: ${kubeconfigProblem(error)}; fix it or pass another with --kubeconfig`);
    }
  });
  return { data: mergeKubeconfigs(parts), source: `kubeconfig ${files.join(', ')}` };
}

/**
 * The context --context names, else the current-context's (undefined when that names none or
 * one not defined: callers decide what that means). `source` says where `data` came from.
 */
export function selectContext(data: KubeconfigData, contextFlag: string | undefined, source: string): { name?: string; context?: Context } {
  const name = contextFlag || data.currentContext;
  const context = name === undefined ? undefined : data.contexts.find((c) => c.name === name);
  if (contextFlag && !context) {
    throw new UserError(`context "${contextFlag}" not found in ${source}; check --context (kubectl config get-contexts lists them)`);
  }
  return { ...(name !== undefined ? { name } : {}), ...(context ? { context } : {}) };
}

/**
 * One kubeconfig file's contexts and current-context, read with `yaml` (no client library): what
 * offline sealing needs for the default namespace. Clusters and users are left out.
 */
export function readContexts(_file: string, text: string): KubeconfigData {
  const config: unknown = parse(text);
  if (!isObject(config)) return { clusters: [], users: [], contexts: [] };
  const contexts: Context[] = [];
  for (const entry of Array.isArray(config.contexts) ? config.contexts : []) {
    if (!isObject(entry) || typeof entry.name !== 'string' || !isObject(entry.context)) continue;
    const { cluster, user, namespace } = entry.context;
    contexts.push({
      name: entry.name,
      cluster: typeof cluster === 'string' ? cluster : '',
      user: typeof user === 'string' ? user : '',
      ...(typeof namespace === 'string' ? { namespace } : {}),
    });
  }
  const current = config['current-context'];
  return { clusters: [], users: [], contexts, ...(typeof current === 'string' ? { currentContext: current } : {}) };
}

/**
 * -n if given; else the namespace of the kubeconfig's context ("default" when it names none);
 * undefined when there is no kubeconfig at all.
 */
export function resolveNamespace(options: { namespace?: string; context?: string; kubeconfig: string; env: Env }): NamespaceChoice {
  if (options.namespace) return { namespace: options.namespace, explicit: true };
  const loaded = loadKubeconfig({ kubeconfig: options.kubeconfig, env: options.env, parse: readContexts });
  if (!loaded) {
    if (options.context) throw new UserError(`context "${options.context}" not found: there is no kubeconfig; check --context and --kubeconfig`);
    return { explicit: false };
  }
  const { context } = selectContext(loaded.data, options.context, loaded.source);
  const namespace = context?.namespace;
  return { namespace: namespace !== undefined && namespace !== '' ? namespace : 'default', explicit: false };
}
