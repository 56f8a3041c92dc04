/**
 * Errors meant for people. Every message is one line that names what is wrong and, where there
 * is one, the fix. The shells (cli/main.ts, controller/main.ts) are the only places that turn an
 * error into an exit code; everything else throws.
 */

/** Exit code for usage mistakes (unknown flag, bad flag value, incompatible flags). */
export const EXIT_USAGE = 2;
/** Exit code for every other failure, as upstream kubeseal uses. */
export const EXIT_FAILURE = 1;

/** A failure the user can act on. `exitCode` is what the process exits with. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? EXIT_FAILURE;
  }
}

/** Flags that cannot work together or a flag value that is not allowed. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: EXIT_USAGE });
    this.name = 'UsageError';
  }
}

/**
 * Why a ciphertext could not be opened:
 * - `malformed`: not base64, or shorter than its length prefix says (upstream's ErrTooShort);
 * - `no-key`: no key given opens the RSA part with this label (wrong key, wrong scope/name/namespace);
 * - `tampered`: a key opened the session key but the AES-GCM tag did not verify.
 */
export type DecryptFailure = 'malformed' | 'no-key' | 'tampered';

export class DecryptError extends UserError {
  readonly failure: DecryptFailure;
  constructor(failure: DecryptFailure, message: string) {
    super(message);
    this.name = 'DecryptError';
    this.failure = failure;
  }
}

/** Narrow an unknown thrown value to a message without ever printing a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
