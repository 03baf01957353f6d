/**
 * @file Row shapes as the rest of the engine sees them (camelCase, typed arrays), so SQL
 * column names never leak out of store/.
 */
import type { Point } from '../common/geometry.ts';
import type { RunInfo } from '../api/types.ts';

export type PhotoStatus = 'pending' | 'done' | 'error';

export interface PhotoRow {
  id: number;
  path: string;
  size: number;
  mtimeMs: number;
  hash: string | null;
  width: number | null;
  height: number | null;
  format: string | null;
  takenAt: string | null;
  status: PhotoStatus;
  error: string | null;
  /** Set when this file has the same content as another photo's: the id of that photo (which holds the faces). */
  duplicateOf: number | null;
}

/** A face as found by the pipeline, before it has an id. Coordinates are in the upright original photo. */
export interface NewFace {
  box: { x1: number; y1: number; x2: number; y2: number };
  landmarks: Point[];
  score: number;
  /** Shorter side of the box, original pixels. */
  size: number;
  sharpness: number;
  yaw: number;
  pitch: number;
  roll: number;
  modelId: string;
  embedding: Float32Array;
}

/** Found by the detector, drawn by the user, or made from another tool's named region. */
export type FaceOrigin = 'detected' | 'drawn' | 'imported';

export interface FaceRow extends NewFace {
  id: number;
  photoId: number;
  idx: number;
  origin: FaceOrigin;
}

/** One indexing run, as the API shows it (`kith stats`). */
export type RunRow = RunInfo;
