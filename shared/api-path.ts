/**
 * Kubernetes API paths, built in one place: every segment is percent-encoded, so a name can never
 * reach another path. Core resources live under /api/v1, others under /apis/<group>/<version>.
 */

/** A resource type: its API group ('' for core), version and plural name. */
export interface Resource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

export const SECRETS: Resource = { group: '', version: 'v1', plural: 'secrets' };
export const CONFIG_MAPS: Resource = { group: '', version: 'v1', plural: 'configmaps' };
export const EVENTS: Resource = { group: '', version: 'v1', plural: 'events' };
export const NAMESPACES: Resource = { group: '', version: 'v1', plural: 'namespaces' };
export const LEASES: Resource = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };
export const SEALED_SECRETS: Resource = { group: 'bitnami.com', version: 'v1alpha1', plural: 'sealedsecrets' };

export interface PathOptions {
  /** Omitted: the collection across all namespaces (or a cluster-scoped resource). */
  readonly namespace?: string | undefined;
  /** Omitted: the collection. */
  readonly name?: string | undefined;
  /** e.g. "status". Only with a name. */
  readonly subresource?: string;
}

/**
 * `/api/v1/namespaces/ns/secrets/name`, `/apis/bitnami.com/v1alpha1/sealedsecrets`, ...
 * An empty namespace counts as given (it is a caller's bug the API server then reports), so that
 * an object with a missing namespace is never silently widened to all namespaces.
 */
export function apiPath(resource: Resource, options: PathOptions = {}): string {
  const segment = encodeURIComponent;
  const root = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  const namespace = options.namespace === undefined ? '' : `/namespaces/${segment(options.namespace)}`;
  const name = options.name === undefined ? '' : `/${segment(options.name)}`;
  const sub = options.name !== undefined && options.subresource ? `/${segment(options.subresource)}` : '';
  return `${root}${namespace}/${resource.plural}${name}${sub}`;
}

/** A namespace object's own path (namespaces are cluster-scoped): `/api/v1/namespaces/<name>`. */
export const namespacePath = (name: string): string => apiPath(NAMESPACES, { name });
