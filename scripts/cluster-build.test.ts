/**
 * scripts/cluster-build.sh's plan for each mode (`--plan` prints the steps a run would take and
 * does nothing): `npm start` / `cluster:up` build only the control plane; `--node` (npm test,
 * `cluster:up -- --node`) adds the node's parts, with every missing Kubernetes binary in one
 * `go build`. The cache is a scratch SEALED_SECRETS_CACHE holding stand-in executables, so no Go
 * build runs here. Debian packages depend on the host, so only their shape is checked.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./cluster-build.sh', import.meta.url));
const CONTROL_PLANE = ['kube-apiserver', 'kube-controller-manager', 'kubectl'];
const NODE_PARTS = ['kubelet', 'kube-scheduler', 'kube-proxy'];
const CONTAINERD = ['containerd', 'containerd-shim-runc-v2', 'ctr'];
const NODE_PACKAGES = ['runc', 'containernetworking-plugins', 'iptables', 'docker.io'];

let cache = '';
const k8sDir = () => join(cache, 'bin', 'k8s-v1.37.2-etcd-v3.6.16');

/** Stand-ins for cached binaries: the script checks only that they are executable. */
function cached(dir: string, names: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, name), 0o755);
  }
}

function run(args: readonly string[], extra: Record<string, string> = {}) {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cache, SEALED_SECRETS_CACHE: cache, ...extra };
  const result = spawnSync('bash', [script, ...args], { env, encoding: 'utf8', timeout: 20_000 });
  const lines = result.stdout.trim().split('\n');
  return { status: result.status, stderr: result.stderr, steps: lines.slice(0, -1), dir: lines.at(-1) };
}

/** The plan's steps other than Debian packages (those depend on what the host has). */
const builds = (steps: readonly string[]) => steps.filter((s) => !s.startsWith('apt-get install: '));

beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), 'cluster-build-'));
});
afterEach(() => {
  rmSync(cache, { recursive: true, force: true });
});

describe('scripts/cluster-build.sh --plan', () => {
  it('on a fresh machine, without --node: the control plane and etcd only, nothing of the node', () => {
    const plan = run(['--plan']);
    expect(plan.status).toBe(0);
    expect(plan.dir).toBe(k8sDir());
    expect(plan.steps).toEqual([`go build k8s.io/kubernetes: ${CONTROL_PLANE.join(' ')}`, 'go build go.etcd.io/etcd/server/v3: etcd']);
  });

  it('on a fresh machine, with --node: all six Kubernetes binaries in one go build, then containerd', () => {
    const plan = run(['--node', '--plan']);
    expect(plan.status).toBe(0);
    expect(plan.dir).toBe(k8sDir());
    expect(builds(plan.steps)).toEqual([
      `go build k8s.io/kubernetes: ${[...CONTROL_PLANE, ...NODE_PARTS].join(' ')}`,
      'go build go.etcd.io/etcd/server/v3: etcd',
      `go build github.com/containerd/containerd/v2: ${CONTAINERD.join(' ')}`,
    ]);
    // Debian's packages, if any are missing here, come before containerd and are the node's.
    const apt = plan.steps.filter((s) => s.startsWith('apt-get install: '));
    expect(apt.length).toBeLessThanOrEqual(1);
    for (const name of apt[0]?.slice('apt-get install: '.length).split(' ') ?? []) expect(NODE_PACKAGES).toContain(name);
  });

  it('after a control-plane build, --node adds just the node\'s three binaries and containerd', () => {
    cached(k8sDir(), [...CONTROL_PLANE, 'etcd']);
    expect(run(['--plan']).steps).toEqual([]);
    expect(builds(run(['--node', '--plan']).steps)).toEqual([
      `go build k8s.io/kubernetes: ${NODE_PARTS.join(' ')}`,
      `go build github.com/containerd/containerd/v2: ${CONTAINERD.join(' ')}`,
    ]);
  });

  it('with everything cached, builds nothing in either mode; FORCE=1 rebuilds', () => {
    cached(k8sDir(), [...CONTROL_PLANE, ...NODE_PARTS, 'etcd']);
    cached(join(cache, 'bin', 'containerd-v2.4.2'), CONTAINERD);
    expect(run(['--plan']).steps).toEqual([]);
    expect(builds(run(['--node', '--plan']).steps)).toEqual([]);
    expect(run(['--plan'], { FORCE: '1' }).steps).toEqual([`go build k8s.io/kubernetes: ${CONTROL_PLANE.join(' ')}`, 'go build go.etcd.io/etcd/server/v3: etcd']);
  });

  it('refuses an unknown argument, naming it', () => {
    const result = run(['--nodes']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^cluster:build: unknown argument --nodes; usage: scripts\/cluster-build.sh \[--node\] \[--plan\]\n$/);
  });
});

describe('scripts/cluster-build.sh (cached control plane, as npm start runs it)', () => {
  it('answers with the directory and touches nothing of the node', () => {
    cached(k8sDir(), [...CONTROL_PLANE, 'etcd']);
    const result = run([]);
    expect(result).toMatchObject({ status: 0, steps: [], dir: k8sDir() });
    expect(result.stderr).toBe(`[cluster:build] cached: ${k8sDir()}\n`);
  });
});
