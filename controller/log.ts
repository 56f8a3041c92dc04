/**
 * Structured logs, as upstream's slog handlers print them: `text` (key=value) or `json`, one line
 * per record. By upstream's default (--log-info-stdout) INFO and below go to stdout, WARN and ERROR
 * to stderr. Callers pass names, reasons and fingerprints, never plaintext or key material.
 */
import { rfc3339 } from './time.ts';

export type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const ORDER: Record<Level, number> = { DEBUG: -4, INFO: 0, WARN: 4, ERROR: 8 };

export type Fields = Record<string, unknown>;
export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  with(fields: Fields): Logger;
}

export interface LoggerOptions {
  readonly level: Level;
  readonly format: 'text' | 'json';
  readonly infoToStdout: boolean;
  readonly write?: (stream: 'stdout' | 'stderr', line: string) => void;
  readonly now?: () => Date;
}

/** Parse --log-level: one of the four level names, case-insensitive (slog's offsets such as "INFO+2" are not accepted). */
export function parseLevel(value: string): Level | undefined {
  const upper = value.trim().toUpperCase();
  return (Object.keys(ORDER) as Level[]).find((l) => l === upper);
}

function textValue(value: unknown): string {
  const text = value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value);
  return /^[^\s"=]+$/.test(text ?? '') ? (text as string) : JSON.stringify(text);
}

export function createLogger(options: LoggerOptions, bound: Fields = {}): Logger {
  const write = options.write ?? ((stream, line) => (stream === 'stdout' ? process.stdout : process.stderr).write(line));
  const now = options.now ?? (() => new Date());
  const emit = (level: Level, message: string, fields: Fields = {}): void => {
    if (ORDER[level] < ORDER[options.level]) return;
    const all = { ...bound, ...fields };
    const stream = options.infoToStdout && ORDER[level] < ORDER.WARN ? 'stdout' : 'stderr';
    if (options.format === 'json') {
      const record: Fields = { time: rfc3339(now(), 'millis'), level, msg: message };
      for (const [k, v] of Object.entries(all)) record[k] = v instanceof Error ? v.message : v;
      write(stream, `${JSON.stringify(record)}\n`);
    } else {
      const parts = [`time=${rfc3339(now(), 'millis')}`, `level=${level}`, `msg=${textValue(message)}`];
      for (const [k, v] of Object.entries(all)) if (v !== undefined) parts.push(`${k}=${textValue(v)}`);
      write(stream, `${parts.join(' ')}\n`);
    }
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARN', m, f),
    error: (m, f) => emit('ERROR', m, f),
    with: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger({ level: 'ERROR', format: 'text', infoToStdout: true, write: () => undefined });
