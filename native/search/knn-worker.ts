/**
 * @file A worker thread of FaceIndex.searchAll: it loads the saved HNSW file read-only (after the
 * same integrity check FaceIndex.open makes, since hnswlib crashes the process on a damaged
 * file), answers its slice of the queries with the main thread's search settings, and posts the
 * raw hits back. The main thread validates them exactly as it validates its own searches.
 */
import { parentPort, workerData } from 'node:worker_threads';
import hnswlib from 'hnswlib-node';
import { checkHnswFile } from './ann-file.ts';

/** What the main thread hands a worker. */
export interface KnnWorkerJob {
  path: string;
  dim: number;
  m: number;
  ef: number;
  /** The file as the main thread last wrote or read it: anything else is not searched. */
  count: number;
  bytes: number;
  sha256: string;
  deleted: number[];
  /** Hits per query. */
  k: number;
  /** The queries, `dim` floats each. */
  queries: Float32Array;
}

/** Per query, up to k labels and distances, most similar first; `counts` says how many. */
export type KnnWorkerResult = { ok: true; counts: Int32Array; labels: Float64Array; distances: Float64Array } | { ok: false; reason: string };

function run(job: KnnWorkerJob): KnnWorkerResult {
  const check = checkHnswFile(job.path, { dim: job.dim, m: job.m, count: job.count, bytes: job.bytes, sha256: job.sha256, deleted: new Set(job.deleted) });
  if (!check.ok) return { ok: false, reason: check.reason };
  const hnsw = new hnswlib.HierarchicalNSW('cosine', job.dim);
  hnsw.readIndexSync(job.path);
  hnsw.setEf(job.ef);
  if (hnsw.getCurrentCount() !== job.count) return { ok: false, reason: 'the file changed after its check' };
  const n = job.queries.length / job.dim;
  const counts = new Int32Array(n);
  const labels = new Float64Array(n * job.k);
  const distances = new Float64Array(n * job.k);
  for (let q = 0; q < n; q++) {
    const res = hnsw.searchKnn(Array.from(job.queries.subarray(q * job.dim, (q + 1) * job.dim)), job.k);
    counts[q] = res.neighbors.length;
    for (let r = 0; r < res.neighbors.length; r++) {
      labels[q * job.k + r] = res.neighbors[r]!;
      distances[q * job.k + r] = res.distances[r]!;
    }
  }
  return { ok: true, counts, labels, distances };
}

let result: KnnWorkerResult;
try {
  result = run(workerData as KnnWorkerJob);
} catch (err) {
  result = { ok: false, reason: (err as Error).message };
}
parentPort!.postMessage(result, result.ok ? [result.counts.buffer as ArrayBuffer, result.labels.buffer as ArrayBuffer, result.distances.buffer as ArrayBuffer] : []);
