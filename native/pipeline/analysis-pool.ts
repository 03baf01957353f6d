/**
 * @file The indexing pool: photo files analysed (photo-analysis.ts) on all cores at once. One
 * explicit thread budget for the machine: `workers` threads, each with its own detector and
 * embedder sessions on `threads` intra-op threads, and libvips decoding on the same share. A
 * worker holds several files at a time, so some decode while one is in the models. The thread
 * that stores the results stays free (the app's event loop, progress, SQLite).
 *
 * On a GPU the workers keep the detector on their CPU cores and send their faces to one embedding
 * stage (embed-stage.ts), which embeds every worker's faces together in large runs. With
 * KITH_WORKERS=0 the same analysis runs in-process.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker, stopAfterRelease, whenReady } from '../common/worker-entry.ts';
import { loadDetector } from './detect.ts';
import { EmbedStage } from './embed-stage.ts';
import { Embedder } from './embed.ts';
import { analyseFile, providerOf, type AnalysedFile } from './photo-analysis.ts';
import type { FromWorker, ToWorker, WorkerSetup } from './photo-worker.ts';
import { certainlyCpu, gpuLockBuffer, type DeviceChoice } from './runtime.ts';

/**
 * Files a worker holds at once, so that while one is in the models the next ones are being read
 * and decoded on libuv's pool, which every worker shares: the more workers, the longer a photo
 * waits there. Measured with bench:index, alternating: on 2 cores 4 against 2 in hand indexed 300
 * lfw-dev photos at 23.7–24.6 photos/s against 20.4–21.2 (`groups` alike, 5.4 and 4.9 either
 * way; peak 639–674 MiB against 605–611); on 16 cores (the H100 machine's host), 1,500 lfw-dev
 * photos at 119.0–119.2 with 8, 108.5–111.4 with 4, 96.7–104.1 with 2 (peak 1.67, 1.46 and
 * 1.35 GiB). With an embedding stage 4 and 8 ran alike (lfw-dev 272 and 271 photos/s, groups 56
 * and 64), so it keeps 4.
 */
export function filesInHand(workers: number, stage: boolean): number {
  return !stage && workers >= 8 ? 8 : 4;
}

export interface ThreadLayout {
  /** Worker threads; 0 runs the analysis in-process. */
  workers: number;
  /** Intra-op threads per session (and libvips threads per image) in each worker. */
  threads: number;
}

/**
 * The layout for this machine: a worker per core with one thread each, on the CPU and on a GPU
 * alike (there, beside the embedding stage); KITH_WORKERS and KITH_THREADS override it. Measured
 * (README "Figures", "GPU"): on the CPU, 16×1 ran at the models' own pace on 16 cores where 8×2
 * reached 0.59 of it; on a GPU the cores detect and feed the stage.
 */
export function threadLayout(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): ThreadLayout {
  const asked = env.KITH_WORKERS === undefined || env.KITH_WORKERS === '' ? Number.NaN : Number(env.KITH_WORKERS);
  const workers = Number.isInteger(asked) && asked >= 0 ? asked : cores;
  const threadsAsked = Number(env.KITH_THREADS);
  const threads = Number.isInteger(threadsAsked) && threadsAsked > 0 ? threadsAsked : Math.max(1, Math.floor(cores / Math.max(1, workers)));
  return { workers, threads };
}

export interface PoolOptions {
  device: DeviceChoice;
  embedder: string;
  modelsDir: string;
  notice?: (line: string) => void;
  layout?: ThreadLayout;
  /**
   * Where the workers' faces are embedded: in one stage that batches them across photos, or in
   * each worker with its own recognisers. Undefined: the stage on a GPU, the workers on the CPU.
   */
  embedding?: 'stage' | 'workers';
}

export interface PhotoAnalyser {
  readonly provider: string;
  readonly modelId: string;
  readonly dim: number;
  readonly layout: ThreadLayout;
  /** How many files it can usefully hold at once. */
  readonly capacity: number;
  /** The embedding stage, where the pool has one (on a GPU). */
  readonly stage?: EmbedStage | null;
  analyse(path: string): Promise<AnalysedFile>;
  close(): Promise<void>;
}

interface Job {
  id: number;
  path: string;
  resolve(r: AnalysedFile): void;
  reject(e: Error): void;
}

class WorkerSlot {
  readonly jobs = new Map<number, Job>();
  constructor(readonly worker: Worker) {}
}

class WorkerPool implements PhotoAnalyser {
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;

  private constructor(
    private readonly slots: WorkerSlot[],
    readonly provider: string,
    readonly modelId: string,
    readonly dim: number,
    readonly layout: ThreadLayout,
    readonly stage: EmbedStage | null,
  ) {
    for (const slot of slots) {
      slot.worker.on('message', (msg: FromWorker) => this.settle(slot, msg));
      // A worker that dies takes its files with it: they fail (and are retried next run); the rest go on.
      slot.worker.on('error', (err) => this.lose(slot, err));
      slot.worker.on('exit', (code) => this.lose(slot, new Error(`an indexing worker stopped (exit code ${code})`)));
    }
  }

