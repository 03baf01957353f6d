/**
 * @file One timed Kith indexing run, shared by both benchmarks. Models are loaded and warmed
 * before the clock starts (indexFolder then finds the sessions in the runtime's cache), so the
 * wall time is throughput, not start-up.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadDetector } from '../native/pipeline/detect.ts';
import { DEFAULT_EMBEDDER, Embedder } from '../native/pipeline/embed.ts';
import { indexFolder, type IndexSummary } from '../native/indexing/indexer.ts';
import { MODELS_DIR, type DeviceChoice } from '../native/pipeline/runtime.ts';
import { Store } from '../native/store/index.ts';
import { startAnalyser, type ThreadLayout } from '../native/pipeline/analysis-pool.ts';
import { scanFolder } from '../native/pipeline/scan.ts';
import { cpuSeconds, peakRssMiB, tempDir } from './common.ts';

export interface KithRun {
  summary: IndexSummary;
  /** Model sessions created and warmed before the timed run; indexFolder finds them in the cache. */
  loadMs: number;
  /** Peak RSS right after indexing, before anything else the benchmark does. */
  peakRssMiB: number;
  /** CPU seconds (all threads) spent in the timed indexing run. */
  cpuSec: number;
}

export interface KithRunOptions {
  device: DeviceChoice;
  embedder?: string;
  /** Library database; a fresh temporary one when absent. */
  db?: string;
  /** Allow `db` to exist already (an incremental run over a library). */
  reuse?: boolean;
  /** Workers × threads of the indexing pool; the machine's default when absent. */
  layout?: ThreadLayout;
}

/** Index `folder` with Kith's real pipeline, models loaded and warmed first so wall time is throughput only. */
export async function runKith(folder: string, opts: KithRunOptions): Promise<KithRun> {
  if (opts.db && existsSync(opts.db) && !opts.reuse) {
    throw new Error(`${opts.db} exists: pass --reuse to index into it, or leave out --db for a fresh temporary library`);
  }
  const tmp = opts.db ? undefined : tempDir('kith-bench-db-');
  const notice = (line: string) => console.error(`kith: ${line}`);
  try {
    const t0 = performance.now();
    // indexFolder loads the detector and embedder on this thread too (it needs the model id, and
    // re-embeds there); loading them here only moves that before the clock. No inference runs
    // here: with a pool, this thread's sessions stay unused, as in `kith index`.
    await Embedder.load(opts.embedder ?? DEFAULT_EMBEDDER, opts.device, notice);
    await loadDetector(opts.device, notice);
    // The pool's workers load their models and make their first allocations before the clock too.
    const analyser = await startAnalyser({ device: opts.device, embedder: opts.embedder ?? DEFAULT_EMBEDDER, modelsDir: MODELS_DIR, notice, layout: opts.layout });
    const first = (await scanFolder(folder)).files[0];
    if (first) await Promise.all(Array.from({ length: analyser.capacity }, () => analyser.analyse(first.path)));
    const loadMs = performance.now() - t0;
    const store = new Store(opts.db ?? join(tmp!.dir, 'library.db'));
    try {
      const cpuStart = cpuSeconds();
      const summary = await indexFolder(store, folder, { device: opts.device, embedder: opts.embedder, notice, analyser });
      return { summary, loadMs, peakRssMiB: peakRssMiB(), cpuSec: cpuSeconds() - cpuStart };
    } finally {
      store.close();
      await analyser.close();
    }
  } finally {
    tmp?.remove();
  }
}

