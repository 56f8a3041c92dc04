#!/usr/bin/env -S node --max-semi-space-size=2 --optimize-for-size --no-opt --no-maglev
/**
 * sealed-secrets-controller entry point: the only place that exits the process. Bad flags print
 * one line and exit 2; SIGTERM/SIGINT stop gracefully (the Lease is released so another replica
 * takes over at once); SIGUSR1 renews the sealing key now.
 *
 * V8 heap flags, on the line above, are the controller's own: the same in the image's ENTRYPOINT
 * (Dockerfile; controller/main-flags.test.ts checks they agree) and wherever this file runs as a program.
 * --max-semi-space-size=2 (MiB): V8's young generation otherwise grows to 3 x 16 MiB while the
 * informers list and the work queue runs, and RSS keeps what it grew to; the controller's
 * short-lived garbage (JSON, HTTP) fits in 2 MiB semi-spaces at the cost of more, shorter
 * scavenges. --optimize-for-size: V8 grows the old generation less eagerly (and compiles less
 * eagerly); the event loop is a small part of the controller's CPU. --no-opt --no-maglev: only
 * V8's interpreter and its baseline compiler (Sparkplug); the optimizing compilers' memory (their
 * compile jobs' zones, the binary's pages they touch) costs ~15 MiB of RSS, and what they save is
 * ~0.3 CPU s of the event loop's ~2.4 per 1000 SealedSecrets (RSA and JSON parsing are native code
 * either way). Measured at
 * N = 1000: peak RSS 150 MiB with none of these, 134 with the first, 115 with the first two
 * (before controller/transport.ts), and 98-103 -> 82-84 MiB for the last two
 * (docs/benchmarks.md). Set here rather than left to each Deployment, because the
 * memory goals are the controller's; not by re-exec (a second Node start-up, and a parent
 * process kept as PID 1), nor by v8.setFlagsFromString (heap sizes are fixed once the heap exists).
 */
import { readFileSync } from 'node:fs';
import { packageVersion } from '../shared/version.ts';
import { errorMessage, UserError } from '../shared/errors.ts';
import { helpText, loadConfig, SERVICE_ACCOUNT_NAMESPACE_FILE } from './config.ts';
import { createLogger } from './log.ts';
import { RENEW_REQUEST, runController } from './run.ts';

async function main(): Promise<number> {
  const config = loadConfig({
    args: process.argv.slice(2),
    env: process.env,
    readNamespaceFile: () => {
      try {
        return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8');
      } catch {
        return undefined;
      }
    },
  });
  const version = packageVersion(import.meta.url, (url) => readFileSync(url, 'utf8'));
  // --help first, as upstream's flag parser answers it before anything runs (--version --help: help).
  if (config.help) {
    process.stdout.write(helpText());
    return 0;
  }
  if (config.version) {
    process.stdout.write(`controller version: ${version}\n`);
    return 0;
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat, infoToStdout: config.logInfoStdout });
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      log.info('shutting down', { signal });
      stop.abort();
    });
  }
  // Always listened to: without a listener Node would open its inspector on SIGUSR1.
  const renewRequests = new EventTarget();
  process.on('SIGUSR1', () => renewRequests.dispatchEvent(new Event(RENEW_REQUEST)));
  try {
    await runController({ config, env: process.env, log, version, signal: stop.signal, renewRequests });
  } catch (error) {
    log.error('controller failed', { error: errorMessage(error) });
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    process.exit(error instanceof UserError ? error.exitCode : 1);
  },
);
