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
  const { rgb, width: w, height: h } = image;
  const { a, b, tx, ty } = back;
  // Sub-sample offsets within a crop pixel, computed once (the same values, in the same order,
  // as per sample: this loop is the hot spot of analysis and must give identical bytes).
  const offsets = Array.from({ length: k }, (_, s) => (s + 0.5) / k);
  // a·cu and b·cu for every sub-sample column of the crop, likewise per row: same products.
  const aU = new Float64Array(size * k), bU = new Float64Array(size * k);
  for (let u = 0; u < size; u++) {
    for (let su = 0; su < k; su++) {
      const cu = u + offsets[su]! - 0.5;
      aU[u * k + su] = a * cu;
      bU[u * k + su] = b * cu;
    }
  }
  const n = k * k;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      let r = 0, g = 0, bl = 0;
      for (let sv = 0; sv < k; sv++) {
        const cv = v + offsets[sv]! - 0.5;
        const bV = b * cv, aV = a * cv;
        for (let su = 0; su < k; su++) {
          const x = aU[u * k + su]! - bV + tx;
          const y = bU[u * k + su]! + aV + ty;
          const x0 = Math.floor(x), y0 = Math.floor(y);
          const fx = x - x0, fy = y - y0;
          if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
            // All four neighbours inside: bilinear without bounds checks.
            const i = (y0 * w + x0) * 3;
            const j = i + w * 3;
            const w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx, w10 = fy * (1 - fx), w11 = fy * fx;
            r += w00 * rgb[i]!; g += w00 * rgb[i + 1]!; bl += w00 * rgb[i + 2]!;
            r += w01 * rgb[i + 3]!; g += w01 * rgb[i + 4]!; bl += w01 * rgb[i + 5]!;
            r += w10 * rgb[j]!; g += w10 * rgb[j + 1]!; bl += w10 * rgb[j + 2]!;
            r += w11 * rgb[j + 3]!; g += w11 * rgb[j + 4]!; bl += w11 * rgb[j + 5]!;
            continue;
          }
          for (let dy = 0; dy <= 1; dy++) {
            const yy = y0 + dy;
            if (yy < 0 || yy >= h) continue;
            const wy = dy ? fy : 1 - fy;
            for (let dx = 0; dx <= 1; dx++) {
              const xx = x0 + dx;
              if (xx < 0 || xx >= w) continue;
              const wgt = wy * (dx ? fx : 1 - fx);
              const i = (yy * w + xx) * 3;
              r += wgt * rgb[i]!;
              g += wgt * rgb[i + 1]!;
              bl += wgt * rgb[i + 2]!;
            }
          }
        }
      }
      const o = (v * size + u) * 3;
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(bl / n);
    }
  }
  return out;
}
