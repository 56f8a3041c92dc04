/**
 * kubeseal's command line: every flag of upstream kubeseal (and the kubectl connection flags it
 * binds), each also settable as SEALED_SECRETS_<FLAG> (upper case, "-" as "_"); the command line
 * wins over the environment. klog's flags are accepted and ignored, as they only tune Go logging.
 */
import { buildProgram, parseFlags, type FlagSpec } from '../shared/flags.ts';
import { SCOPES } from '../shared/scope.ts';

export const ENV_PREFIX = 'SEALED_SECRETS_';

/** Everything the command line can say, with upstream's defaults. */
export interface CliOptions {
  cert: string;
  controllerNamespace: string;
  controllerName: string;
  format: string;
  /** -o/--format was given (on the command line or in the environment). */
  formatExplicit: boolean;
  sealedSecretFile: string;
  secretFile: string;
  fetchCert: boolean;
  allowEmptyData: boolean;
  validate: boolean;
  mergeInto: string;
  raw: boolean;
  name: string;
  fromFile: string[];
  kubeconfig: string;
  scope: string;
  scopeExplicit: boolean;
  reEncrypt: boolean;
  recoveryUnseal: boolean;
  recoveryPrivateKey: string[];
  /** age identity files that open a key backup (escrow) ConfigMap given to --recovery-private-key. */
  recoveryAgeIdentity: string[];
  /** Arguments that are not flags: files and directories for --re-encrypt and `kubeseal keys`. */
  operands: string[];
  version: boolean;
  help: boolean;
  /** kubectl connection flags, by their long name ("as-group", "namespace", ...). */
  kube: KubeFlags;
}

export interface KubeFlags {
  as?: string;
  asUid?: string;
  asGroup: string[];
  certificateAuthority?: string;
  clientCertificate?: string;
  clientKey?: string;
  cluster?: string;
  context?: string;
  insecureSkipTlsVerify: boolean;
  namespace?: string;
  password?: string;
  proxyUrl?: string;
  requestTimeout: string;
  server?: string;
  tlsServerName?: string;
  token?: string;
  user?: string;
  username?: string;
  disableCompression: boolean;
}

/** -o/--format's values (shared/manifest.ts parses them). */
const FORMATS = ['json', 'yaml'] as const;

const KUBESEAL_FLAGS: FlagSpec[] = [
  { flags: '--cert <file|url>', kind: 'string', help: 'Certificate / public key file/URL to use for encryption. Overrides --controller-*', complete: 'file' },
  { flags: '--controller-namespace <namespace>', kind: 'string', default: 'kube-system', help: 'Namespace of sealed-secrets controller.', complete: 'namespace' },
  { flags: '--controller-name <name>', kind: 'string', default: 'sealed-secrets-controller', help: 'Name of sealed-secrets controller.' },
  { flags: '-o, --format <format>', kind: 'string', default: 'json', help: 'Output format for sealed secret. Either json or yaml', complete: FORMATS },
  { flags: '-w, --sealed-secret-file <file>', kind: 'string', help: 'Sealed-secret (output) file, written only when the command succeeds', complete: 'file' },
  { flags: '-f, --secret-file <file>', kind: 'string', help: 'Secret (input) file (default: stdin)', complete: 'file' },
  { flags: '--fetch-cert', kind: 'bool', help: 'Write certificate to stdout. Useful for later use with --cert' },
  { flags: '--allow-empty-data', kind: 'bool', help: 'Allow empty data in the secret object' },
  { flags: '--validate', kind: 'bool', help: 'Validate that the sealed secret can be decrypted' },
  { flags: '--merge-into <file>', kind: 'string', help: 'Merge items from secret into an existing sealed secret file, updating the file in-place instead of writing to stdout.', complete: 'file' },
  { flags: '--raw', kind: 'bool', help: 'Encrypt a raw value passed via the --from-* flags instead of the whole secret object' },
  { flags: '--name <name>', kind: 'string', help: 'Name of the sealed secret (required with --raw and default (strict) scope)' },
  { flags: '--from-file <[key=]path>', kind: 'list', help: '(only with --raw) Secret items can be sourced from files. Pro-tip: you can use /dev/stdin to read pipe input. This flag tries to follow the same syntax as in kubectl', complete: 'file' },
  { flags: '--kubeconfig <file>', kind: 'string', help: 'Path to a kube config. Only required if out-of-cluster', complete: 'file' },
  { flags: '--scope <scope>', kind: 'string', default: 'strict', help: "Set the scope of the sealed secret: strict, namespace-wide, cluster-wide (defaults to strict). Mandatory for --raw, otherwise the 'sealedsecrets.bitnami.com/cluster-wide' and 'sealedsecrets.bitnami.com/namespace-wide' annotations on the input secret can be used to select the scope.", complete: SCOPES },
  { flags: '--re-encrypt', kind: 'bool', help: 'Re-encrypt the given sealed secret to use the latest cluster key.' },
  { flags: '--rotate', kind: 'bool', hidden: true, help: 'Deprecated: use --re-encrypt' },
  { flags: '--recovery-unseal', kind: 'bool', help: 'Decrypt a sealed secrets file obtained from stdin, using the private key passed with --recovery-private-key. Intended to be used in disaster recovery mode.' },
  { flags: '--recovery-private-key <file>', kind: 'list', help: 'Private key filename used by the --recovery-unseal command. Multiple files accepted either via comma separated list or by repetition of the flag. Either PEM encoded private keys or a backup of a json/yaml encoded k8s sealed-secret controller secret (and v1.List) are accepted.', complete: 'file' },
  { flags: '--recovery-age-identity <file>', kind: 'list', help: 'age identity file (AGE-SECRET-KEY-1...) that opens a key backup ConfigMap given to --recovery-private-key (controller --key-backup-recipient). Beyond upstream.', complete: 'file' },
  { flags: '--version', kind: 'bool', help: 'Print version information and exit' },
  { flags: '--help', kind: 'bool', help: 'Print this help message' },
];

