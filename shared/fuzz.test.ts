/**
 * Fuzz targets for the parsers of untrusted input in the core (issue 8): manifests (YAML/JSON
 * streams and the Secret/SealedSecret readers behind them), sealing certificates, base64 and the
 * ciphertext. Each runs for a bounded time (fast-check, interruptAfterTimeLimit) and asserts:
 * no crash (only UserError and its subclasses escape), no hang (each case ends, well within the
 * vitest timeout), no input value in any message, and, at the size limits, bounded memory.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFixture, sealingKey, sealingPublicKey } from '../test/fixtures/fixtures.ts';
import { decodeBase64 } from './base64.ts';
import { hybridDecrypt, hybridEncrypt } from './crypto.ts';
import { DecryptError, UserError } from './errors.ts';
import { MAX_INPUT_BYTES } from './input-limits.ts';
import { parseSealingKey, pemBlocks } from './keys.ts';
import { readSealedSecret, readSecret } from './kube.ts';
import { parseDocuments } from './manifest.ts';
import { encryptionLabel } from './scope.ts';
import { sealSecret, unsealSealedSecret } from './sealed-secret.ts';

/** Put in value positions of the seeds; it must never come back in a message. */
const MARKER = 'Qv7mK2pX9wLr';
const TIME = { interruptAfterTimeLimit: 2_000, numRuns: 100_000 };
const publicKey = sealingPublicKey();
const keys = [sealingKey()];

const SEEDS = [
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: demo\n  labels: {app: x}\ntype: Opaque\nstringData:\n  password: ${MARKER}\n  other: "${MARKER}"\ndata:\n  k: ${Buffer.from(MARKER).toString('base64')}\n`,
  JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'demo' }, stringData: { password: MARKER, list: `[${MARKER}]` } }),
  `---\nkind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {a: &x ${MARKER}, b: *x}\n---\nkind: Secret\nmetadata: {name: c}\ndata: {z: "${MARKER}=="}\n`,
  `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a, namespace: b}\nspec:\n  template: {type: Opaque, metadata: {labels: {a: b}}}\n  encryptedData: {pw: AgB${MARKER}, x: "${MARKER}"}\n`,
];

/** YAML and JSON punctuation, so mutations reach the parsers' error paths rather than plain text. */
const PUNCTUATION = [':', ' ', '\n', '\t', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', "'", '"', '#', '-', '?', '%', '@', '`', '\\', '\u0000', '\u00ff', '---\n', '...\n', '!!binary ', '<<: '];

/** A seed with random edits: insertions of punctuation, deletions, duplications. */
const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...PUNCTUATION), fc.nat({ max: 40 }).map((n) => -n - 1), fc.constant(0))), { minLength: 1, maxLength: 8 }),
  )
  .map(([seed, edits]) => {
    let text = seed;
    for (const [at, edit] of edits) {
      const i = at % (text.length + 1);
      if (typeof edit === 'string') text = text.slice(0, i) + edit + text.slice(i);
      else if (edit < 0) text = text.slice(0, i) + text.slice(i - edit - 1);
      else text = text.slice(0, i) + text.slice(i, i + 20) + text.slice(i);
    }
    return text;
  });

/** Any document shape, with the marker in string values. */
const shapes = fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify({ kind: 'Secret', metadata: { name: 'a', namespace: 'b' }, stringData: value, data: value }).replace(/"([^"\\]*)"(?!:)/g, `"$1${MARKER}"`));

const anyInput = fc.oneof(
  { weight: 4, arbitrary: mutated.map((t) => Buffer.from(t)) },
  { weight: 2, arbitrary: shapes.map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 512 }).map((t) => Buffer.from(t)) },
);

/**
 * Names are shown on purpose when they look like names (shared/untrusted.ts): map keys and the
 * values of name-like fields. A mutation can move the marker into such a place; it may show then.
 */
const NAME_FIELDS = new Set(['name', 'namespace', 'generateName', 'kind', 'apiVersion', 'type']);
function namesOf(value: unknown, names: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const item of value) namesOf(item, names);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      names.add(key);
      if (NAME_FIELDS.has(key) && typeof item === 'string') names.add(item);
      namesOf(item, names);
    }
  }
  return names;
}

/** Whether `message` carries the marker (or its first 8 characters) where no name holds it. */
function echoes(message: string, names: ReadonlySet<string> = new Set()): boolean {
  const piece = MARKER.slice(0, 8);
  if ([...names].some((name) => name.includes(piece))) return false;
  return message.includes(piece);
}

/** A well-formed one-line message: printable, no line break, bounded. */
function expectCleanMessage(error: unknown, names?: ReadonlySet<string>): void {
  if (!(error instanceof UserError)) throw error;
  const message = error.message;
  expect(message).not.toMatch(/[\n\r]/);
  expect(message.length).toBeLessThan(600);
  expect(echoes(message, names), message).toBe(false);
}

/** Run `fn`; only a UserError may escape, and only with a clean message. */
function survives(fn: () => unknown, names?: ReadonlySet<string>): void {
  try {
    fn();
  } catch (error) {
    expectCleanMessage(error, names);
  }
}

