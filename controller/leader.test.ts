import { describe, expect, it } from 'vitest';
import { runLeaderElection, validateDurations, type LeaderElectionOptions } from './leader.ts';
import type { LeaseRecord, LeaseStore, LeaseWrite } from './lease-store.ts';
import type { Logger } from './log.ts';
import type { Timers } from './time.ts';

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

// ---- a fake clock: time moves only when a test advances it ----------------------------------

interface FakeClock {
  now(): number;
  readonly timers: Timers;
  /** Runs every timer due within `ms`, in order, letting promises settle in between. */
  advance(ms: number): Promise<void>;
}

/** Lets every pending promise callback run (they are all microtasks: nothing here does real I/O). */
const settle = () => new Promise<void>((resolveSettle) => setImmediate(resolveSettle));

function fakeClock(start = T0): FakeClock {
  let current = start;
  let sequence = 0;
  const pending = new Map<number, { at: number; callback: () => void }>();
  const timers: Timers = {
    setTimeout(callback, ms) {
      sequence += 1;
      pending.set(sequence, { at: current + Math.max(0, ms), callback });
      return sequence;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
    sleep: (ms, signal) =>
      new Promise((resolveSleep) => {
        if (signal?.aborted) return resolveSleep();
        const done = () => {
          timers.clearTimeout(handle);
          signal?.removeEventListener('abort', done);
          resolveSleep();
        };
        const handle = timers.setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
      }),
  };
  return {
    now: () => current,
    timers,
    async advance(ms) {
      const target = current + ms;
      for (;;) {
        await settle();
        let next: [number, { at: number; callback: () => void }] | undefined;
        for (const entry of pending) if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
        if (!next) break;
        pending.delete(next[0]);
        current = next[1].at;
        next[1].callback();
      }
      current = target;
      await settle();
    },
  };
}

// ---- a fake Lease store with optimistic concurrency -------------------------------------------

type Op = 'get' | 'create' | 'update';
/** What an injected fault does to one request: fail, never answer (until aborted), or answer late. */
type Fault = 'error' | 'hang' | { readonly delayMs: number } | undefined;

interface Call {
  readonly op: Op;
  readonly by: string;
  readonly at: number;
  readonly holder?: string;
}

interface FakeView extends LeaseStore {
  /** Consulted before each request of this view (may also change the Lease, to stage a race). */
  fault: (op: Op) => Fault;
}

const EMPTY: Omit<LeaseRecord, 'resourceVersion'> = {
  holderIdentity: '',
  leaseDurationSeconds: 15,
  acquireTime: undefined,
  renewTime: undefined,
  leaseTransitions: 0,
};

function fakeLeases(clock: FakeClock) {
  let lease: LeaseRecord | undefined;
  let version = 0;
  const calls: Call[] = [];
  const write = (record: Omit<LeaseRecord, 'resourceVersion'>): LeaseRecord => {
    version += 1;
    lease = { ...record, resourceVersion: String(version) };
    return lease;
  };

  const view = (by: string): FakeView => {
    const enter = async (op: Op, signal: AbortSignal | undefined, holder?: string): Promise<void> => {
      calls.push({ op, by, at: clock.now(), ...(holder === undefined ? {} : { holder }) });
      const fault = store.fault(op);
      if (fault === 'error') throw new Error(`injected ${op} failure`);
      if (fault === 'hang' || typeof fault === 'object') {
        await new Promise<void>((resolveWait, reject) => {
          const handle = typeof fault === 'object' ? clock.timers.setTimeout(resolveWait, fault.delayMs) : undefined;
          signal?.addEventListener(
            'abort',
            () => {
              clock.timers.clearTimeout(handle);
              reject(new DOMException('the operation was aborted', 'AbortError'));
            },
            { once: true },
          );
        });
      }
    };
    const store: FakeView = {
      description: 'test/lease',
      fault: () => undefined,
      async get(signal) {
        await enter('get', signal);
        return lease;
      },
      async create(record, signal): Promise<LeaseWrite> {
        await enter('create', signal, record.holderIdentity);
        if (lease) return { outcome: 'conflict' };
        return { outcome: 'written', record: write(record) };
      },
      async update(record, signal): Promise<LeaseWrite> {
        await enter('update', signal, record.holderIdentity);
        if (!lease || lease.resourceVersion !== record.resourceVersion) return { outcome: 'conflict' };
        return { outcome: 'written', record: write(record) };
      },
    };
    return store;
  };

  return {
    view,
    calls,
    current: () => lease,
    /** Someone else writes the Lease (another elector, a human with kubectl). */
    put: (record: Partial<Omit<LeaseRecord, 'resourceVersion'>>) => write({ ...EMPTY, ...record }),
  };
}

// ---- an elector wired to the fakes, recording what it does --------------------------------------

function startElector(store: LeaseStore, clock: FakeClock, options: Partial<LeaderElectionOptions> = {}) {
  const at = () => clock.now() - T0;
  const events: string[] = [];
  const terms: { signal: AbortSignal; startedAt: number; abortedAt?: number; reason?: string }[] = [];
  const logs: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = {
    debug: (message, fields) => logs.push({ level: 'debug', message, fields }),
    info: (message, fields) => logs.push({ level: 'info', message, fields }),
    warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
    error: (message, fields) => logs.push({ level: 'error', message, fields }),
    with: () => log,
  };
  const election = runLeaderElection({
    store,
    identity: 'me',
    now: clock.now,
    timers: clock.timers,
    random: () => 0.5, // candidates retry every 2 s × (1 + 0.5 × 1.2) = 3.2 s
    log,
    onStartedLeading: (signal) => {
      const term: (typeof terms)[number] = { signal, startedAt: at() };
      terms.push(term);
      events.push(`+${at()} started`);
      signal.addEventListener('abort', () => {
        term.abortedAt = at();
        term.reason = (signal.reason as Error).message;
        events.push(`+${at()} aborted`);
      });
    },
    onStoppedLeading: () => events.push(`+${at()} stopped`),
    onNewLeader: (identity) => events.push(`+${at()} leader '${identity}'`),
    ...options,
  });
  return { election, events, terms, logs };
}

const writesBy = (calls: readonly Call[], by: string) => calls.filter((call) => call.by === by && call.op !== 'get');

// ---- tests ------------------------------------------------------------------------------------

describe('runLeaderElection', () => {
  it('creates the Lease when there is none and leads', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const { election, events, terms } = startElector(leases.view('me'), clock);
    await clock.advance(0);

    expect(events).toEqual(["+0 leader 'me'", '+0 started']);
    expect(election.isLeader()).toBe(true);
    expect(election.leader()).toBe('me');
    expect(terms[0]?.signal.aborted).toBe(false);
    expect(leases.current()).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: new Date(T0),
      renewTime: new Date(T0),
      leaseTransitions: 0,
      resourceVersion: '1',
    });
    await election.stop();
  });

  it('renews every retryPeriod by updating what it wrote (no reads), keeping acquireTime', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const { election, events } = startElector(leases.view('me'), clock);
    await clock.advance(10_000);

    expect(leases.calls.map(({ op, at }) => `${op}+${at - T0}`)).toEqual([
      'get+0',
      'create+0',
      'update+2000',
      'update+4000',
      'update+6000',
      'update+8000',
      'update+10000',
    ]);
    expect(leases.current()).toMatchObject({ holderIdentity: 'me', acquireTime: new Date(T0), renewTime: new Date(T0 + 10_000), leaseTransitions: 0 });
    expect(events).toEqual(["+0 leader 'me'", '+0 started']);
    await election.stop();
  });

  it('takes a released Lease (empty holder) at once and counts the transition', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    leases.put({ holderIdentity: '', leaseDurationSeconds: 1, renewTime: new Date(T0), leaseTransitions: 4 });
    const { election, events } = startElector(leases.view('me'), clock);
    await clock.advance(0);

    expect(events).toEqual(["+0 leader 'me'", '+0 started']);
    expect(leases.current()).toMatchObject({ holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: new Date(T0), leaseTransitions: 5 });
    await election.stop();
  });

  it('respects a live Lease held by another: reads it with jittered retries, never writes', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    leases.put({ holderIdentity: 'other', renewTime: new Date(T0), leaseTransitions: 1 });
    const { election, events } = startElector(leases.view('me'), clock);
    for (let second = 2; second <= 60; second += 2) {
      await clock.advance(2_000);
      leases.put({ holderIdentity: 'other', renewTime: new Date(clock.now()), leaseTransitions: 1 }); // the other renews
    }

    expect(events).toEqual(["+0 leader 'other'"]);
    expect(election.isLeader()).toBe(false);
    expect(election.leader()).toBe('other');
    expect(writesBy(leases.calls, 'me')).toEqual([]);
    const reads = leases.calls.filter((call) => call.by === 'me').map((call) => call.at - T0);
    expect(reads.slice(0, 4)).toEqual([0, 3_200, 6_400, 9_600]);
    await election.stop();
    expect(writesBy(leases.calls, 'me')).toEqual([]); // a follower has nothing to release
  });

  it.each([
    { case: 'renewTime long past', renewTime: new Date(T0 - HOUR) },
    { case: 'renewTime now', renewTime: new Date(T0) },
    { case: 'renewTime in the future (skewed clock)', renewTime: new Date(T0 + HOUR) },
    { case: 'no renewTime', renewTime: undefined },
  ])('takes over a Lease that stopped changing leaseDuration after it first saw it ($case)', async ({ renewTime }) => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    leases.put({ holderIdentity: 'other', renewTime, leaseTransitions: 3 });
    const { election, events } = startElector(leases.view('me'), clock);
    await clock.advance(60_000);

    // Reads at 0, 3.2, 6.4, 9.6, 12.8 s: not expired (observed at 0 + 15 s); at 16 s it is.
    expect(events).toEqual(["+0 leader 'other'", "+16000 leader 'me'", '+16000 started']);
    expect(leases.current()).toMatchObject({ holderIdentity: 'me', acquireTime: new Date(T0 + 16_000), renewTime: new Date(T0 + 60_000), leaseTransitions: 4 });
    await election.stop();
  });

  it('restarts the wait whenever it sees the record change', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    leases.put({ holderIdentity: 'other', renewTime: new Date(T0) });
    const { election, events } = startElector(leases.view('me'), clock);
    await clock.advance(10_000);
    leases.put({ holderIdentity: 'other', renewTime: new Date(clock.now()) }); // one last renewal, then silence
    await clock.advance(30_000);

    // Seen changed at the 12.8 s read, so valid until 27.8 s; reads at 25.6 s, 28.8 s.
    expect(events).toEqual(["+0 leader 'other'", "+28800 leader 'me'", '+28800 started']);
    await election.stop();
  });

  it.each([
    { random: 0, gaps: [2_000, 2_000, 2_000] },
    { random: 0.25, gaps: [2_600, 2_600, 2_600] },
    { random: 0.999, gaps: [4_398, 4_398, 4_398] },
  ])('retries a held Lease every retryPeriod × (1 + random × 1.2) (random $random)', async ({ random, gaps }) => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    leases.put({ holderIdentity: 'other', renewTime: new Date(T0) });
    const { election } = startElector(leases.view('me'), clock, { random: () => random });
    await clock.advance(13_500);
    const reads = leases.calls.filter((call) => call.by === 'me').map((call) => call.at - T0);
    expect(reads.slice(1, 4).map((at, i) => Math.round(at - (reads[i] ?? 0)))).toEqual(gaps);
    await election.stop();
  });

  it('stops acting at once when no renewal succeeded for renewDeadline, then campaigns again', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const store = leases.view('me');
    const { election, events, terms } = startElector(store, clock);
    await clock.advance(3_000); // renewed at 2 s
    store.fault = () => 'error';
    await clock.advance(8_999);
    expect(election.isLeader()).toBe(true);
    await clock.advance(1); // 12 s = 2 s (start of the last good renewal) + 10 s

    expect(terms[0]).toMatchObject({ abortedAt: 12_000 });
    expect(terms[0]?.reason).toMatch(/no successful renewal within the renew deadline \(10000 ms\)/);
    expect(election.isLeader()).toBe(false);
    expect(events).toEqual(["+0 leader 'me'", '+0 started', '+12000 aborted', '+12000 stopped']);

    // The API server comes back: the Lease still names us and nobody else wrote, so we lead again.
    await clock.advance(8_000); // 20 s
    store.fault = () => undefined;
    await clock.advance(5_000);
    expect(events.slice(4)).toEqual(['+21600 started']);
    expect(terms[1]?.signal.aborted).toBe(false);
    expect(leases.current()).toMatchObject({ holderIdentity: 'me', acquireTime: new Date(T0), leaseTransitions: 0 });
    await election.stop();
  });

  it('stops acting at the deadline even while a renewal hangs, and aborts that request', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const store = leases.view('me');
    let hungRequestAborted: number | undefined;
    store.fault = (op) => (op === 'update' && clock.now() >= T0 + 4_000 ? 'hang' : undefined);
    const original = store.update.bind(store);
    store.update = (record, signal) => {
      if (clock.now() >= T0 + 4_000) signal?.addEventListener('abort', () => (hungRequestAborted ??= clock.now() - T0));
      return original(record, signal);
    };
    const { election, terms, logs } = startElector(store, clock);
    await clock.advance(20_000);

    expect(terms[0]).toMatchObject({ startedAt: 0, abortedAt: 12_000 }); // last good renewal began at 2 s
    expect(hungRequestAborted).toBe(12_000);
    expect(logs.filter((entry) => entry.level === 'warn').map((entry) => entry.message)).toEqual(['stopped leading']);

    // Stopping while the API server hangs takes at most renewDeadline (the release attempt).
    const stopping = election.stop();
    await clock.advance(10_000);
    await stopping;
    expect(leases.current()?.holderIdentity).toBe('me');
    expect(logs.at(-1)).toMatchObject({ level: 'warn', message: 'failed to release leader lease' });
  });

  it('stops acting at once when it sees another holder', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const { election, events, terms } = startElector(leases.view('me'), clock);
    await clock.advance(5_000);
    leases.put({ holderIdentity: 'other', renewTime: new Date(clock.now()), leaseTransitions: 1 });
    await clock.advance(1_000); // the renewal at 6 s finds it

    expect(terms[0]).toMatchObject({ abortedAt: 6_000, reason: expect.stringMatching(/the lease is now held by other/) });
    expect(events).toEqual(["+0 leader 'me'", '+0 started', "+6000 leader 'other'", '+6000 aborted', '+6000 stopped']);
    expect(election.leader()).toBe('other');

    // And follows from then on while the other renews.
    const writes = writesBy(leases.calls, 'me').length;
    for (let i = 0; i < 10; i++) {
      await clock.advance(2_000);
      leases.put({ holderIdentity: 'other', renewTime: new Date(clock.now()), leaseTransitions: 1 });
    }
    expect(writesBy(leases.calls, 'me')).toHaveLength(writes);
    expect(election.isLeader()).toBe(false);
    await election.stop();
    expect(leases.current()?.holderIdentity).toBe('other'); // never releases someone else's Lease
  });

  it('keeps leading when only the resourceVersion changed (e.g. labels edited): conflict, re-read, renew', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const { election, events } = startElector(leases.view('me'), clock);
    await clock.advance(3_000);
    const { resourceVersion: _, ...same } = leases.current() as LeaseRecord;
    leases.put(same);
    await clock.advance(1_000);

    expect(leases.calls.slice(-3).map((call) => call.op)).toEqual(['update', 'get', 'update']);
    expect(leases.current()).toMatchObject({ holderIdentity: 'me', renewTime: new Date(T0 + 4_000), resourceVersion: '4' });
    expect(events).toEqual(["+0 leader 'me'", '+0 started']);
    expect(election.isLeader()).toBe(true);
    await election.stop();
  });

  it('releases the Lease on stop, after ending the term and before onStoppedLeading', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const seen: string[] = [];
    const { election, events } = startElector(leases.view('me'), clock, {
      onStartedLeading: (signal) => {
        signal.addEventListener('abort', () => seen.push(`aborted, holder '${leases.current()?.holderIdentity}'`));
      },
      onStoppedLeading: () => seen.push(`stopped, holder '${leases.current()?.holderIdentity}'`),
    });
    await clock.advance(5_000);
    await election.stop();
    await election.stop(); // idempotent

    expect(seen).toEqual(["aborted, holder 'me'", "stopped, holder ''"]);
    expect(election.isLeader()).toBe(false);
    expect(leases.current()).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: new Date(T0 + 5_000),
      renewTime: new Date(T0 + 5_000),
      leaseTransitions: 0,
      resourceVersion: '4',
    });
    expect(events).toEqual(["+0 leader 'me'", "+5000 leader ''"]);
  });

  it('waits for the work onStartedLeading returned before releasing, at most renewDeadline', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const released = (holders: string[]) => () => holders.push(`${clock.now() - T0} ${leases.current()?.holderIdentity}`);
    const quick: string[] = [];
    const { election } = startElector(leases.view('me'), clock, {
      onStartedLeading: (signal) =>
        new Promise<void>((resolveWork) => signal.addEventListener('abort', () => clock.timers.setTimeout(resolveWork, 1_500))),
      onStoppedLeading: released(quick),
    });
    await clock.advance(1_000);
    const stopping = election.stop();
    await clock.advance(1_499);
    expect(leases.current()?.holderIdentity).toBe('me');
    await clock.advance(1);
    await stopping;
    expect(quick).toEqual(['2500 ']);

    const clock2 = fakeClock();
    const leases2 = fakeLeases(clock2);
    const { election: stuck } = startElector(leases2.view('me'), clock2, { onStartedLeading: () => new Promise<void>(() => {}) });
    await clock2.advance(1_000);
    const stoppingStuck = stuck.stop();
    await clock2.advance(10_000);
    await stoppingStuck;
    expect(leases2.current()).toMatchObject({ holderIdentity: '', renewTime: new Date(T0 + 11_000) });
  });

  it('does not release when releaseOnStop is false', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const { election, events } = startElector(leases.view('me'), clock, { releaseOnStop: false });
    await clock.advance(1_000);
    await election.stop();
    expect(leases.current()?.holderIdentity).toBe('me');
    expect(events).toEqual(["+0 leader 'me'", '+0 started', '+1000 aborted', '+1000 stopped']);
  });

  it('two candidates starting together: one wins the create race, the other follows; a clean stop hands over on the next retry', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const a = startElector(leases.view('a'), clock, { identity: 'a' });
    const b = startElector(leases.view('b'), clock, { identity: 'b' });
    await clock.advance(0);

    expect(leases.calls.map(({ op, by }) => `${op} ${by}`)).toEqual(['get a', 'get b', 'create a', 'create b']);
    expect([a.election.isLeader(), b.election.isLeader()]).toEqual([true, false]);
    expect(b.events).toEqual([]); // its create lost; it has not read the winner yet

    await clock.advance(5_000);
    await a.election.stop();
    await clock.advance(1_400); // b reads at 0, 3.2, 6.4 s: the released Lease is free at once
    expect(b.events).toEqual(["+3200 leader 'a'", "+6400 leader 'b'", '+6400 started']);
    expect(leases.current()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.election.stop();
  });

  it('loses a takeover race to a concurrent writer (update conflict) and follows the winner', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    leases.put({ holderIdentity: 'old', renewTime: new Date(T0) });
    const store = leases.view('me');
    store.fault = (op) => {
      if (op === 'update' && leases.current()?.holderIdentity === 'old') {
        leases.put({ holderIdentity: 'racer', renewTime: new Date(clock.now()), leaseTransitions: 1 });
      }
      return undefined;
    };
    const { election, events } = startElector(store, clock);
    await clock.advance(20_000);

    expect(leases.calls.filter((call) => call.op === 'update')).toEqual([{ op: 'update', by: 'me', at: T0 + 16_000, holder: 'me' }]);
    expect(events).toEqual(["+0 leader 'old'", "+19200 leader 'racer'"]);
    expect(election.isLeader()).toBe(false);
    await election.stop();
  });

  it('counts leaseTransitions across holders: a, released, b, expired, a', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const a = startElector(leases.view('a'), clock, { identity: 'a' });
    await clock.advance(1_000);
    expect(leases.current()).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0 });
    await a.election.stop();
    const storeB = leases.view('b');
    const b = startElector(storeB, clock, { identity: 'b' });
    await clock.advance(0);
    expect(leases.current()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });

    const a2 = startElector(leases.view('a'), clock, { identity: 'a' });
    await clock.advance(5_000);
    storeB.fault = () => 'error'; // b is cut off; a takes over once b's last record is 15 s old
    await clock.advance(30_000);
    expect(b.election.isLeader()).toBe(false);
    expect(a2.election.isLeader()).toBe(true);
    expect(leases.current()).toMatchObject({ holderIdentity: 'a', leaseTransitions: 2 });
    await Promise.all([a2.election.stop(), b.election.stop()]);
  });

  it('survives callbacks that throw', async () => {
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const { election, logs } = startElector(leases.view('me'), clock, {
      onStartedLeading: () => {
        throw new Error('boom');
      },
      onNewLeader: () => {
        throw new Error('bang');
      },
      onStoppedLeading: () => {
        throw new Error('pow');
      },
    });
    await clock.advance(4_000);
    expect(election.isLeader()).toBe(true);
    expect(leases.current()?.renewTime).toEqual(new Date(T0 + 4_000));
    await election.stop();
    expect(leases.current()?.holderIdentity).toBe('');
    expect(logs.filter((entry) => entry.level === 'error').map((entry) => `${entry.message}: ${(entry.fields?.error as Error).message}`)).toEqual([
      'onNewLeader failed: bang',
      'onStartedLeading failed: boom',
      'onNewLeader failed: bang',
      'onStoppedLeading failed: pow',
    ]);
  });

  it('never has two leaders at once, with faults, latency, restarts and skewed clocks (seeded)', async () => {
    const random = seededRandom(20260101);
    const clock = fakeClock();
    const leases = fakeLeases(clock);
    const terms: { who: string; startedAt: number; endedAt: number }[] = [];
    const skews = { a: 0, b: HOUR, c: -7 * 60_000 };
    const candidates = Object.entries(skews).map(([who, skew]) => {
      const store = leases.view(who);
      let generation = 0;
      // Identities are unique per elector (the controller uses hostname_random): a restart is a new one.
      const start = () =>
        runLeaderElection({
          store,
          identity: `${who}-${(generation += 1)}`,
          now: () => clock.now() + skew,
          timers: clock.timers,
          random,
          onStartedLeading: (signal) => {
            const term = { who, startedAt: clock.now(), endedAt: Infinity };
            terms.push(term);
            signal.addEventListener('abort', () => (term.endedAt = clock.now()));
          },
        });
      return { who, store, election: start(), start };
    });

    for (let step = 0; step < 3_000; step++) {
      for (const candidate of candidates) {
        const roll = random();
        candidate.store.fault = () => {
          const r = random();
          return r < 0.1 ? 'error' : r < 0.12 ? 'hang' : r < 0.3 ? { delayMs: Math.floor(random() * 4_000) } : undefined;
        };
        if (roll < 0.002) {
          void candidate.election.stop();
          candidate.election = candidate.start();
        }
      }
      await clock.advance(200);
      expect(candidates.filter((candidate) => candidate.election.isLeader()).length).toBeLessThanOrEqual(1);
    }
    for (const candidate of candidates) candidate.store.fault = () => undefined;
    await Promise.all(candidates.map((candidate) => candidate.election.stop()));

    terms.sort((x, y) => x.startedAt - y.startedAt);
    for (let i = 1; i < terms.length; i++) {
      const [previous, next] = [terms[i - 1], terms[i]];
      expect(next?.startedAt, `${previous?.who} led until ${previous?.endedAt}, ${next?.who} started at ${next?.startedAt}`).toBeGreaterThanOrEqual(previous?.endedAt ?? 0);
    }
    expect(terms.length).toBeGreaterThan(5); // there were failovers
    expect(new Set(terms.map((term) => term.who)).size).toBe(3);
  });
});

