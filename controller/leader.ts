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
 * Deviation from client-go: after losing the Lease the elector becomes a candidate again instead
 * of returning; call stop() from onStoppedLeading to get client-go's "exit when lost".
 */
import { isConflict, isNotFound, KubeApiError, type KubeClient } from './kube-client.ts';

// ---- the Lease record and its storage --------------------------------------------------------

/** The leader-election fields of a Lease (client-go's LeaderElectionRecord) plus its resourceVersion. */
export interface LeaseRecord {
  /** '' when nobody holds the Lease (released). */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: Date | undefined;
  readonly renewTime: Date | undefined;
  readonly leaseTransitions: number;
  /** The version this record was read at; update() succeeds only if it is still current. '' for create(). */
  readonly resourceVersion: string;
}

/** Outcome of a conditional write: `conflict` when someone else wrote first (HTTP 409, or 404 on update). */
export type LeaseWrite = { readonly outcome: 'written'; readonly record: LeaseRecord } | { readonly outcome: 'conflict' };

/**
 * Where the Lease lives. Anything other than "not found" and a conflict is thrown. The signal
 * cancels the request (the elector aborts requests that outlive the renew deadline or stop()).
 */
export interface LeaseStore {
  /** For logs, e.g. "kube-system/sealed-secrets-controller". */
  readonly description: string;
  get(signal?: AbortSignal): Promise<LeaseRecord | undefined>;
  /** Creates the Lease; `conflict` if it already exists. */
  create(record: LeaseRecord, signal?: AbortSignal): Promise<LeaseWrite>;
  /** Replaces the Lease if its resourceVersion is still `record.resourceVersion`; `conflict` otherwise. */
  update(record: LeaseRecord, signal?: AbortSignal): Promise<LeaseWrite>;
}

/** A Lease request failed with something other than 404/409; `code` is the HTTP status (0: not reached). */
export class LeaseStoreError extends Error {
  readonly code: number;
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LeaseStoreError';
    this.code = code;
  }
}

export interface LeaseLocation {
  readonly namespace: string;
  readonly name: string;
}

/** A Lease as the API server sends and takes it (the fields this module uses). */
interface LeaseObject {
  metadata?: { resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/**
 * A LeaseStore on the Kubernetes API, through the controller's KubeClient (so renewals reuse its
 * connection pool). Needs get, create and update on leases.
 */
export function createLeaseStore(client: KubeClient, { namespace, name }: LeaseLocation): LeaseStore {
  const description = `${namespace}/${name}`;
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;

  const fail = (operation: string, error: unknown): never => {
    if (error instanceof KubeApiError) {
      throw new LeaseStoreError(error.code, `${operation} lease ${description}: HTTP ${error.code}${error.message ? `: ${error.message}` : ''}`, { cause: error });
    }
    throw error;
  };
  const toLease = (record: LeaseRecord, resourceVersion: string | undefined) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      ...(record.acquireTime ? { acquireTime: microTime(record.acquireTime) } : {}),
      ...(record.renewTime ? { renewTime: microTime(record.renewTime) } : {}),
      leaseTransitions: record.leaseTransitions,
    },
  });

  return {
    description,
    async get(signal) {
      try {
        return toRecord(await client.request<LeaseObject>('GET', path, { ...(signal ? { signal } : {}) }));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        return fail('get', error);
      }
    },
    async create(record, signal) {
      try {
        const created = await client.request<LeaseObject>('POST', collection, { body: toLease(record, undefined), ...(signal ? { signal } : {}) });
        return { outcome: 'written', record: toRecord(created) };
      } catch (error) {
        if (isConflict(error)) return { outcome: 'conflict' };
        return fail('create', error);
      }
    },
    async update(record, signal) {
      try {
        const replaced = await client.request<LeaseObject>('PUT', path, { body: toLease(record, record.resourceVersion), ...(signal ? { signal } : {}) });
        return { outcome: 'written', record: toRecord(replaced) };
      } catch (error) {
        // 409: someone wrote since we read. (A Lease deleted since we read is re-created by the
        // PUT, as Leases allow create-on-update; 404 is handled the same way for other servers.)
        if (isConflict(error) || isNotFound(error)) return { outcome: 'conflict' };
        return fail('update', error);
      }
    },
  };
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits, as kube-apiserver requires. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function toDate(value: string | undefined): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function toRecord(lease: LeaseObject): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: toDate(spec.acquireTime),
    renewTime: toDate(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion: lease.metadata?.resourceVersion ?? '',
  };
}

// ---- the elector -----------------------------------------------------------------------------

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
/** client-go's leaderelection.JitterFactor. */
export const JITTER_FACTOR = 1.2;

type Fields = Record<string, unknown>;
/** The subset of controller/log.ts's Logger the elector uses. */
export interface LeaderLog {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

/** setTimeout/clearTimeout, injectable so tests run on a fake clock. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

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
  readonly log?: LeaderLog;
  /** Epoch milliseconds. Default Date.now. */
  readonly now?: () => number;
  /** Default: the global setTimeout/clearTimeout. */
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

const defaultTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

const silentLog: LeaderLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

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
    timers = defaultTimers,
    random = Math.random,
  } = options;
  const log = options.log ?? silentLog;
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

  const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolveSleep) => {
      if (signal.aborted) return resolveSleep();
      const done = () => {
        timers.clearTimeout(handle);
        signal.removeEventListener('abort', done);
        resolveSleep();
      };
      const handle = timers.setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });

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
