/**
 * @file Face rows: geometry, quality and the embedding of every face found, each tagged with
 * the model that made its vector so two embedding spaces are never compared.
 */
import type { Point } from '../common/geometry.ts';
import { fromBlob, toBlob } from './blobs.ts';
import type { Db } from './db.ts';
import type { FaceOrigin, FaceRow, NewFace } from './records.ts';

interface RawFace {
  id: number;
  photoId: number;
  idx: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  landmarks: Buffer;
  score: number;
  size: number;
  sharpness: number;
  yaw: number;
  pitch: number;
  roll: number;
  modelId: string;
  embedding: Buffer;
  origin: FaceOrigin;
}

const COLUMNS = `id, photo_id AS photoId, idx, x1, y1, x2, y2, landmarks, score, size, sharpness, yaw, pitch, roll,
  model_id AS modelId, embedding, origin`;

/** What clustering reads of a face: no landmarks, model or origin. */
export type ClusterSource = Pick<FaceRow, 'id' | 'photoId' | 'box' | 'score' | 'size' | 'sharpness' | 'yaw' | 'pitch' | 'embedding'>;

type ClusterRaw = [number, number, number, number, number, number, number, number, number, number, number, Buffer];

/** Faces whose vectors share one buffer in forClustering. */
const VECTORS_PER_BUFFER = 4096;

function landmarksToBlob(points: Point[]): Buffer {
  return toBlob(Float32Array.from(points.flatMap((p) => [p.x, p.y])));
}

function toFace(r: RawFace): FaceRow {
  const lm = fromBlob(r.landmarks);
  const landmarks: Point[] = [];
  for (let i = 0; i < lm.length; i += 2) landmarks.push({ x: lm[i]!, y: lm[i + 1]! });
  return {
    id: r.id,
    photoId: r.photoId,
    idx: r.idx,
    box: { x1: r.x1, y1: r.y1, x2: r.x2, y2: r.y2 },
    landmarks,
    score: r.score,
    size: r.size,
    sharpness: r.sharpness,
    yaw: r.yaw,
    pitch: r.pitch,
    roll: r.roll,
    modelId: r.modelId,
    embedding: fromBlob(r.embedding),
    origin: r.origin,
  };
}

export class Faces {
  private readonly insert;
  private readonly clear;
  private readonly ofPhoto;
  private readonly byId;
  private readonly all;
  private readonly clusterRows;
  private readonly count;
  private readonly models;
  private readonly setEmbedding;
  private readonly photosWithOtherModel;
  private readonly ids;
  private readonly after;
  private readonly max;
  private readonly reuse;
  private readonly park;
  private readonly removeOne;
  private readonly markStale;
  private readonly staleOf;
  private readonly unmarkStale;
  private readonly decided;
  private readonly photoFaceIds;
  private readonly insertMarked;
  private readonly nextIdx;
  private readonly renumber;

