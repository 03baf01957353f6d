/**
 * @file The models-only pace shared by bench:index and bench:peer: each worker of a layout
 * decodes and packs its share of a sample before the clock (models-only-worker.ts), then runs
 * only the detector and the embedder. Photos per second at this pace is what the pipeline could
 * reach if nothing but inference took time.
 */
import { Worker } from 'node:worker_threads';
import type { ThreadLayout } from '../native/pipeline/analysis-pool.ts';
import type { ModelsOnlyMessage, ModelsOnlySetup } from './models-only-worker.ts';

export interface ModelsOnly {
  photos: number;
  faces: number;
  /** Wall time of the slowest worker, from "go" to its last inference. */
  wallMs: number;
}

export async function timeModels(paths: string[], embedder: string, layout: ThreadLayout): Promise<ModelsOnly> {
  const workers = Math.max(1, layout.workers);
  const shares = Array.from({ length: workers }, (_, w) => paths.filter((_, i) => i % workers === w));
  const url = new URL('./models-only-worker.ts', import.meta.url);
  const started = shares.map((share) => {
    const worker = new Worker(url, { workerData: { paths: share, embedder, threads: layout.threads } satisfies ModelsOnlySetup });
    const next = () => new Promise<ModelsOnlyMessage>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    return { worker, next };
  });
  try {
    const ready = await Promise.all(started.map((s) => s.next()));
    const t0 = performance.now();
    const done = started.map((s) => s.next());
    for (const s of started) s.worker.postMessage('go');
    await Promise.all(done);
    const count = (k: 'photos' | 'faces') => ready.reduce((n, m) => n + (m.kind === 'ready' ? m[k] : 0), 0);
    return { photos: count('photos'), faces: count('faces'), wallMs: performance.now() - t0 };
  } finally {
    await Promise.all(started.map((s) => s.worker.terminate()));
  }
}

export function modelsPhotosPerSec(m: ModelsOnly): number | null {
  return m.photos > 0 ? m.photos / (m.wallMs / 1000) : null;
}

/** `count` items spread evenly over the list, so a sample is not one corner of the library. */
export function spread<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!);
}
