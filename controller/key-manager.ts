/**
 * The sealing keys of a running controller. Every replica watches the key Secrets (label
 * sealedsecrets.bitnami.com/sealed-secrets-key=active, plus the legacy key named like the prefix),
 * so keys that are added, relabelled or deleted while it runs are picked up without a restart.
 * Only the leader generates keys (runKeyRenewal): a new one when there is none or the newest is
 * older than --key-cutoff-time, then every --key-renew-period after the newest, and on SIGUSR1. A
 * key is used only after its Secret is stored.
 */
import { randomBytes } from 'node:crypto';
import { errorMessage } from '../shared/errors.ts';
import type { Secret } from '../shared/kube.ts';
import { createSealingCertificate, generateSealingKeyPair } from '../shared/certificate.ts';
import { untilAborted } from './abort.ts';
import { startInformer } from './informer.ts';
import { isConflict, isNotFound, type KubeClient } from './kube-client.ts';
import { ACTIVE_KEY_SELECTOR, keyFromSecret, keySecret, needsNewKey, nextRenewal, sortNewestFirst, waitBeforeNewKey, type KeyOrder as KeyOrderPriority, type SealingKey } from './keys.ts';
import type { Logger } from './log.ts';

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

export interface KeyManager {
  /** Every loaded key, newest first. */
  keys(): readonly SealingKey[];
  /** Resolves once the key Secrets have been listed. */
  readonly synced: Promise<void>;
  /** Call `listener` whenever the set of keys changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Generate, store, then load a new key. */
  generate(reason: string): Promise<SealingKey>;
}

export function startKeyManager(options: KeyManagerOptions): KeyManager {
  const { client, namespace, log, signal } = options;
  const fromLabel = new Map<string, SealingKey>();
  const fromLegacy = new Map<string, SealingKey>();
  const listeners = new Set<() => void>();
  let sorted: SealingKey[] = [];

  const refresh = (): void => {
    const next = sortNewestFirst(new Map([...fromLegacy, ...fromLabel]).values());
    const names = (keys: SealingKey[]) => keys.map((k) => `${k.name}:${k.fingerprint}`).join(',');
    if (names(next) === names(sorted)) return;
    sorted = next;
    log.info('sealing keys loaded', { keys: sorted.length, newest: sorted[0]?.name, fingerprint: sorted[0]?.fingerprint });
    for (const listener of listeners) listener();
  };

  const track = (target: Map<string, SealingKey>) => ({
    onAdd: (secret: Secret) => load(target, secret),
    onUpdate: (secret: Secret) => load(target, secret),
    onDelete: (secret: Secret) => {
      if (target.delete(secret.metadata?.name ?? '')) log.info('sealing key removed', { secret: secret.metadata?.name });
      refresh();
    },
  });
  function load(target: Map<string, SealingKey>, secret: Secret): void {
    const name = secret.metadata?.name ?? '';
    try {
      target.set(name, keyFromSecret(secret, options.order));
    } catch (error) {
      // A broken key Secret must not stop the controller (upstream crashes here): skip it, loudly.
      target.delete(name);
      log.error('ignoring unreadable sealing key Secret', { secret: name, error: errorMessage(error) });
    }
    refresh();
  }

  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const labelled = startInformer<Secret>({
    client, path, labelSelector: ACTIVE_KEY_SELECTOR, cache: true, log, signal, ...track(fromLabel),
  });
  const legacy = startInformer<Secret>({
    client, path, fieldSelector: `metadata.name=${options.prefix}`, cache: true, log, signal, ...track(fromLegacy),
  });

  return {
    keys: () => sorted,
    synced: Promise.all([labelled.synced, legacy.synced]).then(() => undefined),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async generate(reason) {
      const started = Date.now();
      const keyPair = await generateSealingKeyPair(options.keySize);
      // A loop: timers run on the event loop's cached clock and may fire before the wall clock
      // has reached the next second.
      for (let wait = waitBeforeNewKey(sorted[0], options.now()); wait > 0; wait = waitBeforeNewKey(sorted[0], options.now())) {
        await new Promise((resolveWait) => setTimeout(resolveWait, wait));
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
      log.info('new sealing key generated', { reason, secret: key.name, fingerprint: key.fingerprint, ms: Date.now() - started });
      refresh();
      return key;
    },
  };
}

/**
 * The leader's renewal loop: make the first key if needed, then a new one each time the newest
 * is --key-renew-period old. Runs until `signal` aborts (leadership lost or shutdown).
 */
export async function runKeyRenewal(options: {
  manager: KeyManager;
  periodMs: number;
  cutoff?: Date;
  log: Logger;
  signal: AbortSignal;
  now: () => Date;
}): Promise<void> {
  const { manager, log, signal } = options;
  await untilAborted(manager.synced, signal);
  let failures = 0;
  while (!signal.aborted) {
    const keys = manager.keys();
    const next = needsNewKey(keys, options.cutoff) ? options.now() : nextRenewal(keys, options.periodMs);
    const wait = next === undefined ? Infinity : next.getTime() - options.now().getTime();
    if (wait <= 0) {
      try {
        await manager.generate(keys.length === 0 ? 'no sealing key yet' : options.cutoff && needsNewKey(keys, options.cutoff) ? 'newest key older than --key-cutoff-time' : 'renewal period elapsed');
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        failures++;
        log.error('could not generate a sealing key; retrying', { error: errorMessage(error), attempt: failures });
        await sleepUntil(Math.min(300_000, 5000 * 2 ** (failures - 1)), manager, signal);
      }
      continue;
    }
    // Wake up when due, or earlier when keys change (a key restored or made by another replica).
    await sleepUntil(Math.min(wait, 2_147_483_647), manager, signal);
  }
}

function sleepUntil(ms: number, manager: KeyManager, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const unsubscribe = manager.onChange(done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Publish the newest certificate in a ConfigMap any authenticated user may read, so kubeseal can
 * get it when the API server's service proxy to the controller is blocked.
 */
export async function publishCertificate(client: KubeClient, options: { namespace: string; name: string; certificate: string; signal: AbortSignal }): Promise<void> {
  const path = `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/configmaps`;
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: options.name, namespace: options.namespace, labels: { 'app.kubernetes.io/name': 'sealed-secrets' } },
    data: { 'cert.pem': options.certificate },
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    let existing: { metadata?: { resourceVersion?: string }; data?: Record<string, string> } | undefined;
    try {
      existing = await client.request('GET', `${path}/${encodeURIComponent(options.name)}`, { signal: options.signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (existing?.data?.['cert.pem'] === options.certificate) return;
    try {
      if (existing === undefined) await client.request('POST', path, { body, signal: options.signal });
      else await client.request('PUT', `${path}/${encodeURIComponent(options.name)}`, { body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } }, signal: options.signal });
      return;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
}
