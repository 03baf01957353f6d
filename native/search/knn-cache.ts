/**
 * @file The k-NN graph of the last full re-cluster, kept beside the HNSW file and brought up to
 * date by the next one instead of searching every face again (the searches are ~80% of a full
 * run). Each face's list is kept with a fingerprint of the vector it was searched for. The next
 * run searches only the faces that are new or whose vector changed, and the faces whose list
 * names a face that is gone or changed; each new face then enters the kept lists of the faces
 * it found, where it is more similar than their last neighbour, as a search would have put it
 * there. The lists answer one question (model, vector length, k, the index's M and ef): a file
 * for another, or damaged (its payload has a sha256 in its header), is ignored and replaced.
 * Layout: "KITHKNN2", u32 header length, header JSON, then face ids (f64 × n), fingerprints
 * (u32 × 2n), counts (i32 × n), neighbour ids (f64 × n·k) and similarities (f64 × n·k).
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { idPositions } from '../common/id-positions.ts';
import { PRIVATE_FILE_MODE } from '../store/library-files.ts';

const MAGIC = 'KITHKNN2';

interface Header {
  question: string;
  n: number;
  k: number;
  sha256: string;
}

/** Raw k-NN lists, as FaceIndex.searchAll returns them (see HitLists there): list q at q·k … q·k + counts[q] − 1, most similar first. */
export interface KnnLists {
  k: number;
  counts: Int32Array;
  faceIds: Float64Array;
  similarities: Float64Array;
}

/** The lists of the faces `faceIds`, with the fingerprints of the vectors they were searched for. */
export interface KeptGraph {
  question: string;
  faceIds: Float64Array;
  prints: Uint32Array;
  lists: KnnLists;
}

/** What kept lists are answers to: another model, length or search setting makes them another question's. */
export function knnQuestion(modelId: string, dim: number, k: number, m: number, ef: number): string {
  return JSON.stringify({ modelId, dim, k, m, ef });
}

/**
 * Two 32-bit hashes of the vector's bits, into prints[2i], prints[2i + 1]: a vector re-embedded
 * under the same face id (an edited photo) gets a new list. Not cryptographic: the lists are
 * derived data, and the bits hashed are the face's own.
 */
export function fingerprint(v: Float32Array, prints: Uint32Array, i: number): void {
  const bits = new Int32Array(v.buffer, v.byteOffset, v.length);
  let a = 0x811c9dc5 ^ v.length, b = 0x9e3779b9;
  for (let d = 0; d < bits.length; d++) {
    a = Math.imul(a ^ bits[d]!, 0x01000193);
    b = Math.imul(b + bits[d]!, 0x85ebca6b) ^ (b >>> 13);
  }
  prints[2 * i] = a >>> 0;
  prints[2 * i + 1] = b >>> 0;
}

function bytesOf(a: Int32Array | Uint32Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The kept graph for `question`, or null (no file, another question, any damage). */
export function readKnnGraph(path: string, question: string, k: number): KeptGraph | null {
  try {
    const buf = readFileSync(path);
    if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) return null;
    const headerBytes = buf.readUInt32LE(8);
    if (12 + headerBytes > buf.length) return null;
    const header = JSON.parse(buf.toString('utf8', 12, 12 + headerBytes)) as Partial<Header>;
    const n = header.n;
    if (header.question !== question || header.k !== k || !Number.isSafeInteger(n) || n! < 0) return null;
    const payload = buf.subarray(12 + headerBytes);
    const sizes = [n! * 8, n! * 8, n! * 4, n! * k * 8, n! * k * 8];
    if (payload.length !== sizes.reduce((s, x) => s + x, 0)) return null;
    if (createHash('sha256').update(payload).digest('hex') !== header.sha256) return null;
    // Copied out per array: typed arrays need aligned offsets, and the header's length need not be a multiple of 8.
    const parts: ArrayBuffer[] = [];
    let at = 0;
    for (const size of sizes) {
      parts.push(payload.buffer.slice(payload.byteOffset + at, payload.byteOffset + at + size));
      at += size;
    }
    return {
      question,
      faceIds: new Float64Array(parts[0]!),
      prints: new Uint32Array(parts[1]!),
      lists: { k, counts: new Int32Array(parts[2]!), faceIds: new Float64Array(parts[3]!), similarities: new Float64Array(parts[4]!) },
    };
  } catch {
    return null;
  }
}

