/**
 * @file What both benchmarks share: the machine line, peak RSS, throwaway library folders,
 * the machine-readable result line, and one timed Kith indexing run with its models loaded
 * beforehand, so every figure means the same thing in either benchmark.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { ALIGNED_SIZE } from '../native/align.ts';
import { detectFaces } from '../native/detect.ts';
import { DEFAULT_EMBEDDER, Embedder } from '../native/embed.ts';
import { indexFolder, type IndexSummary } from '../native/indexer.ts';
import { loadManifest, MODELS_DIR, sessionFor, type DeviceChoice, type LoadedSession } from '../native/runtime.ts';
import { scanFolder } from '../native/scan.ts';
import { Store } from '../native/store/index.ts';

/** Prefix of the one line a benchmark (or a child of one) prints for machines to read. */
export const JSON_PREFIX = 'BENCH_JSON ';

export interface Machine {
  cpu: string;
  cores: number;
  memGiB: number;
  platform: string;
  node: string;
  /** 1-, 5- and 15-minute load averages when the figure was taken: the machine may be shared. */
  load: number[];
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    load: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function machineLine(m: Machine): string {
  return `machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.platform}, node ${m.node}, load ${m.load.join(' ')}`;
}

/** High-water resident set of this process so far, in MiB (maxRSS is in KiB). */
export function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function printJson(result: object): void {
  console.log(JSON_PREFIX + JSON.stringify(result));
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A folder holding only the first `limit` photos of `folder` (in scan order), as symlinks with
 * the same relative layout, so every contender walks the same subset through its own scan.
 */
export async function limitedFolder(folder: string, limit: number | undefined): Promise<{ folder: string; remove: () => void }> {
  const { files } = await scanFolder(folder);
  if (limit === undefined || limit >= files.length) return { folder, remove: () => {} };
  const tmp = tempDir('kith-bench-photos-');
  for (const f of files.slice(0, limit)) {
    const to = join(tmp.dir, relative(folder, f.path));
    mkdirSync(dirname(to), { recursive: true });
    symlinkSync(f.path, to);
  }
  return { folder: tmp.dir, remove: tmp.remove };
}

export function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--limit must be a positive integer (got ${value})`);
  return n;
}

export function parseDevice(value: string): DeviceChoice {
  if (value !== 'cpu' && value !== 'gpu' && value !== 'auto') throw new Error(`--device must be cpu, gpu or auto (got ${value})`);
  return value;
}

export interface KithRun {
  summary: IndexSummary;
  /** Model sessions created and warmed before the timed run; indexFolder finds them in the cache. */
  loadMs: number;
  /** Peak RSS right after indexing, before anything else the benchmark does. */
  peakRssMiB: number;
  detector: LoadedSession;
  embedder: Embedder;
}

export interface KithRunOptions {
  device: DeviceChoice;
  embedder?: string;
  /** Library database; a fresh temporary one when absent. */
  db?: string;
  /** Allow `db` to exist already (an incremental run over a library). */
  reuse?: boolean;
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
    const embedder = await Embedder.load(opts.embedder ?? DEFAULT_EMBEDDER, opts.device, notice);
    const detectorModel = loadManifest().models.find((m) => m.role === 'detector');
    if (!detectorModel) throw new Error('no detector in the model manifest: run `npm run models`');
    const detector = await sessionFor(join(MODELS_DIR, detectorModel.file), opts.device, notice);
    // One throwaway inference each: ORT's first run allocates, which is not per-photo cost.
    await detectFaces(detector, { rgb: Buffer.alloc(640 * 480 * 3), width: 640, height: 480 });
    await embedder.embed([new Uint8Array(ALIGNED_SIZE * ALIGNED_SIZE * 3)]);
    const loadMs = performance.now() - t0;
    const store = new Store(opts.db ?? join(tmp!.dir, 'library.db'));
    try {
      const summary = await indexFolder(store, folder, { device: opts.device, embedder: opts.embedder, notice });
      return { summary, loadMs, peakRssMiB: peakRssMiB(), detector, embedder };
    } finally {
      store.close();
    }
  } finally {
    tmp?.remove();
  }
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
