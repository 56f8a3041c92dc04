/**
 * Secret <-> SealedSecret: the product. Sealing follows upstream kubeseal's `Seal` and
 * `NewSealedSecret`; unsealing follows `SealedSecret.Unseal`. Each value is sealed on its own
 * (crypto.ts) with the label of the Secret's scope (scope.ts), so single values can be added or
 * replaced later without the rest (--merge-into, --raw).
 */
import type { KeyObject } from 'node:crypto';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { hybridDecrypt, hybridEncrypt, type Decrypted, type Random } from './crypto.ts';
import { DecryptError, UserError, type DecryptFailure } from './errors.ts';
import {
  orderedMeta,
  readSecret,
  SEALED_SECRET_API_VERSION,
  SEALED_SECRET_KIND,
  sortedMap,
  type ObjectMeta,
  type SealedSecret,
  type Secret,
  type StringMap,
} from './kube.ts';
import { encryptionLabel, scopeOf, type Scope } from './scope.ts';
import { planSeal, rawLabel, type PlanOptions } from './seal-plan.ts';
import { shownName } from './untrusted.ts';

export const MANAGED_ANNOTATION = 'sealedsecrets.bitnami.com/managed';
export const PATCH_ANNOTATION = 'sealedsecrets.bitnami.com/patch';
export const SKIP_SET_OWNER_REFERENCES_ANNOTATION = 'sealedsecrets.bitnami.com/skip-set-owner-references';

export { secretKeyProblem } from './seal-plan.ts';

export interface SealOptions extends PlanOptions {
  readonly publicKey: KeyObject;
  readonly random: Random;
}

/**
 * Seal one Secret: planSeal (seal-plan.ts: upstream's rules, the label, the SealedSecret's shape),
 * then every value with node:crypto.
 */
export function sealSecret(input: Secret, options: SealOptions): SealedSecret {
  const plan = planSeal(input, options);
  const encryptedData: StringMap = {};
  for (const [key, bytes] of plan.values) {
    encryptedData[key] = encodeBase64(hybridEncrypt(options.publicKey, bytes, plan.label, options.random));
  }
  return plan.finish(encryptedData);
}

/** Seal a single value (--raw): base64 of the sealed bytes, no newline. */
export function sealRawValue(
  value: Uint8Array,
  options: { publicKey: KeyObject; random: Random; scope: Scope; namespace: string; name: string },
): string {
  const label = rawLabel(options.scope, options.namespace, options.name);
  return encodeBase64(hybridEncrypt(options.publicKey, value, label, options.random));
}

export interface UnsealOptions {
  /** Keys to try, in order: put the likeliest first, every miss costs an RSA private operation. */
  readonly keys: readonly KeyObject[];
  /** Accept the pre-0.9 single-blob `spec.data` (the controller does by default, kubeseal does not). */
  readonly acceptDeprecatedV1Data?: boolean;
  /**
   * Renders spec.template.data over the decrypted values (shared/template's renderTemplateData
   * with a clock and a random source) and returns the Secret's data; throws a TemplateError.
   * Injected rather than imported so that sealing never loads the template engine. Without it, a
   * SealedSecret with template.data is refused (UnsupportedError).
   */
  readonly renderTemplates?: (input: { templateData: Readonly<Record<string, string | null>>; decrypted: Readonly<Record<string, Uint8Array>> }) => Record<string, Uint8Array>;
}

export interface Unsealed {
  readonly secret: Secret;
  /** Indexes into `keys` of the keys that opened the values, without repeats. */
  readonly keysUsed: readonly number[];
}

/** Thrown when a SealedSecret uses a feature this implementation does not have yet. */
export class UnsupportedError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedError';
  }
}

/**
 * spec.template.data failed to render (parse, execution or a limit). Not retried: the same
 * SealedSecret renders the same way. The message has Go's shape and never quotes a value.
 */
export class TemplateError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** "no key could decrypt secret (a, b)", grouping items by error as upstream's multierror does. */
function combine(failures: readonly { key: string; error: DecryptError }[]): DecryptError {
  const byMessage = new Map<string, string[]>();
  // Keys as upstream prints them when they are fit to be shown; an untrusted one is described.
  const named = (key: string): string => shownName(key) ?? (key === '' ? 'an empty key' : `a key of ${key.length} characters`);
  for (const { key, error } of failures) byMessage.set(error.message, [...(byMessage.get(error.message) ?? []), named(key)]);
  const message = [...byMessage].map(([text, keys]) => `${text} (${keys.join(', ')})`).join('; ');
  const rank: DecryptFailure[] = ['tampered', 'malformed', 'no-key'];
  const failure = rank.find((f) => failures.some((x) => x.error.failure === f)) ?? 'no-key';
  return new DecryptError(failure, message);
}

