import { describe, expect, it } from 'vitest';
import { aborted } from './abort.ts';
import { rfc3339, sleep } from './time.ts';

describe('time', () => {
  it('formats RFC 3339 as the API server writes it', () => {
    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 67));
    expect(rfc3339(at)).toBe('2026-01-02T03:04:05Z');
    expect(rfc3339(at, 'millis')).toBe('2026-01-02T03:04:05.067Z');
    expect(rfc3339(at, 'micro')).toBe('2026-01-02T03:04:05.067000Z');
  });

  it('sleeps until the time passes or the signal aborts, never rejecting on abort', async () => {
    const started = performance.now();
    await sleep(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    const stop = new AbortController();
    const asleep = sleep(60_000, stop.signal);
    stop.abort(new Error('stopping'));
    await expect(asleep).resolves.toBeUndefined();
    await expect(sleep(60_000, stop.signal)).resolves.toBeUndefined();
    await expect(aborted(stop.signal)).resolves.toBeUndefined();
  });
});
