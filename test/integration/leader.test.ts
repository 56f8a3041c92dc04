/**
 * Leader election (controller/leader.ts) against a real kube-apiserver: candidates are child Node
 * processes running the elector on one Lease, so a leader can be SIGKILLed like a crashed pod or
 * SIGTERMed like a clean shutdown. Short durations keep it fast: lease 3 s, renew deadline 2 s,
 * retry 0.5 s (candidates retry every 0.5–1.1 s with client-go's jitter).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClient } from '../../controller/kube-client.ts';
import { JITTER_FACTOR } from '../../controller/leader.ts';
import { createLeaseStore, LeaseStoreError, type LeaseRecord } from '../../controller/lease-store.ts';
import { eventually, useCluster } from '../harness/cluster.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LEADER_MODULE = pathToFileURL(fileURLToPath(new URL('../../controller/leader.ts', import.meta.url))).href;
const LEASE_STORE_MODULE = pathToFileURL(fileURLToPath(new URL('../../controller/lease-store.ts', import.meta.url))).href;
const KUBE_CLIENT_MODULE = pathToFileURL(fileURLToPath(new URL('../../controller/kube-client.ts', import.meta.url))).href;

const FAST = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
const MAX_CANDIDATE_RETRY_MS = FAST.retryPeriodMs * (1 + JITTER_FACTOR);
/** Child start-up, request latency and scheduling on a busy 2-core machine. */
const SLACK_MS = 1_500;

const cluster = useCluster();
let ns = '';

beforeAll(async () => {
  ns = await cluster.createNamespace('leader');
});

// ---- candidates in child processes ------------------------------------------------------------

/**
 * The child: runs the elector and prints one JSON line per event with its Date.now() (all children
 * share the machine's clock, so times compare across them). SIGTERM = clean shutdown (stop());
 * it also exits when our end of its stdin closes, so it never outlives this test worker.
 */
const CHILD_SCRIPT = `
import { KubeConfig } from '@kubernetes/client-node';
import { runLeaderElection } from ${JSON.stringify(LEADER_MODULE)};
import { createLeaseStore } from ${JSON.stringify(LEASE_STORE_MODULE)};
import { createKubeClient } from ${JSON.stringify(KUBE_CLIENT_MODULE)};
const config = JSON.parse(process.env.LEADER_TEST_CONFIG);
const emit = (event, extra = {}) => process.stdout.write(JSON.stringify({ event, at: Date.now(), ...extra }) + '\\n');
const kc = new KubeConfig();
kc.loadFromFile(config.kubeconfigPath);
const quiet = () => {};
const election = runLeaderElection({
  store: createLeaseStore(createKubeClient(kc), { namespace: config.namespace, name: config.lease }),
  identity: config.identity,
  leaseDurationMs: config.leaseDurationMs,
  renewDeadlineMs: config.renewDeadlineMs,
  retryPeriodMs: config.retryPeriodMs,
  onStartedLeading: (signal) => {
    emit('started');
    signal.addEventListener('abort', () => emit('aborted', { reason: signal.reason?.message }));
  },
  onStoppedLeading: () => emit('stopped'),
  onNewLeader: (leader) => emit('leader', { leader }),
  log: {
    debug: quiet,
    info: quiet,
    warn: (message, fields) => emit('warn', { message, error: fields?.error?.message }),
    error: (message, fields) => emit('error', { message, error: fields?.error?.message }),
  },
});
process.on('SIGTERM', () => {
  election.stop().then(() => {
    emit('exited');
    process.exit(0);
  });
});
process.stdin.on('end', () => process.exit(1));
process.stdin.resume();
emit('ready');
`;

interface ElectionEvent {
  readonly event: 'ready' | 'started' | 'aborted' | 'stopped' | 'leader' | 'warn' | 'error' | 'exited';
  readonly at: number;
  readonly leader?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly error?: string;
}

