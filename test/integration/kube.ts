/** Small helpers for integration specs: kubectl with JSON, and sealing with the real kubeseal. */
import { expect } from 'vitest';
import type { ClusterClient } from '../harness/cluster.ts';
import { runKubeseal } from '../run-cli.ts';

export async function kubectlJson<T = Record<string, unknown>>(cluster: ClusterClient, args: readonly string[]): Promise<T> {
  const result = await cluster.kubectl([...args, '-o', 'json']);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** kubectl apply -f - of a manifest; fails the test on error. */
export async function apply(cluster: ClusterClient, manifest: string | object): Promise<void> {
  const input = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
  const result = await cluster.kubectl(['apply', '-f', '-'], { input });
  expect(result.stderr, result.stderr).toBe('');
  expect(result.code).toBe(0);
}

export interface SecretObject {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[]; resourceVersion: string };
  data?: Record<string, string>;
  type?: string;
  immutable?: boolean;
}

export interface SealedSecretObject {
  metadata: { name: string; namespace: string; uid: string; generation: number; annotations?: Record<string, string> };
  spec: { encryptedData: Record<string, string>; template?: Record<string, unknown> };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string; message?: string; lastTransitionTime?: string; lastUpdateTime?: string }[] };
}

export async function getSecret(cluster: ClusterClient, namespace: string, name: string): Promise<SecretObject> {
  return kubectlJson<SecretObject>(cluster, ['get', 'secret', name, '-n', namespace]);
}

export async function getSealed(cluster: ClusterClient, namespace: string, name: string): Promise<SealedSecretObject> {
  return kubectlJson<SealedSecretObject>(cluster, ['get', 'sealedsecret', name, '-n', namespace]);
}

export function synced(sealed: SealedSecretObject): { status: string; message?: string } | undefined {
  return sealed.status?.conditions?.find((c) => c.type === 'Synced');
}

/** Seal a Secret manifest with the real kubeseal binary and the certificate at `cert` (file or URL). */
export async function seal(secret: object | string, cert: string, args: readonly string[] = []): Promise<string> {
  const result = await runKubeseal(['--cert', cert, '-o', 'yaml', ...args], { stdin: typeof secret === 'string' ? secret : JSON.stringify(secret) });
  if (result.code !== 0) throw new Error(`kubeseal failed: ${result.stderr}`);
  return result.stdout.toString();
}

export const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
export const text = (base64: string | undefined): string => Buffer.from(base64 ?? '', 'base64').toString('utf8');
