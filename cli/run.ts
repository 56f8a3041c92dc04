/**
 * What kubeseal does with its options, in upstream's order of precedence: help (upstream's flag
 * parser answers --help before anything runs, so `--version --help` prints the help), version, the
 * flag checks, --recovery-unseal,
 * --validate, --re-encrypt, then (with a certificate) --fetch-cert, --merge-into, --raw, and
 * sealing. --re-encrypt of files and directories (arguments, or -f naming a directory), or offline
 * with --recovery-private-key, is cli/re-encrypt-run.ts's. cli/main.test.ts pins this order. Output is collected and written only when everything
 * succeeded.
 */
import { UsageError, UserError } from '../shared/errors.ts';
import { parseSealingKey } from '../shared/keys.ts';
import { parseOutputFormat, type OutputFormat } from '../shared/manifest.ts';
import { parseScope } from '../shared/scope.ts';
import { readCertificate } from './cert.ts';
import type { Io } from './io.ts';
import { resolveNamespace } from './kubeconfig.ts';
import { helpText, type CliOptions } from './options.ts';
import { mergeInto, sealInput, sealRaw, type SealRequest } from './seal.ts';

export interface RunContext {
  readonly io: Io;
  readonly version: string;
}

/** The output file, if any: -w, or the input file itself for --re-encrypt given only -f (upstream #405). */
function outputFile(options: CliOptions): string {
  if (options.sealedSecretFile) return options.sealedSecretFile;
  return options.reEncrypt && options.secretFile ? options.secretFile : '';
}

/** -f names a directory (--re-encrypt then rewrites its files in place). */
function isDirectory(io: Io, path: string): boolean {
  return path !== '' && io.readDirectory(path, '--secret-file') !== undefined;
}

function checkFlags(options: CliOptions): void {
  if (options.fromFile.length > 0 && !options.raw) throw new UsageError('--from-file requires --raw');
  if (options.fromFile.length > 1) throw new UsageError('must provide only one --from-file when encrypting a single item with --raw');
  if (options.recoveryUnseal && options.recoveryPrivateKey.length === 0) {
    throw new UsageError('--recovery-unseal needs --recovery-private-key <file> (a PEM private key or a backup of the sealing key Secrets)');
  }
}

export async function run(options: CliOptions, context: RunContext): Promise<void> {
  const { io } = context;
  if (options.help) {
    io.writeStdout(helpText());
    return;
  }
  if (options.version) {
    io.writeStdout(`kubeseal version: ${context.version}\n`);
    return;
  }
  checkFlags(options);
  const output = outputFile(options);
  let format: OutputFormat = parseOutputFormat(options.format);
  if (/\.ya?ml$/.test(output)) format = 'yaml';
  const scope = parseScope(options.scope);

  const readInput = async (): Promise<Buffer> => {
    if (options.secretFile) return io.readFile(options.secretFile, '--secret-file');
    if (io.stdinIsTty) io.warn('(tty detected: expecting json/yaml k8s resource in stdin)');
    return io.readStdin();
  };
  const write = (content: string | Buffer, secret = false): void => {
    if (output) io.writeFileAtomic(output, content, { secret });
    else io.writeStdout(content);
  };

  if (options.recoveryUnseal) {
    const { recover } = await import('./recover.ts');
    const { readRecoveryKeyring } = await import('./recovery-keys.ts');
    const keyring = await readRecoveryKeyring({ files: options.recoveryPrivateKey, identityFiles: options.recoveryAgeIdentity, io });
    write(await recover(await readInput(), keyring.map((k) => k.key), format, { now: () => io.now(), random: (n) => io.random(n) }), true);
    return;
  }
  // --re-encrypt offline (it uses --recovery-private-key) or of files and directories.
  const reencryptMany = options.reEncrypt && !options.validate
    && (options.operands.length > 0 || options.recoveryPrivateKey.length > 0 || isDirectory(io, options.secretFile));
  if (options.recoveryPrivateKey.length > 0 && !reencryptMany && io.stderrIsTty) {
    io.warn('warning: ignoring --recovery-private-key because unseal command not chosen with --recovery-unseal');
  }
  const remote = { env: io.env, warn: io.warn, format };
  if (options.validate) {
    await (await import('./remote.ts')).validate(await readInput(), options, remote);
    return;
  }
  if (reencryptMany) {
    await (await import('./re-encrypt-run.ts')).reencryptMany(options, { io, format, output });
    return;
  }
  if (options.reEncrypt) {
    write(await (await import('./remote.ts')).reencrypt(await readInput(), options, remote));
    return;
  }

  const certificate = options.cert
    ? await readCertificate(options.cert, io)
    : await (await import('./remote.ts')).fetchCertificate(options, remote);
  if (options.fetchCert) {
    write(certificate);
    return;
  }
  const { key: publicKey } = parseSealingKey(certificate.toString('utf8'), io.now(), options.cert ? `--cert "${options.cert}"` : 'the controller\'s certificate');

  const request: SealRequest = {
    publicKey,
    random: io.random,
    format,
    ...(options.scopeExplicit ? { scope } : {}),
    name: options.name,
    allowEmptyData: options.allowEmptyData,
    namespaceGiven: options.kube.namespace !== undefined,
    namespace: () => resolveNamespace({ ...options.kube, kubeconfig: options.kubeconfig, env: io.env }),
  };
  if (options.mergeInto) {
    const existing = io.readFile(options.mergeInto, '--merge-into');
    const merged = mergeInto(await readInput(), existing, { ...request, formatExplicit: options.formatExplicit }, options.mergeInto);
    io.writeFileAtomic(options.mergeInto, merged);
    return;
  }
  if (options.raw) {
    const value = options.fromFile[0] !== undefined
      ? io.readFile(options.fromFile[0].replace(/^[^=]*=/, ''), '--from-file')
      : await (io.stdinIsTty && io.warn('(tty detected: expecting a secret to encrypt in stdin)'), io.readStdin());
    write(sealRaw(value, { ...request, scope }));
    return;
  }
  const sealed = sealInput(await readInput(), request, options.secretFile ? `"${options.secretFile}"` : 'input');
  if (sealed === '') throw new UserError('no secrets found in the input');
  write(sealed);
}
