/**
 * @file Cheap per-face quality signals that decide which faces may found a person: how
 * sharp the aligned crop is and how far the head is turned, estimated from the landmarks.
 */
import type { Point } from './detect.ts';

/**
 * Sharpness: variance of the 4-neighbour Laplacian of the aligned crop's luma, over the
 * inner face region (borders hold background). Typical: < 50 blurry, > 200 crisp.
 */
export function sharpness(aligned: Uint8Array, size = 112): number {
  const luma = new Float32Array(size * size);
  for (let i = 0; i < size * size; i++) {
    luma[i] = 0.299 * aligned[3 * i]! + 0.587 * aligned[3 * i + 1]! + 0.114 * aligned[3 * i + 2]!;
  }
  const lo = Math.round(size * 0.2), hi = Math.round(size * 0.85);
  let sum = 0, sumSq = 0, n = 0;
  for (let y = lo; y < hi; y++) {
    for (let x = lo; x < hi; x++) {
      const i = y * size + x;
      const lap = luma[i - 1]! + luma[i + 1]! + luma[i - size]! + luma[i + size]! - 4 * luma[i]!;
      sum += lap; sumSq += lap * lap; n++;
    }
  }
  const mean = sum / n;
  return sumSq / n - mean * mean;
}

/** Head pose in degrees, roughly: yaw (left/right turn), pitch (up/down), roll (tilt). */
export interface Pose {
  yaw: number;
  pitch: number;
  roll: number;
}

/**
 * Pose from the five landmarks. Roll is the eye line's angle. Yaw comes from how far the nose
 * sits from the eye/mouth midline relative to half the eye distance (±1 ≈ ±90°); pitch from
 * where the nose sits between the eye line and the mouth line (≈0.5 when frontal).
 */
export function estimatePose(lm: readonly Point[]): Pose {
  const [le, re, nose, lm_, rm] = lm as [Point, Point, Point, Point, Point];
  const roll = (Math.atan2(re.y - le.y, re.x - le.x) * 180) / Math.PI;
  // Undo roll so the remaining offsets are in the face's own frame.
  const c = Math.cos((-roll * Math.PI) / 180), s = Math.sin((-roll * Math.PI) / 180);
  const rot = (p: Point) => ({ x: c * p.x - s * p.y, y: s * p.x + c * p.y });
  const [L, R, N, ML, MR] = [le, re, nose, lm_, rm].map(rot) as [Point, Point, Point, Point, Point];
  const eyeMid = { x: (L.x + R.x) / 2, y: (L.y + R.y) / 2 };
  const mouthMid = { x: (ML.x + MR.x) / 2, y: (ML.y + MR.y) / 2 };
  const midX = (eyeMid.x + mouthMid.x) / 2;
  const halfEye = Math.max(1e-6, Math.abs(R.x - L.x) / 2);
  const yawRatio = Math.max(-1, Math.min(1, (N.x - midX) / halfEye));
  const faceH = Math.max(1e-6, mouthMid.y - eyeMid.y);
  const pitchRatio = Math.max(-1, Math.min(1, ((N.y - eyeMid.y) / faceH - 0.55) * 2));
  return {
    yaw: (Math.asin(yawRatio) * 180) / Math.PI,
    pitch: (Math.asin(pitchRatio) * 180) / Math.PI,
    roll,
  };
}
