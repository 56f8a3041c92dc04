/**
 * kubeseal in-process, through its entry point `kubeseal(argv, io, version)` and the `Io` seam:
 * which mode a combination of flags runs (upstream's precedence), what reaches stdout, stderr and
 * files, and the exit codes. Files live in memory here; the compiled binary with real files and
 * processes is cli/kubeseal.test.ts.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture, sealingKey } from '../test/fixtures/fixtures.ts';
import { UserError } from '../shared/errors.ts';
import { readSealedSecret } from '../shared/kube.ts';
import { parseDocuments } from '../shared/manifest.ts';
import { unsealSealedSecret } from '../shared/sealed-secret.ts';
import type { Io } from './io.ts';
import { kubeseal } from './main.ts';

const CERT = readFixture('sealing-cert.pem');
const SECRET = 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: demo}\nstringData: {password: s3cr3t}\n';
const SEALED = readFixture('upstream-strict.yaml');

interface Run {
  code: number;
  stdout: string;
  stderr: string[];
  files: Map<string, Buffer>;
  /** Files written, in order, with their `secret` flag. */
  written: { path: string; secret: boolean }[];
}

/** Runs kubeseal against in-memory files and stdin; `env` replaces the environment entirely. */
async function run(argv: string[], options: {
  stdin?: string;
  files?: Record<string, string>;
  env?: Record<string, string>;
  stderrIsTty?: boolean;
  /** Replaces parts of the in-memory Io. */
  io?: Partial<Io>;
} = {}): Promise<Run> {
  const files = new Map(Object.entries({ 'cert.pem': CERT, ...options.files }).map(([k, v]) => [k, Buffer.from(v)]));
  const out: Buffer[] = [];
  const stderr: string[] = [];
  const written: Run['written'] = [];
  let stdinReads = 0;
  const io: Io = {
    readStdin: async () => {
      if (stdinReads++ > 0) throw new Error('stdin read twice');
      return Buffer.from(options.stdin ?? '');
    },
    readFile: (path, what) => {
      const content = files.get(path);
      if (!content) throw new UserError(`cannot read ${what} "${path}": no such file; check the path`);
      return content;
    },
    readDirectory: () => undefined,
    writeStderr: () => undefined,
    writeFileAtomic: (path, content, opts) => {
      files.set(path, Buffer.from(content));
      written.push({ path, secret: opts?.secret === true });
    },
    writeStdout: (content) => {
      out.push(Buffer.from(content));
    },
    warn: (message) => {
      stderr.push(message);
    },
    stdinIsTty: false,
    stderrIsTty: options.stderrIsTty ?? false,
    env: { KUBECONFIG: '/nonexistent/kubeconfig', ...options.env },
    now: () => new Date('2026-01-01T00:00:00Z'),
    random: (size) => new Uint8Array(size).fill(7),
  };
  const code = await kubeseal(argv, { ...io, ...options.io }, '1.2.3-test');
  return { code, stdout: Buffer.concat(out).toString(), stderr, files, written };
}

const opened = (text: string) => parseDocuments(text).map((doc) => unsealSealedSecret(readSealedSecret(doc, 'output'), { keys: [sealingKey()] }).secret);
const needsCluster = (mode: string) => new RegExp(`^error: ${mode} needs the cluster, but no kubeconfig was found`);

