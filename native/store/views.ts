/**
 * @file Read-only queries that join faces, photos and people into what screens show: a
 * person's faces best first, unassigned faces, the faces of a photo with their names.
 */
import type { Db } from './db.ts';
import { bestFacesFirst } from './face-rank.ts';

/** A face of a named person, with its photo's path and size (for writing names into sidecars). */
export interface NamedFaceView {
  path: string;
  width: number;
  height: number;
  name: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface FaceView {
  id: number;
  photoId: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  personId: number | null;
  personName: string | null;
  source: 'cluster' | 'user' | null;
  confirmed: number;
}

export interface PhotoView {
  id: number;
  path: string;
  width: number | null;
  height: number | null;
  takenAt: string | null;
}

const FACE = `f.id, f.photo_id AS photoId, f.x1, f.y1, f.x2, f.y2, f.score, a.person_id AS personId, p.name AS personName,
  a.source, EXISTS (SELECT 1 FROM face_decisions d WHERE d.face_id = f.id AND d.person_id = a.person_id AND d.kind = 'confirm') AS confirmed
  FROM faces f LEFT JOIN assignments a ON a.face_id = f.id LEFT JOIN people p ON p.id = a.person_id`;
/** Unassigned faces, best first: confident detections of large faces. */
const BEST = `ORDER BY f.score * min(f.size, 160) DESC, f.id`;
const PHOTO = `id, path, width, height, taken_at AS takenAt`;

export class Views {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      personFaces: db.prepare<[number, number, number], FaceView>(`SELECT ${FACE} WHERE a.person_id = ? ORDER BY ${bestFacesFirst('f')} LIMIT ? OFFSET ?`),
      personPhotoCount: db.prepare<[number], { n: number }>(
        `SELECT count(DISTINCT f.photo_id) AS n FROM faces f JOIN assignments a ON a.face_id = f.id WHERE a.person_id = ?`,
      ),
      personPhotos: db.prepare<[number, number, number], PhotoView>(
        `SELECT ${PHOTO} FROM photos WHERE id IN (SELECT f.photo_id FROM faces f JOIN assignments a ON a.face_id = f.id WHERE a.person_id = ?)
         ORDER BY coalesce(taken_at, ''), path LIMIT ? OFFSET ?`,
      ),
      unassigned: db.prepare<[string, number, number], FaceView>(`SELECT ${FACE} WHERE a.face_id IS NULL AND f.model_id = ? ${BEST} LIMIT ? OFFSET ?`),
      unassignedCount: db.prepare<[string], { n: number }>(
        `SELECT count(*) AS n FROM faces f LEFT JOIN assignments a ON a.face_id = f.id WHERE a.face_id IS NULL AND f.model_id = ?`,
      ),
      photo: db.prepare<[number], PhotoView>(`SELECT ${PHOTO} FROM photos WHERE id = ?`),
      photoFaces: db.prepare<[number], FaceView>(`SELECT ${FACE} WHERE f.photo_id = ? ORDER BY f.x1`),
      face: db.prepare<[number], FaceView>(`SELECT ${FACE} WHERE f.id = ?`),
      allFaces: db.prepare<[], FaceView & { path: string }>(
        `SELECT ${FACE.replace('FROM faces f', ', ph.path FROM faces f JOIN photos ph ON ph.id = f.photo_id')} ORDER BY ph.path, f.idx`,
      ),
      namedFaces: db.prepare<[], NamedFaceView>(
        `SELECT ph.path, ph.width, ph.height, p.name, f.x1, f.y1, f.x2, f.y2
           FROM faces f JOIN assignments a ON a.face_id = f.id JOIN people p ON p.id = a.person_id JOIN photos ph ON ph.id = f.photo_id
          WHERE p.name IS NOT NULL AND ph.width > 0 AND ph.height > 0
          ORDER BY ph.path, f.idx`,
      ),
      alsoAt: db.prepare<[number], { path: string }>(`SELECT path FROM photos WHERE duplicate_of = ? ORDER BY path`),
      photoOfFace: db.prepare<[number], { path: string; photoId: number }>(
        `SELECT p.path, p.id AS photoId FROM faces f JOIN photos p ON p.id = f.photo_id WHERE f.id = ?`,
      ),
    };
  }

  personFaces(personId: number, offset: number, limit: number): FaceView[] {
    return this.s.personFaces.all(personId, limit, offset);
  }

  personPhotoCount(personId: number): number {
    return this.s.personPhotoCount.get(personId)!.n;
  }

  personPhotos(personId: number, offset: number, limit: number): PhotoView[] {
    return this.s.personPhotos.all(personId, limit, offset);
  }

  unassignedFaces(modelId: string, offset: number, limit: number): { total: number; faces: FaceView[] } {
    return { total: this.s.unassignedCount.get(modelId)!.n, faces: this.s.unassigned.all(modelId, limit, offset) };
  }

  photo(photoId: number): PhotoView | undefined {
    return this.s.photo.get(photoId);
  }

  /** The other files with this photo's content (copies), by path. */
  alsoAt(photoId: number): string[] {
    return this.s.alsoAt.all(photoId).map((r) => r.path);
  }

  photoFaces(photoId: number): FaceView[] {
    return this.s.photoFaces.all(photoId);
  }

  face(faceId: number): FaceView | undefined {
    return this.s.face.get(faceId);
  }

  /** Every face with its photo's path, in path order (for export). */
  *allFaces(): Generator<FaceView & { path: string }> {
    yield* this.s.allFaces.iterate();
  }

  /** Faces of named people in photos of known size, by path then face. */
  namedFaces(): NamedFaceView[] {
    return this.s.namedFaces.all();
  }

  photoOfFace(faceId: number): { path: string; photoId: number } | undefined {
    return this.s.photoOfFace.get(faceId);
  }
}
