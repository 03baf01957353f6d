/**
 * @file A worker thread of the adaptor's background retrain (adaptor-trainer.ts): it runs one
 * training job off the engine's thread, so no API call waits for it, and posts the new map back
 * (or why it failed). The main thread checks the answer before storing it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { trainAdaptorJob, type AdaptorJob, type TrainedAdaptor } from './adaptor.ts';

export type AdaptorWorkerResult = { ok: true; trained: TrainedAdaptor } | { ok: false; reason: string };

let result: AdaptorWorkerResult;
try {
  result = { ok: true, trained: trainAdaptorJob(workerData as AdaptorJob) };
} catch (err) {
  result = { ok: false, reason: (err as Error).message };
}
parentPort!.postMessage(result);
