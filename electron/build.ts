/**
 * @file `npm run build:app`: bundles the Electron main process, the sandboxed preload and the
 * engine host with esbuild. Packages stay external (they ship in node_modules, native ones
 * unpacked from the asar), except in the preload, which may only `require('electron')`.
 *
 *   dist/electron/main.js      ESM, Electron main
 *   dist/electron/preload.cjs  CommonJS, one self-contained file (sandboxed preloads cannot load others)
 *   dist/engine/engine-host.js ESM, forked by main as a utilityProcess
 *   dist/engine/photo-worker.js ESM, the indexing pool's worker threads (started by engine-host)
 *   dist/engine/embed-worker.js ESM, the pool's embedding stage on a GPU
 *   dist/engine/knn-worker.js   ESM, the full re-cluster's k-NN worker threads
 *   dist/engine/adaptor-worker.js ESM, the personal metric's background retrain (KITH_ADAPTOR=1)
 */
import { build, type BuildOptions } from 'esbuild';
import { rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Electron 45 runs Node 22 and Chromium 140. */
const NODE_TARGET = 'node22';
const CHROME_TARGET = 'chrome140';

export async function buildApp(root = resolve(dirname(fileURLToPath(import.meta.url)), '..'), outDir = join(root, 'dist')): Promise<void> {
  rmSync(join(outDir, 'electron'), { recursive: true, force: true });
  rmSync(join(outDir, 'engine'), { recursive: true, force: true });
  const common: BuildOptions = {
    absWorkingDir: root,
    bundle: true,
    sourcemap: 'linked',
    logLevel: 'warning',
    legalComments: 'none',
  };
  await Promise.all([
    build({
      ...common,
      entryPoints: ['electron/main.ts'],
      outfile: join(outDir, 'electron', 'main.js'),
      platform: 'node',
      format: 'esm',
      target: NODE_TARGET,
      packages: 'external',
    }),
    build({
      ...common,
      entryPoints: ['electron/preload.ts'],
      outfile: join(outDir, 'electron', 'preload.cjs'),
      platform: 'node',
      format: 'cjs',
      target: [NODE_TARGET, CHROME_TARGET],
      external: ['electron'],
    }),
    // Every package stays in node_modules: better-sqlite3, onnxruntime-node, sharp, hnswlib-node
    // and heic-decode load native code or data files relative to themselves. The workers' bundles
    // sit next to the engine host's, where the modules that start them look (common/worker-entry.ts).
    ...['native/api/engine-host.ts', 'native/pipeline/photo-worker.ts', 'native/pipeline/embed-worker.ts', 'native/search/knn-worker.ts', 'native/people/adaptor-worker.ts'].map((entry) =>
      build({
        ...common,
        entryPoints: [entry],
        outfile: join(outDir, 'engine', `${basename(entry, '.ts')}.js`),
        platform: 'node',
        format: 'esm',
        target: NODE_TARGET,
        packages: 'external',
      }),
    ),
  ]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildApp().then(
    () => console.log('built dist/electron (main, preload) and dist/engine (engine host)'),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
