/**
 * What the API server's and the controller's answers mean, as one-line errors that say what
 * happened and what to do: a Service that is missing or has no ports, RBAC refusals, a controller
 * that is down, and the re-encrypted SealedSecret as upstream prints it. Pure: answers in, errors
 * or text out; the requests are cli/api.ts's, the modes that ask are cli/remote.ts's.
 */
import { UserError } from '../shared/errors.ts';
import { readSealedSecret, SEALED_SECRET_API_VERSION, SEALED_SECRET_KIND, sortedMap } from '../shared/kube.ts';
import { formatManifest, type OutputFormat } from '../shared/manifest.ts';
import { remoteText } from '../shared/untrusted.ts';
import type { ApiResponse } from './api.ts';
import { describeService, type ControllerService } from './controller-service.ts';

/** Text from the network (a Status message, an error of the transport), made fit for one line of a message. */
export const oneLine = (text: string): string => remoteText(text, 1000);

/** The cluster modes, for what a failure means in each. */
export type Mode = 'fetch' | 'validate' | 'reencrypt' | 'keys';

/** A failure of one step, as a detail (what happened) and a hint (what to do), joined for the user. */
export class StepError extends UserError {
  readonly detail: string;
  readonly hint: string;
  constructor(detail: string, hint: string) {
    super(hint ? `${detail}; ${hint}` : detail);
    this.name = 'StepError';
    this.detail = detail;
    this.hint = hint;
  }
}

/** The API server's own error (a v1 Status), as opposed to an answer passed through from the controller. */
export function apiStatus(response: ApiResponse): { reason: string; message: string } | undefined {
  if (!response.contentType.includes('json')) return undefined;
  try {
    const status = JSON.parse(response.body.toString('utf8')) as { kind?: unknown; reason?: unknown; message?: unknown };
    if (status.kind !== 'Status') return undefined;
    return { reason: typeof status.reason === 'string' ? status.reason : '', message: typeof status.message === 'string' ? oneLine(status.message) : '' };
  } catch {
    return undefined;
  }
}

/** "409 Conflict" plus the first line of the body (or the Status message), at most 300 characters of it. */
export function answer(response: ApiResponse): string {
  const status = apiStatus(response);
  const text = status?.message || response.body.toString('utf8').split('\n').find((line) => line.trim() !== '')?.trim() || '';
  const head = `${response.status}${response.statusText ? ` ${oneLine(response.statusText)}` : ''}`;
  const shown = remoteText(text, 300);
  return shown ? `${head}: ${shown}` : head;
}

/** Why GET services/<name> did not give a port name. */
export function serviceFailure(response: ApiResponse, service: ControllerService): StepError {
  const names = 'use --controller-name and --controller-namespace to name the controller\'s Service';
  if (response.status === 404) return new StepError(`cannot get sealed secret service: ${describeService(service)} not found`, names);
  if (response.status === 403) {
    return new StepError(`cannot get sealed secret service: ${apiStatus(response)?.message || answer(response)}`, `ask for permission to get services in namespace "${service.namespace}"`);
  }
  return new StepError(`cannot get sealed secret service ${service.namespace}/${service.name}: ${answer(response)}`, names);
}

/** The first port's name of a Service object (upstream reads spec.ports[0].name). */
export function firstPortName(response: ApiResponse, service: ControllerService): string {
  let ports: unknown;
  try {
    ports = (JSON.parse(response.body.toString('utf8')) as { spec?: { ports?: unknown } }).spec?.ports;
  } catch {
    throw new StepError(`cannot get sealed secret service: the API server's answer for ${describeService(service)} is not JSON`, 'check the kubeconfig\'s server');
  }
  if (!Array.isArray(ports) || ports.length === 0) {
    throw new StepError(`${describeService(service)} has no ports, so it is not the sealed-secrets controller's`, 'use --controller-name and --controller-namespace to name the controller\'s Service');
  }
  const name = (ports[0] as { name?: unknown }).name;
  return typeof name === 'string' ? name : '';
}

/**
 * Why a request through the service proxy failed, for everything but the answers each mode reads
 * itself (409 from /v1/verify).
 */
export function proxyFailure(response: ApiResponse, service: ControllerService, mode: Mode): StepError {
  const status = apiStatus(response);
  const where = describeService(service);
  if (response.status === 403 && status) {
    const verb = mode === 'fetch' || mode === 'keys' ? 'get' : 'create';
    return new StepError(
      `you lack the RBAC permission "${verb}" on services/proxy that reaching the controller through the API server needs: ${status.message || answer(response)}`,
      `ask for it for ${where}${mode === 'fetch' ? ', or seal offline with --cert <file or URL>' : ''}`,
    );
  }
  if (response.status === 502 || response.status === 503 || response.status === 504) {
    return new StepError(
      `the sealed-secrets controller behind ${where} is not running or not ready (${answer(response)})`,
      `check its pods and logs (kubectl get pods -n ${service.namespace})`,
    );
  }
  if (response.status === 404 && status) {
    return new StepError(`${where} is gone (${answer(response)})`, 'use --controller-name and --controller-namespace to name the controller\'s Service');
  }
  if (response.status === 404) {
    return new StepError(`${where} answered ${answer(response)}: it does not look like the sealed-secrets controller`, 'check --controller-name and --controller-namespace');
  }
  return new StepError(`the controller answered ${answer(response)}`, '');
}

/** The certificate in the ConfigMap's answer, or why there is none. `name` names the ConfigMap for messages. */
export function configMapCertificate(response: ApiResponse, name: string, key: string): Buffer {
  if (response.status === 404) throw new StepError(`${name} not found`, '');
  if (response.status !== 200) throw new StepError(`cannot read ${name}: ${apiStatus(response)?.message || answer(response)}`, '');
  let pem: unknown;
  try {
    pem = (JSON.parse(response.body.toString('utf8')) as { data?: Record<string, unknown> }).data?.[key];
  } catch {
    throw new StepError(`the API server's answer for ${name} is not JSON`, '');
  }
  if (typeof pem !== 'string' || pem.trim() === '') throw new StepError(`${name} has no ${key}`, '');
  return Buffer.from(pem, 'utf8');
}

/** A re-encrypted SealedSecret as upstream prints it: typed, Go's field order, without server-set metadata. */
export function printableReencrypted(body: Buffer, format: OutputFormat): string {
  return formatManifest(reencryptedManifest(body), format);
}

/** The object printableReencrypted prints (kubeseal --re-encrypt of many files formats it per file). */
export function reencryptedManifest(body: Buffer): unknown {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UserError('cannot re-encrypt secret: the controller\'s answer is not JSON; check that --controller-name names the sealed-secrets controller');
  }
  const sealed = readSealedSecret(doc, 'the controller\'s answer');
  const { creationTimestamp: _created, deletionTimestamp: _deleted, generation: _generation, ...metadata } = sealed.metadata;
  const { template, data, encryptedData } = sealed.spec;
  return {
    kind: SEALED_SECRET_KIND,
    apiVersion: SEALED_SECRET_API_VERSION,
    metadata,
    spec: { ...(template ? { template } : {}), ...(data ? { data } : {}), encryptedData: sortedMap(encryptedData) },
    ...(sealed.status ? { status: sealed.status } : {}),
  };
}
