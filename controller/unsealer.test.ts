import { describe, expect, it } from 'vitest';
import { createKeyTrialOrder } from './unsealer.ts';

const day = 86_400_000;
const keys = ['k3', 'k2', 'k1'].map((fingerprint, i) => ({ fingerprint, orderingTime: new Date(Date.UTC(2026, 0, 30) - i * 30 * day) }));

describe('key order', () => {
  it('tries the newest key first for an unknown SealedSecret created now', () => {
    expect(createKeyTrialOrder().orderFor({ uid: 'a', createdAt: new Date(Date.UTC(2026, 1, 1)) }, keys)).toEqual(['k3', 'k2', 'k1']);
  });
  it('guesses the key that was newest when the SealedSecret was created', () => {
    expect(createKeyTrialOrder().orderFor({ uid: 'a', createdAt: new Date(Date.UTC(2026, 0, 10)) }, keys)).toEqual(['k2', 'k3', 'k1']);
  });
  it('remembers which key opened a SealedSecret, and prefers keys that opened many', () => {
    const order = createKeyTrialOrder();
    order.learn('a', ['k1']);
    order.learn('b', ['k1']);
    expect(order.orderFor({ uid: 'a' }, keys)).toEqual(['k1', 'k3', 'k2']);
    expect(order.orderFor({ uid: 'c' }, keys)).toEqual(['k1', 'k3', 'k2']);
    order.forget('a');
    order.learn('c', ['k2']);
    expect(order.orderFor({ uid: 'c', createdAt: new Date(Date.UTC(2026, 1, 1)) }, keys)).toEqual(['k2', 'k3', 'k1']);
  });
});
