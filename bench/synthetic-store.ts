/**
 * @file Puts synthetic faces into a real Kith library the way the indexer does (a photo row
 * upserted and its faces written with Faces.syncForPhoto, in batches of one transaction each),
 * so the clustering benchmarks measure the product's own path: SQLite reads of every vector,
 * FaceIndex.open building and saving the HNSW file, PeopleClusterer writing assignments. What
 * the indexer writes besides (face thumbnails, run progress) is left out: clustering never
 * reads it.
 */
import type { Store } from '../native/store/index.ts';

/** A synthetic face: its vector, the photo it is in (faces of one photo share it) and whether it passes the quality gate. */
export interface SyntheticFace {
  vector: Float32Array;
  photoId: number;
  good: boolean;
}

/** The photos of the real indexer's batches are committed together; the same here. */
const PHOTOS_PER_TRANSACTION = 500;
const PHOTO_SIDE = 1000;

/**
 * Write `faces` (grouped by photoId, in the order given) as photos and faces of `modelId`.
 * Good faces get gate-passing quality figures, poor ones a low detector score; every face gets
 * its own place in its photo (from `rand`), so only real near-duplicates would fold.
 */
export function fillStore(store: Store, faces: readonly SyntheticFace[], modelId: string, rand: () => number, pathPrefix = 'synthetic'): void {
  const byPhoto = new Map<number, SyntheticFace[]>();
  for (const f of faces) {
    let list = byPhoto.get(f.photoId);
    if (!list) byPhoto.set(f.photoId, (list = []));
    list.push(f);
  }
  const photos = [...byPhoto];
  for (let at = 0; at < photos.length; at += PHOTOS_PER_TRANSACTION) {
    store.transaction(() => {
      for (const [photo, list] of photos.slice(at, at + PHOTOS_PER_TRANSACTION)) {
        const photoId = store.photos.upsert(`/${pathPrefix}/${photo}.jpg`, {
          size: 1,
          mtimeMs: 0,
          hash: `h${pathPrefix}${photo}`,
          width: PHOTO_SIDE,
          height: PHOTO_SIDE,
          format: 'jpeg',
          status: 'done',
        });
        store.faces.syncForPhoto(
          photoId,
          list.map((f) => {
            const side = 80 + Math.floor(rand() * 200);
            const x1 = Math.floor(rand() * (PHOTO_SIDE - side));
            const y1 = Math.floor(rand() * (PHOTO_SIDE - side));
            return {
              box: { x1, y1, x2: x1 + side, y2: y1 + side },
              landmarks: [0.3, 0.7, 0.5, 0.35, 0.65].map((u, i) => ({ x: x1 + u * side, y: y1 + (i < 2 ? 0.4 : i === 2 ? 0.6 : 0.8) * side })),
              score: f.good ? 0.99 : 0.6,
              size: side,
              sharpness: 40,
              yaw: 0,
              pitch: 0,
              roll: 0,
              modelId,
              embedding: f.vector,
            };
          }),
        );
      }
    });
  }
}
