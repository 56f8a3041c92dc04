/**
 * Where kubeseal finds the controller in the cluster: its Service (--controller-name,
 * --controller-namespace), reached through the API server's service proxy as upstream does, and
 * the ConfigMap it publishes its certificate in. API paths only; no requests here.
 *
 *   GET  /api/v1/namespaces/<ns>/services/<name>                                -> spec.ports[0].name
 *   GET  /api/v1/namespaces/<ns>/services/http:<name>:<port>/proxy/v1/cert.pem
 *   POST .../proxy/v1/verify, .../proxy/v1/rotate
 *   GET  /api/v1/namespaces/<ns>/configmaps/sealed-secrets-cert                  -> data["cert.pem"]
 */
import { CERT_CONFIGMAP, CERT_CONFIGMAP_KEY } from '../shared/controller-api.ts';
import type { CliOptions } from './options.ts';

export { CERT_CONFIGMAP, CERT_CONFIGMAP_KEY };

/** The controller's Service, as --controller-name and --controller-namespace name it. */
export interface ControllerService {
  readonly namespace: string;
  readonly name: string;
}

/** The Service the options name, with upstream's defaults. */
export function controllerService(options: Pick<CliOptions, 'controllerNamespace' | 'controllerName'>): ControllerService {
  return { namespace: options.controllerNamespace || 'kube-system', name: options.controllerName || 'sealed-secrets-controller' };
}

/** The Service for messages: service "<name>" in namespace "<ns>". */
export const describeService = (service: ControllerService): string => `service "${service.name}" in namespace "${service.namespace}"`;

const segment = (value: string): string => encodeURIComponent(value);

/** GET this to read the Service's first port name. */
export function servicePath(service: ControllerService): string {
  return `/api/v1/namespaces/${segment(service.namespace)}/services/${segment(service.name)}`;
}

/**
 * The controller's `endpoint` through the service proxy: services/http:<name>:<port>/proxy<endpoint>,
 * with an empty port name for an unnamed port ("http:sealed-secrets-controller:"), as upstream.
 */
export function proxyPath(service: ControllerService, portName: string, endpoint: string): string {
  return `/api/v1/namespaces/${segment(service.namespace)}/services/http:${segment(service.name)}:${segment(portName)}/proxy${endpoint}`;
}

export function configMapPath(namespace: string, name = CERT_CONFIGMAP): string {
  return `/api/v1/namespaces/${segment(namespace)}/configmaps/${segment(name)}`;
}
