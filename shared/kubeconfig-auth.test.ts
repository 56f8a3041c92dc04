import { describe, expect, it } from 'vitest';
import { kubectlUser, kubectlUsers, trimAuthorization, type KubeUser } from './kubeconfig-auth.ts';

const readableFiles = new Set(['/home/me/.kube/token', '/abs/token']);
const access = (path: string) => {
  if (!readableFiles.has(path)) throw new Error('ENOENT');
};
const source = { dir: '/home/me/.kube', access };
const fix = (raw: Record<string, unknown>, parsed: Partial<KubeUser> = {}) => kubectlUser({ name: 'me', ...parsed }, raw, source);

describe('kubeconfig users as kubectl reads them', () => {
  it('tokenFile: relative to the kubeconfig, read by the re-reading tokenFile authenticator, over a static token', () => {
    expect(fix({ tokenFile: 'token' })).toEqual({ name: 'me', token: undefined, authProvider: { name: 'tokenFile', config: { tokenFile: '/home/me/.kube/token' } } });
    expect(fix({ tokenFile: '/abs/token', token: 'static' }, { token: 'static' })).toMatchObject({ token: undefined, authProvider: { config: { tokenFile: '/abs/token' } } });
  });

  it('tokenFile that cannot be read: refused without a token (as kubectl), the token used with one', () => {
    expect(() => fix({ tokenFile: 'missing' })).toThrow('kubeconfig user "me": cannot read tokenFile "/home/me/.kube/missing"; fix the path or the file\'s permissions');
    expect(fix({ tokenFile: 'missing', token: 'static' }, { token: 'static' })).toEqual({ name: 'me', token: 'static' });
  });

  it.each([
    [{ token: 'a-token', username: 'u', password: 'p' }, /more than one authentication method \(token and username\/password\)/],
    [{ 'client-certificate': 'c.pem', 'client-certificate-data': 'Y2VydA==', 'client-key': 'k.pem' }, /both client-certificate and client-certificate-data are set/],
    [{ 'client-certificate': 'c.pem', 'client-key': 'k.pem', 'client-key-data': 'a2V5' }, /both client-key and client-key-data are set/],
    [{ 'auth-provider': { name: 'gcp', config: {} } }, /the gcp auth-provider was removed from kubectl in 1\.26; use its exec credential plugin \(gke-gcloud-auth-plugin\)/],
    [{ 'auth-provider': { name: 'azure', config: {} } }, /the azure auth-provider was removed/],
    [{ exec: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1' }, 'auth-provider': { name: 'oidc', config: {} } }, /auth-provider cannot be combined with an exec plugin/],
    [{ exec: { command: 'x' } }, /exec.apiVersion must be set/],
    [{ exec: { apiVersion: 'client.authentication.k8s.io/v1' } }, /exec.command must be set/],
  ])('refuses what kubectl refuses: %j', (raw, message) => {
    let error: Error | undefined;
    try {
      fix(raw);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(/^invalid configuration: kubeconfig user "me": /);
    expect(error?.message).toMatch(message);
    // never a credential in the message
    expect(error?.message).not.toMatch(/a-token|Y2VydA|a2V5/);
  });

  it('exec: a command with a path is relative to the kubeconfig, a bare one is looked up on PATH; KUBERNETES_EXEC_INFO is set', () => {
    const exec = { command: './bin/plugin', apiVersion: 'client.authentication.k8s.io/v1', env: [{ name: 'A', value: '1' }] };
    const fixed = fix({ exec }, { exec });
    expect(fixed.exec?.command).toBe('/home/me/.kube/bin/plugin');
    expect(fixed.exec?.env).toEqual([{ name: 'A', value: '1' }, { name: 'KUBERNETES_EXEC_INFO', value: '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}' }]);
    expect(fix({ exec: { ...exec, command: 'gke-gcloud-auth-plugin' } }, { exec }).exec?.command).toBe('gke-gcloud-auth-plugin');
  });

  it('leaves what client-node reads as kubectl does alone: token, client certificates, basic auth, oidc', () => {
    for (const raw of [{ token: 't' }, { 'client-certificate-data': 'Yw==', 'client-key-data': 'aw==' }, { username: 'u', password: 'p' }, { 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } }]) {
      const parsed = { name: 'me', token: 't' };
      expect(kubectlUser(parsed, raw, source)).toBe(parsed);
    }
  });

  it('kubectlUsers reads a whole file, by user name, relative to its directory', () => {
    const text = 'users:\n- name: a\n  user:\n    tokenFile: token\n- name: b\n  user:\n    token: t\n';
    const users = kubectlUsers([{ name: 'a' }, { name: 'b', token: 't' }], { path: '/home/me/.kube/config', text }, access);
    expect(users).toEqual([{ name: 'a', token: undefined, authProvider: { name: 'tokenFile', config: { tokenFile: '/home/me/.kube/token' } } }, { name: 'b', token: 't' }]);
  });

  it('trims a token file\'s trailing newline from the Authorization header, as client-go does', () => {
    const headers: Record<string, unknown> = { Authorization: 'Bearer abc\n', Accept: 'x\n' };
    trimAuthorization(headers);
    expect(headers).toEqual({ Authorization: 'Bearer abc', Accept: 'x\n' });
  });
});
