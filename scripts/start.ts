/**
 * `npm start`: run the controller. Against the configured cluster ($KUBECONFIG, ~/.kube/config,
 * or in-cluster) when there is one; otherwise against a local control plane (etcd +
 * kube-apiserver built from the Go module proxy, see docs/development.md) that it starts in the
 * background, with the SealedSecret CRD installed. Extra arguments go to the controller:
 *   npm start -- --log-level DEBUG
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLocalCluster } from './cluster/local-cluster.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const controller = join(root, 'dist/controller/main.js');
const args = process.argv.slice(2);
const env: Record<string, string | undefined> = { ...process.env };

const configured = Boolean(env.KUBECONFIG) || existsSync(join(homedir(), '.kube', 'config')) || Boolean(env.KUBERNETES_SERVICE_HOST) || args.some((a) => a.startsWith('--kubeconfig'));
let kubectl = 'kubectl';
if (configured) {
  console.log('Running the controller against the configured cluster (install the CRD first: kubectl apply -f crds/sealedsecret.yaml).');
} else {
  console.log('No cluster configured: starting a local control plane (the first run builds it, which takes a few minutes)...');
  const local = await ensureLocalCluster({ log: (m) => console.log(`  ${m}`) });
  env.KUBECONFIG = local.kubeconfigPath;
  kubectl = local.kubectlPath;
  console.log(`Local control plane ${local.started ? 'started' : 'already running'} at ${local.server}.`);
}
env.POD_NAMESPACE ??= 'kube-system';
const listen = args.some((a) => a.startsWith('--listen-addr')) ? [] : ['--listen-addr', '127.0.0.1:8080'];
const metrics = args.some((a) => a.startsWith('--listen-metrics-addr')) ? [] : ['--listen-metrics-addr', '127.0.0.1:8081'];
const http = (listen[1] ?? '127.0.0.1:8080');

console.log(`
Seal a secret against it (in another terminal):
  export KUBECONFIG=${env.KUBECONFIG ?? '~/.kube/config'}
  ${kubectl} create namespace demo
  ${kubectl} create secret generic db -n demo --from-literal=password=s3cr3t --dry-run=client -o yaml \\
    | node ${join(root, 'dist/bin/kubeseal.js')} --cert http://${http}/v1/cert.pem -o yaml > db-sealed.yaml
  ${kubectl} apply -f db-sealed.yaml && ${kubectl} get secret db -n demo -o yaml
${configured ? '' : 'Stop the local control plane with: npm run cluster:down\n'}`);

const child = spawn(process.execPath, [controller, ...listen, ...metrics, ...args], { env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGUSR1'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
