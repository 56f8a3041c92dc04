/** `kubeseal keys`: reading the controller's /v1/keys answer (untrusted) and printing it. */
import { describe, expect, it } from 'vitest';
import type { ControllerKeys } from '../shared/controller-api.ts';
import { printKeyListing, readKeyListing, table } from './key-list.ts';

const FP1 = `SHA256:${'A'.repeat(43)}`;
const FP2 = `SHA256:${'B'.repeat(43)}`;
const FP3 = `SHA256:${'C'.repeat(43)}`;
const answer: ControllerKeys = {
  keys: [
    { name: 'sealed-secrets-keynew01', fingerprint: FP1, notBefore: '2026-12-01T09:00:00Z', sealing: true, retired: false, sealedSecrets: 12 },
    { name: 'sealed-secrets-keyold01', fingerprint: FP2, notBefore: '2026-11-01T09:00:00Z', sealing: false, retired: true, sealedSecrets: 0 },
  ],
  missing: [{ fingerprint: FP3, sealedSecrets: 2 }],
};
const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('the /v1/keys answer', () => {
  it('is read as the controller sent it, in its order', () => {
    expect(readKeyListing(body(answer))).toEqual(answer);
    expect(readKeyListing(body({ keys: [] }))).toEqual({ keys: [], missing: [] });
  });

  it.each([
    ['not JSON', Buffer.from('<html>s3cr3t-value</html>'), /is not JSON; check that --controller-name/],
    ['no keys list', body({ items: [] }), /holds no "keys" list/],
    ['a name that is not a name', body({ keys: [{ ...answer.keys[0], name: 's3cr3t value with spaces' }] }), /key 1 lacks name, fingerprint/],
    ['a negative count', body({ keys: [{ ...answer.keys[0], sealedSecrets: -1 }] }), /key 1 lacks/],
    ['a fingerprint of another form', body({ keys: [{ ...answer.keys[0], fingerprint: 's3cr3t-value' }] }), /key 1 lacks/],
    ['a bad missing entry', body({ keys: [], missing: [{ fingerprint: FP3 }] }), /missing key 1, lacks fingerprint or sealedSecrets/],
    // Date.parse reads this as a date: the text in parentheses would reach the table.
    ['a date with text in parentheses', body({ keys: [{ ...answer.keys[0], notBefore: 'Jan 1 2026 (\u001b[31ms3cr3t\n)' }] }), /key 1 lacks/],
  ])('refuses %s in one line that quotes none of it', (_, bytes, message) => {
    let error: Error | undefined;
    try {
      readKeyListing(bytes);
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toMatch(/s3cr3t/);
    expect(error?.message).not.toContain('\n');
  });
});

describe('printing', () => {
  it('a table, kubectl style, a missing key as its own row', () => {
    expect(printKeyListing(answer, 'table')).toBe(table(
      ['NAME', 'FINGERPRINT', 'NOT BEFORE', 'SEALING', 'RETIRED', 'SEALED SECRETS'],
      [
        ['sealed-secrets-keynew01', FP1, '2026-12-01T09:00:00Z', 'yes', 'no', '12'],
        ['sealed-secrets-keyold01', FP2, '2026-11-01T09:00:00Z', 'no', 'yes', '0'],
        ['(missing)', FP3, '-', 'no', '-', '2'],
      ],
    ));
    expect(table(['A', 'LONG'], [['wide cell', 'x']])).toBe('A           LONG\nwide cell   x\n');
  });

  it('JSON and YAML as the answer', () => {
    expect(JSON.parse(printKeyListing(answer, 'json'))).toEqual(answer);
    expect(printKeyListing(answer, 'yaml')).toMatch(/^---\nkeys:\n- fingerprint: SHA256:A+\n {2}name: sealed-secrets-keynew01\n/);
  });
});
