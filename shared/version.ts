/**
 * Our version ("v" + package.json's), as both binaries print it. The compiled layout differs from
 * the source tree (dist/cli/, dist/bin/, cli/), so look in the parent and grandparent folders of
 * the calling module. Reading is injected to keep this module free of I/O.
 */
export function packageVersion(moduleUrl: string, read: (url: URL) => string): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(read(new URL(path, moduleUrl))) as { name?: string; version?: string };
      if (pkg.name === 'sealed-secrets-ts' && pkg.version) return `v${pkg.version}`;
    } catch {
      // not here: try the next folder up
    }
  }
  return 'UNKNOWN';
}
