// The one renderer of spec.template.data for unsealing, shared by the controller's unseal threads
// and kubeseal --recovery-unseal so that both produce the same bytes and the same errors. The clock,
// the random source and the time-limit clock are arguments (the shells pass the real ones).
// Importing this module loads the whole template engine: only paths that meet template.data do.
import { TemplateError, type UnsealOptions } from '../sealed-secret.ts';
import { renderTemplateData } from './index.ts';

export interface RendererOptions {
  /** Sprig's now/ago/date clock, read once per SealedSecret. */
  readonly now: () => Date;
  readonly random: (n: number) => Uint8Array;
  /** Monotonic milliseconds for the wall-clock limit. */
  readonly clock: () => number;
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
    });
    if (result.ok) return result.data;
    throw new TemplateError(result.errors.map((e) => `${e.message} (${e.key})`).join('; '));
  };
}
