/**
 * `kubeseal completion bash|zsh|fish`, generated from the flag table: run in the real shells.
 * bash completes through its completion function (COMP_WORDS/COMP_CWORD, as readline calls it),
 * fish through `complete -C`; zsh's completion needs a terminal, so its script is syntax-checked
 * and loaded into compinit. A fake kubectl on PATH stands in for the kubeconfig names.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKubeseal } from '../test/run-cli.ts';
import { longName } from '../shared/flags.ts';
import { completionScript, parseShell, SHELLS } from './completion.ts';
import { SPECS } from './options.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubeseal-completion-'));
const work = join(dir, 'work');
mkdirSync(join(work, 'certs'), { recursive: true });
for (const name of ['sealing-cert.pem', 'secret.yaml', 'second secret.yaml']) writeFileSync(join(work, name), '');
const bin = join(dir, 'bin');
mkdirSync(bin);
// kubectl as the scripts call it: names of contexts, clusters, users, or namespaces, space-separated.
writeFileSync(join(bin, 'kubectl'), '#!/bin/sh\ncase "$*" in\n  *contexts*) echo "prod dev" ;;\n  *namespaces*) echo "kube-system apps" ;;\n  *) echo "other" ;;\nesac\n');
chmodSync(join(bin, 'kubectl'), 0o755);
const env = { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: dir };

const script = (shell: (typeof SHELLS)[number]): string => {
  const file = join(dir, `kubeseal.${shell}`);
  writeFileSync(file, completionScript(shell, SPECS));
  return file;
};
const installed = (shell: string): boolean => spawnSync(shell, ['-c', 'true']).status === 0;
const visible = SPECS.filter((s) => !s.hidden);
const hidden = SPECS.filter((s) => s.hidden);

describe('the scripts come from the flag table', () => {
  it.each(SHELLS)('%s: every visible flag, no hidden one', (shell) => {
    const text = completionScript(shell, SPECS);
    for (const spec of visible) expect(text).toContain(shell === 'fish' ? `-l ${longName(spec)} ` : `--${longName(spec)}`);
    for (const spec of hidden) expect(text).not.toMatch(new RegExp(`-${longName(spec)}\\b(?!-)`));
  });

  it('a flag added to the table is completed without touching the generator', () => {
    const specs = [...SPECS, { flags: '--brand-new <file>', kind: 'string' as const, help: 'A new flag. More text.', complete: 'file' as const }];
    for (const shell of SHELLS) expect(completionScript(shell, specs)).toMatch(/brand-new/);
    expect(completionScript('fish', specs)).toContain("complete -c kubeseal -l brand-new -r -F -d 'A new flag'");
  });

  it('takes exactly one known shell', () => {
    expect(SHELLS.map((s) => parseShell([s]))).toEqual(['bash', 'zsh', 'fish']);
    for (const args of [[], ['tcsh'], ['bash', 'zsh']]) expect(() => parseShell(args)).toThrow(/^kubeseal completion takes one shell: bash, zsh, fish/);
  });
});

describe('bash, in a real bash', () => {
  const file = script('bash');
  /** What _kubeseal offers for the command line `words` (the last one is being completed). */
  const complete = (...words: string[]): string[] => {
    const program = `source ${JSON.stringify(file)}
COMP_WORDS=("$@"); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
_kubeseal
printf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = execFileSync('bash', ['-c', program, 'bash', ...words], { cwd: work, env, encoding: 'utf8' });
    return out.split('\n').filter((line) => line !== '').sort();
  };

  it('is registered for kubeseal', () => {
    expect(execFileSync('bash', ['-c', `source ${JSON.stringify(file)}; complete -p kubeseal`], { env, encoding: 'utf8' }).trim()).toBe('complete -F _kubeseal kubeseal');
  });
  it('completes flag names, long and short, and the subcommand in first place', () => {
    expect(complete('kubeseal', '--for')).toEqual(['--format']);
    expect(complete('kubeseal', '--re')).toEqual(['--re-encrypt', '--recovery-age-identity', '--recovery-private-key', '--recovery-unseal', '--request-timeout']);
    expect(complete('kubeseal', '-')).toEqual(expect.arrayContaining(['-o', '-w', '-f', '-n', '-s', '--cert', '--raw']));
    expect(complete('kubeseal', '--')).not.toContain('--rotate');
    expect(complete('kubeseal', 'co')).toEqual(['completion']);
    expect(complete('kubeseal', 'ke')).toEqual(['keys']);
    expect(complete('kubeseal', '--raw', 'co')).toEqual([]);
    expect(complete('kubeseal', 'completion', '')).toEqual(['bash', 'fish', 'zsh']);
  });
  it('completes file arguments with file names, with spaces and directories', () => {
    expect(complete('kubeseal', '--cert', 'sea')).toEqual(['sealing-cert.pem']);
    expect(complete('kubeseal', '-f', 'sec')).toEqual(['second secret.yaml', 'secret.yaml']);
    expect(complete('kubeseal', '--recovery-private-key', 'ce')).toEqual(['certs']);
    expect(complete('kubeseal', '--kubeconfig', '=', 'sea')).toEqual(['sealing-cert.pem']);
  });
  it('completes fixed values, also after --flag=', () => {
    expect(complete('kubeseal', '-o', '')).toEqual(['json', 'yaml']);
    expect(complete('kubeseal', '--format', '=')).toEqual(['json', 'yaml']);
    expect(complete('kubeseal', '--format', '=', 'y')).toEqual(['yaml']);
    expect(complete('kubeseal', '--scope', 'n')).toEqual(['namespace-wide']);
  });
  it('asks kubectl for contexts and namespaces', () => {
    expect(complete('kubeseal', '--context', '')).toEqual(['dev', 'prod']);
    expect(complete('kubeseal', '-n', 'a')).toEqual(['apps']);
    expect(complete('kubeseal', '--controller-namespace', 'k')).toEqual(['kube-system']);
  });
  it('offers nothing for values it cannot guess, and no flags in place of a value', () => {
    expect(complete('kubeseal', '--name', '')).toEqual([]);
    expect(complete('kubeseal', '--token', '-')).toEqual([]);
    expect(complete('kubeseal', '--raw', '')).toContain('--name');
  });
});

describe.skipIf(!installed('fish'))('fish, in a real fish', () => {
  const file = script('fish');
  const complete = (line: string): string[] => {
    const out = execFileSync('fish', ['--no-config', '-c', `source ${file}; complete -C ${JSON.stringify(line)}`], { cwd: work, env, encoding: 'utf8' });
    return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0] as string).sort();
  };
  it('has valid syntax', () => {
    expect(spawnSync('fish', ['--no-execute', file]).status).toBe(0);
  });
  it('completes flags, files, values and kubectl names', () => {
    expect(complete('kubeseal --for')).toEqual(['--format']);
    expect(complete('kubeseal --cert sea')).toEqual(['sealing-cert.pem']);
    expect(complete('kubeseal -o ')).toEqual(['json', 'yaml']);
    expect(complete('kubeseal --context ')).toEqual(['dev', 'prod']);
    expect(complete('kubeseal completion ')).toEqual(['bash', 'fish', 'zsh']);
    expect(complete('kubeseal sea')).toEqual([]); // no positional arguments: no files
  });
});

/**
 * Drives an interactive zsh in a pseudo-terminal (zsh/zpty): types the line and TAB, bound to
 * list-choices, and prints the screen. Completion is only possible inside the line editor.
 */
const ZSH_DRIVER = `zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1='> '; autoload -Uz compinit; compinit -u -d $ZDUMP; source $SCRIPT; LISTMAX=1000; bindkey '^I' list-choices; print READY"
zpty -r z line '*READY*'
zpty -r z line '*READY*'
zpty -w -n z "$LINE"$'\\t'
out=''
for i in {1..50}; do
  sleep 0.2
  while zpty -r -t z chunk; do out+=$chunk; done
  [[ -n $out ]] && (( i > 2 )) && break
done
print -r -- "$out"
zpty -d z
`;

describe.skipIf(!installed('zsh'))('zsh, in a real zsh', () => {
  const file = script('zsh');
  const driver = join(dir, 'driver.zsh');
  writeFileSync(driver, ZSH_DRIVER);
  /** The words zsh lists after TAB at the end of `line`. */
  let calls = 0;
  const complete = (line: string): string[] => {
    // A fresh compinit dump each time: zsh can wait forever on one another zsh left behind.
    const dump = join(dir, `zcompdump-${++calls}`);
    const out = execFileSync('zsh', ['-f', driver], { cwd: work, env: { ...env, ZDUMP: dump, SCRIPT: file, LINE: line }, encoding: 'utf8', timeout: 20_000 });
    // eslint-disable-next-line no-control-regex
    const screen = out.replace(/\x1b\[[0-9;?]*[A-Za-z]|[\x07\x08]/g, '').split(/\r?\n|\r/);
    const start = screen.findIndex((l) => l.includes(line.trim()));
    return screen.slice(start + 1).flatMap((l) => l.split(/\s{2,}|\s+(?=--)/)).map((w) => w.trim().split(/\s+/)[0] ?? '').filter((w) => w !== '' && !w.includes(line.trim()));
  };
  it('completes flags, files, values and kubectl names through _arguments', () => {
    expect(complete('kubeseal --form')).toContain('--format');
    expect(complete('kubeseal -o ')).toEqual(expect.arrayContaining(['json', 'yaml']));
    expect(complete('kubeseal --cert ')).toEqual(expect.arrayContaining(['sealing-cert.pem', 'certs/']));
    expect(complete('kubeseal --context ')).toEqual(expect.arrayContaining(['dev', 'prod']));
    expect(complete('kubeseal completion ')).toEqual(expect.arrayContaining(['bash', 'fish', 'zsh']));
  });
  it('has valid syntax and registers _kubeseal with compinit', () => {
    expect(spawnSync('zsh', ['-n', file]).status).toBe(0);
    const out = execFileSync('zsh', ['-fc', `autoload -Uz compinit; compinit -u -d ${dir}/zcompdump-registered; source ${file}; print -r -- $_comps[kubeseal]; whence -w _kubeseal __kubeseal_list_context`], { env, encoding: 'utf8' });
    expect(out.trim().split('\n')).toEqual(['_kubeseal', '_kubeseal: function', '__kubeseal_list_context: function']);
  });
});

describe('kubeseal completion, the command', () => {
  it('prints the script and exits 0; a wrong shell is a usage error', async () => {
    const ok = await runKubeseal(['completion', 'bash']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.toString()).toBe(completionScript('bash', SPECS));
    const bad = await runKubeseal(['completion', 'powershell']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('error: kubeseal completion takes one shell: bash, zsh, fish (e.g. source <(kubeseal completion bash))\n');
  });
});
