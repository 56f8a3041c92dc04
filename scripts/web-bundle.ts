/**
 * The sealing page (web/), bundled for the browser into dist/web/ (run by scripts/bundle.ts, the
 * last step of `npm run build`; the controller serves this folder, see controller/web.ts):
 *
 *   index.html            the page; every URL in it is relative
 *   assets/page.js        web/page.ts and the shared/ code it seals with, as an ES module
 *   assets/chunk-*.js     the template engine, loaded only for the template preview
 *   assets/page.css, assets/icon.svg
 *
 * platform "browser": a node: import anywhere on the page's path fails the build, except the two
 * the template preview maps to web/preview-shims.ts.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';

/** shared/template's node:crypto and node:net, for the preview only (what needs them says it cannot). */
const previewShims = (root: string): Plugin => ({
  name: 'preview-shims',
  setup(b) {
    b.onResolve({ filter: /^node:(crypto|net)$/ }, (args) => {
      if (!args.importer.includes(join('shared', 'template'))) return { errors: [{ text: `the page must not import ${args.path} (from ${args.importer})` }] };
      return { path: join(root, 'web/preview-shims.ts') };
    });
  },
});

export async function buildWeb(root: string): Promise<void> {
  const outDir = join(root, 'dist/web');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'assets'), { recursive: true });
  await build({
    entryPoints: [join(root, 'web/page.ts')],
    outdir: join(outDir, 'assets'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    minify: true,
    // sprig.ts's Buffer (b64enc, hex formatting), for the preview: the shim's, not a global.
    inject: [join(root, 'web/preview-shims.ts')],
    plugins: [previewShims(root)],
    chunkNames: 'chunk-[hash]',
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(root, 'web/index.html'), join(outDir, 'index.html'));
  copyFileSync(join(root, 'web/page.css'), join(outDir, 'assets/page.css'));
  copyFileSync(join(root, 'web/icon.svg'), join(outDir, 'assets/icon.svg'));
}