const KUBECTL_FLAGS: FlagSpec[] = [
  { flags: '--as <user>', kind: 'string', help: 'Username to impersonate for the operation' },
  { flags: '--as-uid <uid>', kind: 'string', help: 'UID to impersonate for the operation' },
  { flags: '--as-group <group>', kind: 'array', help: 'Group to impersonate for the operation, this flag can be repeated to specify multiple groups.' },
  { flags: '--certificate-authority <file>', kind: 'string', help: 'Path to a cert file for the certificate authority', complete: 'file' },
  { flags: '--client-certificate <file>', kind: 'string', help: 'Path to a client certificate file for TLS', complete: 'file' },
  { flags: '--client-key <file>', kind: 'string', help: 'Path to a client key file for TLS', complete: 'file' },
  { flags: '--cluster <name>', kind: 'string', help: 'The name of the kubeconfig cluster to use', complete: 'cluster' },
  { flags: '--context <name>', kind: 'string', help: 'The name of the kubeconfig context to use', complete: 'context' },
  { flags: '--insecure-skip-tls-verify', kind: 'bool', help: "If true, the server's certificate will not be checked for validity. This will make your HTTPS connections insecure" },
  { flags: '-n, --namespace <namespace>', kind: 'string', help: 'If present, the namespace scope for this CLI request', complete: 'namespace' },
  { flags: '--password <password>', kind: 'string', help: 'Password for basic authentication to the API server' },
  { flags: '--proxy-url <url>', kind: 'string', help: 'If provided, this URL will be used to connect via proxy' },
  { flags: '--request-timeout <duration>', kind: 'string', default: '0', help: "The length of time to wait before giving up on a single server request. Non-zero values should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout requests." },
  { flags: '-s, --server <url>', kind: 'string', help: 'The address and port of the Kubernetes API server' },
  { flags: '--tls-server-name <name>', kind: 'string', help: 'If provided, this name will be used to validate server certificate. If this is not provided, hostname used to contact the server is used.' },
  { flags: '--token <token>', kind: 'string', help: 'Bearer token for authentication to the API server' },
  { flags: '--user <name>', kind: 'string', help: 'The name of the kubeconfig user to use', complete: 'user' },
  { flags: '--username <name>', kind: 'string', help: 'Username for basic authentication to the API server' },
  { flags: '--disable-compression', kind: 'bool', help: 'If true, opt-out of response compression for all requests to the server' },
];

/** klog's Go flags: accepted (single or double dash) and ignored. */
const KLOG_FLAGS: FlagSpec[] = [
  ...['add_dir_header', 'alsologtostderr', 'legacy_stderr_threshold_behavior', 'logtostderr', 'one_output', 'skip_headers', 'skip_log_headers']
    .map((name): FlagSpec => ({ flags: `--${name}`, kind: 'bool', help: '', hidden: true, env: false })),
  ...['alsologtostderrthreshold', 'log_backtrace_at', 'log_dir', 'log_file', 'log_file_max_size', 'stderrthreshold', 'vmodule']
    .map((name): FlagSpec => ({ flags: `--${name} <value>`, kind: 'string', help: '', hidden: true, env: false })),
  { flags: '-v, --v <level>', kind: 'string', help: 'number for the log level verbosity', hidden: true, env: false },
];

