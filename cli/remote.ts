/**
 * The modes that need the controller, as upstream kubeseal runs them: through the API server's
 * service proxy (cli/controller-service.ts), authenticated as the kubeconfig's user.
 *
 *   fetching the certificate (--fetch-cert, sealing without --cert): GET the Service's port name,
 *     then /v1/cert.pem;
 *   --validate:   POST /v1/verify, one SealedSecret at a time (409 = cannot open);
 *   --re-encrypt: POST /v1/rotate, one SealedSecret at a time;
 *   kubeseal keys: GET /v1/keys (ours only; upstream's controller has no such endpoint).
 *
 * Beyond upstream: when the certificate cannot be had through the proxy (no Service, no
 * services/proxy permission, controller down...), it is read from the ConfigMap the controller
 * publishes in its namespace, with a one-line notice on stderr.
 *
 * Requests go through cli/api.ts (which loads @kubernetes/client-node; cli/run.ts imports this
 * module only for these modes) and answers are read by cli/answers.ts.
 */
import { UserError } from '../shared/errors.ts';
import { readSealedSecret, type SealedSecret } from '../shared/kube.ts';
import { parseDocuments, type OutputFormat } from '../shared/manifest.ts';
import { apiPath, SEALED_SECRETS } from '../shared/api-path.ts';
import { KEYS_PATH } from '../shared/controller-api.ts';
import { apiStatus, configMapCertificate, firstPortName, printableReencrypted, proxyFailure, reencryptedManifest, serviceFailure, StepError, type Mode } from './answers.ts';
import { ConnectionError, createApi, parseKubeconfigFile, type Api } from './api.ts';
import {
  CERT_CONFIGMAP, CERT_CONFIGMAP_KEY, configMapPath, controllerService, describeService, proxyPath, servicePath, type ControllerService,
} from './controller-service.ts';
import { NoClusterError, resolveConnection } from './kube-connection.ts';
import { readKeyListing, type KeyReport } from './key-list.ts';
import type { CliOptions } from './options.ts';
import type { Reencrypter } from './re-encrypt-many.ts';
import { printableName, shownObject } from '../shared/untrusted.ts';

/** What the remote modes need from the outside world. */
export interface RemoteContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** One line to stderr. */
  warn(message: string): void;
  /** Output format of --re-encrypt (-o, or YAML for a .yaml output file). */
  readonly format: OutputFormat;
  /** Where the in-cluster service account lives (tests). */
  readonly serviceAccountDir?: string;
  /** Waits before retrying a request answered with Retry-After (tests make it instant). */
  readonly sleep?: (ms: number) => Promise<void>;
}

const NEEDS: Record<Mode, string> = {
  fetch: 'fetching the certificate',
  validate: '--validate',
  reencrypt: '--re-encrypt',
  keys: 'kubeseal keys',
};

function connect(options: CliOptions, context: RemoteContext, mode: Mode): Api {
  try {
    return createApi(resolveConnection({
      kubeconfig: options.kubeconfig,
      flags: options.kube,
      env: context.env,
      parse: parseKubeconfigFile,
      ...(context.serviceAccountDir ? { serviceAccountDir: context.serviceAccountDir } : {}),
    }), context.sleep);
  } catch (error) {
    if (error instanceof NoClusterError) {
      const fix = mode === 'fetch' ? 'pass --kubeconfig, or seal offline with --cert <file or URL>' : 'pass --kubeconfig or set KUBECONFIG';
      throw new ConnectionError(`${NEEDS[mode]} needs the cluster, but no kubeconfig was found (${error.where}) and kubeseal is not running in a cluster; ${fix}`);
    }
    throw error;
  }
}

async function portName(api: Api, service: ControllerService): Promise<string> {
  const response = await api.send('GET', servicePath(service));
  if (response.status !== 200) throw serviceFailure(response, service);
  return firstPortName(response, service);
}

