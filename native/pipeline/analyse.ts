/**
 * @file Everything the pipeline learns about one decoded photo before embedding: faces
 * (detected, in original-photo coordinates), their aligned crops, quality and thumbnails.
 */
import { alignFace, type RgbImage } from './align.ts';
import type { DecodedPhoto } from './decode.ts';
import { detectFaces, type Detection, type Point } from './detect.ts';
import { estimatePose, sharpness } from './quality.ts';
import type { LoadedSession } from './runtime.ts';
import type { NewFace } from '../store/index.ts';
import { renderFaceThumb } from './thumbs.ts';

export type FaceDraft = Omit<NewFace, 'modelId' | 'embedding'>;

export interface AnalysedPhoto {
  faces: FaceDraft[];
  crops: Uint8Array[];
  thumbs: Buffer[];
  ms: { detect: number; align: number; thumbs: number };
}

/** Working-image → original-photo scale factors. */
export function toOriginal(photo: DecodedPhoto) {
  const sx = photo.originalWidth / photo.width;
  const sy = photo.originalHeight / photo.height;
  return {
    point: (p: Point): Point => ({ x: p.x * sx, y: p.y * sy }),
    fromOriginal: (p: Point): Point => ({ x: p.x / sx, y: p.y / sy }),
    sx,
    sy,
  };
}

function draft(d: Detection, crop: Uint8Array, photo: DecodedPhoto): FaceDraft {
  const { point, sx, sy } = toOriginal(photo);
  const box = { x1: d.x1 * sx, y1: d.y1 * sy, x2: d.x2 * sx, y2: d.y2 * sy };
  return {
    box,
    landmarks: d.landmarks.map(point),
    score: d.score,
    size: Math.min(box.x2 - box.x1, box.y2 - box.y1),
    sharpness: sharpness(crop),
    ...estimatePose(d.landmarks),
  };
}

export async function analysePhoto(detector: LoadedSession, photo: DecodedPhoto): Promise<AnalysedPhoto> {
  const t0 = performance.now();
  const detections = await detectFaces(detector, photo);
  const t1 = performance.now();
  const crops = detections.map((d) => alignFace(photo, d.landmarks));
  const faces = detections.map((d, i) => draft(d, crops[i]!, photo));
  const t2 = performance.now();
  const thumbs = await Promise.all(detections.map((d) => renderFaceThumb(photo, d)));
  return { faces, crops, thumbs, ms: { detect: t1 - t0, align: t2 - t1, thumbs: performance.now() - t2 } };
}

/** Aligned crops for faces already in the library (a model change), from their stored landmarks. */
export function recrop(photo: DecodedPhoto & RgbImage, landmarks: readonly Point[][]): Uint8Array[] {
  const { fromOriginal } = toOriginal(photo);
  return landmarks.map((lm) => alignFace(photo, lm.map(fromOriginal)));
}
