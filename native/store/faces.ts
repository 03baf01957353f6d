/**
 * @file Face rows: geometry, quality and the embedding of every face found, each tagged with
 * the model that made its vector so two embedding spaces are never compared.
 */
import type { Point } from '../detect.ts';
import { fromBlob, toBlob } from './blobs.ts';
import type { Db } from './db.ts';
import type { FaceRow, NewFace } from './records.ts';

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
}

const COLUMNS = `id, photo_id AS photoId, idx, x1, y1, x2, y2, landmarks, score, size, sharpness, yaw, pitch, roll,
  model_id AS modelId, embedding`;

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
  };
}

export class Faces {
  private readonly insert;
  private readonly clear;
  private readonly ofPhoto;
  private readonly byId;
  private readonly all;
  private readonly count;
  private readonly models;
  private readonly setEmbedding;
  private readonly photosWithOtherModel;
  private readonly ids;
  private readonly after;
  private readonly max;

  constructor(db: Db) {
    this.insert = db.prepare(
      `INSERT INTO faces (photo_id, idx, x1, y1, x2, y2, landmarks, score, size, sharpness, yaw, pitch, roll, model_id, embedding)
       VALUES (@photoId, @idx, @x1, @y1, @x2, @y2, @landmarks, @score, @size, @sharpness, @yaw, @pitch, @roll, @modelId, @embedding)`,
    );
    this.clear = db.prepare(`DELETE FROM faces WHERE photo_id = ?`);
    this.ofPhoto = db.prepare<[number], RawFace>(`SELECT ${COLUMNS} FROM faces WHERE photo_id = ? ORDER BY idx`);
    this.byId = db.prepare<[number], RawFace>(`SELECT ${COLUMNS} FROM faces WHERE id = ?`);
    this.all = db.prepare<[string], RawFace>(`SELECT ${COLUMNS} FROM faces WHERE model_id = ? ORDER BY id`);
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
  }

  /** Replace all faces of a photo (the photo was new or its content changed); returns the new ids. */
  replaceForPhoto(photoId: number, faces: readonly NewFace[]): number[] {
    this.clear.run(photoId);
    return faces.map((f, idx) =>
      Number(
        this.insert.run({
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
        }).lastInsertRowid,
      ),
    );
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
