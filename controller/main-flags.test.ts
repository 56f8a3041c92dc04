/** The controller's V8 flags are the same wherever it starts: its own first line, and the image. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('the controller\'s node flags', () => {
  it('are the same in main.ts\'s first line and in the image\'s ENTRYPOINT', () => {
    const shebang = /^#!\/usr\/bin\/env -S node (.+)\n/.exec(read('./main.ts'))?.[1]?.split(' ') ?? [];
    expect(shebang.length).toBeGreaterThan(0);
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.+\])$/m.exec(read('../Dockerfile'))?.[1] ?? '[]') as string[];
    expect(entrypoint).toEqual(['/nodejs/bin/node', ...shebang, '/app/dist/controller/main.js']);
  });
});
