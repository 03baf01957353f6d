/**
 * @file A worker thread of the indexing pool (analysis-pool.ts): loads its own detector and
 * embedder, on its share of the cores, and analyses the photo files it is sent. On a GPU its
 * faces go to the pool's embedding stage instead (embed-stage.ts), batched with other workers'.
 * It touches no database: results go back to the thread that stores them.
 */
import './no-telemetry.ts';
import sharp from 'sharp';
import { parentPort, workerData } from 'node:worker_threads';
import { loadDetector } from './detect.ts';
import { Embedder } from './embed.ts';
import { RemoteEmbedder, type StageLink } from './embed-stage.ts';
import { analyseFile, providerOf, type AnalysedFile, type PhotoModels } from './photo-analysis.ts';
import { releaseSessions, setIntraOpThreads, useGpuLock, type DeviceChoice } from './runtime.ts';

export interface WorkerSetup {
  device: DeviceChoice;
  embedder: string;
  modelsDir: string;
  /** Intra-op threads for this worker's ONNX sessions, and libvips threads per image. */
  threads: number;
  /** The pool's GPU lock (runtime.ts): one GPU session runs at a time across the workers. */
  gpuLock: SharedArrayBuffer;
  /** The pool's embedding stage, when there is one: this worker then loads no recognisers. */
  stage?: StageLink;
}

export type ToWorker = { kind: 'analyse'; id: number; path: string } | { kind: 'release' };
export type FromWorker =
  | { kind: 'ready'; provider: string; modelId: string; dim: number }
  | { kind: 'released' }
  | { kind: 'done'; id: number; result: AnalysedFile }
  | { kind: 'failed'; id: number; message: string }
  | { kind: 'load-failed'; message: string };

async function main(port: NonNullable<typeof parentPort>, setup: WorkerSetup): Promise<void> {
  setIntraOpThreads(setup.threads);
  useGpuLock(setup.gpuLock);
  sharp.concurrency(setup.threads);
  let models: PhotoModels | null = null;
  // Listening first: the pool may ask for a release while the models are still loading, or after they failed to.
  const loading = (async () => {
    try {
      const detector = await loadDetector(setup.device, () => {}, setup.modelsDir);
      const embedder = setup.stage ? new RemoteEmbedder(setup.stage) : await Embedder.load(setup.embedder, setup.device, () => {}, setup.modelsDir);
      models = { detector, embedder };
      port.postMessage({ kind: 'ready', provider: providerOf(models), modelId: embedder.modelId, dim: embedder.dim } satisfies FromWorker);
    } catch (err) {
      port.postMessage({ kind: 'load-failed', message: (err as Error).message } satisfies FromWorker);
    }
  })();
  port.on('message', (msg: ToWorker) => {
    if (msg.kind === 'release') {
      void loading.then(releaseSessions).finally(() => port.postMessage({ kind: 'released' } satisfies FromWorker));
      return;
    }
    if (!models) return void port.postMessage({ kind: 'failed', id: msg.id, message: 'the models are not loaded' } satisfies FromWorker);
    analyseFile(models, msg.path).then(
      (result) => port.postMessage({ kind: 'done', id: msg.id, result } satisfies FromWorker),
      (err: Error) => port.postMessage({ kind: 'failed', id: msg.id, message: err.message } satisfies FromWorker),
    );
  });
}

if (parentPort) void main(parentPort, workerData as WorkerSetup);
