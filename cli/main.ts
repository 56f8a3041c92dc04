/**
 * kubeseal entry point: the only place that exits the process. Known errors print one line
 * ("error: ..."), never a stack; anything else is a bug and says so.
 */
import { readFileSync } from 'node:fs';
import { EXIT_FAILURE, UserError } from '../shared/errors.ts';
import { processIo } from './io.ts';
import { parseOptions } from './options.ts';
import { run } from './run.ts';

function packageVersion(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sealed-secrets-ts' && pkg.version) return `v${pkg.version}`;
    } catch {
      // try the next location (source tree or dist/)
    }
  }
  return 'UNKNOWN';
}

async function main(): Promise<number> {
  const io = processIo();
  await run(parseOptions(process.argv.slice(2), io.env), { io, version: packageVersion() });
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UserError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`error: internal error, this is a bug; please report it with the command you ran: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = EXIT_FAILURE;
    }
  },
);
