/**
 * The controller's GET /v1/keys answer, read as untrusted input, and printed for `kubeseal keys`:
 * a table by default (kubectl's style: upper-case headers, columns padded by spaces), or JSON /
 * YAML with -o. Pure: bytes in, text out. Nothing in the answer is secret (names, fingerprints,
 * dates, counts).
 */
import { UserError } from '../shared/errors.ts';
import type { ControllerKey } from '../shared/controller-api.ts';
import { isKeyFingerprint } from '../shared/keys.ts';
import { isObject } from '../shared/kube.ts';
import { formatManifest, type OutputFormat } from '../shared/manifest.ts';
import { shownName } from '../shared/untrusted.ts';

/** One sealing key as the controller reports it (shared/controller-api.ts). */
export type KeyListing = ControllerKey;

/** The keys, and the fingerprints SealedSecrets need that no active key Secret has. */
export interface KeyReport {
  readonly keys: readonly KeyListing[];
  readonly missing: readonly { readonly fingerprint: string; readonly sealedSecrets: number }[];
}

function listing(value: unknown, index: number): KeyListing {
  const where = `the controller's /v1/keys answer, key ${index + 1}`;
  if (!isObject(value)) throw new UserError(`${where} is not an object; check that --controller-name names the sealed-secrets controller`);
  const name = shownName(value.name);
  const fingerprint = isKeyFingerprint(value.fingerprint) ? value.fingerprint : undefined;
  // Date.parse accepts any text in parentheses: the date must also be identifier-like (RFC 3339 is).
  const date = shownName(value.notBefore);
  const notBefore = date !== undefined && !Number.isNaN(Date.parse(date)) ? date : undefined;
  const sealedSecrets = value.sealedSecrets;
  if (name === undefined || fingerprint === undefined || notBefore === undefined || typeof value.sealing !== 'boolean' || typeof value.retired !== 'boolean'
    || !count(sealedSecrets)) {
    throw new UserError(`${where} lacks name, fingerprint, notBefore, sealing, retired or sealedSecrets; kubeseal and the controller may be of different versions`);
  }
  return { name, fingerprint, notBefore, sealing: value.sealing, retired: value.retired, sealedSecrets };
}

const count = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** A /v1/keys body (ControllerKeys), in the controller's order: active keys newest first, then retired ones. */
export function readKeyListing(body: Buffer): KeyReport {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UserError('the controller\'s /v1/keys answer is not JSON; check that --controller-name names the sealed-secrets controller');
  }
  if (!isObject(doc) || !Array.isArray(doc.keys)) throw new UserError('the controller\'s /v1/keys answer holds no "keys" list; kubeseal and the controller may be of different versions');
  const missing = (Array.isArray(doc.missing) ? doc.missing : []).map((value, index) => {
    if (!isObject(value) || !isKeyFingerprint(value.fingerprint) || !count(value.sealedSecrets)) {
      throw new UserError(`the controller's /v1/keys answer, missing key ${index + 1}, lacks fingerprint or sealedSecrets; kubeseal and the controller may be of different versions`);
    }
    return { fingerprint: value.fingerprint, sealedSecrets: value.sealedSecrets };
  });
  return { keys: doc.keys.map(listing), missing };
}

/** Columns padded to their widest cell, three spaces apart, as kubectl prints. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('   ');
  return [header, ...rows].map(line).join('\n') + '\n';
}

/**
 * `kubeseal keys`: the table (a missing key, needed but without an active key Secret, is a row
 * named "(missing)"), or the answer as JSON / YAML.
 */
export function printKeyListing(report: KeyReport, format: OutputFormat | 'table'): string {
  if (format !== 'table') return formatManifest({ keys: report.keys.map((k) => ({ ...k })), missing: report.missing.map((m) => ({ ...m })) }, format);
  return table(
    ['NAME', 'FINGERPRINT', 'NOT BEFORE', 'SEALING', 'RETIRED', 'SEALED SECRETS'],
    [
      ...report.keys.map((k) => [k.name, k.fingerprint, k.notBefore, k.sealing ? 'yes' : 'no', k.retired ? 'yes' : 'no', String(k.sealedSecrets)]),
      ...report.missing.map((m) => ['(missing)', m.fingerprint, '-', 'no', '-', String(m.sealedSecrets)]),
    ],
  );
}
