import { describe, expect, it } from 'vitest';
import { printableName, shownObject, shownUrl } from './untrusted.ts';

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

describe('a server address in messages', () => {
  it('keeps scheme, host and path, and never the user and password', () => {
    expect(shownUrl('https://127.0.0.1:6443')).toBe('https://127.0.0.1:6443');
    expect(shownUrl('https://admin:hunter2@k8s.example:443/clusters/c-1')).toBe('https://k8s.example/clusters/c-1');
    expect(shownUrl('not a url')).toBe('(unparsable URL)');
  });
});