/** The label a SealedSecret was sealed with: from its own top-level metadata, never the template's. */
export function labelOf(sealed: SealedSecret): Buffer {
  const meta = sealed.metadata;
  return encryptionLabel(scopeOf(meta.annotations), meta.namespace ?? '', meta.name ?? '');
}

/**
 * What unsealing asks of its driver, one step at a time: open one sealed value (trying the keys
 * in `order`, indexes into the caller's keys), or render spec.template.data. The steps are the
 * same whether the RSA work runs synchronously (node:crypto, kubeseal --recovery-unseal) or
 * asynchronously off the event loop (WebCrypto, the controller): one implementation, two drivers.
 */
export type UnsealStep =
  | { readonly type: 'open'; readonly ciphertext: Uint8Array; readonly label: Buffer; readonly order: readonly number[] }
  | { readonly type: 'render'; readonly templateData: Readonly<Record<string, string | null>>; readonly decrypted: Readonly<Record<string, Uint8Array>> };

/** The answer to a step: a Decrypted for 'open' (or a thrown DecryptError), the data for 'render'. */
type StepAnswer = Decrypted | Record<string, Uint8Array>;

interface StepOptions {
  readonly keyCount: number;
  readonly acceptDeprecatedV1Data?: boolean | undefined;
  readonly canRender: boolean;
}

/**
 * Open every value of a SealedSecret and build the Secret it stands for: the template's metadata,
 * type and immutability, the SealedSecret's own name and namespace, and an owner reference to the
 * SealedSecret unless the template opts out. Fails as a whole if any value fails, naming each.
 */
