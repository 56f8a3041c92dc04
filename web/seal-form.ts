/**
 * The page's logic without the DOM: what the form says -> problems to show as the user types, and
 * -> the sealed output. Sealing goes through shared/seal-plan.ts (the rules and the SealedSecret's
 * shape, as kubeseal) and shared/wire-format.ts (the bytes, with WebCrypto), so the page's output
 * is kubeseal's. Runs in Node too, which is how it is unit tested.
 */
import { encodeBase64 } from '../shared/base64.ts';
import { errorMessage, UserError } from '../shared/errors.ts';
import { readSecret, sortedMap, type SealedSecret, type Secret } from '../shared/kube.ts';
import { namespaceProblem, objectNameProblem } from '../shared/kube-names.ts';
import { formatManifest, parseDocuments, type OutputFormat } from '../shared/manifest.ts';
import { planSeal, rawLabel, secretKeyProblem, type SealPlan } from '../shared/seal-plan.ts';
import type { Scope } from '../shared/scope.ts';
import { sealWithWebCrypto, type Random, type Subtle, type WebKey } from '../shared/wire-format.ts';

export type Mode = 'pairs' | 'manifest' | 'raw';

export interface Row {
  readonly key: string;
  /** The typed value (UTF-8), unless `file` is set. */
  readonly text: string;
  /** A value read from a local file: its bytes, as they are. */
  readonly file?: { readonly name: string; readonly bytes: Uint8Array };
}

export interface TemplateRow {
  readonly key: string;
  readonly template: string;
}

export interface FormState {
  readonly mode: Mode;
  readonly name: string;
  readonly namespace: string;
  readonly type: string;
  /** 'annotated': the pasted manifest's annotations decide (manifest mode only). */
  readonly scope: Scope | 'annotated';
  readonly rows: readonly Row[];
  readonly manifest: string;
  readonly templates: readonly TemplateRow[];
  readonly format: OutputFormat;
}

/** Field ids the page shows problems on: "name", "namespace", "key-0", "value-0", "manifest", "template-key-0". */
export type Problems = Map<string, string>;

/** What the API server would refuse, or kubeseal would, for the fields in use; empty when all is well. */
export function validate(state: FormState): Problems {
  const problems: Problems = new Map();
  const scope = state.scope === 'annotated' ? undefined : state.scope;
  const needsName = state.mode === 'pairs' || (state.mode === 'raw' && scope === 'strict');
  const needsNamespace = state.mode === 'pairs' ? scope !== 'cluster-wide' : state.mode === 'raw' && scope !== 'cluster-wide';
  if (state.name !== '' || needsName) {
    const problem = objectNameProblem(state.name);
    if (problem) problems.set('name', `Name ${problem}`);
  }
  if (state.namespace !== '' || needsNamespace) {
    const problem = namespaceProblem(state.namespace);
    if (problem) problems.set('namespace', `Namespace ${problem}${problem === 'is required' && scope !== 'cluster-wide' ? ' unless the scope is cluster-wide' : ''}`);
  }
  if (state.mode === 'pairs') {
    const seen = new Set<string>();
    state.rows.forEach((row, i) => {
      const problem = secretKeyProblem(row.key);
      if (problem) problems.set(`key-${i}`, `Key ${problem === 'is not allowed' ? 'is required' : problem}`);
      else if (seen.has(row.key)) problems.set(`key-${i}`, 'Key is used twice; each key holds one value');
      seen.add(row.key);
      if (!row.file && row.text === '') problems.set(`value-${i}`, 'Value is empty; type one or choose a file');
    });
  }
  if (state.mode === 'raw') {
    const row = state.rows[0];
    if (row && !row.file && row.text === '') problems.set('value-0', 'Value is empty; type one or choose a file');
  }
  if (state.mode === 'manifest') {
    if (state.manifest.trim() === '') problems.set('manifest', 'Paste a Secret manifest (YAML or JSON)');
    else {
      try {
        manifestSecrets(state);
      } catch (error) {
        problems.set('manifest', errorMessage(error));
      }
    }
  }
  if (state.mode !== 'raw') {
    state.templates.forEach((row, i) => {
      const problem = secretKeyProblem(row.key);
      if (problem) problems.set(`template-key-${i}`, `Template key ${problem === 'is not allowed' ? 'is required' : problem}`);
    });
  }
  return problems;
}