describe('which mode runs (upstream\'s precedence)', () => {
  it('--help before everything (also before --version, as upstream), --version next: neither reads input or certificate', async () => {
    for (const argv of [['--version', '--help'], ['--help', '--version'], ['--help', '--validate', '--re-encrypt']]) {
      const help = await run([...argv, '--recovery-unseal', '--cert', 'absent.pem']);
      expect(help.code, argv.join(' ')).toBe(0);
      expect(help.stdout, argv.join(' ')).toMatch(/^Usage: kubeseal \[options\]/);
      expect(help.stderr).toEqual([]);
    }
    const version = await run(['--version', '--recovery-unseal', '--validate', '--cert', 'absent.pem']);
    expect(version).toMatchObject({ code: 0, stdout: 'kubeseal version: 1.2.3-test\n', stderr: [] });
  });

  it('flag checks come before any mode', async () => {
    const result = await run(['--recovery-unseal', '--from-file', 'x', '--cert', 'cert.pem'], { stdin: SEALED });
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: ['error: --from-file requires --raw'] });
  });

  it('--recovery-unseal wins over --validate, --re-encrypt and sealing, and writes its file as a secret', async () => {
    const result = await run(['--recovery-unseal', '--recovery-private-key', 'key.pem', '--validate', '--re-encrypt', '--cert', 'cert.pem', '--raw', '-o', 'yaml', '-w', 'out.yaml'], {
      stdin: SEALED,
      files: { 'key.pem': readFixture('sealing-key.pem') },
    });
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: [] });
    expect(result.written).toEqual([{ path: 'out.yaml', secret: true }]);
    expect(result.files.get('out.yaml')?.toString()).toBe(readFixture('upstream-unsealed.yaml'));
  });

  it('--validate wins over --re-encrypt and --fetch-cert; --re-encrypt over --fetch-cert and sealing', async () => {
    expect((await run(['--validate', '--re-encrypt', '--fetch-cert'], { stdin: SEALED })).stderr).toEqual([expect.stringMatching(needsCluster('--validate'))]);
    expect((await run(['--re-encrypt', '--fetch-cert', '--raw'], { stdin: SEALED })).stderr).toEqual([expect.stringMatching(needsCluster('--re-encrypt'))]);
  });

  it('--validate and --re-encrypt ignore --cert: they always ask the controller', async () => {
    const result = await run(['--re-encrypt', '--cert', 'cert.pem'], { stdin: SEALED });
    expect(result.code).toBe(1);
    expect(result.stderr).toEqual([expect.stringMatching(needsCluster('--re-encrypt'))]);
  });

  it('--fetch-cert prints the --cert bytes unchanged, before --merge-into and --raw', async () => {
    const result = await run(['--fetch-cert', '--cert', 'cert.pem', '--merge-into', 'sealed.json', '--raw', '--name', 'n', '-n', 'ns'], { files: { 'sealed.json': '{}' } });
    expect(result).toMatchObject({ code: 0, stdout: CERT, stderr: [], written: [] });
  });

  it('without --cert the certificate comes from the cluster, for --fetch-cert and sealing alike', async () => {
    for (const argv of [['--fetch-cert'], [], ['--raw', '--name', 'n', '-n', 'ns']]) {
      const result = await run(argv, { stdin: SECRET });
      expect(result.code).toBe(1);
      expect(result.stderr).toEqual([expect.stringMatching(needsCluster('fetching the certificate'))]);
    }
  });

  it('--merge-into wins over --raw and -w: it updates the file in place', async () => {
    const first = await run(['--cert', 'cert.pem'], { stdin: SECRET });
    const result = await run(['--cert', 'cert.pem', '--merge-into', 'sealed.json', '--raw', '--name', 'db', '-n', 'demo', '-w', 'other.json'], {
      stdin: 'apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: demo}\nstringData: {token: t0k}\n',
      files: { 'sealed.json': first.stdout },
    });
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: [] });
    expect(result.written).toEqual([{ path: 'sealed.json', secret: false }]);
    const [merged] = opened(result.files.get('sealed.json')?.toString() ?? '');
    expect(Object.keys(merged?.data ?? {}).sort()).toEqual(['password', 'token']);
  });

  it('--raw seals stdin as one value; plain sealing reads a Secret', async () => {
    const raw = await run(['--cert', 'cert.pem', '--raw', '--name', 'db', '-n', 'demo'], { stdin: 'not a manifest' });
    expect(raw.code).toBe(0);
    expect(raw.stdout).toMatch(/^Ag[A-Za-z0-9+/]+=*$/);
    const sealed = await run(['--cert', 'cert.pem', '-w', 'out.yaml'], { stdin: SECRET });
    expect(sealed).toMatchObject({ code: 0, stdout: '', written: [{ path: 'out.yaml', secret: false }] });
    expect(opened(sealed.files.get('out.yaml')?.toString() ?? '')[0]?.data).toEqual({ password: Buffer.from('s3cr3t').toString('base64') });
  });

  it('warns about --recovery-private-key without --recovery-unseal, only on a terminal', async () => {
    const args = ['--cert', 'cert.pem', '--recovery-private-key', 'key.pem'];
    expect((await run(args, { stdin: SECRET, stderrIsTty: true })).stderr).toEqual(['warning: ignoring --recovery-private-key because unseal command not chosen with --recovery-unseal']);
    expect((await run(args, { stdin: SECRET })).stderr).toEqual([]);
  });
});

