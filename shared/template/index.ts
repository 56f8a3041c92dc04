// renderTemplateData: spec.template.data rendered as upstream's controller renders it
// (pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go, v0.40): each value is a Go
// text/template with Sprig's generic functions (minus env, expandenv, getHostByName), executed over
// the decrypted values plus the plaintext template.data values (decrypted ones win on a
// collision). Pure: the clock, the random source and the wall-clock check are arguments.
//
// Why hand-written: the npm packages that parse Go templates (@ctrl/golang-template,
// go-text-template, gotemplate-node, @mdfriday/text-template) implement a subset of the grammar,
// none has Sprig, Go's fmt verbs or Go's byte-string semantics, so none can be byte-identical.
import { TemplateExecError, TemplateLimitError, execute, BUILTINS } from './exec.ts';
import type { Budget } from './exec.ts';
import { TemplateParseError, parse } from './parse.ts';
import { sprigFuncs } from './sprig.ts';
import type { KeyGenerator } from './sprig-certs.ts';
import { GoMap, GoTime, bytesToGo, goToBytes, textToGo } from './value.ts';
import type { GoValue } from './value.ts';

export { TemplateExecError, TemplateLimitError, TemplateParseError };

export interface TemplateLimits {
  /** Evaluation steps for all keys of one SealedSecret together. */
  maxSteps: number;
  /** Bytes of output (and of any one intermediate value) for one SealedSecret. */
  maxBytes: number;
  /** Wall-clock budget in milliseconds, measured with `clock`. */
  maxMillis: number;
}

export const DEFAULT_TEMPLATE_LIMITS: TemplateLimits = {
  maxSteps: 1_000_000,
  // A Secret is at most 1 MiB in etcd: more output could never be stored.
  maxBytes: 1024 * 1024,
  maxMillis: 2_000,
};

export type TemplateErrorKind = 'parse' | 'exec' | 'limit';

export interface TemplateKeyError {
  key: string;
  kind: TemplateErrorKind;
  /** Go's message shape; names the key, the position and the problem, never a decrypted value. */
  message: string;
}

export interface RenderInput {
  /** spec.template.data: null omits the key from the output Secret. */
  templateData: Record<string, string | null>;
  /** The decrypted encryptedData values, raw bytes. */
  decrypted: Record<string, Uint8Array>;
  /** The clock for Sprig's now/ago/date functions. */
  now: Date | bigint;
  /** Random bytes for randAlphaNum & co. */
  random: (n: number) => Uint8Array;
  /** Private keys for genPrivateKey, genCA & co; without it those fail as not supported. */
  generateKey?: KeyGenerator;
  limits?: Partial<TemplateLimits>;
  /** Monotonic milliseconds for the time limit (performance.now in the controller). */
  clock?: () => number;
}

export type RenderResult =
  | { ok: true; data: Record<string, Uint8Array> }
  | { ok: false; errors: TemplateKeyError[] };

const hasFunction = (funcs: Record<string, unknown>) => (name: string): boolean => Object.hasOwn(funcs, name) || Object.hasOwn(BUILTINS, name);

export function renderTemplateData(input: RenderInput): RenderResult {
  const limits = { ...DEFAULT_TEMPLATE_LIMITS, ...input.limits };
  const clock = input.clock ?? (() => 0);
  const started = clock();
  const budget: Budget = {
    steps: 0,
    bytes: 0,
    maxSteps: limits.maxSteps,
    maxBytes: limits.maxBytes,
    expired: () => clock() - started > limits.maxMillis,
  };
  const nowNano = typeof input.now === 'bigint' ? input.now : BigInt(input.now.getTime()) * 1_000_000n;
  const funcs = sprigFuncs({ now: () => new GoTime(nowNano, 0, 'UTC'), random: input.random, ...(input.generateKey ? { generateKey: input.generateKey } : {}) });

  const data: Record<string, Uint8Array> = {};
  const context = new Map<string, GoValue>();
  for (const [k, v] of Object.entries(input.decrypted)) {
    data[k] = v;
    context.set(textToGo(k), bytesToGo(v));
  }
  for (const [k, v] of Object.entries(input.templateData)) {
    if (v !== null && !context.has(textToGo(k))) context.set(textToGo(k), textToGo(v));
  }
  const dot = new GoMap('string', context);
  const errors: TemplateKeyError[] = [];
  for (const key of Object.keys(input.templateData).sort()) {
    const value = input.templateData[key];
    if (value === null || value === undefined) {
      delete data[key];
      continue;
    }
    const name = textToGo(key);
    const source = textToGo(value);
    let out: string;
    try {
      const trees = parse(name, source, { hasFunction: hasFunction(funcs) });
      out = execute(name, trees, source, dot, funcs, budget);
    } catch (e) {
      if (e instanceof TemplateParseError) errors.push({ key, kind: 'parse', message: e.message });
      else if (e instanceof TemplateExecError) errors.push({ key, kind: 'exec', message: e.message });
      else if (e instanceof TemplateLimitError) {
        errors.push({ key, kind: 'limit', message: `template: ${key}: ${e.message}` });
        // The budget is shared: once spent, the other keys cannot render either.
        break;
      } else if (e instanceof RangeError) {
        errors.push({ key, kind: 'limit', message: `template: ${key}: rendering exceeded the memory limit` });
        break;
      } else throw e;
      continue;
    }
    if (!(key in input.decrypted)) data[key] = goToBytes(out);
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, data };
}
