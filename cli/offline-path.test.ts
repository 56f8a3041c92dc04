/**
 * Heavy modules load only on the paths that need them (ARCHITECTURE.md): kubeseal's static import
 * graph, which every command evaluates at start-up, must not reach the template engine, the
 * Kubernetes client or express. They come in through import() on the modes that use them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Static value imports and re-exports of a TypeScript file (type-only imports are erased). */
function staticImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of source.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) specifiers.push(match[1] as string);
  return specifiers;
}

function graph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    const rel = relative(root, file);
    if (seen.has(rel)) return;
    seen.add(rel);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else seen.add(spec);
    }
  };
  visit(join(root, entry));
  return seen;
}

describe('kubeseal start-up loads only what sealing needs', () => {
  it('the static import graph from cli/main.ts reaches neither the template engine nor the cluster libraries', () => {
    const reached = [...graph('cli/main.ts')];
    expect(reached).toContain('shared/sealed-secret.ts');
    expect(reached.filter((f) => f.startsWith('shared/template/'))).toEqual([]);
    expect(reached.filter((f) => /^(@kubernetes\/client-node|express|undici)/.test(f))).toEqual([]);
  });

  it('--recovery-unseal loads the template engine itself only through import()', () => {
    expect([...graph('cli/recover.ts')].filter((f) => f.startsWith('shared/template/'))).toEqual([]);
    expect(readFileSync(join(root, 'cli/recover.ts'), 'utf8')).toContain("import('../shared/template/unseal-renderer.ts')");
  });
});
