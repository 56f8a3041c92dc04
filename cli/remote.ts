/**
 * Modes that talk to the controller through the cluster: fetching the certificate, --validate and
 * --re-encrypt. Loaded only on these paths (the Kubernetes client is heavy).
 */
import { UserError } from '../shared/errors.ts';
import type { CliOptions } from './options.ts';

function notYet(what: string): never {
  throw new UserError(`${what} needs the controller's HTTP API through the cluster, which this build of kubeseal cannot reach yet; use --cert <file or URL> to seal offline`);
}

/** The newest sealing certificate, from the controller. */
export async function fetchCertificate(options: CliOptions): Promise<Buffer> {
  void options;
  return notYet(options.fetchCert ? '--fetch-cert' : 'sealing without --cert');
}

/** --validate: check with the controller that every SealedSecret of `input` can be opened. */
export async function validate(input: Buffer, options: CliOptions): Promise<void> {
  void input;
  void options;
  notYet('--validate');
}

/** --re-encrypt: have the controller re-seal every SealedSecret of `input` with its newest key. */
export async function reencrypt(input: Buffer, options: CliOptions): Promise<string> {
  void input;
  void options;
  return notYet('--re-encrypt');
}