function rowBytes(row: Row): Uint8Array {
  return row.file ? row.file.bytes : new TextEncoder().encode(row.text);
}

/** The Secret the key/value form describes, values as `data` (bytes, files included). */
export function formSecret(state: FormState): Secret {
  const data: Record<string, string> = {};
  for (const row of state.rows) data[row.key] = encodeBase64(rowBytes(row));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: state.name, ...(state.namespace ? { namespace: state.namespace } : {}) },
    ...(state.type ? { type: state.type } : {}),
    data,
  };
}

/** The pasted manifest's Secrets (several documents are sealed one by one, as kubeseal does). */
function manifestSecrets(state: FormState): Secret[] {
  const docs = parseDocuments(state.manifest, 'the pasted manifest');
  if (docs.length === 0) throw new UserError('the pasted manifest holds no Secret; paste a Secret manifest in YAML or JSON');
  return docs.map((doc, i) => readSecret(doc, docs.length > 1 ? `the pasted manifest's document ${i + 1}` : 'the pasted manifest'));
}

/** The plans to seal: one per Secret, with kubeseal's rules (Name overrides, Namespace is the default). */
export function plans(state: FormState): SealPlan[] {
  const scope = state.scope === 'annotated' ? undefined : state.scope;
  const options = {
    ...(scope ? { scope } : {}),
    ...(state.name ? { name: state.name } : {}),
    ...(state.namespace ? { defaultNamespace: state.namespace } : {}),
  };
  const secrets = state.mode === 'manifest' ? manifestSecrets(state) : [formSecret(state)];
  return secrets.map((secret) => planSeal(secret, options));
}

export interface SealTools {
  readonly publicKey: WebKey;
  readonly random: Random;
  readonly subtle?: Subtle;
}

async function sealPlan(plan: SealPlan, tools: SealTools, templates: readonly TemplateRow[]): Promise<SealedSecret> {
  const encrypted: Record<string, string> = {};
  for (const [key, bytes] of plan.values) {
    encrypted[key] = encodeBase64(await sealWithWebCrypto(tools.publicKey, bytes, plan.label, tools.random, tools.subtle));
  }
  const sealed = plan.finish(encrypted);
  if (templates.length > 0 && sealed.spec.template) {
    // spec.template.data: Go text/template per key, rendered by the controller over the values.
    sealed.spec.template.data = sortedMap(Object.fromEntries(templates.map((t) => [t.key, t.template])));
  }
  return sealed;
}

/**
 * The output text: SealedSecret manifests as kubeseal -o yaml|json prints them, or, in raw mode,
 * the sealed value as kubeseal --raw prints it (base64, no newline). Throws UserError.
 */
export async function sealForm(state: FormState, tools: SealTools): Promise<string> {
  const problems = validate(state);
  if (problems.size > 0) throw new UserError([...problems.values()][0] as string);
  if (state.mode === 'raw') {
    const scope = state.scope === 'annotated' ? 'strict' : state.scope;
    const row = state.rows[0] ?? { key: '', text: '' };
    const namespace = scope === 'cluster-wide' ? '' : state.namespace;
    const label = rawLabel(scope, namespace, scope === 'strict' ? state.name : '');
    return encodeBase64(await sealWithWebCrypto(tools.publicKey, rowBytes(row), label, tools.random, tools.subtle));
  }
  const out: string[] = [];
  for (const plan of plans(state)) out.push(formatManifest(await sealPlan(plan, tools, state.templates), state.format));
  return out.join('');
}

/** The values as the controller will see them, for the template preview (never sent anywhere). */
export function previewValues(state: FormState): Record<string, Uint8Array> {
  const plan = plans(state)[0];
  return plan ? Object.fromEntries(plan.values) : {};
}

/** A file name for the download: "<name>-sealed.yaml" (or .json, or .txt for a raw value). */
export function downloadName(state: FormState): string {
  const base = state.name && !objectNameProblem(state.name) ? state.name : 'sealedsecret';
  return `${base}${state.mode === 'raw' ? '-sealed.txt' : `-sealed.${state.format}`}`;
}
