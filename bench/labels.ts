/**
 * @file Ground truth for a labelled library (`<Name>/<photo>` folders, as lfw-dev): the
 * labelled face of a photo is the largest face covering the image centre (LFW's convention),
 * its identity the photo's folder; other faces in the frame are background people, unknown.
 * Shared by every quality benchmark so they all score against the same truth.
 */
import { basename, dirname } from 'node:path';
import type { FaceRow, Store } from '../native/store/index.ts';

export interface LabelledFace {
  row: FaceRow;
  /** Identity of the labelled (centre) face; null for background faces. */
  label: string | null;
  /** Name of the photo's folder. */
  folder: string;
}

/** Every face of the library's main model (the one most faces use), labelled by the centre rule. */
export function labelledFaces(store: Store): { faces: LabelledFace[]; modelId: string } {
  const [top] = store.faces.modelCounts();
  if (!top) throw new Error(`${store.path} holds no faces`);
  const rows = [...store.faces.iterate(top.modelId)];
  const photos = new Map(store.photos.list().map((p) => [p.id, p]));
  const byPhoto = new Map<number, FaceRow[]>();
  for (const r of rows) byPhoto.set(r.photoId, [...(byPhoto.get(r.photoId) ?? []), r]);
  const area = (f: FaceRow) => (f.box.x2 - f.box.x1) * (f.box.y2 - f.box.y1);
  const labelled = new Set<number>();
  for (const [photoId, list] of byPhoto) {
    const photo = photos.get(photoId)!;
    const cx = (photo.width ?? 0) / 2;
    const cy = (photo.height ?? 0) / 2;
    const centre = list
      .filter((f) => f.box.x1 <= cx && cx <= f.box.x2 && f.box.y1 <= cy && cy <= f.box.y2)
      .sort((a, b) => area(b) - area(a) || a.id - b.id)[0];
    if (centre) labelled.add(centre.id);
  }
  const faces = rows.map((row) => {
    const folder = basename(dirname(photos.get(row.photoId)!.path));
    return { row, folder, label: labelled.has(row.id) ? folder : null };
  });
  return { faces, modelId: top.modelId };
}