async function certificateThroughProxy(api: Api, service: ControllerService): Promise<Buffer> {
  const port = await portName(api, service);
  const response = await api.send('GET', proxyPath(service, port, '/v1/cert.pem'), { accept: 'application/x-pem-file, */*' });
  if (response.status !== 200) throw proxyFailure(response, service, 'fetch');
  if (response.body.length === 0) throw new StepError(`the controller behind ${describeService(service)} sent an empty certificate`, 'check its logs');
  return response.body;
}

async function certificateFromConfigMap(api: Api, namespace: string): Promise<Buffer> {
  const response = await api.send('GET', configMapPath(namespace));
  return configMapCertificate(response, `ConfigMap "${CERT_CONFIGMAP}" in namespace "${namespace}"`, CERT_CONFIGMAP_KEY);
}

/**
 * The newest sealing certificate, from the controller through the service proxy; failing that,
 * from the ConfigMap it publishes (a notice goes to stderr). Bytes as the controller sent them.
 */
export async function fetchCertificate(options: CliOptions, context: RemoteContext): Promise<Buffer> {
  const api = connect(options, context, 'fetch');
  const service = controllerService(options);
  try {
    return await certificateThroughProxy(api, service);
  } catch (proxyError) {
    if (!(proxyError instanceof StepError)) throw proxyError;
    try {
      const pem = await certificateFromConfigMap(api, service.namespace);
      context.warn(`warning: cannot fetch the certificate through the controller (${proxyError.detail}); using the one it published in ConfigMap ${service.namespace}/${CERT_CONFIGMAP}`);
      return pem;
    } catch (configMapError) {
      if (!(configMapError instanceof StepError)) throw configMapError;
      throw new UserError(`cannot fetch certificate: ${proxyError.detail}; the fallback failed too: ${configMapError.detail}; ${proxyError.hint || 'or seal offline with --cert <file or URL>'}`);
    }
  }
}

/** The SealedSecrets of the input, each with its name for messages. Throws on anything else. */
function readSealedSecrets(input: Buffer): SealedSecret[] {
  const docs = parseDocuments(input, 'input');
  if (docs.length === 0) throw new UserError('no SealedSecret found in the input; pass a SealedSecret manifest on stdin or with -f');
  return docs.map((doc, index) => readSealedSecret(doc, docs.length > 1 ? `input document ${index + 1}` : 'input'));
}

/** The controller Service's port name, with a failure reported as `<what>: <reason>`. */
async function portNameFor(api: Api, service: ControllerService, what: string): Promise<string> {
  try {
    return await portName(api, service);
  } catch (error) {
    if (error instanceof StepError) throw new UserError(`${what}: ${error.message}`);
    throw error;
  }
}

/** --validate: check with the controller that every SealedSecret of `input` can be opened. */
export async function validate(input: Buffer, options: CliOptions, context: RemoteContext): Promise<void> {
  const sealedSecrets = readSealedSecrets(input);
  const api = connect(options, context, 'validate');
  const service = controllerService(options);
  const port = await portNameFor(api, service, 'cannot validate sealed secret');
  for (const sealed of sealedSecrets) {
    const response = await api.send('POST', proxyPath(service, port, '/v1/verify'), { body: JSON.stringify(sealed) });
    if (response.status === 200) continue;
    if (response.status === 409) throw new UserError(`unable to decrypt sealed secret: ${printableName(sealed.metadata.name)}`);
    throw new UserError(`cannot validate sealed secret: ${proxyFailure(response, service, 'validate').message}`);
  }
}

/** --re-encrypt: have the controller re-seal every SealedSecret of `input` with its newest key. */
export async function reencrypt(input: Buffer, options: CliOptions, context: RemoteContext): Promise<string> {
  const { format } = context;
  const sealedSecrets = readSealedSecrets(input);
  const api = connect(options, context, 'reencrypt');
  const service = controllerService(options);
  const port = await portNameFor(api, service, 'cannot re-encrypt secret');
  const printed: string[] = [];
  for (const sealed of sealedSecrets) {
    const response = await api.send('POST', proxyPath(service, port, '/v1/rotate'), { body: JSON.stringify(sealed) });
    if (response.status === 409) throw new UserError('unable to rotate secret');
    if (response.status !== 200) {
      const name = shownObject(sealed.metadata.namespace, sealed.metadata.name);
      throw new UserError(`cannot re-encrypt secret ${name}: ${proxyFailure(response, service, 'reencrypt').message}`);
    }
    printed.push(printableReencrypted(response.body, format));
  }
  return printed.join('');
}

