import { describe, expect, it } from 'vitest';
import { printableName, shownObject } from './untrusted.ts';

describe('names from untrusted input in messages and tables', () => {
  it('shows identifier-like names as they are, a missing one as empty, anything else as "(unprintable)"', () => {
    expect(printableName('db-credentials')).toBe('db-credentials');
    expect(printableName(undefined)).toBe('');
    expect(printableName('')).toBe('');
    expect(printableName('name\u001b[31m')).toBe('(unprintable)');
    expect(printableName('two\nlines')).toBe('(unprintable)');
    expect(printableName('x'.repeat(254))).toBe('(unprintable)');
    expect(printableName({ name: 'x' })).toBe('(unprintable)');
  });

  it('joins namespace and name, each checked on its own', () => {
    expect(shownObject('app', 'db')).toBe('app/db');
    expect(shownObject(undefined, 'db')).toBe('/db');
    expect(shownObject('app', 'a b\r')).toBe('app/(unprintable)');
  });
});
