/**
 * @file Points and boxes, shared by every layer (detection, the store, metadata, matching), so
 * the store and the API need not import a pipeline stage to name a landmark or a box.
 * Dependency-free.
 */

export interface Point {
  x: number;
  y: number;
}

/** Box corners: in pixels, or as fractions of the photo's width and height (normalised). */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** Intersection over union; 0 for boxes that do not overlap or have no area. */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** A pixel box as fractions of a `width` × `height` image. */
export function normaliseBox(b: Box, width: number, height: number): Box {
  return { x1: b.x1 / width, y1: b.y1 / height, x2: b.x2 / width, y2: b.y2 / height };
}

/** A normalised box after its image turned `quarters` × 90° clockwise. */
export function turnBox(b: Box, quarters: number): Box {
  let out = b;
  for (let q = 0; q < quarters; q++) out = { x1: 1 - out.y2, y1: out.x1, x2: 1 - out.y1, y2: out.x2 };
  return out;
}
