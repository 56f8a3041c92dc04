/**
 * A kubeconfig user's credentials as kubectl (client-go's clientcmd) reads them, where
 * @kubernetes/client-node reads them differently. Both the controller and kubeseal's cluster
 * modes load kubeconfigs with client-node, then pass each user through `kubectlUser`:
 *
 * | field                              | kubectl                                              | client-node 2.x            |
 * |------------------------------------|------------------------------------------------------|----------------------------|
 * | `tokenFile`                        | read (relative to the kubeconfig), re-read each minute; wins over `token` | ignored (reads `token-file`): every request 401 |
 * | `token` + `username`/`password`    | refused: one authentication method only              | both sent, token wins      |
 * | `client-certificate` + `-data` (also the key) | refused as invalid configuration          | the file wins              |
 * | `exec.command` with a `/`          | relative to the kubeconfig's directory               | relative to the process    |
 * | `exec` env `KUBERNETES_EXEC_INFO`  | set (plugins read apiVersion/interactive from it)    | not set                    |
 * | `exec` without `apiVersion`, `exec` + `auth-provider` | refused                           | accepted                   |
 * | `auth-provider` gcp / azure        | removed since 1.26: refused, use the exec plugin     | runs its cmd-path          |
 * | `auth-provider` oidc, client certs, token, basic auth, exec | as client-node              | same                       |
 *
 * Pure: the kubeconfig's directory and a readability check are passed in. Messages name the user
 * and the field, never a credential.
 */
import { delimiter, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { UserError } from './errors.ts';
import { quoteName, remoteText } from './untrusted.ts';

/** The parts of a client-node `User` this reads and writes (structural: shared/ does not load client-node). */
export interface KubeUser {
  readonly name: string;
  readonly token?: string | null | undefined;
  readonly username?: string | null | undefined;
  readonly password?: string | null | undefined;
  readonly authProvider?: { name?: string; config?: Record<string, unknown> } | null | undefined;
  readonly exec?: { command?: string; apiVersion?: string; env?: { name: string; value: string }[] | null; [key: string]: unknown } | null | undefined;
}

export interface KubeconfigSource {
  /** Directory of the kubeconfig file that defined the user: relative paths start there. */
  readonly dir: string;
  /** Throws when a file cannot be read (kubectl refuses a tokenFile it cannot read when there is no token). */
  readonly access: (path: string) => void;
}

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function resolve(dir: string, file: string): string {
  return isAbsolute(file) || dir === '' ? file : join(dir, file);
}

/**
 * `parsed` (client-node's reading of users[].user) corrected to kubectl's reading of `raw`, the
 * same entry as parsed YAML. Throws UserError for what kubectl refuses.
 */
export function kubectlUser<T extends KubeUser>(parsed: T, raw: unknown, source: KubeconfigSource): T {
  const user = isMap(raw) ? raw : {};
  const where = `kubeconfig user ${quoteName(parsed.name)}`;
  const invalid = (problem: string): UserError => new UserError(`invalid configuration: ${where}: ${problem}; fix the kubeconfig`);
  const token = text(user.token);
  const tokenFile = text(user.tokenFile);
  if (token !== '' && (text(user.username) !== '' || text(user.password) !== '')) {
    throw invalid('more than one authentication method (token and username/password), only one is allowed');
  }
  for (const [file, data] of [['client-certificate', 'client-certificate-data'], ['client-key', 'client-key-data']] as const) {
    if (text(user[file]) !== '' && text(user[data]) !== '') throw invalid(`both ${file} and ${data} are set, set one`);
  }
  const provider = isMap(user['auth-provider']) ? text(user['auth-provider'].name) : '';
  if (provider === 'gcp' || provider === 'azure') {
    throw invalid(`the ${provider} auth-provider was removed from kubectl in 1.26; use its exec credential plugin (${provider === 'gcp' ? 'gke-gcloud-auth-plugin' : 'kubelogin'}) instead`);
  }
  let result: T = parsed;
  if (isMap(user.exec)) {
    if (provider !== '') throw invalid('auth-provider cannot be combined with an exec plugin');
    const command = text(user.exec.command);
    const apiVersion = text(user.exec.apiVersion);
    if (command === '') throw invalid('exec.command must be set to use an exec plugin');
    if (apiVersion === '') throw invalid('exec.apiVersion must be set to use an exec plugin');
    // client-go: a command with a path separator is relative to the kubeconfig; a bare name is looked up on PATH.
    const resolved = command.includes('/') ? resolve(source.dir, command) : command;
    const info = JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } });
    const env = [...(parsed.exec?.env ?? []).filter((e) => e.name !== 'KUBERNETES_EXEC_INFO'), { name: 'KUBERNETES_EXEC_INFO', value: info }];
    result = { ...result, exec: { ...parsed.exec, command: resolved, env } };
  }
  if (tokenFile !== '') {
    const path = resolve(source.dir, tokenFile);
    let readable = true;
    try {
      source.access(path);
    } catch {
      readable = false;
    }
    if (!readable) {
      if (token === '') throw new UserError(`${where}: cannot read tokenFile "${remoteText(path)}"; fix the path or the file's permissions`);
    } else if (provider === '') {
      // client-go reads the file (re-read every minute) and uses its token over a static one;
      // client-node's tokenFile authenticator does the same re-reading.
      result = { ...result, token: undefined, authProvider: { name: 'tokenFile', config: { tokenFile: path } } };
    }
  }
  return result;
}

/**
 * The users client-node read from one kubeconfig file (`text`, at `path`), each as kubectl reads it.
 * Throws UserError for what kubectl refuses.
 */
export function kubectlUsers<T extends KubeUser>(users: readonly T[], file: { readonly path: string; readonly text: string }, access: (path: string) => void): T[] {
  let doc: unknown;
  try {
    doc = parse(file.text);
  } catch {
    doc = undefined; // client-node parsed it already; its error is the one to show
  }
  const raw = rawUsers(doc);
  const slash = file.path.lastIndexOf('/');
  const source: KubeconfigSource = { dir: slash >= 0 ? file.path.slice(0, slash) || '/' : '', access };
  return users.map((user) => kubectlUser(user, raw.get(user.name), source));
}

/** The raw `user` maps of a parsed kubeconfig document, by user name (the first of a name wins). */
export function rawUsers(doc: unknown): Map<string, unknown> {
  const users = new Map<string, unknown>();
  const list = isMap(doc) && Array.isArray(doc.users) ? doc.users : [];
  for (const entry of list) {
    if (isMap(entry) && typeof entry.name === 'string' && !users.has(entry.name)) users.set(entry.name, entry.user);
  }
  return users;
}

/**
 * The kubeconfig files client-go loads, in merge order: the explicit one alone, else every entry
 * of $KUBECONFIG, else ~/.kube/config.
 */
export function kubeconfigFiles(explicitPath: string, env: Readonly<Record<string, string | undefined>>): string[] {
  if (explicitPath) return [explicitPath];
  const fromEnv = env.KUBECONFIG?.split(delimiter).filter((p) => p !== '');
  if (fromEnv && fromEnv.length > 0) return fromEnv;
  // node:os only when HOME is unset: loading it costs ~1 ms of every command's start-up.
  return [join(env.HOME ?? process.getBuiltinModule('node:os').homedir(), '.kube', 'config')];
}

/**
 * client-node's tokenFile authenticator sends the file as it is, trailing newline included (which
 * node:http refuses); client-go trims it. Call on the headers after client-node applied them.
 */
export function trimAuthorization(headers: Record<string, unknown>): void {
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (name.toLowerCase() === 'authorization' && typeof value === 'string') headers[name] = value.trim();
  }
}
