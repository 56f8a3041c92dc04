import { describe, expect, it } from 'vitest';
import type { SealingKey } from '../shared/key-secret.ts';
import { waitBeforeNewKey } from './keys.ts';

const keyAt = (iso: string) => ({ orderingTime: new Date(iso) }) as SealingKey;

describe('waitBeforeNewKey: a new key must be newer than the newest by whole seconds', () => {
  it('waits for the next second when the newest key is from this second', () => {
    expect(waitBeforeNewKey(keyAt('2026-11-28T10:00:00Z'), new Date('2026-11-28T10:00:00.300Z'))).toBe(700);
    expect(waitBeforeNewKey(keyAt('2026-11-28T10:00:00Z'), new Date('2026-11-28T10:00:00.000Z'))).toBe(1000);
  });
  it('does not wait when the newest key is from an earlier second, or when there is none', () => {
    expect(waitBeforeNewKey(keyAt('2026-11-28T10:00:00Z'), new Date('2026-11-28T10:00:01.000Z'))).toBe(0);
    expect(waitBeforeNewKey(keyAt('2026-11-28T09:00:00Z'), new Date('2026-11-28T10:00:00Z'))).toBe(0);
    expect(waitBeforeNewKey(undefined, new Date())).toBe(0);
  });
  it('does not wait for a newest key more than a second ahead (clock skew: waiting would not fix it)', () => {
    expect(waitBeforeNewKey(keyAt('2026-11-28T10:00:05Z'), new Date('2026-11-28T10:00:00Z'))).toBe(0);
  });
});