const EXAMPLES = `
Examples:
  # Seal a Secret offline with the controller's certificate, as YAML:
  kubectl create secret generic db --from-literal=password=s3cr3t --dry-run=client -o yaml \\
    | kubeseal --cert cert.pem -o yaml > db-sealed.yaml

  # Fetch the certificate once (needs cluster access), then work offline:
  kubeseal --fetch-cert > cert.pem

  # Seal one value for an existing SealedSecret (strict scope needs --name and -n):
  echo -n s3cr3t | kubeseal --cert cert.pem --raw --name db -n prod

  # Add or replace items of an existing SealedSecret file in place:
  kubectl create secret generic db --from-literal=api-key=k --dry-run=client -o json \\
    | kubeseal --cert cert.pem --merge-into db-sealed.yaml

  # Disaster recovery: open a SealedSecret with a backup of the sealing keys:
  kubeseal --recovery-unseal --recovery-private-key keys-backup.yaml -o yaml < db-sealed.yaml

  # Sealing keys: which exist, which seals, how many SealedSecrets need each (kubeseal keys --help):
  kubeseal keys

  # Re-encrypt every SealedSecret of a directory in place with the newest key (offline too, with
  # --recovery-private-key and --cert):
  kubeseal --re-encrypt sealed-secrets/

  # Shell completion of flags and file names (bash, zsh or fish):
  source <(kubeseal completion bash)

Every flag can also be set in the environment as SEALED_SECRETS_<FLAG>, e.g. SEALED_SECRETS_CERT=cert.pem.
`;

/** Every flag kubeseal takes: the one table that parsing, --help and `kubeseal completion` read. */
export const SPECS: readonly FlagSpec[] = [...KUBESEAL_FLAGS, ...KUBECTL_FLAGS, ...KLOG_FLAGS];
const DESCRIPTION = 'Seal Kubernetes Secrets into SealedSecrets that only the controller in your cluster can open.';

/** Parse the command line and SEALED_SECRETS_* environment into options. Throws UsageError. */
export function parseOptions(args: readonly string[], env: Readonly<Record<string, string | undefined>>): CliOptions {
  const { values: o, explicit, operands } = parseFlags({ name: 'kubeseal', specs: SPECS, args, env, envPrefix: ENV_PREFIX });
  const str = (key: string): string => (o[key] as string | undefined) ?? '';
  const opt = (key: string): string | undefined => (o[key] as string | undefined) || undefined;
  const bool = (key: string): boolean => o[key] === true;
  const list = (key: string): string[] => ((o[key] as string[] | undefined) ?? []).filter((v) => v !== '');
  return {
    cert: str('cert'),
    controllerNamespace: str('controllerNamespace'),
    controllerName: str('controllerName'),
    format: str('format'),
    formatExplicit: explicit('format'),
    sealedSecretFile: str('sealedSecretFile'),
    secretFile: str('secretFile'),
    fetchCert: bool('fetchCert'),
    allowEmptyData: bool('allowEmptyData'),
    validate: bool('validate'),
    mergeInto: str('mergeInto'),
    raw: bool('raw'),
    name: str('name'),
    fromFile: list('fromFile'),
    kubeconfig: str('kubeconfig'),
    scope: str('scope'),
    scopeExplicit: explicit('scope'),
    reEncrypt: bool('reEncrypt') || bool('rotate'),
    recoveryUnseal: bool('recoveryUnseal'),
    recoveryPrivateKey: list('recoveryPrivateKey'),
    recoveryAgeIdentity: list('recoveryAgeIdentity'),
    operands: [...operands],
    version: bool('version'),
    help: bool('help'),
    kube: {
      as: opt('as'),
      asUid: opt('asUid'),
      asGroup: list('asGroup'),
      certificateAuthority: opt('certificateAuthority'),
      clientCertificate: opt('clientCertificate'),
      clientKey: opt('clientKey'),
      cluster: opt('cluster'),
      context: opt('context'),
      insecureSkipTlsVerify: bool('insecureSkipTlsVerify'),
      namespace: opt('namespace')?.replace(/^(ns|namespace|namespaces)\//, ''),
      password: opt('password'),
      proxyUrl: opt('proxyUrl'),
      requestTimeout: str('requestTimeout'),
      server: opt('server'),
      tlsServerName: opt('tlsServerName'),
      token: opt('token'),
      user: opt('user'),
      username: opt('username'),
      disableCompression: bool('disableCompression'),
    },
  };
}

/** The --help text. */
export function helpText(): string {
  return buildProgram('kubeseal', DESCRIPTION, SPECS).helpInformation({ error: false }) + EXAMPLES;
}