describe('validateDurations', () => {
  it.each([
    { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, error: undefined },
    { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500, error: undefined },
    { leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, error: /leaseDuration \(10000 ms\) must be greater than renewDeadline/ },
    { leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000, error: /renewDeadline \(2400 ms\) must be greater than 1.2 × retryPeriod/ },
    { leaseDurationMs: 15_500, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, error: /whole number of seconds/ },
    { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0, error: /retryPeriod must be greater than zero/ },
  ])('$leaseDurationMs / $renewDeadlineMs / $retryPeriodMs', ({ leaseDurationMs, renewDeadlineMs, retryPeriodMs, error }) => {
    const check = () => validateDurations(leaseDurationMs, renewDeadlineMs, retryPeriodMs);
    if (error) expect(check).toThrow(error);
    else expect(check).not.toThrow();
  });

  it('is applied by runLeaderElection, as is a non-empty identity', () => {
    const clock = fakeClock();
    const store = fakeLeases(clock).view('me');
    const base = { store, now: clock.now, timers: clock.timers, onStartedLeading: () => {} };
    expect(() => runLeaderElection({ ...base, identity: '' })).toThrow(/non-empty identity/);
    expect(() => runLeaderElection({ ...base, identity: 'me', renewDeadlineMs: 20_000 })).toThrow(RangeError);
  });
});

/**
 * mulberry32: a small deterministic generator for reproducible fault schedules. Not for anything
 * that needs real randomness.
 */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
