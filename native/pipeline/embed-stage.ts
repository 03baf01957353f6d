/**
 * @file The indexing pool's embedding stage on a GPU: one thread holds the recognisers and embeds
 * the faces of every worker's photos together, in runs of up to 64 (embed.ts GPU_BATCHING). A GPU
 * run costs 3–9 ms whatever its size, so a photo's one to few faces on their own left it waiting on
 * the pipeline (README "GPU"); here the crops that arrive while one run is on the device make the
 * next run. The photo workers keep the detector, alignment and thumbnails on their CPU cores.
 *
 * Each photo worker talks to the stage over a MessagePort of its own (`connect`), so crops and
 * vectors never pass through the thread that stores results.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker, stopAfterRelease, whenReady } from '../common/worker-entry.ts';
import type { FaceEmbedder } from './embed.ts';
import { gpuLockBuffer, type DeviceChoice } from './runtime.ts';

export interface EmbedStageSetup {
  device: DeviceChoice;
  embedder: string;
  modelsDir: string;
  gpuLock: SharedArrayBuffer;
}

/** What the stage has done: runs on the models and the faces in them. */
export interface EmbedStageStats {
  runs: number;
  faces: number;
  requests: number;
  /** The largest run, in faces. */
  largestRun: number;
}

export type ToStage = { kind: 'attach'; port: MessagePort } | { kind: 'stats' } | { kind: 'release' };
export type FromStage =
  | { kind: 'ready'; provider: string; modelId: string; dim: number }
  | { kind: 'load-failed'; message: string }
  | { kind: 'stats'; stats: EmbedStageStats }
  | { kind: 'released' };

/** On a worker's port: one photo's crops, packed back to back; the answer packs its vectors the same way. */
export interface EmbedRequest {
  id: number;
  count: number;
  crops: Uint8Array;
}
export type EmbedReply = { id: number; vectors: Float32Array } | { id: number; error: string };

/** What a photo worker needs to reach the stage: its port and what the stage's vectors are. */
export interface StageLink {
  port: MessagePort;
  provider: string;
  modelId: string;
  dim: number;
}

export class EmbedStage {
  private constructor(
    private readonly worker: Worker,
    readonly provider: string,
    readonly modelId: string,
    readonly dim: number,
  ) {}

  static async start(opts: Omit<EmbedStageSetup, 'gpuLock'>): Promise<EmbedStage> {
    const setup: EmbedStageSetup = { ...opts, gpuLock: gpuLockBuffer() };
    const worker = startWorker(import.meta.url, 'embed-worker', { workerData: setup });
    try {
      const ready = await whenReady<Extract<FromStage, { kind: 'ready' }>>(worker, 'the embedding stage');
      // A stage that dies later fails the photos waiting on it (their workers see the ports close).
      worker.on('error', () => {});
      return new EmbedStage(worker, ready.provider, ready.modelId, ready.dim);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  /** A port for one photo worker (transfer it); the stage keeps the other end. */
  connect(): StageLink {
    const { port1, port2 } = new MessageChannel();
    this.worker.postMessage({ kind: 'attach', port: port1 } satisfies ToStage, [port1]);
    return { port: port2, provider: this.provider, modelId: this.modelId, dim: this.dim };
  }

  stats(): Promise<EmbedStageStats> {
    return new Promise((resolve) => {
      const onMessage = (msg: FromStage) => {
        if (msg.kind !== 'stats') return;
        this.worker.off('message', onMessage);
        resolve(msg.stats);
      };
      this.worker.on('message', onMessage);
      this.worker.postMessage({ kind: 'stats' } satisfies ToStage);
    });
  }

  private closing: Promise<number> | null = null;

  /** Releases the sessions on the device, then ends the thread (once, however often it is asked). */
  async close(): Promise<void> {
    await (this.closing ??= stopAfterRelease(this.worker));
  }
}

/** A photo worker's embedder: its crops go to the stage and their vectors come back. */
export class RemoteEmbedder implements FaceEmbedder {
  readonly provider: string;
  readonly modelId: string;
  readonly dim: number;
  private readonly port: MessagePort;
  private readonly waiting = new Map<number, { count: number; resolve(v: Float32Array[]): void; reject(e: Error): void }>();
  private nextId = 0;
  private gone: string | null = null;

  constructor(link: StageLink) {
    ({ port: this.port, provider: this.provider, modelId: this.modelId, dim: this.dim } = link);
    this.port.on('message', (reply: EmbedReply) => this.settle(reply));
    this.port.on('close', () => this.fail('the embedding stage stopped'));
    // Only outstanding requests keep the worker alive: an idle worker may exit with its port open.
    this.port.unref();
  }

  embed(crops: readonly Uint8Array[]): Promise<Float32Array[]> {
    if (crops.length === 0) return Promise.resolve([]);
    if (this.gone) return Promise.reject(new Error(this.gone));
    const size = crops[0]!.length;
    const packed = new Uint8Array(crops.length * size);
    crops.forEach((c, i) => packed.set(c, i * size));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { count: crops.length, resolve, reject });
      if (this.waiting.size === 1) this.port.ref();
      this.port.postMessage({ id, count: crops.length, crops: packed } satisfies EmbedRequest, [packed.buffer]);
    });
  }

  private settle(reply: EmbedReply): void {
    const job = this.waiting.get(reply.id);
    if (!job) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.port.unref();
    if ('error' in reply) return job.reject(new Error(reply.error));
    const d = this.dim;
    job.resolve(Array.from({ length: job.count }, (_, i) => reply.vectors.slice(i * d, (i + 1) * d)));
  }

  private fail(message: string): void {
    this.gone = message;
    for (const job of this.waiting.values()) job.reject(new Error(message));
    this.waiting.clear();
  }
}
