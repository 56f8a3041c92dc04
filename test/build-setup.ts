/**
 * vitest globalSetup for tests that run the real binaries (dist/): builds the project once per
 * run so a test never runs stale JavaScript. `npm test` builds first anyway; this covers `vitest`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  if (process.env.SKIP_BUILD === '1') return; // for a quick loop on tests that do not run dist/
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
}
