/**
 * A secret is never echoed (issue 8): random secrets are put into the value positions of bad
 * input on every path that reads untrusted input (stdin manifests, -f, --merge-into, --cert,
 * --recovery-private-key, --recovery-unseal, --validate, --re-encrypt, --raw), and none may
 * appear in stderr. Breadth in-process through kubeseal() (the entry point cli/main.ts exports);
 * then a sample through the real binary.
 *
 * Names (map keys, metadata.name, kind) are shown when they look like names (shared/untrusted.ts):
 * secrets go where values go.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../shared/errors.ts';
import { readFixture } from '../test/fixtures/fixtures.ts';
import { runKubeseal } from '../test/run-cli.ts';
import type { Io } from './io.ts';
import { bugReport, kubeseal } from './main.ts';

const CERT_PEM = readFixture('sealing-cert.pem');
const KEY_PEM = readFixture('sealing-key.pem');

/** Where a secret goes: a whole input, or a value inside a manifest that is wrong in some way. */
const templates: ((s: string) => string)[] = [
  (s) => s,
  (s) => `${s}\n`,
  (s) => `{"pw": ${s}}`,
  (s) => `{"kind":"Secret","stringData":{"pw":"${s}"}} ${s}`,
  (s) => `{"kind":"Secret","stringData":{"pw":"${s}\\q"}}`,
  (s) => `{"kind":"Secret","stringData":{"pw":"${s}\u0001"}}`,
  (s) => `{"kind":"Secret","stringData":{"pw":${s}`,
  (s) => `a: b: ${s}\n`,
  (s) => `kind: Secret\nstringData:\n\t- ${s}\n`,
  (s) => `kind: Secret\nstringData:\n  pw: "${s}\\q"\n`,
  (s) => `kind: Secret\nstringData:\n  pw: [${s}\n`,
  (s) => `kind: Secret\nstringData:\n  pw: '${s}\n`,
  (s) => `kind: Secret\nstringData:\n  pw: !!binary ${s}\n`,
  (s) => `kind: Secret\nstringData:\n  pw: *${s.replace(/[^A-Za-z0-9]/g, 'x')}\n`,
  (s) => `kind: Secret\nmetadata: {name: a, namespace: b}\nstringData:\n  pw: [${s}]\n`,
  (s) => `kind: Secret\nmetadata: {name: a, namespace: b}\nstringData:\n  pw: {v: ${s}}\n`,
  (s) => `kind: Secret\nmetadata: {name: a, namespace: b}\ndata:\n  pw: "${s}!"\n`,
  (s) => `kind: Secret\nmetadata: {name: [${s}], namespace: b}\nstringData: {a: b}\n`,
  (s) => `kind: Secret\nmetadata: {name: a, namespace: b, labels: {x: [${s}]}}\nstringData: {a: b}\n`,
  (s) => `apiVersion: {v: ${s}}\nkind: Secret\nstringData: {a: b}\n`,
  (s) => `apiVersion: v1\nkind: Secret\ntype: [${s}]\nstringData: {a: b}\n`,
  (s) => `apiVersion: v1\nkind: ConfigMap\ndata: {a: ${s}}\n`,
  (s) => `kind: Secret\nmetadata: {name: a, namespace: b}\nstringData:\n  pw: "${s}\udfff"\n`,
  (s) => `- ${s}\n- ${s}\n`,
  (s) => `a: &a [${s},${s},${s},${s},${s},${s},${s},${s},${s},${s}]\nb: &b [${'*a,'.repeat(10)}]\nc: [${'*b,'.repeat(10)}]\n`,
  (s) => `-----BEGIN RSA PRIVATE KEY-----\n${s}\n-----END RSA PRIVATE KEY-----\n`,
  (s) => `-----BEGIN CERTIFICATE-----\n${s}\n-----END CERTIFICATE-----\n`,
  (s) => `apiVersion: v1\nkind: Secret\ndata:\n  tls.key: ${s}\n`,
  (s) => `apiVersion: v1\nkind: List\nitems:\n- data: {tls.key: "${Buffer.from(s).toString('base64')}"}\n`,
  (s) => `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a, namespace: b}\nspec:\n  encryptedData: {pw: ${s}}\n`,
  (s) => `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a, namespace: b}\nspec:\n  encryptedData: {pw: "${Buffer.from(s).toString('base64')}"}\n`,
  (s) => `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a, namespace: b}\nspec:\n  data: ${s}\n`,
  (s) => `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nspec: ${s}\n`,
  (s) => `apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nspec:\n  template: [${s}]\n  encryptedData: {}\n`,
];

