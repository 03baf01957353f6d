/**
 * @file Face thumbnails are derived files: a run makes again every one that is missing (the
 * thumbnails folder deleted, a disk cleaned), from the photo, so the UI never waits on them.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { toOriginal } from '../pipeline/analyse.ts';
import { decodePhoto } from '../pipeline/decode.ts';
import type { Store } from '../store/index.ts';
import { renderFaceThumb, saveFaceThumbs, thumbsDirFor } from '../pipeline/thumbs.ts';

/** Photos (by id) with at least one face whose thumbnail file is missing, and those faces. */
export function missingThumbs(store: Store): Map<number, number[]> {
  let present: Set<string>;
  try {
    present = new Set(readdirSync(thumbsDirFor(store.path)));
  } catch {
    present = new Set();
  }
  const out = new Map<number, number[]>();
  for (const { id, photoId } of store.faces.idsWithPhoto()) {
    if (!present.has(`${id}.jpg`)) out.set(photoId, [...(out.get(photoId) ?? []), id]);
  }
  return out;
}

/** Cut the faces' thumbnails again from their photo; false when the photo cannot be read now. */
export async function rebuildThumbs(store: Store, photoId: number, faceIds: readonly number[]): Promise<boolean> {
  const row = store.photos.getById(photoId);
  if (!row) return false;
  try {
    const photo = await decodePhoto(await readFile(row.path));
    const { sx, sy } = toOriginal(photo);
    const thumbs = [];
    for (const faceId of faceIds) {
      const face = store.faces.get(faceId);
      if (!face) continue;
      const box = { x1: face.box.x1 / sx, y1: face.box.y1 / sy, x2: face.box.x2 / sx, y2: face.box.y2 / sy };
      thumbs.push({ faceId, jpeg: await renderFaceThumb(photo, box) });
    }
    await saveFaceThumbs(store.path, thumbs);
    return true;
  } catch {
    return false; // the photo is gone or unreadable: the next scan settles it
  }
}
