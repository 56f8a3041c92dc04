/**
 * The sealing keys of a running controller. Every replica watches the key Secrets (label
 * sealedsecrets.bitnami.com/sealed-secrets-key=active, plus the legacy key named like the prefix),
 * so keys that are added, relabelled or deleted while it runs are picked up without a restart.
 * Keys relabelled away from `active` (any other value of that label: retired, as upstream) are
 * watched too, but only to report them: they neither seal nor unseal.
 * Only the leader generates keys (runRenewal): a new one when there is none or the newest is
 * older than --key-cutoff-time, then every --key-renew-period after the newest, and on request
 * (SIGUSR1) while renewal runs. A key is used only after its Secret is stored.
 */
import { randomBytes } from 'node:crypto';
import { apiPath, CONFIG_MAPS, SECRETS } from '../shared/api-path.ts';
import { createSealingCertificate, generateSealingKeyPair } from '../shared/certificate.ts';
import { CERT_CONFIGMAP_KEY } from '../shared/controller-api.ts';
import { errorMessage } from '../shared/errors.ts';
import { ACTIVE_KEY_SELECTOR, KEY_LABEL, keyFromSecret, keySecret, type KeyOrderPriority, type SealingKey } from '../shared/key-secret.ts';
import type { Secret } from '../shared/kube.ts';
import { untilAborted } from './abort.ts';
import { startInformer } from './informer.ts';
import { isConflict, isNotFound, type KubeClient } from './kube-client.ts';
import { needsNewKey, nextRenewal, sortNewestFirst, waitBeforeNewKey } from './keys.ts';
import type { Logger } from './log.ts';
import { sleep } from './time.ts';

export interface KeyManagerOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly prefix: string;
  readonly order: KeyOrderPriority;
  readonly keySize: number;
  readonly keyTtlMs: number;
  readonly commonName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly now: () => Date;
}

/** Key Secrets labelled as sealing keys but not `active`: retired. */
export const RETIRED_KEY_SELECTOR = `${KEY_LABEL},${KEY_LABEL}!=active`;

export interface KeyManager {
  /** Every loaded key, newest first. */
  keys(): readonly SealingKey[];
  /** Retired keys (relabelled away from active), newest first: reported, never used. */
  retired(): readonly SealingKey[];
  /** The stored Secret of a key, active or retired, by its name (what escrow backs up). */
  secret(name: string): Secret | undefined;
  /** Resolves once the key Secrets have been listed. */
  readonly synced: Promise<void>;
  /** Call `listener` whenever the set of keys changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Generate, store, then load a new key. */
  generate(reason: string): Promise<SealingKey>;
  /**
   * The leader's renewal loop: make the first key if needed, then a new one each time the newest
   * is `periodMs` old (0: never). Runs until `signal` aborts (leadership lost or shutdown).
   */
  runRenewal(options: { periodMs: number; cutoff?: Date | undefined; signal: AbortSignal }): Promise<void>;
  /** A new key now (SIGUSR1) if this replica renews keys (runRenewal is running), else a warning. */
  requestRenewal(reason: string): void;
}

