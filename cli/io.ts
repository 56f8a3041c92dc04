/**
 * How commands reach the files the user names for input and output (-f, -w, --cert, --merge-into,
 * --from-file, --recovery-private-key), stdin, stdout and stderr, the environment, the clock and
 * randomness. Commands receive an `Io`, so tests can run them in-process; `processIo()` is the real
 * one. Output files are written atomically (temporary file in the same directory, then rename) and
 * only when the whole command succeeded.
 *
 * Not through here: kubeconfig files, read by cli/kubeconfig.ts (and, with the CA, certificate and
 * token files they name, by client-node in cli/api.ts) by client-go's loading rules.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errorMessage, UserError } from '../shared/errors.ts';
import { MAX_INPUT_BYTES } from '../shared/input-limits.ts';
import { readFileBounded, readStreamBounded, TooLargeError } from './bounded-read.ts';

export interface Io {
  /** All of stdin, as bytes, at most MAX_INPUT_BYTES. */
  readStdin(): Promise<Buffer>;
  /** A file's bytes, at most `limit` (MAX_INPUT_BYTES); `what` names the flag it came from, for the error message. */
  readFile(path: string, what: string, limit?: number): Buffer;
  /**
   * The entries of directory `path` (names, and which are directories; symbolic links are not
   * followed), or undefined when `path` is not a directory. `what` names the flag or argument.
   */
  readDirectory(path: string, what: string): DirectoryEntry[] | undefined;
  /** Replace `path` atomically with `content` (mode 0600 when `secret`). */
  writeFileAtomic(path: string, content: string | Buffer, options?: { secret?: boolean }): void;
  writeStdout(content: string | Buffer): void;
  warn(message: string): void;
  /** Raw text to stderr (a progress line rewritten in place with \r). */
  writeStderr(content: string): void;
  stdinIsTty: boolean;
  stderrIsTty: boolean;
  env: Readonly<Record<string, string | undefined>>;
  now(): Date;
  random(size: number): Uint8Array;
}

export interface DirectoryEntry {
  readonly name: string;
  readonly directory: boolean;
  /** A regular file (not a symbolic link, FIFO, socket or device: opening a FIFO waits for a writer). */
  readonly file: boolean;
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return errorMessage(error).split('\n')[0] ?? 'unreadable';
}

export function readFileOrFail(path: string, what: string, limit = MAX_INPUT_BYTES): Buffer {
  try {
    return readFileBounded(path, limit, `${what} "${path}"`);
  } catch (error) {
    if (error instanceof TooLargeError) throw error;
    throw new UserError(`cannot read ${what} "${path}": ${reason(error)}; check the path`);
  }
}

export function readDirectory(path: string, what: string): DirectoryEntry[] | undefined {
  try {
    if (!statSync(path).isDirectory()) return undefined;
    return readdirSync(path, { withFileTypes: true }).map((entry) => ({ name: entry.name, directory: entry.isDirectory(), file: entry.isFile() }));
  } catch (error) {
    throw new UserError(`cannot read ${what} "${path}": ${reason(error)}; check the path`);
  }
}

/**
 * Replace `path` atomically: a temporary file in the same directory (so the rename cannot cross
 * file systems), renamed over it, removed on any failure. An existing file keeps its mode exactly
 * (set with chmod, because the mode given to open is cut by the umask: 0664 would become 0644),
 * (secret content: at most 0600), and a symbolic link stays a link: its target is what gets replaced.
 * A device or FIFO is written to, not replaced.
 */
export function writeFileAtomic(path: string, content: string | Buffer, options: { secret?: boolean } = {}): void {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // a new file (or a dangling link): written where it is named
  }
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let existing: Stats | undefined;
  try {
    existing = statSync(target);
  } catch {
    // a new file: the default mode, cut by the umask as any new file
  }
  if (existing !== undefined && !existing.isFile()) {
    // A device or FIFO (-w /dev/stdout): written through, as upstream's os.Create does. Renaming
    // over it would put a regular file in the place of /dev/stdout or a named pipe.
    try {
      writeFileSync(target, content);
    } catch (error) {
      throw new UserError(`cannot write "${path}": ${reason(error)}; check that it is writable`);
    }
    return;
  }
  let mode = existing === undefined ? undefined : existing.mode & 0o777;
  // Secret output (key material, unsealed Secrets) is never readable by others, even when the
  // file it replaces was.
  if (options.secret) mode = (mode ?? 0o600) & 0o600;
  try {
    writeFileSync(temp, content, { mode: mode ?? 0o644, flag: 'wx' });
    if (mode !== undefined) chmodSync(temp, mode);
    renameSync(temp, target);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // nothing was created
    }
    throw new UserError(`cannot write "${path}": ${reason(error)}; check that its directory exists and is writable`);
  }
}

export function processIo(): Io {
  return {
    readStdin: async () => {
      try {
        return await readStreamBounded(process.stdin, MAX_INPUT_BYTES, 'the input on stdin');
      } catch (error) {
        if (error instanceof TooLargeError) throw error;
        throw new UserError(`cannot read stdin: ${reason(error)}`);
      }
    },
    readFile: readFileOrFail,
    readDirectory,
    writeFileAtomic,
    writeStdout: (content) => {
      process.stdout.write(content);
    },
    warn: (message) => {
      process.stderr.write(`${message}\n`);
    },
    writeStderr: (content) => {
      process.stderr.write(content);
    },
    // Getters: touching process.stdin builds its stream, loading tty and net (or fs streams,
    // fs/promises and readline): milliseconds of start-up, wasted when the input comes from -f.
    get stdinIsTty() {
      return process.stdin.isTTY === true;
    },
    get stderrIsTty() {
      return process.stderr.isTTY === true;
    },
    env: process.env,
    now: () => new Date(),
    random: (size) => randomBytes(size),
  };
}
