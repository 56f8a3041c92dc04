// The one renderer of spec.template.data for unsealing, shared by the controller's unseal threads
// and kubeseal --recovery-unseal so that both produce the same bytes and the same messages. The
// clock, the random source, the time-limit clock and the error type are arguments (the shells pass
// theirs: kubeseal's bundle loads this module from outside itself, so it cannot share classes).
// Importing this module loads the whole template engine: only paths that meet template.data do.
import { generateKeyPairSync } from 'node:crypto';
import type { UnsealOptions } from '../sealed-secret.ts';
import { renderTemplateData } from './index.ts';
import type { KeyGenerator } from './sprig-certs.ts';

/** Keys for genPrivateKey & co from the platform's OpenSSL (Go's generators read crypto/rand). */
export const platformKeyGenerator: KeyGenerator = (kind, bits) => {
  if (kind === 'rsa') return generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 }).privateKey;
  if (kind === 'ecdsa') return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return generateKeyPairSync('ed25519').privateKey;
};

export interface RendererOptions {
  /** Sprig's now/ago/date clock, read once per SealedSecret. */
  readonly now: () => Date;
  readonly random: (n: number) => Uint8Array;
  /** Monotonic milliseconds for the wall-clock limit. */
  readonly clock: () => number;
  /** The error to throw (shared/sealed-secret.ts's TemplateError, from the caller's copy of it). */
  readonly templateError: (message: string) => Error;
  /** Key generation for genPrivateKey & co (default: platformKeyGenerator). */
  readonly generateKey?: KeyGenerator;
}

export type TemplateRenderer = NonNullable<UnsealOptions['renderTemplates']>;

/**
 * renderTemplates for unsealSealedSecret. Upstream's message on failure: each key's error tagged
 * with the key, joined by "; " (its multierror); the messages never carry a decrypted value.
 */
export function templateRenderer(options: RendererOptions): TemplateRenderer {
  return ({ templateData, decrypted }) => {
    const result = renderTemplateData({
      templateData: { ...templateData }, decrypted: { ...decrypted }, now: options.now(), random: options.random, clock: options.clock,
      generateKey: options.generateKey ?? platformKeyGenerator,
    });
    if (result.ok) return result.data;
    throw options.templateError(result.errors.map((e) => `${e.message} (${e.key})`).join('; '));
  };
}