/** Bytes around a secret: binary junk, a BOM, invalid UTF-8. */
const wrappers: ((text: string) => Buffer)[] = [
  (text) => Buffer.from(text),
  (text) => Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from(text)]),
  (text) => Buffer.concat([Buffer.from(text), Buffer.from([0xff, 0xfe, 0x00])]),
  (text) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
];

type Mode = { args: string[]; role: 'stdin' | 'file'; file?: string; stdin?: string };
const SECRET_YAML = 'kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {a: b}\n';
const SEALED_YAML = 'apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a, namespace: b}\nspec:\n  encryptedData: {a: AgBy}\n';

/** Where the bad bytes go: stdin of a mode, or a file a flag names (the rest is valid). */
const modes: Mode[] = [
  { args: ['--cert', 'cert.pem'], role: 'stdin' },
  { args: ['--cert', 'cert.pem', '-o', 'yaml', '-f', 'bad'], role: 'file', file: 'bad' },
  { args: ['--cert', 'bad'], role: 'file', file: 'bad', stdin: SECRET_YAML },
  { args: ['--cert', 'cert.pem', '--merge-into', 'bad'], role: 'file', file: 'bad', stdin: SECRET_YAML },
  { args: ['--cert', 'cert.pem', '--merge-into', 'sealed.yaml'], role: 'stdin' },
  { args: ['--recovery-unseal', '--recovery-private-key', 'key.pem'], role: 'stdin' },
  { args: ['--recovery-unseal', '--recovery-private-key', 'bad'], role: 'file', file: 'bad', stdin: SEALED_YAML },
  { args: ['--validate', '--server', 'http://127.0.0.1:1'], role: 'stdin' },
  { args: ['--re-encrypt', '--server', 'http://127.0.0.1:1'], role: 'stdin' },
  { args: ['--raw', '--cert', 'cert.pem', '--scope', 'strict'], role: 'stdin' },
  { args: ['--raw', '--cert', 'bad', '--scope', 'cluster-wide'], role: 'file', file: 'bad', stdin: 'x' },
];

/** Secrets: the review's plain words, base64-like text, and any Unicode. At least 8 characters, so no message word matches by chance. */
const secretArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9]{8,24}$/),
  fc.stringMatching(/^[A-Za-z0-9+/]{12,40}={0,2}$/),
  fc.string({ unit: 'grapheme', minLength: 8, maxLength: 20 }).filter((s) => s.trim().length >= 8 && !/[\n\r]/.test(s)),
  fc.constant('s3cr3t-Zx9pw-31337424242'),
);

function fakeIo(files: Record<string, Buffer>, stdin: Buffer): Io & { stderr: string[] } {
  const stderr: string[] = [];
  return {
    stderr,
    readStdin: async () => stdin,
    readFile: (path, what) => {
      const content = files[path];
      if (content === undefined) throw new UserError(`cannot read ${what} "${path}": no such file; check the path`);
      return content;
    },
    readDirectory: () => undefined,
    writeStderr: () => undefined,
    writeFileAtomic: () => undefined,
    writeStdout: () => undefined,
    warn: (message) => {
      stderr.push(message);
    },
    stdinIsTty: false,
    stderrIsTty: false,
    env: { KUBECONFIG: '/nonexistent/kubeconfig' },
    now: () => new Date('2026-06-01T00:00:00Z'),
    random: (size) => randomBytes(size),
  };
}

/** The printable parts of a secret that could show: the whole, and long-enough slices of it. */
function leaks(stderr: string, secret: string): boolean {
  return stderr.includes(secret) || stderr.includes(JSON.stringify(secret).slice(1, -1));
}

