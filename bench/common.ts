/**
 * @file What both benchmarks share: the machine line, peak RSS, throwaway folders and the
 * machine-readable result line. Deliberately free of the engine and of the peer's libraries,
 * so a child process that imports it carries only its own contender in its RSS.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { withLibuvThreads } from '../native/common/libuv-threads.ts';
import type { ClusterSummary } from '../native/people/clusterer.ts';
import type { ThreadLayout } from '../native/pipeline/analysis-pool.ts';
import type { DeviceChoice } from '../native/pipeline/runtime.ts';
import { scanFolder } from '../native/pipeline/scan.ts';

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
  /** libuv's thread pool, which runs libvips for every worker (common/libuv-threads.ts). */
  libuvThreads: number;
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
    libuvThreads: Number(process.env.UV_THREADPOOL_SIZE) || 4,
  };
}

export function machineLine(m: Machine): string {
  return `machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.platform}, node ${m.node}, libuv threads ${m.libuvThreads}, load ${m.load.join(' ')}`;
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
    // Not a symlink: the scan refuses links that lead outside the library folder. A hard link
    // costs nothing; across file systems, a copy.
    try {
      linkSync(f.path, to);
    } catch {
      copyFileSync(f.path, to);
    }
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

/** One contender's figures in the peer benchmark, the same fields for both so they compare like for like. */
export interface Contender {
  contender: 'peer' | 'kith';
  label: string;
  photos: number;
  errors: number;
  faces: number;
  /** Model load and one warm-up inference, before the timed pass. */
  loadSec: number;
  wallSec: number;
  photosPerSec: number;
  /** For worker threads this is the whole process: the sum over workers as they ran together. */
  peakRssMiB: number;
  /** Cores the contender was given (threads or pools it was set up with). */
  cores: number;
  /** CPU seconds over wall seconds of the timed pass: how many cores it actually kept busy. */
  coresBusy: number;
  /** Faces found per photo, by path relative to the folder, to check recall against known counts. */
  perPhotoFaces: Record<string, number>;
  detail: Record<string, unknown>;
}

/** CPU seconds (user + system, all threads) this process has used so far. */
export function cpuSeconds(): number {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1e6;
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** "2x1,1x2" → layouts of workers × intra-op threads. */
export function parseLayouts(value: string): ThreadLayout[] {
  return value.split(',').map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`--layouts wants WORKERSxTHREADS[,…] (got ${part})`);
    return { workers: Number(m[1]), threads: Number(m[2]) };
  });
}

/** Milliseconds as seconds, two decimals. */
export const sec = (ms: number) => round(ms / 1000, 2);

/** Where a full clustering run's time went, as bench:cluster and bench:million print it. */
export function fullStagesLine(s: ClusterSummary): string {
  const st = s.stages;
  return st ? `read ${sec(st.read)} + kNN ${sec(st.knn)} (${st.knnReused} lists kept, ${st.knnByWorkers} faces by workers) + cluster ${sec(st.cluster)} + write ${sec(st.write)}` : '';
}

/** Where an incremental clustering run's time went. */
export function incrementalStagesLine(s: ClusterSummary): string {
  const st = s.incrementalStages;
  return st ? `read ${sec(st.read)} + search ${sec(st.search)} + summaries ${sec(st.summaries)} + kNN ${sec(st.knn)} + place ${sec(st.place)} + write ${sec(st.write)}` : '';
}

/**
 * A benchmark that indexes runs with libuv's pool sized as `kith` and the app size it
 * (common/libuv-threads.ts). The pool is sized before any module of ours runs, so the benchmark
 * runs itself again with the size in its environment, and this process ends with that run's code.
 */
export function rerunWithLibuvThreads(): void {
  if (process.env.UV_THREADPOOL_SIZE) return;
  const run = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: withLibuvThreads(process.env) });
  process.exit(run.status ?? 1);
}
