import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from './log.ts';
import { createWorkQueue, defaultBackoff, type Outcome } from './queue.ts';
import type { Timers } from './time.ts';

/** Timers run by hand: `fire()` runs everything that is due. */
function manualTimers() {
  const due: { fn: () => void; ms: number; id: number }[] = [];
  let id = 0;
  const timers: Pick<Timers, 'setTimeout' | 'clearTimeout'> = {
    setTimeout: (fn, ms) => {
      due.push({ fn, ms, id: ++id });
      return id;
    },
    clearTimeout: (h) => {
      const i = due.findIndex((d) => d.id === h);
      if (i >= 0) due.splice(i, 1);
    },
  };
  return { timers, delays: () => due.map((d) => d.ms), fire: () => due.splice(0).forEach((d) => d.fn()) };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('work queue', () => {
  it('de-duplicates queued keys and never runs one key twice at once', async () => {
    const seen: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const q = createWorkQueue({ log: silentLogger,
      concurrency: 4, maxRetries: 0, backoffMs: () => 0,
      handle: async (key) => { seen.push(key); if (key === 'a' && seen.length === 1) await gate; return { retry: false }; },
    });
    const controller = new AbortController();
    q.add('a'); q.add('a'); q.add('b');
    q.start(controller.signal);
    q.add('a'); // while a runs: runs again afterwards, once
    q.add('a');
    await tick();
    expect(seen).toEqual(['a', 'b']);
    release();
    await q.idle();
    expect(seen).toEqual(['a', 'b', 'a']);
  });

  it('bounds concurrency', async () => {
    let now = 0;
    let peak = 0;
    const q = createWorkQueue({ log: silentLogger, concurrency: 2, maxRetries: 0, backoffMs: () => 0, handle: async () => { now++; peak = Math.max(peak, now); await tick(); now--; return { retry: false }; } });
    for (const k of ['1', '2', '3', '4', '5']) q.add(k);
    q.start(new AbortController().signal);
    await q.idle();
    expect(peak).toBe(2);
  });

  it('retries with backoff up to maxRetries, then gives up; a fresh add forgets failures', async () => {
    const clock = manualTimers();
    let calls = 0;
    const q = createWorkQueue({ log: silentLogger, concurrency: 1, maxRetries: 2, backoffMs: (n) => n * 1000, timers: clock.timers, handle: async (): Promise<Outcome> => { calls++; return { retry: true }; } });
    q.start(new AbortController().signal);
    q.add('k');
    await q.idle();
    expect(clock.delays()).toEqual([1000]);
    clock.fire(); await q.idle();
    expect(clock.delays()).toEqual([2000]);
    clock.fire(); await q.idle();
    expect(clock.delays()).toEqual([]);
    expect(calls).toBe(3);
    q.add('k', { fresh: true });
    await q.idle();
    expect(clock.delays()).toEqual([1000]);
  });

  it('stops at abort: clears the queue and aborts work in flight', async () => {
    const controller = new AbortController();
    let aborted = false;
    const q = createWorkQueue({ log: silentLogger, concurrency: 1, maxRetries: 0, backoffMs: () => 0, handle: (_, signal) => new Promise((resolve) => signal.addEventListener('abort', () => { aborted = true; resolve({ retry: false }); })) });
    q.start(controller.signal);
    q.add('a'); q.add('b');
    await tick();
    controller.abort();
    await q.idle();
    expect(aborted).toBe(true);
    expect(q.size).toBe(0);
  });

  it('logs a handler that throws (without the thrown value\'s stack) and retries it like a failure', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'INFO', format: 'text', infoToStdout: true, write: (_stream, line) => lines.push(line) });
    const clock = manualTimers();
    let calls = 0;
    const q = createWorkQueue({ log, concurrency: 1, maxRetries: 1, backoffMs: () => 1000, timers: clock.timers, handle: async (): Promise<Outcome> => { calls++; throw new Error('boom'); } });
    q.start(new AbortController().signal);
    q.add('ns/a');
    await q.idle();
    expect(clock.delays()).toEqual([1000]);
    clock.fire();
    await q.idle();
    expect(calls).toBe(2);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/level=ERROR msg="work item failed unexpectedly; retrying" key=ns\/a error=boom\n$/);
  });

  it('default backoff grows from ~5 s to at most 5 min', () => {
    const b = defaultBackoff(() => 0.5);
    expect([1, 2, 3, 4, 5, 10].map(b)).toEqual([5000, 10000, 20000, 40000, 80000, 300000]);
  });
});
