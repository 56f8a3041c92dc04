/**
 * The one reader of untrusted bytes in the CLI: stdin, files (regular or not: /dev/stdin, FIFOs,
 * /dev/zero) and HTTP bodies all stop at a limit (shared/input-limits.ts) with a one-line error.
 * Memory stays at most the limit plus one chunk, whatever the source sends.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { UserError } from '../shared/errors.ts';
import { formatBytes } from '../shared/input-limits.ts';

/** Past the limit: what was read, how much is allowed, and what to do instead. */
export class TooLargeError extends UserError {
  constructor(what: string, limit: number) {
    super(`${what} is larger than ${formatBytes(limit)}, the most kubeseal reads; the API server could not store it anyway (Secrets are at most 1 MiB)`);
    this.name = 'TooLargeError';
  }
}

/** Collects chunks up to `limit` bytes; throws TooLargeError at the first byte past it. */
export function boundedCollector(limit: number, what: string): { add(chunk: Uint8Array): void; result(): Buffer } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    add(chunk) {
      size += chunk.byteLength;
      if (size > limit) throw new TooLargeError(what, limit);
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    },
    result: () => Buffer.concat(chunks, size),
  };
}

/** All of a stream, at most `limit` bytes. The stream is destroyed past the limit when it can be. */
export async function readStreamBounded(stream: AsyncIterable<Uint8Array> & { destroy?: () => void }, limit: number, what: string): Promise<Buffer> {
  const collector = boundedCollector(limit, what);
  try {
    for await (const chunk of stream) collector.add(chunk);
  } catch (error) {
    stream.destroy?.();
    throw error;
  }
  return collector.result();
}

const CHUNK = 64 * 1024;

/**
 * A file's bytes, at most `limit`. Reads in chunks instead of trusting the size the file system
 * reports, which is 0 for pipes and devices. Errors from the file system propagate (callers word them).
 */
export function readFileBounded(path: string, limit: number, what: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const collector = boundedCollector(limit, what);
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK, null);
      if (read === 0) break;
      collector.add(Buffer.from(buffer.subarray(0, read)));
    }
    return collector.result();
  } finally {
    closeSync(fd);
  }
}
