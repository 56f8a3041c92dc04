import { describe, expect, it } from 'vitest';
import { DecryptError, UserError } from '../shared/errors.ts';
import { TemplateError, UnsupportedError } from '../shared/sealed-secret.ts';
import { fromWorkerError, toWorkerError } from './worker-errors.ts';

/** Through structured clone, as a worker message goes. */
const roundTrip = (error: unknown) => fromWorkerError(structuredClone(toWorkerError(error)));

describe('errors across the worker-thread boundary', () => {
  it('keep their type, message and fields', () => {
    for (const failure of ['malformed', 'no-key', 'tampered'] as const) {
      const back = roundTrip(new DecryptError(failure, `failed: ${failure}`));
      expect(back).toBeInstanceOf(DecryptError);
      expect(back).toMatchObject({ failure, message: `failed: ${failure}` });
    }
    const unsupported = roundTrip(new UnsupportedError('not supported'));
    expect(unsupported).toBeInstanceOf(UnsupportedError);
    expect(unsupported.message).toBe('not supported');
    const template = roundTrip(new TemplateError('template: x:1: unclosed action (x)'));
    expect([template instanceof TemplateError, template.message]).toEqual([true, 'template: x:1: unclosed action (x)']);
    const user = roundTrip(new UserError('bad input'));
    expect([user instanceof UserError, user instanceof DecryptError, user instanceof UnsupportedError, user.message]).toEqual([true, false, false, 'bad input']);
  });

  it('anything else arrives as a plain Error with its message', () => {
    const other = roundTrip(new TypeError('x is undefined'));
    expect([other.constructor, other.message]).toEqual([Error, 'x is undefined']);
    expect(roundTrip('a string').message).toBe('a string');
  });
});