function inputFor(mode: Mode, bad: Buffer): { argv: string[]; files: Record<string, Buffer>; stdin: Buffer } {
  const files: Record<string, Buffer> = { 'cert.pem': Buffer.from(CERT_PEM), 'key.pem': Buffer.from(KEY_PEM), 'sealed.yaml': Buffer.from(SEALED_YAML) };
  if (mode.role === 'file' && mode.file) files[mode.file] = bad;
  return { argv: mode.args, files, stdin: mode.role === 'stdin' ? bad : Buffer.from(mode.stdin ?? '') };
}

describe('no input value reaches stderr', () => {
  it('a bug is reported by its type and code location, never by its message (which may quote input)', () => {
    const report = bugReport(new SyntaxError('Unexpected token in "pw: s3cr3t-Zx9pw"'));
    expect(report).toMatch(/^SyntaxError at .*no-echo\.test\.ts:\d+:\d+/);
    expect(report).not.toMatch(/s3cr3t|Unexpected|\/work\//);
  });

  it('in-process, every mode and template (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        secretArb,
        fc.integer({ min: 0, max: templates.length - 1 }),
        fc.integer({ min: 0, max: wrappers.length - 1 }),
        fc.integer({ min: 0, max: modes.length - 1 }),
        async (secret, t, w, m) => {
          const mode = modes[m] as Mode;
          const { argv, files, stdin } = inputFor(mode, (wrappers[w] as (x: string) => Buffer)((templates[t] as (s: string) => string)(secret)));
          const io = fakeIo(files, stdin);
          await kubeseal(argv, io, 'test');
          const stderr = io.stderr.join('\n');
          expect(leaks(stderr, secret), `mode ${m}, template ${t}, wrapper ${w}: ${stderr}`).toBe(false);
          expect(stderr).not.toMatch(/internal error/);
        },
      ),
      { numRuns: 150, interruptAfterTimeLimit: 5_000 },
    );
  }, 30_000);

  it('every template in every mode once, with the review\'s secret', async () => {
    const secret = 's3cr3t-Zx9pw-31337424242';
    for (const [m, mode] of modes.entries()) {
      for (const [t, template] of templates.entries()) {
        const { argv, files, stdin } = inputFor(mode, Buffer.from(template(secret)));
        const io = fakeIo(files, stdin);
        await kubeseal(argv, io, 'test');
        const stderr = io.stderr.join('\n');
        expect(leaks(stderr, secret) || /s3cr3t|Zx9pw|31337/.test(stderr), `mode ${m}, template ${t}: ${stderr}`).toBe(false);
        expect(stderr, `mode ${m}, template ${t}`).not.toMatch(/internal error/);
      }
    }
  }, 30_000);

  it('the real binary, a sample of modes and templates (property)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeseal-no-echo-'));
    writeFileSync(join(dir, 'cert.pem'), CERT_PEM);
    writeFileSync(join(dir, 'key.pem'), KEY_PEM);
    writeFileSync(join(dir, 'sealed.yaml'), SEALED_YAML);
    await fc.assert(
      fc.asyncProperty(
        secretArb,
        fc.integer({ min: 0, max: templates.length - 1 }),
        fc.integer({ min: 0, max: wrappers.length - 1 }),
        fc.integer({ min: 0, max: modes.length - 1 }),
        async (secret, t, w, m) => {
          const mode = modes[m] as Mode;
          const { argv, files, stdin } = inputFor(mode, (wrappers[w] as (x: string) => Buffer)((templates[t] as (s: string) => string)(secret)));
          if (mode.file) writeFileSync(join(dir, mode.file), files[mode.file] as Buffer);
          const result = await runKubeseal(argv, { stdin, cwd: dir });
          expect(leaks(result.stderr, secret), `mode ${m}, template ${t}, wrapper ${w}: ${result.stderr}`).toBe(false);
          expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
        },
      ),
      { numRuns: 10, interruptAfterTimeLimit: 10_000 },
    );
  }, 40_000);
});