/** GET /v1/keys through the service proxy (api and port already resolved). */
async function keysThrough(api: Api, service: ControllerService, port: string): Promise<KeyReport> {
  const response = await api.send('GET', proxyPath(service, port, KEYS_PATH), { accept: 'application/json' });
  if (response.status === 404 && !apiStatus(response)) {
    throw new UserError(`the controller behind ${describeService(service)} does not serve /v1/keys (upstream's controller, or an older one); list the key Secrets with kubectl get secrets -n ${service.namespace} -l sealedsecrets.bitnami.com/sealed-secrets-key`);
  }
  if (response.status !== 200) throw new UserError(`cannot list sealing keys: ${proxyFailure(response, service, 'keys').message}`);
  return readKeyListing(response.body);
}

/** `kubeseal keys`: the controller's sealing keys, active and retired, with how many SealedSecrets need each. */
export async function listKeys(options: CliOptions, context: Omit<RemoteContext, 'format'>): Promise<KeyReport> {
  const api = connect(options, { ...context, format: 'json' }, 'keys');
  const service = controllerService(options);
  return keysThrough(api, service, await portNameFor(api, service, 'cannot list sealing keys'));
}

/** Whether two encryptedData maps hold the same ciphertexts. */
function sameCiphertexts(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * --re-encrypt of many files through the controller. "Already current" needs no key here: when the
 * cluster holds the same SealedSecret (same name, same ciphertexts) and its status says only the
 * sealing key opened it (status.keyFingerprints, from /v1/keys), re-sealing would change nothing.
 * Whenever that cannot be known (upstream's controller, no read permission, a file not applied
 * yet), the SealedSecret is re-encrypted, as upstream does.
 */
export async function controllerReencrypter(options: CliOptions, context: Omit<RemoteContext, 'format'>): Promise<Reencrypter> {
  const api = connect(options, { ...context, format: 'json' }, 'reencrypt');
  const service = controllerService(options);
  const port = await portNameFor(api, service, 'cannot re-encrypt secret');
  let sealing: string | undefined;
  try {
    sealing = (await keysThrough(api, service, port)).keys.find((k) => k.sealing)?.fingerprint;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
  }
  const isCurrent = async (sealed: SealedSecret): Promise<boolean> => {
    const { name, namespace } = sealed.metadata;
    if (!sealing || !name || !namespace || sealed.spec.data) return false;
    const response = await api.send('GET', apiPath(SEALED_SECRETS, { namespace, name }));
    if (response.status !== 200) return false;
    try {
      const live = JSON.parse(response.body.toString('utf8')) as { spec?: { encryptedData?: unknown }; status?: { keyFingerprints?: unknown } };
      const used = live.status?.keyFingerprints;
      const data = live.spec?.encryptedData;
      return Array.isArray(used) && used.length === 1 && used[0] === sealing
        && typeof data === 'object' && data !== null && sameCiphertexts(data as Record<string, string>, sealed.spec.encryptedData);
    } catch {
      return false;
    }
  };
  return {
    reencrypt: async (sealed) => {
      if (await isCurrent(sealed)) return { current: true };
      const response = await api.send('POST', proxyPath(service, port, '/v1/rotate'), { body: JSON.stringify(sealed) });
      if (response.status === 200) return { current: false, manifest: reencryptedManifest(response.body) };
      if (response.status === 409 || response.status === 500) throw new UserError('the controller cannot open it (error decrypting secret); check it was sealed for this cluster and that its key is not retired');
      throw new UserError(`cannot re-encrypt: ${proxyFailure(response, service, 'reencrypt').message}`);
    },
  };
}
