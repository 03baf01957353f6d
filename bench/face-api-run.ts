/**
 * @file The peer in `bench:peer`: the usual Node way to find and describe faces,
 * @vladmandic/face-api (SSD MobileNet v1 + 68 landmarks + recognition net) on tfjs with the
 * WebAssembly backend, fed by a JavaScript/WebAssembly decoder. Kith uses every core, so the
 * peer does too: one worker thread per core (face-api-worker.ts), each with its own tfjs-wasm
 * and models, taking the next photo as soon as it is free. Threads, not processes, so the
 * process's peak RSS is the sum over workers without adding peaks that never coincided.
 */
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { Worker } from 'node:worker_threads';
import { scanFolder } from '../native/pipeline/scan.ts';
import { cpuSeconds, peakRssMiB, round, type Contender } from './common.ts';
import type { FromWorker, ToWorker } from './face-api-worker.ts';

/** Log a line every 15 s so a slow pass visibly makes progress. */
function progress(label: string, total: number) {
  let last = performance.now();
  return (done: number) => {
    if (performance.now() - last < 15_000) return;
    last = performance.now();
    console.error(`${label}: ${done}/${total} photos`);
  };
}

type Ready = Extract<FromWorker, { kind: 'ready' }>;

/** Starts one worker and resolves once its models are loaded and warmed. */
function startWorker(decoder: string): Promise<{ worker: Worker; ready: Ready }> {
  return new Promise((resolve, reject) => {
    // Worker threads inherit execArgv, so tsx's loader runs the .ts entry as it does here.
    const worker = new Worker(new URL('./face-api-worker.ts', import.meta.url), { workerData: { decoder } });
    worker.once('error', reject);
    worker.once('message', (msg: FromWorker) => (msg.kind === 'ready' ? resolve({ worker, ready: msg }) : reject(new Error(`worker said ${msg.kind} first`))));
  });
}

export async function runFaceApi(folder: string, decoderName: string, workerCount = availableParallelism()): Promise<Contender> {
  const t0 = performance.now();
  // All at once: loading is start-up, not throughput, and is reported apart.
  const started = await Promise.all(Array.from({ length: workerCount }, () => startWorker(decoderName)));
  const loadMs = performance.now() - t0;

  const { files } = await scanFolder(folder);
  const report = progress('face-api', files.length);
  const perPhoto: Record<string, number> = {};
  let next = 0;
  let done = 0;
  let errors = 0;
  let decodeMs = 0;
  let modelMs = 0;
  let leakedTensors = 0;
  const start = performance.now();
  const cpuStart = cpuSeconds();
  await Promise.all(
    started.map(
      ({ worker }) =>
        new Promise<void>((resolve, reject) => {
          const feed = () => worker.postMessage((next < files.length ? { path: files[next++]!.path } : { stop: true }) satisfies ToWorker);
          worker.on('error', reject);
          worker.on('message', (msg: FromWorker) => {
            if (msg.kind === 'stopped') {
              leakedTensors += msg.leakedTensors;
              void worker.terminate().then(() => resolve());
              return;
            }
            if (msg.kind !== 'photo') return;
            decodeMs += msg.decodeMs;
            modelMs += msg.modelMs;
            if (msg.faces === null) errors++;
            else perPhoto[relative(folder, msg.path)] = msg.faces;
            report(++done);
            feed();
          });
          feed();
        }),
    ),
  );
  const wallMs = performance.now() - start;
  const cpuSec = cpuSeconds() - cpuStart;
  const photos = files.length - errors;
  const ready = started[0]!.ready;
  return {
    contender: 'peer',
    label: `${ready.label}, ${workerCount} worker thread${workerCount === 1 ? '' : 's'}`,
    photos,
    errors,
    faces: Object.values(perPhoto).reduce((a, b) => a + b, 0),
    cores: workerCount,
    coresBusy: round(cpuSec / (wallMs / 1000), 2),
    loadSec: round(loadMs / 1000, 2),
    wallSec: round(wallMs / 1000, 2),
    photosPerSec: round(photos / (wallMs / 1000), 2),
    peakRssMiB: peakRssMiB(),
    perPhotoFaces: perPhoto,
    detail: {
      decoder: decoderName,
      workers: workerCount,
      wasmSimd: ready.wasmSimd,
      // tfjs's own check; false under Node, and forcing it fails (see face-api-worker.ts).
      wasmThreads: ready.wasmThreads,
      // Summed over workers: busy time per photo on one core, not wall time.
      readDecodeMsPerPhoto: photos ? round(decodeMs / photos) : null,
      modelMsPerPhoto: photos ? round(modelMs / photos) : null,
      leakedTensors,
    },
  };
}
