/**
 * @file The embedding stage's thread (embed-stage.ts): holds the recognisers on the device and
 * embeds whatever crops the photo workers have sent, as one run, whenever the device is free.
 */
import './no-telemetry.ts';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Embedder } from './embed.ts';
import type { EmbedReply, EmbedRequest, EmbedStageSetup, EmbedStageStats, FromStage, ToStage } from './embed-stage.ts';
import { releaseSessions, useGpuLock } from './runtime.ts';
import { ALIGNED_SIZE } from './align.ts';

interface Pending extends EmbedRequest {
  port: MessagePort;
}

/**
 * The requests that make the next run: in order of arrival, as many whole photos as fit in `max`
 * faces, and always the first (a photo with more faces than `max` is embedded in several runs).
 */
export function takeRun<T extends { count: number }>(queue: T[], max: number): T[] {
  let faces = queue[0]?.count ?? 0;
  let n = queue.length > 0 ? 1 : 0;
  while (n < queue.length && faces + queue[n]!.count <= max) faces += queue[n++]!.count;
  return queue.splice(0, n);
}

const CROP_BYTES = ALIGNED_SIZE * ALIGNED_SIZE * 3;

async function main(parent: NonNullable<typeof parentPort>, setup: EmbedStageSetup): Promise<void> {
  useGpuLock(setup.gpuLock);
  // ONNX Runtime's own threads: on the CPU (only where asked, as the tests do) the stage then
  // batches as a multi-threaded session does (embed.ts `batchingFor`).
  let embedder: Embedder;
  try {
    embedder = await Embedder.load(setup.embedder, setup.device, () => {}, setup.modelsDir);
  } catch (err) {
    parent.postMessage({ kind: 'load-failed', message: (err as Error).message } satisfies FromStage);
    return;
  }
  const max = embedder.batching.max;
  const queue: Pending[] = [];
  const stats: EmbedStageStats = { runs: 0, faces: 0, requests: 0, largestRun: 0 };
  let running = false;

  const runNext = async (): Promise<void> => {
    if (running || queue.length === 0) return;
    running = true;
    const run = takeRun(queue, max);
    const crops = run.flatMap((r) => Array.from({ length: r.count }, (_, i) => r.crops.subarray(i * CROP_BYTES, (i + 1) * CROP_BYTES)));
    stats.runs += Math.ceil(crops.length / max);
    stats.faces += crops.length;
    stats.requests += run.length;
    stats.largestRun = Math.max(stats.largestRun, Math.min(crops.length, max));
    try {
      const vectors = await embedder.embed(crops);
      let at = 0;
      for (const r of run) {
        const packed = new Float32Array(r.count * embedder.dim);
        for (let i = 0; i < r.count; i++) packed.set(vectors[at++]!, i * embedder.dim);
        r.port.postMessage({ id: r.id, vectors: packed } satisfies EmbedReply, [packed.buffer]);
      }
    } catch (err) {
      for (const r of run) r.port.postMessage({ id: r.id, error: `embedding failed: ${(err as Error).message}` } satisfies EmbedReply);
    } finally {
      running = false;
      // After the messages that arrived meanwhile are in the queue: they make the next run together.
      setImmediate(() => void runNext());
    }
  };

  parent.on('message', (msg: ToStage) => {
    if (msg.kind === 'attach') {
      const port = msg.port;
      port.on('message', (req: EmbedRequest) => {
        queue.push({ ...req, port });
        setImmediate(() => void runNext());
      });
      // A worker's port must not keep this thread alive on its own: the stage is ended by `release`.
      port.unref();
    } else if (msg.kind === 'stats') {
      parent.postMessage({ kind: 'stats', stats: { ...stats } } satisfies FromStage);
    } else {
      void releaseSessions().finally(() => parent.postMessage({ kind: 'released' } satisfies FromStage));
    }
  });
  parent.postMessage({ kind: 'ready', provider: embedder.provider, modelId: embedder.modelId, dim: embedder.dim } satisfies FromStage);
}

if (parentPort) void main(parentPort, workerData as EmbedStageSetup);
