import { describe, expect, it } from 'vitest';
import { inClusterAccess, runsInCluster } from './in-cluster.ts';

function files(initial: Record<string, string>) {
  const contents = new Map(Object.entries(initial));
  const reads: string[] = [];
  return {
    contents,
    reads,
    readFile: (path: string) => {
      reads.push(path);
      const name = path.split('/').pop() ?? '';
      const value = contents.get(name);
      if (value === undefined) throw Object.assign(new Error('gone'), { code: 'ENOENT' });
      return value;
    },
  };
}

describe('in-cluster access', () => {
  it('is used only in a pod without a kubeconfig', () => {
    expect(runsInCluster(undefined, { KUBERNETES_SERVICE_HOST: '10.0.0.1' })).toBe(true);
    expect(runsInCluster('/k', { KUBERNETES_SERVICE_HOST: '10.0.0.1' })).toBe(false);
    expect(runsInCluster(undefined, { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBECONFIG: '/k' })).toBe(false);
    expect(runsInCluster(undefined, {})).toBe(false);
  });

  it('addresses the service as client-go does, IPv6 in brackets, 443 by default', () => {
    const fs = files({ 'ca.crt': 'CA', token: 't' });
    expect(inClusterAccess({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '6443' }, readFile: fs.readFile }).server).toBe('https://10.96.0.1:6443');
    expect(inClusterAccess({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1' }, readFile: fs.readFile }).server).toBe('https://[fd00::1]:443');
  });

  it('sends the token trimmed, reads it again after a minute, keeps the last one if a re-read fails', async () => {
    const fs = files({ 'ca.crt': 'CA', token: 'first\n' });
    let now = 0;
    const access = inClusterAccess({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, readFile: fs.readFile, now: () => now });
    expect(await access.headers('https://x/', 'GET')).toEqual({ authorization: 'Bearer first' });
    fs.contents.set('token', 'second');
    now = 59_000;
    expect(await access.headers('https://x/', 'GET')).toEqual({ authorization: 'Bearer first' });
    now = 60_000;
    expect(await access.headers('https://x/', 'GET')).toEqual({ authorization: 'Bearer second' });
    fs.contents.delete('token');
    now = 200_000;
    expect(await access.headers('https://x/', 'GET')).toEqual({ authorization: 'Bearer second' });
  });

  it('fails with one line naming the file and the fix when the CA or the first token is missing, never a token', async () => {
    expect(() => inClusterAccess({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, readFile: files({ token: 'secret-token' }).readFile }))
      .toThrow('in-cluster configuration: cannot read the cluster CA /var/run/secrets/kubernetes.io/serviceaccount/ca.crt (ENOENT); mount the ServiceAccount token or pass --kubeconfig');
    const access = inClusterAccess({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, readFile: files({ 'ca.crt': 'CA' }).readFile });
    await expect(access.headers('https://x/', 'GET')).rejects.toThrow(/cannot read the ServiceAccount token .*token \(ENOENT\)/);
  });
});