describe('fuzz: manifest reading (parseDocuments, readSecret, readSealedSecret, seal, unseal)', () => {
  it('never crashes, hangs or echoes a value', () => {
    fc.assert(
      fc.property(anyInput, (bytes) => {
        let docs: unknown[] = [];
        survives(() => {
          docs = parseDocuments(bytes, 'input');
        });
        for (const doc of docs) {
          const names = namesOf(doc);
          survives(() => sealSecret(readSecret(doc, 'input'), { publicKey, random: randomBytes, allowEmptyData: true, defaultNamespace: 'ns' }), names);
          survives(() => unsealSealedSecret(readSealedSecret(doc, 'input'), { keys, acceptDeprecatedV1Data: true }), names);
        }
      }),
      TIME,
    );
  }, 20_000);

  it('at the size limit, adversarial shapes end with an error in bounded time and memory', () => {
    // The two that cost the most per byte at the full limit; the others at a quarter of it.
    const half = Math.floor(MAX_INPUT_BYTES / 2) - 16;
    const quarter = MAX_INPUT_BYTES / 4;
    const shapesAtLimit = [
      `a: ${'['.repeat(half)}${']'.repeat(half)}\n`,
      `${'-----BEGIN A-----\n'.repeat(Math.floor(MAX_INPUT_BYTES / 18))}`,
      `{"a":${'['.repeat(quarter / 2)}${']'.repeat(quarter / 2)}}`,
      '---\n'.repeat(quarter / 4),
      `a: &a [${'x,'.repeat(1000)}]\n${Array.from({ length: 2000 }, (_, i) => `b${i}: *a`).join('\n')}\n`,
      `kind: Secret\nmetadata: {name: a, namespace: b}\ndata:\n  a: ${'QUJD'.repeat(quarter / 4 - 32)}\n`,
    ];
    const before = process.memoryUsage().rss;
    for (const text of shapesAtLimit) {
      survives(() => {
        for (const doc of parseDocuments(Buffer.from(text), 'input')) readSecret(doc, 'input');
      });
      survives(() => pemBlocks(text));
    }
    // A shape is up to 16 MiB; the parsers may use a few times that, never gigabytes.
    expect(process.memoryUsage().rss - before).toBeLessThan(1536 * 1024 * 1024);
  }, 60_000);
});

describe('fuzz: sealing certificates (parseSealingKey)', () => {
  const cert = readFixture('sealing-cert.pem');
  const certInput = fc.oneof(
    fc.tuple(fc.nat(), fc.nat({ max: 60 }), fc.string({ maxLength: 8 })).map(([at, cut, add]) => {
      const i = at % cert.length;
      return cert.slice(0, i) + add + cert.slice(i + cut);
    }),
    fc.string({ unit: 'binary', maxLength: 1024 }).map((s) => `-----BEGIN CERTIFICATE-----\n${s}${MARKER}\n-----END CERTIFICATE-----\n`),
    fc.string({ maxLength: 1024 }),
  );
  it('never crashes or echoes the PEM', () => {
    fc.assert(fc.property(certInput, (pem) => survives(() => parseSealingKey(pem, new Date('2026-06-01T00:00:00Z'), '--cert "c.pem"'))), TIME);
  }, 20_000);
});

describe('fuzz: base64 (decodeBase64)', () => {
  // The regular expression it replaced, safe on small inputs: the loop must agree with it.
  const reference = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  it('accepts exactly strict standard base64 (CR and LF ignored)', () => {
    const text = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
      fc.string({ unit: fc.constantFrom(...'AZaz09+/=\r\n-_ .'.split('')), maxLength: 24 }),
    );
    fc.assert(
      fc.property(text, (s) => {
        const decoded = decodeBase64(s);
        const compact = s.replace(/[\r\n]/g, '');
        expect(decoded !== undefined).toBe(reference.test(compact));
        if (decoded !== undefined) expect(decoded.equals(Buffer.from(compact, 'base64'))).toBe(true);
      }),
      TIME,
    );
  }, 20_000);
});

describe('base64 (decodeBase64) on values of many MB', () => {
  it('checks and decodes 16 MB without overflowing the stack, and refuses one bad character at the end', () => {
    const valid = Buffer.alloc(12 * 1024 * 1024, 0xa5).toString('base64');
    expect(decodeBase64(valid)?.length).toBe(12 * 1024 * 1024);
    expect(decodeBase64(`${valid.slice(0, -4)}AAA-`)).toBeUndefined();
    expect(decodeBase64(`${valid.slice(0, -4)}AA=A`)).toBeUndefined();
  });
});

describe('fuzz: the ciphertext (hybridDecrypt)', () => {
  const label = encryptionLabel('strict', 'ns', 'name');
  const sealed = hybridEncrypt(publicKey, Buffer.from(MARKER), label, randomBytes);
  const ciphertexts = fc.oneof(
    fc.uint8Array({ maxLength: 700 }).map((b) => Buffer.from(b)),
    // The right length prefix, random RSA part and body: reaches the RSA step.
    fc.uint8Array({ minLength: 512, maxLength: 600 }).map((b) => Buffer.concat([Buffer.from([0x02, 0x00]), Buffer.from(b)])),
    // A real ciphertext with a few bytes changed or cut: reaches the AES-GCM step.
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean()).map(([at, xor, cut]) => {
      const copy = Buffer.from(sealed);
      const i = at % copy.length;
      if (cut) return copy.subarray(0, i);
      copy[i] = (copy[i] as number) ^ xor;
      return copy;
    }),
  );
  it('fails only with DecryptError, never with the bytes in the message', () => {
    fc.assert(
      fc.property(ciphertexts, (bytes) => {
        try {
          const { plaintext } = hybridDecrypt(keys, bytes, label);
          // Only the unmodified ciphertext may open (a cut at the very end is no cut).
          expect(plaintext.toString()).toBe(MARKER);
        } catch (error) {
          expect(error).toBeInstanceOf(DecryptError);
          const message = (error as Error).message;
          expect(message).not.toContain(bytes.toString('base64').slice(0, 16) || '\u0000');
          expect(message).not.toMatch(/[\n\r]/);
        }
      }),
      TIME,
    );
  }, 20_000);
});
