/**
 * The GPU lock (runtime.ts): ONNX Runtime's WebGPU state breaks when sessions of two worker
 * threads run at once (device errors, then heap corruption, seen on an H100 and on lavapipe), so
 * a pool on a GPU takes turns. Checked here on the CPU with real sessions labelled as GPU ones:
 * with the lock shared, no two runs of two threads overlap; without it, they do.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { gpuLockBuffer, newGpuLock } from '../native/pipeline/runtime.ts';
import { timedRuns, type LockTrialSetup } from './gpu-lock-worker.ts';

const RUNS = 4;

/** Start and end of every run of two worker threads (and of this thread, `withMain`), as [thread, start, end] rows. */
async function trial(lock: SharedArrayBuffer | null, withMain = false): Promise<Array<[number, number, number]>> {
  const threads = withMain ? 3 : 2;
  const times = new SharedArrayBuffer(threads * RUNS * 2 * Float64Array.BYTES_PER_ELEMENT);
  const workers = [0, 1].map(
    (slot) =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL('./gpu-lock-worker.ts', import.meta.url), { workerData: { lock, times, slot, runs: RUNS } satisfies LockTrialSetup });
        worker.once('message', () => void worker.terminate().then(() => resolve()));
        worker.once('error', reject);
      }),
  );
  await Promise.all([...workers, withMain ? timedRuns({ lock: null, times, slot: 2, runs: RUNS }) : undefined]);
  const t = new Float64Array(times);
  return Array.from({ length: threads * RUNS }, (_, k) => [Math.floor(k / RUNS), t[2 * k]!, t[2 * k + 1]!] as [number, number, number]);
}

/** Pairs of runs of different threads whose times overlap. */
function overlaps(rows: Array<[number, number, number]>): number {
  let n = 0;
  for (const a of rows) for (const b of rows) if (a[0] < b[0] && a[1] < b[2] && b[1] < a[2]) n++;
  return n;
}

describe('the GPU lock', () => {
  it('lets one thread run a GPU session at a time, and the runs all happen', async () => {
    const rows = await trial(newGpuLock());
    assert.ok(rows.every(([, start, end]) => start > 0 && end > start), 'every run recorded');
    assert.equal(overlaps(rows), 0, JSON.stringify(rows));
  });

  it('is held by the main thread from the start, so its GPU sessions take turns with the pool\'s workers', async () => {
    const rows = await trial(gpuLockBuffer(), true);
    assert.equal(rows.filter(([thread, start]) => thread === 2 && start > 0).length, RUNS, 'the main thread ran');
    assert.equal(overlaps(rows), 0, JSON.stringify(rows));
  });

  it('is what keeps them apart: without it the same runs overlap', async () => {
    assert.ok(overlaps(await trial(null)) > 0);
  });
});
