/**
 * @file The HNSW nearest-neighbour index over face embeddings (hnswlib, cosine). It is a
 * derived file beside the database: brought in line with SQLite on open (new faces added,
 * gone faces marked deleted) and rebuilt outright when missing, unreadable, or built for
 * another model. A sidecar JSON records what the file holds.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import hnswlib from 'hnswlib-node';
import type { Store } from './store/index.ts';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

const M = 16;
const EF_CONSTRUCTION = 200;
const EF_SEARCH = 64;
/** Rebuild instead of patching once this share of the labels are tombstones. */
const MAX_DELETED_SHARE = 0.25;

interface Sidecar {
  modelId: string;
  dim: number;
  /** Size of the index file this sidecar describes; a mismatch means a torn write. */
  bytes: number;
  deleted: number[];
}

export interface Neighbour {
  faceId: number;
  /** Cosine similarity, 1 = identical direction. */
  similarity: number;
}

export function indexPathFor(dbPath: string): string {
  return `${dbPath}.hnsw`;
}

export class FaceIndex {
  private constructor(
    private readonly path: string,
    readonly modelId: string,
    readonly dim: number,
    private hnsw: Hnsw,
    private readonly deleted: Set<number>,
  ) {}

  /** Open the index for `modelId`, syncing it with the store (or rebuilding it) as needed. */
  static open(store: Store, modelId: string, dim: number): FaceIndex {
    const path = indexPathFor(store.path);
    const loaded = FaceIndex.tryLoad(path, modelId, dim);
    const index = loaded ?? FaceIndex.empty(path, modelId, dim, 1024);
    const changed = index.syncWith(store);
    if (!loaded || changed) index.save();
    return index;
  }

  private static empty(path: string, modelId: string, dim: number, capacity: number): FaceIndex {
    const hnsw = new HierarchicalNSW('cosine', dim);
    hnsw.initIndex({ maxElements: capacity, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: 100 });
    hnsw.setEf(EF_SEARCH);
    return new FaceIndex(path, modelId, dim, hnsw, new Set());
  }

  private static tryLoad(path: string, modelId: string, dim: number): FaceIndex | null {
    try {
      if (!existsSync(path) || !existsSync(`${path}.json`)) return null;
      const side = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Sidecar;
      if (side.modelId !== modelId || side.dim !== dim || statSync(path).size !== side.bytes) return null;
      const hnsw = new HierarchicalNSW('cosine', dim);
      hnsw.readIndexSync(path);
      hnsw.setEf(EF_SEARCH);
      return new FaceIndex(path, modelId, dim, hnsw, new Set(side.deleted));
    } catch {
      return null; // derived data: anything odd means rebuild
    }
  }

  /** Live face count. */
  get size(): number {
    return this.hnsw.getCurrentCount() - this.deleted.size;
  }

  /** Make the index hold exactly the store's faces of this model; returns whether anything changed. */
  syncWith(store: Store): boolean {
    const wanted = new Set(store.faces.idsFor(this.modelId));
    const present = new Set(this.hnsw.getIdsList().filter((id) => !this.deleted.has(id)));
    const toAdd = [...wanted].filter((id) => !present.has(id));
    const toDelete = [...present].filter((id) => !wanted.has(id));
    if (toAdd.length === 0 && toDelete.length === 0) return false;
    const total = this.hnsw.getCurrentCount() + toAdd.length;
    if (this.deleted.size + toDelete.length > MAX_DELETED_SHARE * total) {
      this.rebuild(store, wanted.size);
      return true;
    }
    for (const id of toDelete) {
      this.hnsw.markDelete(id);
      this.deleted.add(id);
    }
    if (toAdd.length > 0) {
      const addSet = new Set(toAdd);
      this.ensureCapacity(this.hnsw.getCurrentCount() + toAdd.length);
      for (const face of store.faces.iterate(this.modelId)) {
        if (!addSet.has(face.id)) continue;
        this.hnsw.addPoint(Array.from(face.embedding), face.id);
      }
    }
    return true;
  }

  private rebuild(store: Store, count: number): void {
    const fresh = FaceIndex.empty(this.path, this.modelId, this.dim, Math.max(1024, Math.ceil(count * 1.25)));
    for (const face of store.faces.iterate(this.modelId)) fresh.hnsw.addPoint(Array.from(face.embedding), face.id);
    this.hnsw = fresh.hnsw;
    this.deleted.clear();
  }

  private ensureCapacity(n: number): void {
    const max = this.hnsw.getMaxElements();
    if (n > max) this.hnsw.resizeIndex(Math.max(n, Math.ceil(max * 1.5)));
  }

  /** The `k` most similar faces to `vector`, most similar first. */
  search(vector: Float32Array, k: number): Neighbour[] {
    const n = Math.min(k, this.size);
    if (n <= 0) return [];
    const res = this.hnsw.searchKnn(Array.from(vector), n, (label: number) => !this.deleted.has(label));
    return res.neighbors.map((faceId, i) => ({ faceId, similarity: 1 - res.distances[i]! }));
  }

  /** Write the index and its sidecar atomically (tmp + rename), sidecar last. */
  save(): void {
    const tmp = `${this.path}.tmp`;
    this.hnsw.writeIndexSync(tmp);
    const side: Sidecar = { modelId: this.modelId, dim: this.dim, bytes: statSync(tmp).size, deleted: [...this.deleted] };
    rmSync(`${this.path}.json`, { force: true });
    renameSync(tmp, this.path);
    writeFileSync(`${this.path}.json.tmp`, JSON.stringify(side));
    renameSync(`${this.path}.json.tmp`, `${this.path}.json`);
  }
}

/**
 * Nearest neighbours among `vectors` only (positions into it, self excluded), from a throwaway
 * in-memory HNSW: for small sets, such as the faces added since the last clustering.
 */
export function knnAmong(vectors: readonly Float32Array[], k: number): (i: number) => Array<{ j: number; similarity: number }> {
  if (vectors.length === 0) return () => [];
  const index = new HierarchicalNSW('cosine', vectors[0]!.length);
  index.initIndex({ maxElements: vectors.length, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: 100 });
  index.setEf(Math.max(EF_SEARCH, k * 2));
  vectors.forEach((v, i) => index.addPoint(Array.from(v), i));
  const n = Math.min(k + 1, vectors.length);
  const lists = vectors.map((v, i) => {
    const res = index.searchKnn(Array.from(v), n);
    return res.neighbors.flatMap((j, r) => (j === i ? [] : [{ j, similarity: 1 - res.distances[r]! }]));
  });
  return (i) => lists[i]!;
}
