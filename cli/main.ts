/**
 * kubeseal's entry point: the only place that decides the exit code. Known errors print one line
 * ("error: ..."), never a stack; anything else is a bug and says so.
 *
 * Two callers: cli/bin.ts (running from source or dist/cli/) and the loader of the bundled
 * executable, dist/bin/kubeseal.js, which scripts/bundle.ts writes.
 */
import { readFileSync } from 'node:fs';
import { EXIT_FAILURE, UserError } from '../shared/errors.ts';
import { packageVersion } from '../shared/version.ts';
import { processIo, type Io } from './io.ts';
import { parseOptions, SPECS } from './options.ts';
import { run } from './run.ts';

/**
 * What a bug report can carry: the error's type and where in our code it was thrown. Never its
 * message: an unexpected error from a parser or library may quote the input, which may be a secret.
 */
export function bugReport(error: unknown): string {
  if (!(error instanceof Error)) return `a thrown ${typeof error}`;
  const frame = (error.stack ?? '').split('\n').find((line) => /^\s+at /.test(line))?.trim().replace(/^at /, '');
  // Paths are cut to the file name: a frame names code, but a home directory is nobody's business.
  return frame ? `${error.name} at ${frame.replace(/(?:file:\/\/)?\/[^\s()]*\//g, '')}` : error.name;
}

/**
 * Runs one kubeseal command (argv without node and the script) and returns its exit code. Two
 * subcommands, words upstream kubeseal gives no meaning: `completion <shell>` prints a shell
 * completion script (cli/completion.ts); `keys` is about the sealing keys (cli/keys.ts).
 */
export async function kubeseal(argv: readonly string[], io: Io, version: string): Promise<number> {
  try {
    if (argv[0] === 'completion') {
      const { completionScript, parseShell } = await import('./completion.ts');
      io.writeStdout(completionScript(parseShell(argv.slice(1)), SPECS));
      return 0;
    }
    if (argv[0] === 'keys') {
      const { keysCommand } = await import('./keys.ts');
      await keysCommand(parseOptions(argv.slice(1), io.env), io);
      return 0;
    }
    await run(parseOptions(argv, io.env), { io, version });
    return 0;
  } catch (error) {
    if (error instanceof UserError) {
      io.warn(`error: ${error.message}`);
      return error.exitCode;
    }
    io.warn(`error: internal error, this is a bug; please report it with the command you ran (not its input): ${bugReport(error)}`);
    return EXIT_FAILURE;
  }
}

/** The process: its arguments, stdio and environment; `moduleUrl` locates package.json for --version. */
export async function main(moduleUrl: string): Promise<void> {
  const version = packageVersion(moduleUrl, (url) => readFileSync(url, 'utf8'));
  process.exitCode = await kubeseal(process.argv.slice(2), processIo(), version);
}