describe('the exit code and the one error line', () => {
  it('a failure writes nothing: no output file, no stdout', async () => {
    const result = await run(['--cert', 'cert.pem', '-w', 'out.json'], { stdin: 'kind: Secret\nmetadata: {name: a}\n' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.written).toEqual([]);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(/^error: /);
  });

  it('usage errors exit 2', async () => {
    expect(await run(['--scope', 'galaxy', '--cert', 'cert.pem'], { stdin: SECRET })).toMatchObject({ code: 2, stderr: [expect.stringMatching(/^error: invalid --scope "galaxy"/)] });
  });

  it('kubeseal keys over a directory reads each file when its turn comes, not all of them first (memory: one file)', async () => {
    const contents: Record<string, string> = { 'key.pem': readFixture('sealing-key.pem'), 'dir/a.yaml': 'kind: [', 'dir/b.yaml': readFixture('upstream-strict.yaml') };
    const events: string[] = [];
    const result = await run(['keys', '--recovery-private-key', 'key.pem', 'dir'], {
      io: {
        readDirectory: (path) => (path === 'dir' ? [{ name: 'a.yaml', directory: false, file: true }, { name: 'b.yaml', directory: false, file: true }] : undefined),
        readFile: (path) => {
          events.push(`read ${path}`);
          return Buffer.from(contents[path] ?? '');
        },
        warn: (message) => {
          events.push(`warn ${message.split(':')[0]}`);
        },
      },
    });
    expect(result.code).toBe(0);
    expect(events).toEqual(['read key.pem', 'read dir/a.yaml', 'warn warning', 'read dir/b.yaml']);
  });

  it('anything but a UserError is reported as a bug, in one line, exit 1', async () => {
    const result = await run(['--cert', 'cert.pem'], { io: { readStdin: () => Promise.reject(new TypeError('boom')) } });
    expect(result).toMatchObject({ code: 1, stdout: '', stderr: [expect.stringMatching(/^error: internal error, this is a bug; please report it with the command you ran \(not its input\): TypeError\b/)] });
    expect(result.stderr.join('')).not.toContain('boom');
  });
});

describe('the cluster modes in-process (a fake API server on loopback, plain HTTP as `kubectl proxy`)', () => {
  let server: Server;
  let base = '';
  const asked: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      asked.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => {
        if (req.url?.endsWith('/services/sealed-secrets-controller')) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Service', spec: { ports: [{ name: 'http', port: 8080 }] } }));
        } else if (req.url?.endsWith('/proxy/v1/verify')) {
          res.writeHead(200).end();
        } else if (req.url?.endsWith('/proxy/v1/cert.pem')) {
          res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(CERT);
        } else {
          res.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('--validate --re-encrypt validates only: one /v1/verify, nothing printed', async () => {
    asked.length = 0;
    const result = await run(['--server', base, '--token', 't', '--validate', '--re-encrypt'], { stdin: SEALED });
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: [] });
    expect(asked).toEqual(['GET /api/v1/namespaces/kube-system/services/sealed-secrets-controller', 'POST /api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/verify']);
  });

  it('sealing without --cert fetches the certificate, then seals', async () => {
    asked.length = 0;
    const result = await run(['--server', base, '--token', 't'], { stdin: SECRET });
    expect(result.code).toBe(0);
    expect(opened(result.stdout)[0]?.metadata?.name).toBe('db');
    expect(asked.at(-1)).toBe('GET /api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem');
  });
});