  constructor(db: Db) {
    this.insert = db.prepare(
      `INSERT INTO faces (photo_id, idx, x1, y1, x2, y2, landmarks, score, size, sharpness, yaw, pitch, roll, model_id, embedding)
       VALUES (@photoId, @idx, @x1, @y1, @x2, @y2, @landmarks, @score, @size, @sharpness, @yaw, @pitch, @roll, @modelId, @embedding)`,
    );
    this.clear = db.prepare(`DELETE FROM faces WHERE photo_id = ?`);
    this.ofPhoto = db.prepare<[number], RawFace>(`SELECT ${COLUMNS} FROM faces WHERE photo_id = ? ORDER BY idx`);
    this.byId = db.prepare<[number], RawFace>(`SELECT ${COLUMNS} FROM faces WHERE id = ?`);
    this.all = db.prepare<[string], RawFace>(`SELECT ${COLUMNS} FROM faces WHERE model_id = ? ORDER BY id`);
    this.clusterRows = db
      .prepare<[string], ClusterRaw>(`SELECT id, photo_id, x1, y1, x2, y2, score, size, sharpness, yaw, pitch, embedding FROM faces WHERE model_id = ? ORDER BY id`)
      .raw(true);
    this.count = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM faces`);
    this.models = db.prepare<[], { modelId: string; n: number }>(
      `SELECT model_id AS modelId, count(*) AS n FROM faces GROUP BY model_id ORDER BY n DESC`,
    );
    this.setEmbedding = db.prepare(`UPDATE faces SET embedding = ?, model_id = ? WHERE id = ?`);
    this.photosWithOtherModel = db.prepare<[string], { photoId: number }>(
      `SELECT DISTINCT photo_id AS photoId FROM faces WHERE model_id <> ?`,
    );
    this.ids = db.prepare<[string], { id: number }>(`SELECT id FROM faces WHERE model_id = ? ORDER BY id`);
    this.after = db.prepare<[string, number], RawFace>(`SELECT ${COLUMNS} FROM faces WHERE model_id = ? AND id > ? ORDER BY id`);
    // AUTOINCREMENT keeps the high-water mark in sqlite_sequence even after deletions.
    this.max = db.prepare<[], { id: number | null }>(`SELECT seq AS id FROM sqlite_sequence WHERE name = 'faces'`);
    this.reuse = db.prepare(
      `UPDATE faces SET idx = @idx, x1 = @x1, y1 = @y1, x2 = @x2, y2 = @y2, landmarks = @landmarks, score = @score, size = @size,
         sharpness = @sharpness, yaw = @yaw, pitch = @pitch, roll = @roll, model_id = @modelId, embedding = @embedding
       WHERE id = @id AND photo_id = @photoId`,
    );
    // Out of the way of UNIQUE (photo_id, idx) while faces are renumbered.
    this.park = db.prepare(`UPDATE faces SET idx = -1 - idx WHERE photo_id = ?`);
    this.removeOne = db.prepare(`DELETE FROM faces WHERE id = ?`);
    this.markStale = db.prepare(`INSERT OR IGNORE INTO ann_stale (face_id) VALUES (?)`);
    this.staleOf = db.prepare<[string], RawFace>(
      `SELECT ${COLUMNS} FROM faces WHERE model_id = ? AND id IN (SELECT face_id FROM ann_stale) ORDER BY id`,
    );
    this.unmarkStale = db.prepare(`DELETE FROM ann_stale WHERE face_id IN (SELECT value FROM json_each(?))`);
    // A face the user said something about: confirmed, rejected, placed by hand, or chosen as a cover.
    this.decided = db.prepare<[string], { id: number }>(
      `SELECT f.id FROM faces f WHERE f.id IN (SELECT value FROM json_each(?)) AND (
         EXISTS (SELECT 1 FROM face_decisions d WHERE d.face_id = f.id)
         OR EXISTS (SELECT 1 FROM assignments a WHERE a.face_id = f.id AND a.source = 'user')
         OR EXISTS (SELECT 1 FROM people p WHERE p.cover_face_id = f.id))
       ORDER BY f.id`,
    );
    this.insertMarked = db.prepare(
      `INSERT INTO faces (photo_id, idx, x1, y1, x2, y2, landmarks, score, size, sharpness, yaw, pitch, roll, model_id, embedding, origin)
       VALUES (@photoId, @idx, @x1, @y1, @x2, @y2, @landmarks, @score, @size, @sharpness, @yaw, @pitch, @roll, @modelId, @embedding, @origin)`,
    );
    this.nextIdx = db.prepare<[number], { idx: number }>(`SELECT coalesce(max(idx) + 1, 0) AS idx FROM faces WHERE photo_id = ?`);
    this.renumber = db.prepare(`UPDATE faces SET idx = ? WHERE id = ?`);
    this.photoFaceIds = db.prepare<[], { id: number; photoId: number }>(`SELECT id, photo_id AS photoId FROM faces ORDER BY photo_id, id`);
  }

  private row(photoId: number, idx: number, f: NewFace) {
    return {
      photoId,
      idx,
      ...f.box,
      landmarks: landmarksToBlob(f.landmarks),
      score: f.score,
      size: f.size,
      sharpness: f.sharpness,
      yaw: f.yaw,
      pitch: f.pitch,
      roll: f.roll,
      modelId: f.modelId,
      embedding: toBlob(f.embedding),
    };
  }

  /**
   * Make the photo's faces exactly `faces` (its content changed). A face with `keepId` is an old
   * face found again: its row is updated in place, so its id and every decision about it stay.
   * Old faces not kept are deleted. Returns the ids in the order of `faces`.
   */
  syncForPhoto(photoId: number, faces: ReadonlyArray<NewFace & { keepId?: number }>): number[] {
    const kept = new Set(faces.flatMap((f) => (f.keepId === undefined ? [] : [f.keepId])));
    // A drawn or imported face is the user's word that a face is there: the detector missing it
    // again is no reason to drop it. It stays as it was, numbered after the detected ones.
    const stay: number[] = [];
    for (const old of this.ofPhoto.all(photoId)) {
      if (kept.has(old.id)) continue;
      if (old.origin === 'detected') this.removeOne.run(old.id);
      else stay.push(old.id);
    }
    this.park.run(photoId);
    const ids = faces.map((f, idx) => {
      if (f.keepId !== undefined && this.reuse.run({ ...this.row(photoId, idx, f), id: f.keepId }).changes === 1) {
        this.markStale.run(f.keepId);
        return f.keepId;
      }
      return Number(this.insert.run(this.row(photoId, idx, f)).lastInsertRowid);
    });
    stay.forEach((id, i) => this.renumber.run(faces.length + i, id));
    return ids;
  }

  /** Add one face the user drew (or another tool's region named) to a photo; returns its id. */
  addMarked(photoId: number, face: NewFace, origin: Exclude<FaceOrigin, 'detected'>): number {
    const idx = this.nextIdx.get(photoId)!.idx;
    return Number(this.insertMarked.run({ ...this.row(photoId, idx, face), origin }).lastInsertRowid);
  }

  /** Delete one face (and, by cascade, every decision about it). */
  remove(faceId: number): boolean {
    return this.removeOne.run(faceId).changes === 1;
  }

  /** Those of `faceIds` the user has decided something about. */
  decidedAmong(faceIds: readonly number[]): number[] {
    return faceIds.length === 0 ? [] : this.decided.all(JSON.stringify(faceIds)).map((r) => r.id);
  }

  /** Faces of `modelId` whose vector changed since the HNSW file was last brought up to date. */
  staleForIndex(modelId: string): FaceRow[] {
    return this.staleOf.all(modelId).map(toFace);
  }

  markIndexed(faceIds: readonly number[]): void {
    if (faceIds.length > 0) this.unmarkStale.run(JSON.stringify(faceIds));
  }

  /** Every face id with its photo, by photo. */
  idsWithPhoto(): Array<{ id: number; photoId: number }> {
    return this.photoFaceIds.all();
  }

  /** Replace all faces of a photo (the photo was new or its content changed); returns the new ids. */
  replaceForPhoto(photoId: number, faces: readonly NewFace[]): number[] {
    this.clear.run(photoId);
    return faces.map((f, idx) => Number(this.insert.run(this.row(photoId, idx, f)).lastInsertRowid));
  }

  /** New vector for an existing face (model change): the face keeps its id, so decisions about it stay. */
  reembed(faceId: number, embedding: Float32Array, modelId: string): void {
    this.setEmbedding.run(toBlob(embedding), modelId, faceId);
  }

  forPhoto(photoId: number): FaceRow[] {
    return this.ofPhoto.all(photoId).map(toFace);
  }

  get(id: number): FaceRow | undefined {
    const r = this.byId.get(id);
    return r && toFace(r);
  }

  /** Every face embedded by `modelId`, by id. */
  *iterate(modelId: string): Generator<FaceRow> {
    for (const r of this.all.iterate(modelId)) yield toFace(r);
  }

  /**
   * Every face of `modelId` as clustering reads it, by id. A full re-cluster reads them all
   * (100k faces: 280 MB of vectors), so rows come as arrays and the vectors are copied into
   * shared buffers, in id order: fewer allocations, and neighbours in memory for the sums.
   */
  *forClustering(modelId: string): Generator<ClusterSource> {
    let buffer = new Float32Array(0);
    let used = 0;
    for (const r of this.clusterRows.iterate(modelId) as IterableIterator<ClusterRaw>) {
      const [id, photoId, x1, y1, x2, y2, score, size, sharpness, yaw, pitch, blob] = r;
      const dim = blob.byteLength / 4;
      if (used + dim > buffer.length) {
        buffer = new Float32Array(dim * VECTORS_PER_BUFFER);
        used = 0;
      }
      const embedding = buffer.subarray(used, used + dim);
      new Uint8Array(embedding.buffer, embedding.byteOffset, embedding.byteLength).set(blob);
      used += dim;
      yield { id, photoId, box: { x1, y1, x2, y2 }, score, size, sharpness, yaw, pitch, embedding };
    }
  }

  /** Faces of `modelId` with an id above `id` (added after it), by id. */
  facesAfter(modelId: string, id: number): FaceRow[] {
    return this.after.all(modelId, id).map(toFace);
  }

  /** The highest face id ever given (0 before the first face). */
  maxId(): number {
    return this.max.get()?.id ?? 0;
  }

  idsFor(modelId: string): number[] {
    return this.ids.all(modelId).map((r) => r.id);
  }

  total(): number {
    return this.count.get()!.n;
  }

  modelCounts(): Array<{ modelId: string; n: number }> {
    return this.models.all();
  }

  /** Photos holding at least one face whose vector is from another model than `modelId`. */
  photosNeedingReembed(modelId: string): number[] {
    return this.photosWithOtherModel.all(modelId).map((r) => r.photoId);
  }
}
