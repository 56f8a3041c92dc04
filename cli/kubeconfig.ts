/**
 * The default namespace from a kubeconfig, read without the Kubernetes client library (which
 * takes half a second to load) so offline sealing stays fast. Follows client-go's loading rules:
 * --kubeconfig, else every file of $KUBECONFIG (first one to set a value wins), else ~/.kube/config.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { UserError } from '../shared/errors.ts';
import { isObject } from '../shared/kube.ts';
import { kubeconfigFiles } from '../shared/kubeconfig-auth.ts';

export { kubeconfigFiles };

export interface NamespaceChoice {
  /** The namespace to use for objects that have none; undefined when nothing configures one. */
  readonly namespace?: string;
  /** True when it came from -n/--namespace: then a Secret in another namespace is refused. */
  readonly explicit: boolean;
}

/** -n if given; else the namespace of the kubeconfig's context ("default" when it names none). */
export function resolveNamespace(options: {
  namespace?: string;
  context?: string;
  kubeconfig: string;
  env: Readonly<Record<string, string | undefined>>;
}): NamespaceChoice {
  if (options.namespace) return { namespace: options.namespace, explicit: true };
  let currentContext = options.context;
  const contexts = new Map<string, Record<string, unknown>>();
  let found = false;
  for (const file of kubeconfigFiles(options.kubeconfig, options.env)) {
    if (!existsSync(file)) {
      if (options.kubeconfig) throw new UserError(`cannot read --kubeconfig "${file}": no such file; check the path`);
      continue;
    }
    let config: unknown;
    try {
      config = parse(readFileSync(file, 'utf8'));
    } catch {
      throw new UserError(`kubeconfig "${file}" is not valid YAML; fix it or pass --namespace`);
    }
    if (!isObject(config)) continue;
    found = true;
    if (!currentContext && typeof config['current-context'] === 'string') currentContext = config['current-context'];
    for (const entry of Array.isArray(config.contexts) ? config.contexts : []) {
      if (isObject(entry) && typeof entry.name === 'string' && isObject(entry.context) && !contexts.has(entry.name)) {
        contexts.set(entry.name, entry.context);
      }
    }
  }
  if (!found) return { explicit: false };
  const context = currentContext === undefined ? undefined : contexts.get(currentContext);
  const namespace = context?.namespace;
  return { namespace: typeof namespace === 'string' && namespace !== '' ? namespace : 'default', explicit: false };
}
