#!/usr/bin/env node
/**
 * sealed-secrets-controller entry point: the only place that exits the process. Bad flags print
 * one line and exit 2; SIGTERM/SIGINT stop gracefully (the Lease is released so another replica
 * takes over at once); SIGUSR1 renews the sealing key now.
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
