/**
 * @file Face thumbnails: a small square JPEG per face, cached on disk beside the database.
 * Derived data: a missing one is simply made again from the photo. Faces are private: the
 * folder is 0700 and every thumbnail 0600 (see library-files.ts).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from './align.ts';
import { PRIVATE_FILE_MODE, ensurePrivateDir, libraryFiles } from '../store/library-files.ts';

export const THUMB_SIZE = 160;
/** Share of the box added on every side, so hair and chin show. */
const MARGIN = 0.3;

export function thumbsDirFor(dbPath: string): string {
  return libraryFiles(dbPath).thumbs;
}

export function faceThumbPath(dbPath: string, faceId: number): string {
  return join(thumbsDirFor(dbPath), `${faceId}.jpg`);
}

/** What shows where the square runs past the photo's edge: a quiet grey, not someone else. */
const PAD = { r: 128, g: 128, b: 128 };
/**
 * How far (share of the square) it may slide off the face's centre to stay inside the photo:
 * enough for a face that fills a tight portrait, too little to bring a neighbour into the middle.
 */
const MAX_SLIDE = 0.1;

/** Start of the square along one axis: centred, slid inward by at most MAX_SLIDE of its side. */
function squareStart(centre: number, side: number, limit: number): number {
  const centred = Math.round(centre - side / 2);
  const slide = Math.round(side * MAX_SLIDE);
  if (centred < 0) return Math.min(0, centred + slide);
  if (centred + side > limit) return Math.max(limit - side, centred - slide);
  return centred;
}

/**
 * JPEG bytes of the face in `box` (image pixels) with margin, as a square (shrunk only when the
 * photo is smaller). Near an edge the square slides inward a little; what still runs past the
 * edge is padded grey, so a half face at the edge is not replaced by whoever stood next to it.
 */
export async function renderFaceThumb(image: RgbImage, box: { x1: number; y1: number; x2: number; y2: number }): Promise<Buffer> {
  const want = Math.max(box.x2 - box.x1, box.y2 - box.y1) * (1 + 2 * MARGIN);
  const side = Math.max(1, Math.round(Math.min(want, image.width, image.height)));
  const left = squareStart((box.x1 + box.x2) / 2, side, image.width);
  const top = squareStart((box.y1 + box.y2) / 2, side, image.height);
  // The square's part inside the photo (at least one pixel, so a degenerate box still renders).
  const x1 = Math.min(Math.max(0, left), image.width - 1);
  const y1 = Math.min(Math.max(0, top), image.height - 1);
  const width = Math.max(1, Math.min(image.width, left + side) - x1);
  const height = Math.max(1, Math.min(image.height, top + side) - y1);
  // One pipeline: the part inside the photo is cut and shrunk, then padded to the square, so
  // only the face's own pixels are resampled.
  const scale = THUMB_SIZE / side;
  const w = Math.max(1, Math.min(THUMB_SIZE, Math.round(width * scale)));
  const h = Math.max(1, Math.min(THUMB_SIZE, Math.round(height * scale)));
  const padLeft = Math.min(THUMB_SIZE - w, Math.round(Math.max(0, x1 - left) * scale));
  const padTop = Math.min(THUMB_SIZE - h, Math.round(Math.max(0, y1 - top) * scale));
  return sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left: x1, top: y1, width, height })
    .resize(w, h, { fit: 'fill' })
    .extend({ left: padLeft, top: padTop, right: THUMB_SIZE - w - padLeft, bottom: THUMB_SIZE - h - padTop, background: PAD })
    .jpeg({ quality: 82 })
    .toBuffer();
}

export async function saveFaceThumbs(dbPath: string, thumbs: Array<{ faceId: number; jpeg: Buffer }>): Promise<void> {
  if (thumbs.length === 0) return;
  ensurePrivateDir(thumbsDirFor(dbPath));
  await Promise.all(thumbs.map((t) => writeFile(faceThumbPath(dbPath, t.faceId), t.jpeg, { mode: PRIVATE_FILE_MODE })));
}
