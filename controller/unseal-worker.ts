/**
 * A thread of the unseal pool (unseal-pool.ts). RSA private operations are synchronous and take
 * ~4 ms each for RSA-4096; running them here keeps the event loop free and uses every core. Each
 * thread holds its own copies of the keys: OpenSSL serialises work on one key object.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { parentPort, type MessagePort } from 'node:worker_threads';
import type { SealedSecret, Secret } from '../shared/kube.ts';
import { TemplateError, unsealSealedSecret } from '../shared/sealed-secret.ts';
import { templateRenderer } from '../shared/template/unseal-renderer.ts';
import { toWorkerError, type WorkerError } from './worker-errors.ts';

export type WorkerRequest =
  | { type: 'keys'; keys: { fingerprint: string; key: KeyObject }[] }
  | { type: 'unseal'; id: number; sealed: SealedSecret; order: string[]; acceptDeprecatedV1Data: boolean };

export type WorkerReply =
  | { id: number; ok: true; secret: Secret; keysUsed: string[] }
  | { id: number; ok: false; error: WorkerError };

/** spec.template.data as upstream renders it, with the real clock and randomness (Sprig's now, randAlphaNum...). */
const renderTemplates = templateRenderer({
  now: () => new Date(), random: (n) => randomBytes(n), clock: () => performance.now(), templateError: (message) => new TemplateError(message),
});

export function serve(port: MessagePort): void {
  let keys: { fingerprint: string; key: KeyObject }[] = [];
  port.on('message', (request: WorkerRequest) => {
    if (request.type === 'keys') {
      keys = request.keys;
      return;
    }
    const rank = new Map(request.order.map((fp, i) => [fp, i]));
    const ordered = [...keys].sort((a, b) => (rank.get(a.fingerprint) ?? Infinity) - (rank.get(b.fingerprint) ?? Infinity));
    let reply: WorkerReply;
    try {
      const { secret, keysUsed } = unsealSealedSecret(request.sealed, {
        keys: ordered.map((k) => k.key),
        acceptDeprecatedV1Data: request.acceptDeprecatedV1Data,
        renderTemplates,
      });
      reply = { id: request.id, ok: true, secret, keysUsed: keysUsed.map((i) => ordered[i]?.fingerprint ?? '') };
    } catch (error) {
      reply = { id: request.id, ok: false, error: toWorkerError(error) };
    }
    port.postMessage(reply);
  });
}

if (parentPort) serve(parentPort);
