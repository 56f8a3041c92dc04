/**
 * The one kubeconfig merge: offline sealing (the default namespace, read with `yaml`) and the
 * cluster modes (client-node's parser, cli/kube-connection.ts) load files by the same rules and
 * refuse an unknown --context the same way.
 */
import { mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKubeconfigFile } from './api.ts';
import { resolveConnection } from './kube-connection.ts';
import { loadKubeconfig, readContexts, resolveNamespace } from './kubeconfig.ts';
import { parseOptions } from './options.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubeseal-kubeconfig-'));
const file = (name: string, content: string): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

const first = file('first', `apiVersion: v1
kind: Config
current-context: a
clusters: [{name: a, cluster: {server: 'https://a:6443'}}]
users: [{name: u, user: {token: t}}]
contexts:
- {name: a, context: {cluster: a, user: u, namespace: from-first}}
- {name: bare, context: {cluster: a, user: u}}
`);
const second = file('second', `apiVersion: v1
kind: Config
current-context: b
contexts:
- {name: a, context: {cluster: a, user: u, namespace: shadowed}}
- {name: b, context: {cluster: a, user: u, namespace: from-second}}
`);
const env = { KUBECONFIG: [first, join(dir, 'missing'), file('empty', ''), second].join(delimiter) };

describe('loading kubeconfig files', () => {
  it('reads contexts without the client library; clusters and users are left out', () => {
    expect(readContexts(second, readFileSync(second, 'utf8'))).toEqual({
      clusters: [],
      users: [],
      contexts: [{ name: 'a', cluster: 'a', user: 'u', namespace: 'shadowed' }, { name: 'b', cluster: 'a', user: 'u', namespace: 'from-second' }],
      currentContext: 'b',
    });
  });

  it('skips missing and empty files; the first file to define a name or the current context wins', () => {
    const loaded = loadKubeconfig({ kubeconfig: '', env, parse: readContexts });
    expect(loaded?.data.currentContext).toBe('a');
    expect(loaded?.data.contexts.map((c) => `${c.name}:${c.namespace ?? ''}`)).toEqual(['a:from-first', 'bare:', 'b:from-second']);
    expect(loaded?.source).toBe(`kubeconfig ${first}, ${second}`);
    expect(loadKubeconfig({ kubeconfig: '', env: { KUBECONFIG: join(dir, 'missing') }, parse: readContexts })).toBeUndefined();
  });

  it('a missing --kubeconfig is an error, a malformed file names itself', () => {
    expect(() => loadKubeconfig({ kubeconfig: join(dir, 'missing'), env, parse: readContexts })).toThrow(/^cannot read --kubeconfig ".*missing": no such file; check the path$/);
    const broken = file('broken', 'contexts: [unclosed\n');
    expect(() => loadKubeconfig({ kubeconfig: broken, env, parse: readContexts })).toThrow(/^kubeconfig ".*broken" is not valid: it is not valid YAML \(line \d+, column \d+\); fix it or pass another with --kubeconfig$/);
  });

  it('reads each file once, at most 16 MiB: a larger one is refused by name before any parser sees it', () => {
    const huge = file('huge', 'contexts: []\n');
    truncateSync(huge, 16 * 1024 * 1024 + 1); // sparse: no 16 MiB written
    let parsed = 0;
    const parse = (path: string, text: string) => {
      parsed++;
      return readContexts(path, text);
    };
    expect(() => loadKubeconfig({ kubeconfig: huge, env, parse })).toThrow(/^kubeconfig ".*huge" is larger than 16 MiB, the most kubeseal reads; check that KUBECONFIG and --kubeconfig name kubeconfig files$/);
    expect(() => loadKubeconfig({ kubeconfig: '', env: { KUBECONFIG: [first, huge].join(delimiter) }, parse })).toThrow(/"[^"]*huge" is larger than 16 MiB/);
    expect(parsed).toBe(1); // the first file only; the huge one never reached a parser
    const exact = file('exact', 'contexts: []\n');
    truncateSync(exact, 16 * 1024 * 1024);
    expect(() => loadKubeconfig({ kubeconfig: exact, env, parse: readContexts })).not.toThrow(/larger/);
  });

  it('client-node\'s parser gets the text read once and still resolves relative paths against the file\'s directory', () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const relative = join(sub, 'relative');
    writeFileSync(relative, `apiVersion: v1
kind: Config
current-context: r
clusters: [{name: r, cluster: {server: 'https://r:6443', certificate-authority: ca.pem}}]
users: [{name: u, user: {client-certificate: certs/u.pem, client-key: /abs/u.key}}]
contexts: [{name: r, context: {cluster: r, user: u}}]
`);
    const loaded = loadKubeconfig({ kubeconfig: relative, env: {}, parse: parseKubeconfigFile });
    expect(loaded?.data.clusters[0]?.caFile).toBe(join(sub, 'ca.pem'));
    expect(loaded?.data.users[0]).toMatchObject({ certFile: join(sub, 'certs', 'u.pem'), keyFile: '/abs/u.key' });
  });

  it('a file that cannot be read is one line naming it and the error code', () => {
    const folder = join(dir, 'a-directory');
    mkdirSync(folder);
    expect(() => loadKubeconfig({ kubeconfig: folder, env, parse: readContexts })).toThrow(/^cannot read kubeconfig ".*a-directory" \(EISDIR\); check the path and the file's permissions$/);
  });
});

describe('the default namespace for sealing', () => {
  const ns = (args: string[], environment: Record<string, string> = env) => {
    const { kube, kubeconfig } = parseOptions(args, {});
    return resolveNamespace({ ...kube, kubeconfig, env: environment });
  };

  it('-n wins; else the context\'s namespace; "default" when it names none', () => {
    expect(ns(['-n', 'given'])).toEqual({ namespace: 'given', explicit: true });
    expect(ns([])).toEqual({ namespace: 'from-first', explicit: false });
    expect(ns(['--context', 'b'])).toEqual({ namespace: 'from-second', explicit: false });
    expect(ns(['--context', 'bare'])).toEqual({ namespace: 'default', explicit: false });
    expect(ns([], { KUBECONFIG: join(dir, 'missing') })).toEqual({ explicit: false });
  });

  it('an unknown --context is an error, as on the cluster path (it used to fall back to "default")', () => {
    expect(() => ns(['--context', 'nope'])).toThrow(/^context "nope" not found in kubeconfig .*; check --context/);
    expect(() => ns(['--context', 'nope'], { KUBECONFIG: join(dir, 'missing') })).toThrow(/^context "nope" not found: there is no kubeconfig; check --context and --kubeconfig$/);
    const { kube } = parseOptions(['--context', 'nope'], {});
    expect(() => resolveConnection({ kubeconfig: '', flags: kube, env, parse: readContexts })).toThrow(/^context "nope" not found in kubeconfig .*; check --context/);
  });
});