  private get perWorker(): number {
    return filesInHand(this.layout.workers, this.stage !== null);
  }

  get capacity(): number {
    return this.slots.length * this.perWorker;
  }

  static async start(opts: PoolOptions, layout: ThreadLayout, stage: EmbedStage | null = null): Promise<WorkerPool> {
    const setup: WorkerSetup = { device: opts.device, embedder: opts.embedder, modelsDir: opts.modelsDir, threads: layout.threads, gpuLock: gpuLockBuffer() };
    const workers = Array.from({ length: layout.workers }, () => {
      if (!stage) return startWorker(import.meta.url, 'photo-worker', { workerData: setup });
      const link = stage.connect();
      return startWorker(import.meta.url, 'photo-worker', { workerData: { ...setup, stage: link } satisfies WorkerSetup, transferList: [link.port] });
    });
    const started = await Promise.allSettled(workers.map((worker) => whenReady<Extract<FromWorker, { kind: 'ready' }>>(worker, 'an indexing worker')));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map(stopAfterRelease));
      throw (failed as PromiseRejectedResult).reason as Error;
    }
    const first = (started[0] as PromiseFulfilledResult<Extract<FromWorker, { kind: 'ready' }>>).value;
    return new WorkerPool(workers.map((worker) => new WorkerSlot(worker)), first.provider, first.modelId, first.dim, layout, stage);
  }

  analyse(path: string): Promise<AnalysedFile> {
    if (this.closed) return Promise.reject(new Error('the indexing pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, path, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      while (this.queue.length > 0 && slot.jobs.size < this.perWorker) {
        const job = this.queue.shift()!;
        slot.jobs.set(job.id, job);
        slot.worker.postMessage({ kind: 'analyse', id: job.id, path: job.path } satisfies ToWorker);
      }
    }
    if (this.queue.length > 0 && this.slots.length === 0) for (const job of this.queue.splice(0)) job.reject(new Error('no indexing worker is running'));
  }

  private settle(slot: WorkerSlot, msg: FromWorker): void {
    if (msg.kind !== 'done' && msg.kind !== 'failed') return;
    const job = slot.jobs.get(msg.id);
    if (!job) return;
    slot.jobs.delete(msg.id);
    if (msg.kind === 'done') job.resolve(msg.result);
    else job.reject(new Error(msg.message));
    this.dispatch();
  }

  private lose(slot: WorkerSlot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    for (const job of slot.jobs.values()) job.reject(err);
    slot.jobs.clear();
    if (!this.closed) this.dispatch();
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const job of this.queue.splice(0)) job.reject(new Error('the indexing pool is closed'));
    await Promise.all(slots.map((s) => stopAfterRelease(s.worker)));
    await this.stage?.close();
  }
}

/** The same analysis on this thread, with the process's cached sessions. */
class InProcess implements PhotoAnalyser {
  constructor(
    private readonly models: { detector: Awaited<ReturnType<typeof loadDetector>>; embedder: Embedder },
    readonly provider: string,
    readonly layout: ThreadLayout,
  ) {}

  get modelId(): string {
    return this.models.embedder.modelId;
  }

  get dim(): number {
    return this.models.embedder.dim;
  }

  /** Reading and decoding the next photos overlap the models on this one. */
  readonly capacity = 3;

  analyse(path: string): Promise<AnalysedFile> {
    return analyseFile(this.models, path);
  }

  async close(): Promise<void> {}
}

/**
 * Start the analyser for this run. Where a GPU provider may start, the detector is loaded here
 * first: that is what finds out whether one does. On a GPU the workers detect on the CPU and one
 * embedding stage embeds on the device; on the CPU the pool starts without a session in this thread.
 */
export async function startAnalyser(opts: PoolOptions): Promise<PhotoAnalyser> {
  const layout = opts.layout ?? threadLayout();
  if (layout.workers > 0 && certainlyCpu(opts.device) && opts.embedding !== 'stage') return WorkerPool.start({ ...opts, device: 'cpu' }, layout);
  const detector = await loadDetector(opts.device, opts.notice, opts.modelsDir);
  const onGpu = detector.provider !== 'cpu';
  if (layout.workers === 0) {
    const embedder = await Embedder.load(opts.embedder, opts.device, opts.notice, opts.modelsDir);
    return new InProcess({ detector, embedder }, providerOf({ detector, embedder }), { ...layout, workers: 0 });
  }
  // Workers make their sessions on the provider found here: a GPU that started here starts there.
  const device = onGpu ? opts.device : 'cpu';
  if ((opts.embedding ?? (onGpu ? 'stage' : 'workers')) === 'workers') return WorkerPool.start({ ...opts, device }, layout);
  const stage = await EmbedStage.start({ device, embedder: opts.embedder, modelsDir: opts.modelsDir });
  try {
    // The detector stays on the workers' cores: one CPU thread runs it on a group photo in 33 ms and
    // the H100 in 15, one photo at a time, so 16 cores detect twice as fast as the GPU (README "GPU").
    return await WorkerPool.start({ ...opts, device: 'cpu' }, layout, stage);
  } catch (err) {
    await stage.close();
    throw err;
  }
}
