/**
 * The controller's bundle, made over its tsc output (dist/controller/): by `npm run bundle` and by
 * the Dockerfile's build stage, which runs only this and the web page's bundle.
 */
import { readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build, type Plugin } from 'esbuild';

/**
 * body-parser and raw-body require iconv-lite (~490 KB of encoding tables) to decode text bodies;
 * the controller reads bodies only as raw bytes (express.raw), which never calls it. A stand-in
 * that fails loudly keeps those tables out of the controller's bundle and memory.
 */
const noIconv: Plugin = {
  name: 'no-iconv',
  setup(builder) {
    builder.onResolve({ filter: /^iconv-lite$/ }, () => ({ path: 'iconv-lite', namespace: 'no-iconv' }));
    builder.onLoad({ filter: /.*/, namespace: 'no-iconv' }, () => ({
      contents: "const refuse = () => { throw new Error('text request bodies are not supported: the controller reads raw bytes only (iconv-lite is not bundled)'); };\n" +
        'module.exports = { encodingExists: () => false, getDecoder: refuse, decode: refuse, encode: refuse };',
      loader: 'js',
    }));
  },
};

/**
 * The controller as ES module chunks over its tsc output: main.js and template-worker.js (the
 * template thread's entry) are replaced in place, their modules and libraries bundled, minified
 * (whitespace and syntax; names stay, as errors and logs show them), and what is imported lazily
 * (kubeconfig access, undici, client-node) stays lazy: a chunk of its own, or outside.
 *
 * Why: one file instead of ~200 modules spares the ES loader's per-module work and the sources
 * it keeps, ~5 MiB of RSS and ~50 ms of start-up (docs/benchmarks.md). The files keep their places,
 * so `import.meta.url` paths (package.json, dist/web/, the worker) resolve as before; tsc's
 * separate modules are removed once bundled.
 */
export async function bundleController(root: string): Promise<void> {
  const dir = join(root, 'dist/controller');
  const result = await build({
    entryPoints: [join(dir, 'main.js'), join(dir, 'template-worker.js')],
    metafile: true,
    outdir: dir,
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    chunkNames: 'chunk-[hash]',
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minifyWhitespace: true,
    minifySyntax: true,
    external: ['@kubernetes/client-node', 'undici'],
    // The CommonJS libraries (express, prom-client) require builtins; an ES bundle has no require.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    plugins: [noIconv],
    logLevel: 'warning',
  });
  // tsc's separate modules are now inside the bundle: remove them, so that nothing runs them by mistake.
  const made = new Set(Object.keys(result.metafile.outputs).map((file) => basename(file)));
  for (const name of readdirSync(dir)) if (!made.has(name)) rmSync(join(dir, name));
}

