/**
 * @file Face thumbnails: a small square JPEG per face, cached on disk beside the database.
 * Derived data: a missing one is simply made again from the photo. Faces are private: the
 * folder is 0700 and every thumbnail 0600 (see library-files.ts).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { RgbImage } from './align.ts';
import { PRIVATE_FILE_MODE, ensurePrivateDir, libraryFiles } from './library-files.ts';

export const THUMB_SIZE = 160;
/** Share of the box added on every side, so hair and chin show. */
const MARGIN = 0.3;

export function thumbsDirFor(dbPath: string): string {
  return libraryFiles(dbPath).thumbs;
}

export function faceThumbPath(dbPath: string, faceId: number): string {
  return join(thumbsDirFor(dbPath), `${faceId}.jpg`);
}

/**
 * JPEG bytes of the face in `box` (image pixels) with margin, as a square. Near an edge the
 * square slides inward (and shrinks only if the photo is smaller), so no padding shows.
 */
export async function renderFaceThumb(image: RgbImage, box: { x1: number; y1: number; x2: number; y2: number }): Promise<Buffer> {
  const want = Math.max(box.x2 - box.x1, box.y2 - box.y1) * (1 + 2 * MARGIN);
  const side = Math.max(1, Math.round(Math.min(want, image.width, image.height)));
  const slide = (centre: number, limit: number) => Math.min(Math.max(0, Math.round(centre - side / 2)), limit - side);
  const left = slide((box.x1 + box.x2) / 2, image.width);
  const top = slide((box.y1 + box.y2) / 2, image.height);
  return sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width: side, height: side })
    .resize(THUMB_SIZE, THUMB_SIZE)
    .jpeg({ quality: 82 })
    .toBuffer();
}

export async function saveFaceThumbs(dbPath: string, thumbs: Array<{ faceId: number; jpeg: Buffer }>): Promise<void> {
  if (thumbs.length === 0) return;
  ensurePrivateDir(thumbsDirFor(dbPath));
  await Promise.all(thumbs.map((t) => writeFile(faceThumbPath(dbPath, t.faceId), t.jpeg, { mode: PRIVATE_FILE_MODE })));
}
