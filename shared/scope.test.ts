import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.ts';
import { CLUSTER_WIDE_ANNOTATION, encryptionLabel, NAMESPACE_WIDE_ANNOTATION, parseScope, scopeOf, withScope } from './scope.ts';

describe('encryptionLabel', () => {
  it.each([
    ['strict', 'myns/myname'],
    ['namespace-wide', 'myns'],
    ['cluster-wide', ''],
  ] as const)('%s gives %j', (scope, label) => {
    expect(encryptionLabel(scope, 'myns', 'myname').toString('utf8')).toBe(label);
  });
});

describe('scopeOf', () => {
  it.each([
    [undefined, 'strict'],
    [{}, 'strict'],
    [{ [NAMESPACE_WIDE_ANNOTATION]: 'true' }, 'namespace-wide'],
    [{ [CLUSTER_WIDE_ANNOTATION]: 'true' }, 'cluster-wide'],
    [{ [CLUSTER_WIDE_ANNOTATION]: 'true', [NAMESPACE_WIDE_ANNOTATION]: 'true' }, 'cluster-wide'],
    [{ [CLUSTER_WIDE_ANNOTATION]: 'True' }, 'strict'],
    [{ [NAMESPACE_WIDE_ANNOTATION]: 'yes' }, 'strict'],
    [{ [CLUSTER_WIDE_ANNOTATION]: 'false', [NAMESPACE_WIDE_ANNOTATION]: 'true' }, 'namespace-wide'],
  ])('%j is %s', (annotations, scope) => {
    expect(scopeOf(annotations)).toBe(scope);
  });
});

describe('withScope', () => {
  it('replaces scope annotations and keeps the others', () => {
    const before = { a: 'b', [CLUSTER_WIDE_ANNOTATION]: 'true' };
    expect(withScope(before, 'namespace-wide')).toEqual({ a: 'b', [NAMESPACE_WIDE_ANNOTATION]: 'true' });
    expect(withScope(before, 'strict')).toEqual({ a: 'b' });
    expect(before).toEqual({ a: 'b', [CLUSTER_WIDE_ANNOTATION]: 'true' });
  });
});

describe('parseScope', () => {
  it('accepts the three names and "" as strict', () => {
    expect(parseScope('')).toBe('strict');
    expect(parseScope('cluster-wide')).toBe('cluster-wide');
  });
  it('refuses anything else with the accepted values', () => {
    expect(() => parseScope('global')).toThrow(UsageError);
    expect(() => parseScope('global')).toThrow(/must be one of: strict, namespace-wide, cluster-wide/);
  });
});
