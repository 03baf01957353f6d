/**
 * @file A thread of test/gpu-lock.test.ts (a worker, or the test's own main thread): runs a real
 * recogniser session through runtime.ts `runSession`, labelled as a GPU session so the GPU lock
 * applies, and writes the start and end of each run into shared memory.
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

/** Runs a real recogniser session `runs` times through runSession, labelled as a GPU one, timing each run into `setup.times`. */
export async function timedRuns(setup: LockTrialSetup): Promise<void> {
  setIntraOpThreads(1);
  const cpu = await sessionFor(join(MODELS_DIR, 'sirius-mfn-192.onnx'), 'cpu');
  const input = new ort.Tensor('float32', Float32Array.from({ length: 8 * 3 * 112 * 112 }, (_, i) => Math.sin(i)), [8, 3, 112, 112]);
  const times = new Float64Array(setup.times);
  const base = setup.slot * setup.runs * 2;
  let i = 0;
  // The label 'webgpu' is all the lock looks at; the work itself is a real inference on the CPU.
  const timed = {
    provider: 'webgpu',
    session: {
      run: async (feeds: ort.InferenceSession.FeedsType) => {
        times[base + 2 * i] = performance.timeOrigin + performance.now();
        const out = await cpu.session.run(feeds);
        times[base + 2 * i + 1] = performance.timeOrigin + performance.now();
        i++;
        return out;
      },
    } as unknown as ort.InferenceSession,
  };
  await Promise.all(Array.from({ length: setup.runs }, () => runSession(timed, { input })));
}

if (parentPort) {
  const setup = workerData as LockTrialSetup;
  if (setup.lock) useGpuLock(setup.lock);
  await timedRuns(setup);
  parentPort.postMessage('done');
}