export function unsealSealedSecret(sealed: SealedSecret, options: UnsealOptions): Unsealed {
  const steps = unsealSteps(sealed, { keyCount: options.keys.length, acceptDeprecatedV1Data: options.acceptDeprecatedV1Data, canRender: options.renderTemplates !== undefined });
  let next = steps.next();
  while (!next.done) {
    const step = next.value;
    let answer: StepAnswer;
    try {
      answer = step.type === 'open'
        ? hybridDecrypt(step.order.map((i) => options.keys[i] as KeyObject), step.ciphertext, step.label)
        : (options.renderTemplates as NonNullable<UnsealOptions['renderTemplates']>)(step);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(answer);
  }
  return next.value;
}

export interface AsyncUnsealOptions {
  /** How many keys there are; `open` gets indexes below it. */
  readonly keyCount: number;
  /** Open one value with the first key of `order` that fits (crypto.ts hybridDecryptAsync); `keyIndex` indexes `order`. */
  readonly open: (ciphertext: Uint8Array, label: Buffer, order: readonly number[]) => Promise<Decrypted>;
  readonly acceptDeprecatedV1Data?: boolean;
  readonly renderTemplates?: (input: { templateData: Readonly<Record<string, string | null>>; decrypted: Readonly<Record<string, Uint8Array>> }) => Promise<Record<string, Uint8Array>>;
}

/** unsealSealedSecret with the RSA work (and the template rendering) done by asynchronous callbacks. */
export async function unsealSealedSecretAsync(sealed: SealedSecret, options: AsyncUnsealOptions): Promise<Unsealed> {
  const steps = unsealSteps(sealed, { keyCount: options.keyCount, acceptDeprecatedV1Data: options.acceptDeprecatedV1Data, canRender: options.renderTemplates !== undefined });
  let next = steps.next();
  while (!next.done) {
    const step = next.value;
    let answer: StepAnswer;
    try {
      answer = step.type === 'open'
        ? await options.open(step.ciphertext, step.label, step.order)
        : await (options.renderTemplates as NonNullable<AsyncUnsealOptions['renderTemplates']>)(step);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(answer);
  }
  return next.value;
}

function* unsealSteps(sealed: SealedSecret, options: StepOptions): Generator<UnsealStep, Unsealed, StepAnswer> {
  const template = sealed.spec.template ?? {};
  const templateData = template.data && Object.keys(template.data).length > 0 ? template.data : undefined;
  if (templateData && !options.canRender) {
    throw new UnsupportedError('spec.template.data cannot be rendered here; unseal it with the controller');
  }
  const label = labelOf(sealed);
  const used = new Set<number>();
  let secret: Secret;
  if (sealed.spec.data !== undefined && sealed.spec.data !== null) {
    secret = yield* unsealDeprecatedV1(sealed, label, options, used);
  } else {
    const data: StringMap = {};
    const decrypted: Record<string, Uint8Array> = {};
    const failures: { key: string; error: DecryptError }[] = [];
    // All values of a SealedSecret are almost always sealed with the same key: once one opens,
    // try that key first for the rest, so a SealedSecret costs K + m - 1 RSA operations at worst.
    let order = Array.from({ length: options.keyCount }, (_, index) => index);
    for (const [key, text] of Object.entries(sealed.spec.encryptedData)) {
      const bytes = decodeBase64(text);
      try {
        if (bytes === undefined) throw new DecryptError('malformed', 'illegal base64 data');
        const opened = (yield { type: 'open', ciphertext: bytes, label, order }) as Decrypted;
        const keyIndex = order[opened.keyIndex] as number;
        order = [keyIndex, ...order.filter((i) => i !== keyIndex)];
        used.add(keyIndex);
        data[key] = encodeBase64(opened.plaintext);
        decrypted[key] = opened.plaintext;
      } catch (error) {
        if (!(error instanceof DecryptError)) throw error;
        failures.push({ key, error });
      }
    }
    if (failures.length > 0) throw combine(failures);
    if (templateData) {
      // Upstream's order: every value decrypted first, then the templates over all of them.
      const rendered = (yield { type: 'render', templateData, decrypted }) as Record<string, Uint8Array>;
      for (const key of Object.keys(data)) delete data[key];
      for (const [key, bytes] of Object.entries(rendered)) data[key] = encodeBase64(bytes);
    }
    secret = { metadata: structuredClone(template.metadata ?? {}), data };
    if (template.type) secret.type = template.type;
    if (template.immutable !== undefined && template.immutable !== null) secret.immutable = template.immutable;
  }
  return { secret: finishSecret(secret, sealed), keysUsed: [...used] };
}

function* unsealDeprecatedV1(sealed: SealedSecret, label: Buffer, options: StepOptions, used: Set<number>): Generator<UnsealStep, Secret, StepAnswer> {
  if (!options.acceptDeprecatedV1Data) {
    throw new UnsupportedError("using deprecated 'data' field, use 'encryptedData' or flip the feature flag");
  }
  if (Object.keys(sealed.spec.encryptedData).length > 0) {
    throw new UserError("cannot use the field 'encryptedData' and the deprecated field 'data' at the same time");
  }
  const bytes = decodeBase64(sealed.spec.data ?? '');
  if (bytes === undefined) throw new DecryptError('malformed', 'spec.data is not valid base64');
  const { plaintext, keyIndex } = (yield { type: 'open', ciphertext: bytes, label, order: Array.from({ length: options.keyCount }, (_, i) => i) }) as Decrypted;
  used.add(keyIndex);
  let doc: unknown;
  try {
    doc = JSON.parse(plaintext.toString('utf8'));
  } catch {
    throw new DecryptError('malformed', 'spec.data does not hold a JSON Secret');
  }
  let inner: Secret;
  try {
    inner = readSecret(doc, 'spec.data');
  } catch (error) {
    // The message comes from shared/untrusted.ts and names only kinds and fields: it goes to the
    // SealedSecret's status and Events, which anyone who can read SealedSecrets sees.
    if (error instanceof UserError) throw new DecryptError('malformed', `the deprecated spec.data does not hold a Secret: ${error.message}`);
    throw error;
  }
  const data: StringMap = { ...inner.data };
  for (const [key, text] of Object.entries(inner.stringData ?? {})) data[key] = Buffer.from(text).toString('base64');
  const secret: Secret = { metadata: inner.metadata ?? {}, data };
  if (inner.type) secret.type = inner.type;
  return secret;
}

/** Force name/namespace, set the owner reference, and put fields in Go's order. */
function finishSecret(secret: Secret, sealed: SealedSecret): Secret {
  const meta: ObjectMeta = { ...secret.metadata, name: sealed.metadata.name, namespace: sealed.metadata.namespace };
  const annotations = sealed.spec.template?.metadata?.annotations;
  if (annotations?.[SKIP_SET_OWNER_REFERENCES_ANNOTATION] !== 'true') {
    meta.ownerReferences = [{
      apiVersion: SEALED_SECRET_API_VERSION,
      kind: SEALED_SECRET_KIND,
      name: sealed.metadata.name ?? '',
      uid: sealed.metadata.uid ?? '',
      controller: true,
    }];
  }
  const result: Secret = { kind: 'Secret', apiVersion: 'v1', metadata: orderedMeta(meta) };
  if (secret.immutable !== undefined) result.immutable = secret.immutable;
  result.data = sortedMap(secret.data ?? {});
  if (secret.type) result.type = secret.type;
  return result;
}