/** Write the graph atomically (tmp + rename), private. A failure only costs the searches next time. */
export function writeKnnGraph(path: string, graph: KeptGraph): void {
  const tmp = `${path}.tmp`;
  try {
    const { lists } = graph;
    const payload = Buffer.concat([bytesOf(graph.faceIds), bytesOf(graph.prints), bytesOf(lists.counts), bytesOf(lists.faceIds), bytesOf(lists.similarities)]);
    const header: Header = { question: graph.question, n: graph.faceIds.length, k: lists.k, sha256: createHash('sha256').update(payload).digest('hex') };
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

/** What reuseKept decided, per query. */
export interface ReusePlan {
  /** Queries whose lists must be searched. */
  search: number[];
  /** 1 where the query's vector is not the one its kept list was searched for (or it has none): it enters the others' lists. */
  changed: Uint8Array;
  /** Position of a face among the queries, by id. */
  queryOf: (faceId: number) => number | undefined;
  /** Lists copied from the kept graph. */
  reused: number;
  /** Whether the kept graph already is the answer (every list reused, no other face in it): nothing to write. */
  unchanged: boolean;
}

/**
 * Copy into `out` every kept list that still holds for the queries (`ids`, `prints`): the
 * face's vector unchanged, and every face it names still present, unchanged and `live`. The
 * rest are for the caller to search, then to pass to enterNewFaces.
 */
export function reuseKept(kept: KeptGraph | null, ids: readonly number[], prints: Uint32Array, live: (faceId: number) => boolean, out: KnnLists): ReusePlan {
  const n = ids.length;
  const queryOf = idPositions(ids);
  const changed = new Uint8Array(n).fill(1);
  if (!kept || kept.lists.k !== out.k) return { search: ids.map((_, q) => q), changed, queryOf, reused: 0, unchanged: false };
  const rowOf = idPositions(kept.faceIds);
  /** The kept row of each query whose vector is unchanged, -1 for the rest. */
  const rows = Int32Array.from(ids, (id, q) => {
    const r = rowOf(id);
    return r !== undefined && kept.prints[2 * r] === prints[2 * q] && kept.prints[2 * r + 1] === prints[2 * q + 1] ? r : -1;
  });
  rows.forEach((r, q) => (changed[q] = r < 0 ? 1 : 0));
  const { k } = out;
  const src = kept.lists;
  /** Whether kept row r names only faces that are queried, unchanged and live, at a cosine. */
  const holds = (r: number) => {
    const count = src.counts[r]!;
    if (!(count >= 0 && count <= k)) return false;
    for (let x = r * k; x < r * k + count; x++) {
      const h = src.faceIds[x]!;
      const hq = queryOf(h);
      if (hq === undefined || changed[hq] || !live(h) || !(Math.abs(src.similarities[x]!) <= 1)) return false;
    }
    return true;
  };
  const search: number[] = [];
  let reused = 0;
  rows.forEach((r, q) => {
    if (r < 0 || !holds(r)) {
      search.push(q);
      return;
    }
    const count = src.counts[r]!;
    out.counts[q] = count;
    out.faceIds.set(src.faceIds.subarray(r * k, r * k + count), q * k);
    out.similarities.set(src.similarities.subarray(r * k, r * k + count), q * k);
    reused++;
  });
  return { search, changed, queryOf, reused, unchanged: search.length === 0 && kept.faceIds.length === n };
}

/**
 * After the searches: each new or changed face enters the reused list of every face it found,
 * in order, where it beats that list's last neighbour or the list has room.
 */
export function enterNewFaces(ids: readonly number[], plan: ReusePlan, out: KnnLists): void {
  const searched = new Uint8Array(ids.length);
  for (const q of plan.search) searched[q] = 1;
  const { queryOf } = plan;
  const { k, counts, faceIds, similarities } = out;
  for (const q of plan.search) {
    if (!plan.changed[q]) continue;
    for (let x = q * k; x < q * k + counts[q]!; x++) {
      const p = queryOf(faceIds[x]!);
      if (p === undefined || searched[p]) continue; // a searched list already saw this face
      const s = similarities[x]!;
      let at = p * k + counts[p]!; // one past the last
      if (counts[p]! === k) {
        if (s <= similarities[at - 1]!) continue;
        at--; // the last neighbour makes room
      } else counts[p]!++;
      while (at > p * k && similarities[at - 1]! < s) {
        faceIds[at] = faceIds[at - 1]!;
        similarities[at] = similarities[at - 1]!;
        at--;
      }
      faceIds[at] = ids[q]!;
      similarities[at] = s;
    }
  }
}
