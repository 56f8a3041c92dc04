/**
 * Leader election over a coordination.k8s.io/v1 Lease, with the semantics of client-go's
 * tools/leaderelection (LeaseLock, ReleaseOnCancel):
 *
 * - A candidate takes the Lease when there is none, when its holder is empty (released), or when
 *   the record has not changed for leaseDurationSeconds *as observed by our own clock*: we remember
 *   when we last saw the record change (observedTime) and never compare the remote renewTime with
 *   our clock, so skewed clocks cannot shorten a lease.
 * - Candidates retry every retryPeriod × (1 + random × 1.2) (wait.JitterUntil, JitterFactor 1.2).
 * - The leader renews every retryPeriod. Its term ends AT ONCE (the AbortSignal given to
 *   onStartedLeading is aborted synchronously) when no renewal has succeeded for renewDeadline
 *   since the last successful one started (a hanging request does not delay this), or as soon as
 *   it reads a record held by someone else.
 * - Every write is conditional on the resourceVersion last read, so two writers never both win.
 * - stop() ends the term, waits (bounded) for the leader's work, then releases the Lease (holder
 *   "", leaseDurationSeconds 1) if we still hold it, so a successor takes over on its next retry.
 *
 * The Lease itself is read and written by a LeaseStore (lease-store.ts).
 *
 * Deviation from client-go: after losing the Lease the elector becomes a candidate again instead
 * of returning; call stop() from onStoppedLeading to get client-go's "exit when lost".
 */
import type { LeaseRecord, LeaseStore } from './lease-store.ts';
import { silentLogger, type Logger } from './log.ts';
import { systemTimers, type Timers } from './time.ts';

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
/** client-go's leaderelection.JitterFactor. */
export const JITTER_FACTOR = 1.2;

export interface LeaderElectionOptions {
  readonly store: LeaseStore;
  /** Unique per process, e.g. `${hostname}_${random}`. */
  readonly identity: string;
  /** How long others wait before taking a Lease that stopped changing. Whole seconds. Default 15 s. */
  readonly leaseDurationMs?: number;
  /** The leader gives up when no renewal succeeded for this long. Default 10 s. */
  readonly renewDeadlineMs?: number;
  /** Between attempts (candidates add up to 120 % jitter). Default 2 s. */
  readonly retryPeriodMs?: number;
  /** Release the Lease on stop() (client-go's ReleaseOnCancel). Default true. */
  readonly releaseOnStop?: boolean;
  /**
   * Called when this process becomes the leader. `signal` is aborted the moment leadership ends
   * (its reason says why); stop acting then. A returned promise is awaited by stop() (at most
   * renewDeadline) before the Lease is released, so return one that settles when the work stopped.
   */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<unknown>;
  /** Called once per term, after its signal was aborted (on stop(): after the release). */
  readonly onStoppedLeading?: () => void;
  /** Called when the observed holder changes (including to us; '' when the Lease was released). */
  readonly onNewLeader?: (identity: string) => void;
  /** Default: silent. */
  readonly log?: Logger;
  /** Epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
  /** Default: the real clock's (time.ts). */
  readonly timers?: Timers;
  /** In [0, 1), for the jitter. Default Math.random. */
  readonly random?: () => number;
}

export interface LeaderElection {
  /** True while this process is the leader (its term's signal is not aborted). */
  isLeader(): boolean;
  /** The holder as last observed ('' if none or not yet known). */
  leader(): string;
  /** Ends the term if any, releases the Lease if held, and resolves when the elector has stopped. Idempotent. */
  stop(): Promise<void>;
}

/** Checks the durations as client-go's NewLeaderElector does. */
export function validateDurations(leaseDurationMs: number, renewDeadlineMs: number, retryPeriodMs: number): void {
  if (!(retryPeriodMs > 0)) throw new RangeError(`retryPeriod must be greater than zero (got ${retryPeriodMs} ms)`);
  if (!Number.isInteger(leaseDurationMs / 1000) || leaseDurationMs < 1000) {
    throw new RangeError(`leaseDuration must be a whole number of seconds, at least 1 s (got ${leaseDurationMs} ms)`);
  }
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw new RangeError(`leaseDuration (${leaseDurationMs} ms) must be greater than renewDeadline (${renewDeadlineMs} ms)`);
  }
  if (!(renewDeadlineMs > JITTER_FACTOR * retryPeriodMs)) {
    throw new RangeError(`renewDeadline (${renewDeadlineMs} ms) must be greater than ${JITTER_FACTOR} × retryPeriod (${retryPeriodMs} ms)`);
  }
}

function sameElectionRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.leaseTransitions === b.leaseTransitions &&
    a.acquireTime?.getTime() === b.acquireTime?.getTime() &&
    a.renewTime?.getTime() === b.renewTime?.getTime()
  );
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

interface Term {
  readonly controller: AbortController;
  /** Settles when onStartedLeading's work does. */
  work: Promise<void>;
  deadline: unknown;
}

/**
 * Starts campaigning for the Lease and returns at once. Runs until stop(); after losing the Lease
 * it campaigns again.
 */
