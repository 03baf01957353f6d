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

/** What shows where the square runs past the photo's edge: a quiet grey, not someone else. */
const PAD = { r: 128, g: 128, b: 128 };

/**
 * JPEG bytes of the face in `box` (image pixels) with margin, as a square centred on the face.
 * Near an edge the part past the photo is padded grey rather than the square sliding inward,
 * which made a half face at the edge a picture of whoever stood next to it.
 */
export async function renderFaceThumb(image: RgbImage, box: { x1: number; y1: number; x2: number; y2: number }): Promise<Buffer> {
  const side = Math.max(1, Math.round(Math.max(box.x2 - box.x1, box.y2 - box.y1) * (1 + 2 * MARGIN)));
  const left = Math.round((box.x1 + box.x2) / 2 - side / 2);
  const top = Math.round((box.y1 + box.y2) / 2 - side / 2);
  // The square's part inside the photo (at least one pixel, so a degenerate box still renders).
  const x1 = Math.min(Math.max(0, left), image.width - 1);
  const y1 = Math.min(Math.max(0, top), image.height - 1);
  const width = Math.max(1, Math.min(image.width, left + side) - x1);
  const height = Math.max(1, Math.min(image.height, top + side) - y1);
  const inside = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left: x1, top: y1, width, height })
    .extend({
      left: Math.max(0, x1 - left),
      top: Math.max(0, y1 - top),
      right: Math.max(0, side - width - (x1 - left)),
      bottom: Math.max(0, side - height - (y1 - top)),
      background: PAD,
    })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return sharp(inside.data, { raw: { width: inside.info.width, height: inside.info.height, channels: 3 } })
    .resize(THUMB_SIZE, THUMB_SIZE, { fit: 'fill' })
    .jpeg({ quality: 82 })
    .toBuffer();
}

export async function saveFaceThumbs(dbPath: string, thumbs: Array<{ faceId: number; jpeg: Buffer }>): Promise<void> {
  if (thumbs.length === 0) return;
  ensurePrivateDir(thumbsDirFor(dbPath));
  await Promise.all(thumbs.map((t) => writeFile(faceThumbPath(dbPath, t.faceId), t.jpeg, { mode: PRIVATE_FILE_MODE })));
}
