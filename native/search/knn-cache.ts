/**
 * @file The k-NN graph of the last full re-cluster, kept beside the HNSW file so that the next
 * one reuses it instead of searching every face again (the searches are ~90% of a full run). It
 * is only ever reused for exactly the same question: the same index (the sha256 of the file the
 * index last wrote or read), the same k and ef, and the same query vectors (their sha256), so
 * the answers are the ones a fresh search would give. Derived data: a file that is missing,
 * damaged (its payload has a sha256 in its header) or for another question is ignored and
 * replaced. Layout: "KITHKNN1", u32 header length, header JSON, then counts (i32 × n), face
 * ids (f64 × n·k) and similarities (f64 × n·k).
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { PRIVATE_FILE_MODE } from '../store/library-files.ts';

const MAGIC = 'KITHKNN1';

interface Header {
  key: string;
  n: number;
  k: number;
  sha256: string;
}

/** Raw k-NN lists, as FaceIndex.searchAll returns them (see HitLists there). */
export interface KnnLists {
  k: number;
  counts: Int32Array;
  faceIds: Float64Array;
  similarities: Float64Array;
}

/** What the cached answers are answers to. */
export function knnCacheKey(indexSha256: string, k: number, ef: number, vectors: readonly Float32Array[]): string {
  const h = createHash('sha256').update(`${indexSha256}\n${k}\n${ef}\n${vectors.length}\n`);
  for (const v of vectors) {
    h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    h.update(`;${v.length}`);
  }
  return h.digest('hex');
}

function bytesOf(a: Int32Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The cached lists for `key`, or null (no file, another question, any damage). */
export function readKnnCache(path: string, key: string, n: number, k: number): KnnLists | null {
  try {
    const buf = readFileSync(path);
    if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) return null;
    const headerBytes = buf.readUInt32LE(8);
    if (12 + headerBytes > buf.length) return null;
    const header = JSON.parse(buf.toString('utf8', 12, 12 + headerBytes)) as Partial<Header>;
    if (header.key !== key || header.n !== n || header.k !== k) return null;
    const payload = buf.subarray(12 + headerBytes);
    if (payload.length !== n * 4 + 2 * n * k * 8) return null;
    if (createHash('sha256').update(payload).digest('hex') !== header.sha256) return null;
    // Copied out: typed arrays need aligned offsets, and the header's length need not be a multiple of 8.
    const copy = new Uint8Array(payload);
    return {
      k,
      counts: new Int32Array(copy.buffer, 0, n),
      faceIds: new Float64Array(copy.buffer.slice(n * 4, n * 4 + n * k * 8)),
      similarities: new Float64Array(copy.buffer.slice(n * 4 + n * k * 8)),
    };
  } catch {
    return null;
  }
}

/** Write the lists for `key` atomically (tmp + rename), private. A failure only costs the searches next time. */
export function writeKnnCache(path: string, key: string, lists: KnnLists): void {
  const tmp = `${path}.tmp`;
  try {
    const n = lists.counts.length;
    const payload = Buffer.concat([bytesOf(lists.counts), bytesOf(lists.faceIds), bytesOf(lists.similarities)]);
    const header: Header = { key, n, k: lists.k, sha256: createHash('sha256').update(payload).digest('hex') };
    const json = Buffer.from(JSON.stringify(header));
    const head = Buffer.alloc(12);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(json.length, 8);
    rmSync(tmp, { force: true });
    writeFileSync(tmp, Buffer.concat([head, json, payload]), { mode: PRIVATE_FILE_MODE });
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true });
  }
}
