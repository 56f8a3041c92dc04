/**
 * The thread that renders spec.template.data (template-thread.ts starts it on the first
 * SealedSecret that has one). Rendering is plain JavaScript bounded by shared/template's limits
 * (steps, bytes, 2 s): on the event loop, one hostile template could hold up the HTTP API and
 * every other SealedSecret for those 2 s; here it holds up only the templates behind it, and the
 * thread's own small heap bounds its memory.
 */
import { randomBytes } from 'node:crypto';
import { parentPort, type MessagePort } from 'node:worker_threads';
import { TemplateError } from '../shared/sealed-secret.ts';
import { templateRenderer } from '../shared/template/unseal-renderer.ts';
import { toWorkerError, type WorkerError } from './worker-errors.ts';

export interface TemplateRequest {
  readonly id: number;
  readonly templateData: Readonly<Record<string, string | null>>;
  readonly decrypted: Readonly<Record<string, Uint8Array>>;
}

export type TemplateReply =
  | { id: number; ok: true; data: Record<string, Uint8Array> }
  | { id: number; ok: false; error: WorkerError };

/**
 * spec.template.data as upstream renders it (shared/template/unseal-renderer.ts, which kubeseal
 * --recovery-unseal uses too), with the real clock and randomness (Sprig's now, randAlphaNum...).
 */
const renderer = templateRenderer({
  now: () => new Date(), random: (n) => randomBytes(n), clock: () => performance.now(), templateError: (message) => new TemplateError(message),
});

function render(request: TemplateRequest): Record<string, Uint8Array> {
  return renderer({ templateData: request.templateData, decrypted: request.decrypted });
}

export function serve(port: MessagePort): void {
  port.on('message', (request: TemplateRequest) => {
    let reply: TemplateReply;
    try {
      reply = { id: request.id, ok: true, data: render(request) };
    } catch (error) {
      reply = { id: request.id, ok: false, error: toWorkerError(error) };
    }
    port.postMessage(reply);
  });
}

if (parentPort) serve(parentPort);
