#!/usr/bin/env node
// Entry point of `kith`/`npx kith`. Kith's native modules need Node >= 22; when the shell's
// node is older, re-run under the Node 22 that the project installs (npm package `node`).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Before anything can load ONNX Runtime, here and in the Node 22 child: no telemetry (native/pipeline/no-telemetry.ts).
process.env.ORT_DISABLE_TELEMETRY = '1';
// Before anything uses libuv's thread pool (tsx's loader does): a thread per core and two, as
// native/common/libuv-threads.ts says why; this file cannot import TypeScript yet.
process.env.UV_THREADPOOL_SIZE ||= String(Math.max(4, availableParallelism() + 2));

const here = dirname(fileURLToPath(import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major < 22) {
  const require = createRequire(import.meta.url);
  let node22;
  try {
    node22 = join(dirname(require.resolve('node/package.json')), 'bin', 'node');
  } catch {
    console.error(`kith: needs Node 22 or newer (this is ${process.version}); run \`npm install\` in the Kith folder`);
    process.exit(1);
  }
  // The child writes straight to our stdout and stderr (inherited), so they are complete when it ends.
  const run = spawnSync(node22, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  // run() exits only once stdout has been delivered: `kith export --json | jq` gets all of it.
  const { run } = await import(join(here, '..', 'native', 'cli', 'cli.ts'));
  await run(process.argv.slice(2));
}
