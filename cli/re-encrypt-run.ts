/**
 * `kubeseal --re-encrypt` beyond one SealedSecret through the controller:
 *
 *   kubeseal --re-encrypt a.yaml b.json dir/            each file rewritten in place, a summary
 *   kubeseal --re-encrypt -f dir/                       the same for a directory given to -f
 *   kubeseal --re-encrypt --recovery-private-key K --cert C [files or -f or stdin]
 *                                                       offline: no cluster needed (upstream #1453)
 *
 * With -w, or with no file at all, it stays upstream's one-input mode (stdin or one file, output
 * to -w or stdout in -o's format). Which way it re-seals is a Reencrypter (cli/re-encrypt-many.ts).
 */
import { UsageError, UserError } from '../shared/errors.ts';
import { isObject, readSealedSecret, SEALED_SECRET_KIND } from '../shared/kube.ts';
import { parseSealingKey } from '../shared/keys.ts';
import { formatManifest, parseDocuments, type OutputFormat } from '../shared/manifest.ts';
import { readCertificate } from './cert.ts';
import type { Io } from './io.ts';
import { manifestFiles } from './manifest-files.ts';
import type { CliOptions } from './options.ts';
import { offlineReencrypter, reencryptFiles, type Reencrypter } from './re-encrypt-many.ts';
import { readRecoveryKeyring } from './recovery-keys.ts';

async function chooseReencrypter(options: CliOptions, io: Io): Promise<Reencrypter> {
  if (options.recoveryPrivateKey.length === 0) {
    return (await import('./remote.ts')).controllerReencrypter(options, { env: io.env, warn: io.warn });
  }
  if (!options.cert) {
    throw new UsageError('--re-encrypt with --recovery-private-key works offline and needs --cert <file or URL>, the certificate of the key to re-encrypt to (kubeseal --fetch-cert writes it)');
  }
  const certificate = await readCertificate(options.cert, io);
  const { key: publicKey } = parseSealingKey(certificate.toString('utf8'), io.now(), `--cert "${options.cert}"`);
  const keyring = await readRecoveryKeyring({ files: options.recoveryPrivateKey, identityFiles: options.recoveryAgeIdentity, io });
  return offlineReencrypter({ keys: keyring.map((k) => k.key), publicKey, random: io.random });
}

/** Upstream's shape: one input (stdin or one file), all its SealedSecrets, printed in `format`. */
async function reencryptOne(input: Buffer, reencrypter: Reencrypter, format: OutputFormat): Promise<string> {
  const docs = parseDocuments(input, 'input');
  if (!docs.some((doc) => isObject(doc) && doc.kind === SEALED_SECRET_KIND)) {
    throw new UserError('no SealedSecret found in the input; pass a SealedSecret manifest on stdin or with -f');
  }
  const printed: string[] = [];
  for (const [index, doc] of docs.entries()) {
    const sealed = readSealedSecret(doc, docs.length > 1 ? `input document ${index + 1}` : 'input');
    const result = await reencrypter.reencrypt(sealed);
    printed.push(formatManifest(result.current ? doc : result.manifest, format));
  }
  return printed.join('');
}

export async function reencryptMany(options: CliOptions, context: { io: Io; format: OutputFormat; output: string }): Promise<void> {
  const { io } = context;
  const paths = [...(options.secretFile ? [options.secretFile] : []), ...options.operands];
  if (paths.length === 0 || options.sealedSecretFile) {
    if (paths.length > 1) throw new UsageError('-w takes the re-encrypted output of one input; without -w, every file named is rewritten in place');
    const path = paths[0];
    if (path !== undefined && io.readDirectory(path, 'file argument') !== undefined) {
      throw new UsageError(`"${path}" is a directory; without -w its files are rewritten in place`);
    }
    const reencrypter = await chooseReencrypter(options, io);
    const input = path !== undefined ? io.readFile(path, 'file') : (io.stdinIsTty && io.warn('(tty detected: expecting json/yaml k8s resource in stdin)'), await io.readStdin());
    const text = await reencryptOne(input, reencrypter, context.format);
    if (context.output) io.writeFileAtomic(context.output, text);
    else io.writeStdout(text);
    return;
  }
  const files = manifestFiles(paths, io, 'file arguments');
  if (files.length === 0) throw new UserError(`no *.yaml, *.yml or *.json file in ${paths.map((p) => `"${p}"`).join(', ')}`);
  const summary = await reencryptFiles(files, await chooseReencrypter(options, io), io);
  if (summary.failedFiles > 0) {
    throw new UserError(`${summary.failedFiles} of ${files.length} files could not be re-encrypted and were left as they were (reasons above)`);
  }
}
