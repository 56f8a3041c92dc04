/**
 * How an error crosses the worker-thread boundary (unseal-worker.ts -> unseal-pool.ts): structured
 * clone keeps neither the class nor its fields, so each error type the controller branches on is
 * sent as a kind plus its fields and rebuilt on the other side. One table, read both ways: a type
 * added here survives the trip in both directions.
 */
import { DecryptError, UserError, type DecryptFailure } from '../shared/errors.ts';
import { TemplateError, UnsupportedError } from '../shared/sealed-secret.ts';

/** An error as a worker message carries it; kind 'internal' for anything not in the table. */
export interface WorkerError {
  readonly kind: string;
  readonly message: string;
  readonly failure?: DecryptFailure;
}

interface Entry {
  readonly kind: string;
  readonly type: abstract new (...args: never[]) => Error;
  /** Fields beyond the message. */
  readonly fields?: (error: Error) => Partial<WorkerError>;
  readonly rebuild: (error: WorkerError) => Error;
}

/** Most specific first: DecryptError, UnsupportedError and TemplateError are UserErrors too. */
const TABLE: readonly Entry[] = [
  { kind: 'decrypt', type: DecryptError, fields: (e) => ({ failure: (e as DecryptError).failure }), rebuild: (w) => new DecryptError(w.failure ?? 'malformed', w.message) },
  { kind: 'unsupported', type: UnsupportedError, rebuild: (w) => new UnsupportedError(w.message) },
  { kind: 'template', type: TemplateError, rebuild: (w) => new TemplateError(w.message) },
  { kind: 'user', type: UserError, rebuild: (w) => new UserError(w.message) },
];

/** In the thread: the error as a message can carry it. */
export function toWorkerError(error: unknown): WorkerError {
  const message = error instanceof Error ? error.message : String(error);
  const entry = TABLE.find((e) => error instanceof e.type);
  return entry && error instanceof Error ? { kind: entry.kind, message, ...entry.fields?.(error) } : { kind: 'internal', message };
}

/** In the pool: the error again, with its type, so callers can branch on it. */
export function fromWorkerError(error: WorkerError): Error {
  return TABLE.find((e) => e.kind === error.kind)?.rebuild(error) ?? new Error(error.message);
}
