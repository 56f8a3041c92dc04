/**
 * Fuzz targets for what kubeseal parses beyond manifests (issue 8): --recovery-private-key files
 * (PEM keys, key Secrets, Lists of them) and the HTTP answers it reads from the API server and
 * the controller. Bounded in time (fast-check interruptAfterTimeLimit). Asserts: no crash (only
 * UserError escapes), one-line messages, no value of the input in them.
 *
 * Error text an API server or controller sends with a failure status is shown on purpose (it is
 * how RBAC denials are explained), cut to one line, with long base64-like runs (ciphertext, keys)
 * removed (shared/untrusted.ts remoteText): that is what is asserted for failure answers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../shared/errors.ts';
import { readFixture } from '../test/fixtures/fixtures.ts';
import { readRecoveryKeys } from './recover.ts';
import { apiStatus, firstPortName, printableReencrypted, proxyFailure, serviceFailure } from './answers.ts';
import type { ApiResponse } from './api.ts';

const MARKER = 'Wm4tR8zQ1nVx';
const TIME = { interruptAfterTimeLimit: 2_000, numRuns: 100_000 };
const KEY_PEM = readFixture('sealing-key.pem');

/** A text with random edits (insertions of punctuation or the marker, deletions). */
function mutations(seeds: readonly string[]): fc.Arbitrary<string> {
  const insert = fc.constantFrom(':', ' ', '\n', '{', '}', '[', ']', '"', "'", '-', '=', '*', '&', '\u0000', MARKER, '-----END RSA PRIVATE KEY-----\n', '-----BEGIN PRIVATE KEY-----\n');
  return fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.oneof(insert, fc.nat({ max: 80 }))), { minLength: 1, maxLength: 6 })).map(([seed, edits]) => {
    let text = seed;
    for (const [at, edit] of edits) {
      const i = at % (text.length + 1);
      text = typeof edit === 'string' ? text.slice(0, i) + edit + text.slice(i) : text.slice(0, i) + text.slice(i + edit);
    }
    return text;
  });
}

/** Whether a mutation moved the marker into a key or a name-like field, which messages may name. */
function nameHoldsMarker(body: Buffer): boolean {
  let names = '';
  try {
    JSON.parse(body.toString(), (key, value: unknown) => {
      names += ` ${key}`;
      if (['kind', 'apiVersion', 'name', 'namespace'].includes(key) && typeof value === 'string') names += ` ${value}`;
      return value;
    });
  } catch {
    return false;
  }
  return names.includes(MARKER.slice(0, 8));
}

function expectClean(error: unknown): void {
  if (!(error instanceof UserError)) throw error;
  expect(error.message).not.toMatch(/[\n\r]/);
  expect(error.message.length).toBeLessThan(1200);
}

describe('fuzz: key and backup reading (--recovery-private-key)', () => {
  const backup = (pem: string) => `apiVersion: v1\nkind: Secret\nmetadata: {name: k}\ndata:\n  tls.key: ${Buffer.from(pem).toString('base64')}\n`;
  const list = `apiVersion: v1\nkind: List\nitems:\n- data: {tls.key: "${Buffer.from(KEY_PEM).toString('base64')}"}\n- data: {tls.key: ${MARKER}}\n`;
  const input = fc.oneof(
    mutations([KEY_PEM, backup(KEY_PEM), list, `-----BEGIN RSA PRIVATE KEY-----\n${MARKER}\n-----END RSA PRIVATE KEY-----\n`]).map((t) => Buffer.from(t)),
    fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
  );
  it('never crashes and never prints key material or a value', () => {
    fc.assert(
      fc.property(input, (bytes) => {
        try {
          readRecoveryKeys(bytes, 'keys.yaml');
        } catch (error) {
          expectClean(error);
          const message = (error as Error).message;
          expect(message).not.toMatch(/MII|PRIVATE KEY-----/);
          // Only the backup's names ("tls.key", item numbers) may appear, never the marker.
          expect(message).not.toContain(MARKER.slice(0, 8));
        }
      }),
      TIME,
    );
  }, 20_000);
});

describe('fuzz: HTTP answers kubeseal reads', () => {
  const service = { namespace: 'kube-system', name: 'sealed-secrets-controller' };
  const sealedJson = JSON.stringify({ apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'a', namespace: 'b' }, spec: { encryptedData: { a: `AgB${MARKER}` } } });
  const bodies = fc.oneof(
    mutations([
      JSON.stringify({ spec: { ports: [{ name: 'http', port: 8080 }] } }),
      JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: `services is forbidden ${MARKER}` }),
      sealedJson,
      `${'QUJD'.repeat(30)}${MARKER}\nsecond line`,
    ]),
    fc.string({ unit: 'binary', maxLength: 1024 }),
  );
  const responses = fc.tuple(bodies, fc.constantFrom(200, 400, 403, 404, 409, 429, 500, 502, 503), fc.constantFrom('application/json', 'text/plain', '')).map(
    ([body, status, contentType]): ApiResponse => ({ status, statusText: 'X', contentType, body: Buffer.from(body) }),
  );
  it('the Service, Status, failure and re-encrypt readers never crash; failure text is one clean line', () => {
    fc.assert(
      fc.property(responses, (response) => {
        for (const read of [
          () => firstPortName(response, service),
          () => apiStatus(response),
          () => printableReencrypted(response.body, 'yaml'),
        ]) {
          try {
            read();
          } catch (error) {
            expectClean(error);
            // Parsing a 200 answer never quotes a value (a name-like kind or name is shown by design).
            if (!nameHoldsMarker(response.body)) expect((error as Error).message).not.toContain(MARKER.slice(0, 8));
          }
        }
        for (const failure of [serviceFailure(response, service), proxyFailure(response, service, 'reencrypt'), proxyFailure(response, service, 'fetch')]) {
          expect(failure).toBeInstanceOf(UserError);
          expect(failure.message).not.toMatch(/[\u0000-\u001f]/);
          // Long base64-like runs (a ciphertext the server echoed) never pass.
          const runs = failure.message.match(/[A-Za-z0-9+/]{40,}/g) ?? [];
          expect(runs.filter((run) => /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run))).toEqual([]);
        }
      }),
      TIME,
    );
  }, 20_000);
});
