/**
 * Rendering the chart with helm for the chart's specs (test/helm/chart.test.ts, and
 * test/integration/helm.test.ts): the value sets of test/helm/values/, `helm template`, and the
 * objects it prints.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../scripts/cluster/control-plane.ts';
import { CHART_DIR, type Helm, type HelmResult } from '../harness/helm.ts';

export const RELEASE = 'sealed-secrets';
export const NAMESPACE = 'kube-system';
/** What kubeseal looks for by default (--controller-name) and the chart's default full name. */
export const NAME = 'sealed-secrets-controller';
export const VALUES_DIR = join(repoRoot(), 'test', 'helm', 'values');
export const GOLDEN_DIR = join(repoRoot(), 'test', 'helm', 'golden');
/** `default` (no values file) and each test/helm/values/<set>.yaml. */
export const VALUE_SETS = ['default', ...readdirSync(VALUES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => basename(f, '.yaml')).sort()];

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export const valuesArgs = (set: string): string[] => (set === 'default' ? [] : ['-f', join(VALUES_DIR, `${set}.yaml`)]);

/** `helm template sealed-secrets <chart> --namespace kube-system ...args` */
export function template(helm: Helm, args: readonly string[]): Promise<HelmResult> {
  return helm.run(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, ...args]);
}

export function objects(yamlText: string): KubeObject[] {
  return parseAllDocuments(yamlText)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

export async function render(helm: Helm, args: readonly string[]): Promise<KubeObject[]> {
  const { code, stdout, stderr } = await template(helm, args);
  if (code !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${stderr}`);
  return objects(stdout);
}

export function only<T>(list: readonly KubeObject[], kind: string, name: string): T {
  const found = list.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as T;
}