interface Candidate {
  readonly identity: string;
  readonly child: ChildProcess;
  readonly events: ElectionEvent[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stderr: () => string;
  /** The first event matching, waiting for it up to timeoutMs. */
  next(event: ElectionEvent['event'], timeoutMs?: number, where?: (e: ElectionEvent) => boolean): Promise<ElectionEvent>;
}

const running: Candidate[] = [];

afterEach(async () => {
  for (const candidate of running.splice(0)) {
    if (candidate.child.exitCode === null && candidate.child.signalCode === null) candidate.child.kill('SIGKILL');
    await candidate.exited;
  }
});

function startCandidate(identity: string, lease: string, options: { kubeconfigPath?: string; durations?: typeof FAST } = {}): Candidate {
  const config = { kubeconfigPath: options.kubeconfigPath ?? cluster.kubeconfigPath, namespace: ns, lease, identity, ...(options.durations ?? FAST) };
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT], {
    cwd: REPO_ROOT,
    env: { ...process.env, LEADER_TEST_CONFIG: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: ElectionEvent[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    const lines = stdout.split('\n');
    stdout = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as ElectionEvent);
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  const candidate: Candidate = {
    identity,
    child,
    events,
    exited,
    stderr: () => stderr,
    next: (event, timeoutMs = 20_000, where = () => true) =>
      eventually(
        () => {
          const found = events.find((e) => e.event === event && where(e));
          if (!found) throw new Error(`${identity}: no '${event}' event yet; events: ${JSON.stringify(events)}; stderr: ${stderr}`);
          return found;
        },
        { timeoutMs, intervalMs: 20 },
      ),
  };
  running.push(candidate);
  return candidate;
}

const startedCount = (candidate: Candidate) => candidate.events.filter((e) => e.event === 'started').length;

interface LeaseJson {
  metadata: { resourceVersion: string };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

async function leaseObject(name: string): Promise<LeaseJson> {
  const { code, stdout, stderr } = await cluster.kubectl(['get', 'lease', name, '-n', ns, '-o', 'json']);
  if (code !== 0) throw new Error(`kubectl get lease ${name}: ${stderr}`);
  return JSON.parse(stdout) as LeaseJson;
}

// ---- specs ------------------------------------------------------------------------------------

describe('leader election on a coordination.k8s.io/v1 Lease', () => {
  it('two candidates: exactly one leads, the Lease names it; SIGKILL the leader and the other takes over after the lease expires', async () => {
    const lease = 'crash-failover';
    const a = startCandidate('candidate-a', lease);
    const b = startCandidate('candidate-b', lease);
    await eventually(() => expect(startedCount(a) + startedCount(b)).toBe(1), { timeoutMs: 20_000, intervalMs: 20 });
    const [leader, follower] = startedCount(a) === 1 ? [a, b] : [b, a];

    // Over more than a lease duration, the follower never leads: the leader keeps renewing.
    await new Promise((resolveWait) => setTimeout(resolveWait, FAST.leaseDurationMs + 1_000));
    expect([startedCount(leader), startedCount(follower)]).toEqual([1, 0]);
    expect(leader.events.filter((e) => e.event === 'aborted')).toEqual([]);
    expect(follower.events.filter((e) => e.event === 'leader').map((e) => e.leader)).toEqual([leader.identity]);

    const held = await leaseObject(lease);
    expect(held.spec).toMatchObject({ holderIdentity: leader.identity, leaseDurationSeconds: 3, leaseTransitions: 0 });
    expect(held.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/); // MicroTime
    expect(Date.now() - Date.parse(held.spec.renewTime ?? '')).toBeLessThan(FAST.retryPeriodMs + SLACK_MS);
    expect(Date.parse(held.spec.acquireTime ?? '')).toBeLessThan(Date.parse(held.spec.renewTime ?? ''));

    // A crash: no release. The follower must wait until the record has not changed for the lease
    // duration as it observed it, and take over within that plus its (jittered) retries.
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    const taken = await follower.next('started', 20_000);
    const takeoverMs = taken.at - killedAt;
    expect(takeoverMs).toBeGreaterThanOrEqual(FAST.leaseDurationMs - MAX_CANDIDATE_RETRY_MS - FAST.retryPeriodMs);
    expect(takeoverMs).toBeLessThan(FAST.leaseDurationMs + 2 * MAX_CANDIDATE_RETRY_MS + SLACK_MS);

    const after = await leaseObject(lease);
    expect(after.spec).toMatchObject({ holderIdentity: follower.identity, leaseDurationSeconds: 3, leaseTransitions: 1 });
    expect(Date.parse(after.spec.acquireTime ?? '')).toBeGreaterThanOrEqual(killedAt);
  });

  it('a clean stop (SIGTERM) ends the term, releases the Lease, and the other takes over at once', async () => {
    // A long lease: taking over by expiry would need at least 20 s - 1.1 s.
    const durations = { leaseDurationMs: 20_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
    const lease = 'clean-handover';
    const a = startCandidate('candidate-a', lease, { durations });
    await a.next('started');
    const b = startCandidate('candidate-b', lease, { durations });
    await b.next('leader', 20_000, (e) => e.leader === 'candidate-a');
    expect(startedCount(b)).toBe(0);

    const stoppedAt = Date.now();
    a.child.kill('SIGTERM');
    const aExit = await a.exited;
    expect(aExit, `candidate-a stderr: ${a.stderr()}; events: ${JSON.stringify(a.events.slice(-6))}`).toEqual({ code: 0, signal: null });
    // Term ended, Lease released (observed holder ''), then onStoppedLeading, then exit.
    // (warnings, e.g. a slow renewal on a loaded machine, may come in between: they are not steps)
    const steps = a.events.filter((e) => e.event !== 'warn');
    expect(steps.slice(-4).map((e) => (e.event === 'leader' ? `leader '${e.leader}'` : e.event))).toEqual(['aborted', "leader ''", 'stopped', 'exited']);
    expect(a.events.find((e) => e.event === 'aborted')?.reason).toMatch(/leader election stopped/);

    const taken = await b.next('started', 10_000);
    expect(taken.at - stoppedAt).toBeLessThan(MAX_CANDIDATE_RETRY_MS + SLACK_MS);
    expect(taken.at).toBeGreaterThanOrEqual(a.events.find((e) => e.event === 'aborted')?.at ?? Infinity);
    expect((await leaseObject(lease)).spec).toMatchObject({ holderIdentity: 'candidate-b', leaseDurationSeconds: 20, leaseTransitions: 1 });

    // And b's clean stop leaves the Lease released for whoever comes next.
    b.child.kill('SIGTERM');
    const bExit = await b.exited;
    expect(bExit, `candidate-b stderr: ${b.stderr()}; events: ${JSON.stringify(b.events.slice(-6))}`).toEqual({ code: 0, signal: null });
    expect((await leaseObject(lease)).spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 1 });
  });

  it('a leader whose renewals are refused stops acting within renewDeadline, before anyone else leads', async (context) => {
    if (!cluster.dir) context.skip(); // userKubeconfig needs the harness's CA (not under KUBECONFIG_TEST)
    const lease = 'refused-renewal';
    const user = `leader-${ns}`;
    const rbac = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: lease-holder, namespace: ${ns} }
rules:
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, create, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: lease-holder, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: lease-holder }
subjects:
  - { apiGroup: rbac.authorization.k8s.io, kind: User, name: ${user} }
`;
    const applied = await cluster.kubectl(['apply', '-f', '-'], { input: rbac });
    expect(applied.stderr).toBe('');

    const a = startCandidate('candidate-a', lease, { kubeconfigPath: cluster.userKubeconfig(user) });
    await a.next('started');
    const b = startCandidate('candidate-b', lease);
    await b.next('leader', 20_000, (e) => e.leader === 'candidate-a');

    const revokedAt = Date.now();
    expect((await cluster.kubectl(['delete', 'rolebinding', 'lease-holder', '-n', ns])).code).toBe(0);

    const aborted = await a.next('aborted', 10_000);
    expect(aborted.reason).toMatch(/no successful renewal within the renew deadline \(2000 ms\)/);
    expect(aborted.at - revokedAt).toBeLessThan(FAST.renewDeadlineMs + SLACK_MS);
    expect(a.events.find((e) => e.event === 'warn')?.error).toMatch(/HTTP 403/);

    const taken = await b.next('started', 20_000);
    expect(taken.at).toBeGreaterThan(aborted.at);
    expect(startedCount(a)).toBe(1); // still refused: it cannot come back
    expect((await leaseObject(lease)).spec).toMatchObject({ holderIdentity: 'candidate-b', leaseTransitions: 1 });
  });
});

describe('createLeaseStore', () => {
  const record = (overrides: Partial<LeaseRecord> = {}): LeaseRecord => ({
    holderIdentity: 'me',
    leaseDurationSeconds: 15,
    acquireTime: new Date('2026-01-02T03:04:05.678Z'),
    renewTime: new Date('2026-01-02T03:04:06.789Z'),
    leaseTransitions: 2,
    resourceVersion: '',
    ...overrides,
  });

  it('reads, creates and updates with optimistic concurrency; conflicts are outcomes, not errors', async () => {
    const store = createLeaseStore(createKubeClient(cluster.kc), { namespace: ns, name: 'store-spec' });
    expect(store.description).toBe(`${ns}/store-spec`);
    expect(await store.get()).toBeUndefined();

    const created = await store.create(record());
    expect(created.outcome).toBe('written');
    if (created.outcome !== 'written') return;
    expect(created.record).toEqual({ ...record(), resourceVersion: expect.stringMatching(/^\d+$/) });
    expect(await store.get()).toEqual(created.record);
    expect(await store.create(record({ holderIdentity: 'racer' }))).toEqual({ outcome: 'conflict' });

    // As stored: MicroTime with six fractional digits.
    const stored = await leaseObject('store-spec');
    expect(stored.spec).toEqual({
      holderIdentity: 'me',
      leaseDurationSeconds: 15,
      acquireTime: '2026-01-02T03:04:05.678000Z',
      renewTime: '2026-01-02T03:04:06.789000Z',
      leaseTransitions: 2,
    });

    const renewed = await store.update({ ...created.record, renewTime: new Date('2026-01-02T03:04:08.000Z') });
    expect(renewed).toMatchObject({ outcome: 'written', record: { holderIdentity: 'me', renewTime: new Date('2026-01-02T03:04:08.000Z') } });
    // Written from a stale read: refused.
    expect(await store.update({ ...created.record, holderIdentity: 'stale' })).toEqual({ outcome: 'conflict' });
    expect((await store.get())?.holderIdentity).toBe('me');

    // Released (empty holder); then deleted and created again by someone else: an update based on
    // what we read before is a conflict. (Leases allow create-on-update: a PUT on a Lease nobody
    // re-created simply creates it, which is safe for the same reason.)
    const current = (await store.get()) as LeaseRecord;
    const released = await store.update({ ...current, holderIdentity: '', leaseDurationSeconds: 1 });
    expect(released).toMatchObject({ outcome: 'written', record: { holderIdentity: '', leaseDurationSeconds: 1 } });
    expect((await cluster.kubectl(['delete', 'lease', 'store-spec', '-n', ns])).code).toBe(0);
    expect(await store.create(record({ holderIdentity: 'racer' }))).toMatchObject({ outcome: 'written' });
    expect(await store.update({ ...current, resourceVersion: released.outcome === 'written' ? released.record.resourceVersion : '' })).toEqual({ outcome: 'conflict' });
    expect((await store.get())?.holderIdentity).toBe('racer');
  });

  it('reads times written by others with microseconds, and Leases without times', async () => {
    const manifest = `
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: { name: from-kubectl, namespace: ${ns} }
spec:
  holderIdentity: go-client
  leaseDurationSeconds: 15
  renewTime: "2026-01-02T03:04:05.123456Z"
`;
    expect((await cluster.kubectl(['apply', '-f', '-'], { input: manifest })).code).toBe(0);
    const store = createLeaseStore(createKubeClient(cluster.kc), { namespace: ns, name: 'from-kubectl' });
    expect(await store.get()).toEqual({
      holderIdentity: 'go-client',
      leaseDurationSeconds: 15,
      acquireTime: undefined,
      renewTime: new Date('2026-01-02T03:04:05.123Z'),
      leaseTransitions: 0,
      resourceVersion: expect.stringMatching(/^\d+$/),
    });
  });

  it('throws LeaseStoreError with the HTTP status for anything else, and honours the abort signal', async (context) => {
    const store = createLeaseStore(createKubeClient(cluster.kc), { namespace: ns, name: 'aborted' });
    await expect(store.get(AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });

    if (!cluster.dir) context.skip();
    const nobody = createLeaseStore(createKubeClient(cluster.kubeConfig(cluster.userKubeconfig(`nobody-${ns}`))), { namespace: ns, name: 'forbidden' });
    const refused = nobody.get();
    await expect(refused).rejects.toBeInstanceOf(LeaseStoreError);
    await expect(refused).rejects.toMatchObject({ code: 403, message: expect.stringMatching(/^get lease .*\/forbidden: HTTP 403: leases.coordination.k8s.io "forbidden" is forbidden/) });
  });
});
