/**
 * kubeseal entry point: the only place that exits the process. Known errors print one line
 * ("error: ..."), never a stack; anything else is a bug and says so.
 */
import { readFileSync } from 'node:fs';
import { packageVersion } from '../shared/version.ts';
import { EXIT_FAILURE, UserError } from '../shared/errors.ts';
import { processIo } from './io.ts';
import { parseOptions } from './options.ts';
import { run } from './run.ts';

async function main(): Promise<number> {
  const io = processIo();
  await run(parseOptions(process.argv.slice(2), io.env), { io, version: packageVersion(import.meta.url, (url) => readFileSync(url, 'utf8')) });
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
