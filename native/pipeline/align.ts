/**
 * @file Cuts each face out as the 112×112 crop the recognisers were trained on: a
 * least-squares similarity transform takes the five landmarks onto the ArcFace template,
 * and the crop is sampled with area averaging so large faces do not alias.
 */
import type { Point } from './detect.ts';

export const ALIGNED_SIZE = 112;

/** Standard ArcFace 5-point template for a 112×112 crop (insightface `arcface_dst`). */
export const ARCFACE_TEMPLATE: readonly Point[] = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

/** x' = a·x − b·y + tx, y' = b·x + a·y + ty */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** Least-squares similarity (rotation, uniform scale, translation; no reflection) taking `from` onto `to`. */
export function fitSimilarity(from: readonly Point[], to: readonly Point[]): Similarity {
  const n = from.length;
  let fx = 0, fy = 0, tx = 0, ty = 0;
  for (let i = 0; i < n; i++) {
    fx += from[i]!.x; fy += from[i]!.y; tx += to[i]!.x; ty += to[i]!.y;
  }
  fx /= n; fy /= n; tx /= n; ty /= n;
  let num = 0, cross = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const px = from[i]!.x - fx, py = from[i]!.y - fy;
    const qx = to[i]!.x - tx, qy = to[i]!.y - ty;
    num += px * qx + py * qy;
    cross += px * qy - py * qx;
    den += px * px + py * py;
  }
  const a = den > 0 ? num / den : 1;
  const b = den > 0 ? cross / den : 0;
  return { a, b, tx: tx - (a * fx - b * fy), ty: ty - (b * fx + a * fy) };
}

export function applySimilarity(t: Similarity, p: Point): Point {
  return { x: t.a * p.x - t.b * p.y + t.tx, y: t.b * p.x + t.a * p.y + t.ty };
}

export interface RgbImage {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/**
 * The aligned 112×112 RGB crop of the face whose landmarks are given in `image` pixels.
 * Pixels outside the image are black, as in the recognisers' training crops.
 */
export function alignFace(image: RgbImage, landmarks: readonly Point[], size = ALIGNED_SIZE): Uint8Array {
  const template = size === ALIGNED_SIZE ? ARCFACE_TEMPLATE : ARCFACE_TEMPLATE.map((p) => ({ x: (p.x * size) / 112, y: (p.y * size) / 112 }));
  // Map crop pixels back into the photo, so each output pixel is sampled once.
  const back = fitSimilarity(template, landmarks);
  const step = Math.hypot(back.a, back.b); // photo pixels per crop pixel
  const k = Math.max(1, Math.min(8, Math.ceil(step)));
  const out = new Uint8Array(size * size * 3);
  const { rgb, width, height } = image;
  const acc = [0, 0, 0];
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      acc[0] = acc[1] = acc[2] = 0;
      for (let sv = 0; sv < k; sv++) {
        for (let su = 0; su < k; su++) {
          const cu = u + (su + 0.5) / k - 0.5;
          const cv = v + (sv + 0.5) / k - 0.5;
          const x = back.a * cu - back.b * cv + back.tx;
          const y = back.b * cu + back.a * cv + back.ty;
          sampleBilinear(rgb, width, height, x, y, acc);
        }
      }
      const o = (v * size + u) * 3;
      const n = k * k;
      out[o] = Math.round(acc[0]! / n);
      out[o + 1] = Math.round(acc[1]! / n);
      out[o + 2] = Math.round(acc[2]! / n);
    }
  }
  return out;
}

function sampleBilinear(rgb: Uint8Array, w: number, h: number, x: number, y: number, acc: number[]): void {
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const fx = x - x0, fy = y - y0;
  for (let dy = 0; dy <= 1; dy++) {
    const yy = y0 + dy;
    if (yy < 0 || yy >= h) continue;
    const wy = dy ? fy : 1 - fy;
    for (let dx = 0; dx <= 1; dx++) {
      const xx = x0 + dx;
      if (xx < 0 || xx >= w) continue;
      const wgt = wy * (dx ? fx : 1 - fx);
      const i = (yy * w + xx) * 3;
      acc[0]! += wgt * rgb[i]!;
      acc[1]! += wgt * rgb[i + 1]!;
      acc[2]! += wgt * rgb[i + 2]!;
    }
  }
}