export function runLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const {
    store,
    identity,
    leaseDurationMs = DEFAULT_LEASE_DURATION_MS,
    renewDeadlineMs = DEFAULT_RENEW_DEADLINE_MS,
    retryPeriodMs = DEFAULT_RETRY_PERIOD_MS,
    releaseOnStop = true,
    now = Date.now,
    timers = systemTimers,
    random = Math.random,
  } = options;
  const log = options.log ?? silentLogger;
  if (!identity) throw new RangeError('leader election needs a non-empty identity');
  validateDurations(leaseDurationMs, renewDeadlineMs, retryPeriodMs);
  const leaseDurationSeconds = leaseDurationMs / 1000;
  const fields = { lease: store.description, identity };

  // What we last saw or wrote, and when (by our clock) it last changed: client-go's
  // observedRecord and observedTime.
  let observed: LeaseRecord | undefined;
  let observedTime = 0;
  let reportedLeader = '';
  let term: Term | undefined;
  const stopping = new AbortController();
  let stopped: Promise<void> | undefined;

  const guard = (what: string, callback: () => void): void => {
    try {
      callback();
    } catch (error) {
      log.error(`${what} failed`, { ...fields, error });
    }
  };

  const sleep = (ms: number, signal: AbortSignal): Promise<void> => timers.sleep(ms, signal);

  /** A signal aborted with `parent` or after `ms`; call dispose() when done (drops the listener and timer). */
  const withTimeout = (parent: AbortSignal, ms: number): { signal: AbortSignal; dispose: () => void } => {
    const controller = new AbortController();
    const follow = () => controller.abort(parent.reason);
    if (parent.aborted) follow();
    else parent.addEventListener('abort', follow, { once: true });
    const handle = timers.setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
    return {
      signal: controller.signal,
      dispose: () => {
        timers.clearTimeout(handle);
        parent.removeEventListener('abort', follow);
      },
    };
  };

  const setObserved = (record: LeaseRecord): void => {
    observed = record;
    observedTime = now();
  };
  const isLeaseValid = (at: number): boolean =>
    observed !== undefined && observedTime + observed.leaseDurationSeconds * 1000 > at;

  const reportTransition = (): void => {
    const holder = observed?.holderIdentity ?? '';
    if (holder === reportedLeader) return;
    reportedLeader = holder;
    log.info(holder ? 'new leader observed' : 'leader lease released', { ...fields, leader: holder });
    if (options.onNewLeader) guard('onNewLeader', () => options.onNewLeader?.(holder));
  };

  /** client-go's tryAcquireOrRenew. */
  const tryAcquireOrRenew = async (signal: AbortSignal): Promise<boolean> => {
    const at = now();
    const desired: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: new Date(at),
      renewTime: new Date(at),
      leaseTransitions: 0,
      resourceVersion: '',
    };

    // 1. Fast path: the leader updates what it last wrote, assuming nobody else wrote since.
    if (observed && observed.holderIdentity === identity && isLeaseValid(at)) {
      const written = await store.update({ ...desired, acquireTime: observed.acquireTime, leaseTransitions: observed.leaseTransitions, resourceVersion: observed.resourceVersion }, signal);
      if (written.outcome === 'written') {
        setObserved(written.record);
        return true;
      }
      log.debug('lease changed since our last write; reading it again', fields);
    }

    // 2. Read the record, or create it.
    const current = await store.get(signal);
    if (!current) {
      const created = await store.create(desired, signal);
      if (created.outcome === 'conflict') {
        log.debug('someone else created the lease first', fields);
        return false;
      }
      setObserved(created.record);
      return true;
    }

    // 3. Restart the clock only when the record changed: never trust the remote renewTime.
    if (!observed || !sameElectionRecord(observed, current)) setObserved(current);
    else observed = current; // same record, maybe a newer resourceVersion (e.g. labels edited)
    if (current.holderIdentity !== '' && current.holderIdentity !== identity && isLeaseValid(at)) {
      log.debug('lease is held by another and has not expired', { ...fields, leader: current.holderIdentity });
      return false;
    }

    // 4. Take it (empty holder or expired) or renew it (ours), conditionally on what we read.
    const record: LeaseRecord =
      current.holderIdentity === identity
        ? { ...desired, acquireTime: current.acquireTime, leaseTransitions: current.leaseTransitions, resourceVersion: current.resourceVersion }
        : { ...desired, leaseTransitions: current.leaseTransitions + 1, resourceVersion: current.resourceVersion };
    const written = await store.update(record, signal);
    if (written.outcome === 'conflict') {
      log.debug('lease changed while we tried to take it', fields);
      return false;
    }
    setObserved(written.record);
    return true;
  };

  /** One attempt that never throws; failures are logged. */
  const attempt = async (signal: AbortSignal): Promise<boolean> => {
    try {
      return await tryAcquireOrRenew(signal);
    } catch (error) {
      if (signal.aborted && isAbortError(error)) log.debug('lease request aborted', { ...fields, reason: String(signal.reason) });
      else log.warn('lease request failed', { ...fields, error });
      return false;
    } finally {
      reportTransition();
    }
  };

  /** Ends the current term synchronously: from here on the caller must not act as leader. */
  const endTerm = (reason: string): Term | undefined => {
    const ended = term;
    if (!ended) return undefined;
    term = undefined;
    timers.clearTimeout(ended.deadline);
    ended.controller.abort(new Error(`leadership of lease ${store.description} ended: ${reason}`));
    return ended;
  };

  const loseLeadership = (reason: string): void => {
    if (!endTerm(reason)) return;
    log.warn('stopped leading', { ...fields, reason });
    if (options.onStoppedLeading) guard('onStoppedLeading', () => options.onStoppedLeading?.());
  };

  /** (Re)arms the renew deadline, counted from when the last successful renewal started. */
  const armDeadline = (current: Term, renewStartedAt: number): void => {
    timers.clearTimeout(current.deadline);
    const remaining = Math.max(0, renewStartedAt + renewDeadlineMs - now());
    current.deadline = timers.setTimeout(() => loseLeadership(`no successful renewal within the renew deadline (${renewDeadlineMs} ms)`), remaining);
  };

  const startTerm = (acquireStartedAt: number): Term => {
    const started: Term = { controller: new AbortController(), work: Promise.resolve(), deadline: undefined };
    term = started;
    armDeadline(started, acquireStartedAt);
    log.info('became leader', fields);
    try {
      const result = options.onStartedLeading(started.controller.signal);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        started.work = Promise.resolve(result).then(
          () => {},
          (error: unknown) => log.error('onStartedLeading failed', { ...fields, error }),
        );
      }
    } catch (error) {
      log.error('onStartedLeading failed', { ...fields, error });
    }
    return started;
  };

  const renewWhileLeading = async (current: Term): Promise<void> => {
    const signal = AbortSignal.any([stopping.signal, current.controller.signal]);
    for (;;) {
      await sleep(retryPeriodMs, signal);
      if (signal.aborted) return;
      const startedAt = now();
      const renewed = await attempt(signal);
      if (term !== current) return; // ended meanwhile (deadline or stop)
      if (renewed) {
        armDeadline(current, startedAt);
        continue;
      }
      // Anything but our own record is newer than our last write: someone else has it (or is
      // taking it). Stop now rather than at the deadline.
      const holder = observed?.holderIdentity ?? '';
      if (holder !== identity) {
        loseLeadership(holder ? `the lease is now held by ${holder}` : 'the lease was released by someone else');
        return;
      }
      // Errors and conflicts: retry until the deadline timer ends the term.
    }
  };

  /** Gives the Lease up if the API server still says we hold it (client-go's release()). */
  const release = async (): Promise<void> => {
    const { signal, dispose } = withTimeout(new AbortController().signal, renewDeadlineMs);
    try {
      const current = await store.get(signal);
      if (!current) return;
      if (current.holderIdentity !== identity) {
        if (!observed || !sameElectionRecord(observed, current)) setObserved(current);
        return; // someone else's by now: not ours to release
      }
      const at = new Date(now());
      const written = await store.update(
        { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: at, renewTime: at, leaseTransitions: current.leaseTransitions, resourceVersion: current.resourceVersion },
        signal,
      );
      if (written.outcome === 'conflict') {
        log.warn('lease changed while releasing it; leaving it alone', fields);
        return;
      }
      setObserved(written.record);
      log.info('released leader lease', fields);
    } catch (error) {
      log.warn('failed to release leader lease', { ...fields, error });
    } finally {
      dispose();
      reportTransition();
    }
  };

  const run = async (): Promise<void> => {
    log.info('attempting to acquire leader lease', fields);
    while (!stopping.signal.aborted) {
      const startedAt = now();
      const { signal, dispose } = withTimeout(stopping.signal, renewDeadlineMs);
      const acquired = await attempt(signal);
      dispose();
      if (stopping.signal.aborted) return; // stop() releases if we hold it
      if (!acquired) {
        await sleep(retryPeriodMs * (1 + random() * JITTER_FACTOR), stopping.signal);
        continue;
      }
      await renewWhileLeading(startTerm(startedAt));
    }
  };

  const loop = run().catch((error: unknown) => {
    log.error('leader election failed unexpectedly', { ...fields, error });
    loseLeadership('leader election failed unexpectedly');
  });

  return {
    isLeader: () => term !== undefined,
    leader: () => observed?.holderIdentity ?? '',
    stop() {
      stopped ??= (async () => {
        stopping.abort(new Error('leader election stopped'));
        const ended = endTerm('leader election stopped');
        if (ended) log.info('stopping: leadership ended', fields);
        await loop;
        if (ended) {
          const settled = new AbortController();
          await Promise.race([ended.work, sleep(renewDeadlineMs, settled.signal)]);
          settled.abort();
        }
        if (releaseOnStop && observed?.holderIdentity === identity) await release();
        if (ended && options.onStoppedLeading) guard('onStoppedLeading', () => options.onStoppedLeading?.());
      })();
      return stopped;
    },
  };
}
