/**
 * @file One of the threads of test/gpu-lock.test.ts: runs a real recogniser session `runs` times
 * through runtime.ts `runSession`, labelled as a GPU session so the process's GPU lock applies
 * (when the test shares one), and writes the start and end of each run into shared memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { join } from 'node:path';
import { ort, runSession, sessionFor, setIntraOpThreads, useGpuLock, MODELS_DIR } from '../native/pipeline/runtime.ts';

export interface LockTrialSetup {
  lock: SharedArrayBuffer | null;
  /** [start, end] of each run, in performance.timeOrigin-relative ms, at slot*runs*2. */
  times: SharedArrayBuffer;
  slot: number;
  runs: number;
}

const setup = workerData as LockTrialSetup;
setIntraOpThreads(1);
if (setup.lock) useGpuLock(setup.lock);
const cpu = await sessionFor(join(MODELS_DIR, 'sirius-mfn-192.onnx'), 'cpu');
const input = new ort.Tensor('float32', Float32Array.from({ length: 8 * 3 * 112 * 112 }, (_, i) => Math.sin(i)), [8, 3, 112, 112]);
const times = new Float64Array(setup.times);
const base = setup.slot * setup.runs * 2;
// Each run records its own times inside the locked section: the work that runSession wraps.
let i = 0;
// The label 'webgpu' is all the lock looks at; the work itself is a real inference on the CPU.
const timed = { provider: 'webgpu', session: { run: async (feeds: ort.InferenceSession.FeedsType) => {
  times[base + 2 * i] = performance.timeOrigin + performance.now();
  const out = await cpu.session.run(feeds);
  times[base + 2 * i + 1] = performance.timeOrigin + performance.now();
  i++;
  return out;
} } as unknown as ort.InferenceSession };
await Promise.all(Array.from({ length: setup.runs }, () => runSession(timed, { input })));
parentPort!.postMessage('done');