export function startKeyManager(options: KeyManagerOptions): KeyManager {
  const { client, namespace, log, signal } = options;
  const fromLabel = new Map<string, SealingKey>();
  const fromLegacy = new Map<string, SealingKey>();
  const fromRetired = new Map<string, SealingKey>();
  const secrets = new Map<string, Secret>();
  const listeners = new Set<() => void>();
  let sorted: SealingKey[] = [];
  let retiredSorted: SealingKey[] = [];
  /** The signal of the renewal loop while one runs: requests to renew go through only then. */
  let renewing: AbortSignal | undefined;

  const refresh = (): void => {
    const next = sortNewestFirst(new Map([...fromLegacy, ...fromLabel]).values());
    const nextRetired = sortNewestFirst(fromRetired.values());
    const names = (keys: SealingKey[]) => keys.map((k) => `${k.name}:${k.fingerprint}`).join(',');
    if (names(next) === names(sorted) && names(nextRetired) === names(retiredSorted)) return;
    if (names(next) !== names(sorted)) log.info('sealing keys loaded', { keys: next.length, newest: next[0]?.name, fingerprint: next[0]?.fingerprint });
    if (names(nextRetired) !== names(retiredSorted)) log.info('retired sealing keys', { keys: nextRetired.length, names: nextRetired.map((k) => k.name).join(',') });
    sorted = next;
    retiredSorted = nextRetired;
    for (const listener of listeners) listener();
  };

  const track = (target: Map<string, SealingKey>) => ({
    onAdd: (secret: Secret) => load(target, secret),
    onUpdate: (secret: Secret) => load(target, secret),
    onDelete: (secret: Secret) => {
      const name = secret.metadata?.name ?? '';
      if (target.delete(name)) log.info('sealing key removed', { secret: name });
      if (!fromLabel.has(name) && !fromLegacy.has(name) && !fromRetired.has(name)) secrets.delete(name);
      refresh();
    },
  });
  function load(target: Map<string, SealingKey>, secret: Secret): void {
    const name = secret.metadata?.name ?? '';
    // The legacy key is found by name; relabelled away from active it is retired like the others.
    const label = secret.metadata?.labels?.[KEY_LABEL];
    if (target === fromLegacy && label !== undefined && label !== 'active') {
      target.delete(name);
      refresh();
      return;
    }
    try {
      target.set(name, keyFromSecret(secret, options.order));
      secrets.set(name, secret);
    } catch (error) {
      // A broken key Secret must not stop the controller (upstream crashes here): skip it, loudly.
      target.delete(name);
      log.error('ignoring unreadable sealing key Secret', { secret: name, error: errorMessage(error) });
    }
    refresh();
  }

  const path = apiPath(SECRETS, { namespace });
  const labelled = startInformer<Secret>({
    client, path, labelSelector: ACTIVE_KEY_SELECTOR, cache: true, log, signal, ...track(fromLabel),
  });
  const legacy = startInformer<Secret>({
    client, path, fieldSelector: `metadata.name=${options.prefix}`, cache: true, log, signal, ...track(fromLegacy),
  });

  const onChange = (listener: () => void): (() => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  const retiredKeys = startInformer<Secret>({
    client, path, labelSelector: RETIRED_KEY_SELECTOR, cache: true, log, signal, ...track(fromRetired),
  });
  const synced = Promise.all([labelled.synced, legacy.synced, retiredKeys.synced]).then(() => undefined);

  const manager: KeyManager = {
    keys: () => sorted,
    retired: () => retiredSorted,
    secret: (name) => secrets.get(name),
    synced,
    onChange,
    async generate(reason) {
      const started = Date.now();
      const keyPair = await generateSealingKeyPair(options.keySize);
      // A loop: timers run on the event loop's cached clock and may fire before the wall clock
      // has reached the next second.
      for (let wait = waitBeforeNewKey(sorted[0], options.now()); wait > 0; wait = waitBeforeNewKey(sorted[0], options.now())) {
        await sleep(wait, signal);
        signal.throwIfAborted();
      }
      const certificate = await createSealingCertificate({
        keyPair,
        commonName: options.commonName,
        notBefore: options.now(),
        validForMs: options.keyTtlMs,
        random: randomBytes,
      });
      const body = keySecret({ prefix: options.prefix, namespace, privateKey: keyPair.privateKey, certificate, labels: options.labels, annotations: options.annotations });
      const stored = await client.request<Secret>('POST', path, { body, signal });
      const key = keyFromSecret(stored, options.order);
      fromLabel.set(key.name, key);
      secrets.set(key.name, stored);
      log.info('new sealing key generated', { reason, secret: key.name, fingerprint: key.fingerprint, ms: Date.now() - started });
      refresh();
      return key;
    },
    async runRenewal(renewal) {
      renewing = renewal.signal;
      try {
        await renewalLoop(renewal);
      } finally {
        if (renewing === renewal.signal) renewing = undefined;
      }
    },
    requestRenewal(reason) {
      if (renewing === undefined || renewing.aborted) {
        log.warn('not the leader: send SIGUSR1 to the leading replica to renew the key', { reason });
        return;
      }
      manager.generate(reason).catch((error: unknown) => log.error('could not generate a sealing key', { error: errorMessage(error) }));
    },
  };

  async function renewalLoop(renewal: { periodMs: number; cutoff?: Date | undefined; signal: AbortSignal }): Promise<void> {
    const renewLog = log.with({ component: 'renewal' });
    // Keys that never load (a refused token) must not hold up losing the lead or shutdown.
    await untilAborted(synced, renewal.signal);
    let failures = 0;
    while (!renewal.signal.aborted) {
      const keys = sorted;
      const next = needsNewKey(keys, renewal.cutoff) ? options.now() : nextRenewal(keys, renewal.periodMs);
      const wait = next === undefined ? Infinity : next.getTime() - options.now().getTime();
      if (wait <= 0) {
        try {
          await manager.generate(keys.length === 0 ? 'no sealing key yet' : renewal.cutoff && needsNewKey(keys, renewal.cutoff) ? 'newest key older than --key-cutoff-time' : 'renewal period elapsed');
          failures = 0;
        } catch (error) {
          if (renewal.signal.aborted) return;
          failures++;
          renewLog.error('could not generate a sealing key; retrying', { error: errorMessage(error), attempt: failures });
          await sleepUnlessKeysChange(Math.min(300_000, 5000 * 2 ** (failures - 1)), renewal.signal);
        }
        continue;
      }
      // Wake up when due, or earlier when keys change (a key restored or made by another replica).
      await sleepUnlessKeysChange(Math.min(wait, 2_147_483_647), renewal.signal);
    }
  }

  async function sleepUnlessKeysChange(ms: number, until: AbortSignal): Promise<void> {
    const changed = new AbortController();
    const unsubscribe = onChange(() => changed.abort());
    try {
      await sleep(ms, AbortSignal.any([until, changed.signal]));
    } finally {
      unsubscribe();
    }
  }

  return manager;
}

/**
 * Publish the newest certificate in a ConfigMap any authenticated user may read, so kubeseal can
 * get it when the API server's service proxy to the controller is blocked.
 */
export async function publishCertificate(client: KubeClient, options: { namespace: string; name: string; certificate: string; signal: AbortSignal }): Promise<void> {
  const collection = apiPath(CONFIG_MAPS, { namespace: options.namespace });
  const path = apiPath(CONFIG_MAPS, { namespace: options.namespace, name: options.name });
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: options.name, namespace: options.namespace, labels: { 'app.kubernetes.io/name': 'sealed-secrets' } },
    data: { [CERT_CONFIGMAP_KEY]: options.certificate },
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    let existing: { metadata?: { resourceVersion?: string }; data?: Record<string, string> } | undefined;
    try {
      existing = await client.request('GET', path, { signal: options.signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (existing?.data?.[CERT_CONFIGMAP_KEY] === options.certificate) return;
    try {
      if (existing === undefined) await client.request('POST', collection, { body, signal: options.signal });
      else await client.request('PUT', path, { body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } }, signal: options.signal });
      return;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
}
