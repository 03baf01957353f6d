/**
 * @file A face from a box: the user drew a rectangle on a photo (or another tool's named
 * region lies where the detector found nothing). The detector looks again at the region,
 * enlarged, where a small or blurred face is easier to find; its landmarks are used when it
 * finds a face on the box, else the five points are placed in the box where the detector
 * puts them in its own boxes. The face is aligned, embedded and stored like any other, marked as drawn or
 * imported, so clustering, search and naming treat it as a face and re-indexing keeps it.
 */
import sharp from 'sharp';
import { alignFace } from '../pipeline/align.ts';
import { toOriginal } from '../pipeline/analyse.ts';
import { iou, normaliseBox, type Box, type Point } from '../common/geometry.ts';
import { decodePhotoFile, type DecodedPhoto } from '../pipeline/decode.ts';
import { detectFaces } from '../pipeline/detect.ts';
import type { FaceEmbedder } from '../pipeline/embed.ts';
import { type OpResult, type PeopleService } from './service.ts';
import { UserError } from '../common/user-error.ts';
import { estimatePose, sharpness } from '../pipeline/quality.ts';
import type { LoadedSession } from '../pipeline/runtime.ts';
import type { FaceOrigin, Store } from '../store/index.ts';
import { renderFaceThumb, saveFaceThumbs } from '../pipeline/thumbs.ts';

/** The region the detector looks at: the box grown to this many times its side, around its centre. */
const CONTEXT = 2;
/** Longer side the region is scaled to for the detector (a face then fills about half of it). */
const REGION_SIDE = 480;
/** A weaker detection than the indexer keeps is still good for landmarks where the user says a face is. */
const REGION_SCORE = 0.3;
/** A detection is the drawn face when their boxes overlap this much. */
const SAME_FACE_IOU = 0.3;
/** Smallest box side accepted, original pixels. */
export const MIN_BOX_SIDE = 8;

export interface ManualFaceModels {
  detector: LoadedSession;
  embedder: FaceEmbedder;
}

export interface ManualFace {
  faceId: number;
  /** Whether the detector found the face on a second look (its landmarks were used). */
  detected: boolean;
}

/**
 * Where the detector's five landmarks lie in its own box, as shares of the box: the mean over
 * 100 real faces (the 40 faceapi-bbt portraits and the first photo of 60 lfw-dev people).
 * Placing the ArcFace template's proportions in the box instead made a vector closer to other
 * people than to the person (test/manual-face.test.ts): its crop is tighter than a face box.
 */
const LANDMARKS_IN_BOX: readonly Point[] = [
  { x: 0.2729, y: 0.3506 },
  { x: 0.7179, y: 0.345 },
  { x: 0.4968, y: 0.5656 },
  { x: 0.3196, y: 0.731 },
  { x: 0.6903, y: 0.726 },
];

/** The five landmarks of an upright, frontal face whose box is `box`. */
export function landmarksInBox(box: Box): Point[] {
  const w = box.x2 - box.x1;
  const h = box.y2 - box.y1;
  return LANDMARKS_IN_BOX.map((p) => ({ x: box.x1 + p.x * w, y: box.y1 + p.y * h }));
}

/** The box clipped to the photo, or a UserError when too little of it is left. */
export function checkBox(box: Box, width: number, height: number): Box {
  const values = [box.x1, box.y1, box.x2, box.y2];
  if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new UserError('a box needs four numbers');
  const b = {
    x1: Math.max(0, Math.min(box.x1, box.x2)),
    y1: Math.max(0, Math.min(box.y1, box.y2)),
    x2: Math.min(width, Math.max(box.x1, box.x2)),
    y2: Math.min(height, Math.max(box.y1, box.y2)),
  };
  if (b.x2 - b.x1 < MIN_BOX_SIDE || b.y2 - b.y1 < MIN_BOX_SIDE) throw new UserError(`draw a box of at least ${MIN_BOX_SIDE} pixels around the face`);
  return b;
}

/**
 * Landmarks (working-image pixels) of the face the detector finds on `box` (working pixels)
 * when it looks at the enlarged region alone, or null when it finds none there.
 */
async function landmarksNear(detector: LoadedSession, photo: DecodedPhoto, box: Box): Promise<Point[] | null> {
  const side = Math.max(box.x2 - box.x1, box.y2 - box.y1) * CONTEXT;
  const cx = (box.x1 + box.x2) / 2;
  const cy = (box.y1 + box.y2) / 2;
  const left = Math.max(0, Math.floor(cx - side / 2));
  const top = Math.max(0, Math.floor(cy - side / 2));
  const width = Math.min(photo.width, Math.ceil(cx + side / 2)) - left;
  const height = Math.min(photo.height, Math.ceil(cy + side / 2)) - top;
  if (width < 2 || height < 2) return null;
  const scale = REGION_SIDE / Math.max(width, height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const rgb = await sharp(photo.rgb, { raw: { width: photo.width, height: photo.height, channels: 3 } })
    .extract({ left, top, width, height })
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer();
  const back = (p: Point): Point => ({ x: left + (p.x * width) / w, y: top + (p.y * height) / h });
  const norm = (b: Box) => normaliseBox(b, photo.width, photo.height);
  let best: { overlap: number; landmarks: Point[] } | null = null;
  for (const d of await detectFaces(detector, { rgb, width: w, height: h }, REGION_SCORE)) {
    const p1 = back({ x: d.x1, y: d.y1 });
    const p2 = back({ x: d.x2, y: d.y2 });
    const overlap = iou(norm({ x1: p1.x, y1: p1.y, x2: p2.x, y2: p2.y }), norm(box));
    if (overlap >= SAME_FACE_IOU && (!best || overlap > best.overlap)) best = { overlap, landmarks: d.landmarks.map(back) };
  }
  return best?.landmarks ?? null;
}

/** Reads the photo at a path: decodePhotoFile, or a reader that refuses files outside the library. */
export type PhotoReader = (path: string) => Promise<DecodedPhoto>;

/**
 * Store a face of photo `photoId` in `box` (upright original pixels, as faces are stored),
 * with its vector and thumbnail. The caller adds it to the HNSW index and names it.
 */
export async function addFaceFromBox(
  store: Store,
  models: ManualFaceModels,
  photoId: number,
  box: Box,
  origin: Exclude<FaceOrigin, 'detected'> = 'drawn',
  read: PhotoReader = decodePhotoFile,
): Promise<ManualFace> {
  const row = store.photos.getById(photoId);
  if (!row || row.status !== 'done' || row.duplicateOf !== null) throw new UserError(`no photo ${photoId}`);
  const photo = await read(row.path).catch((err: Error) => {
    throw err instanceof UserError ? err : new UserError(`cannot read ${row.path}: ${err.message}`);
  });
  const original = checkBox(box, photo.originalWidth, photo.originalHeight);
  const { point, fromOriginal } = toOriginal(photo);
  const p1 = fromOriginal({ x: original.x1, y: original.y1 });
  const p2 = fromOriginal({ x: original.x2, y: original.y2 });
  const working = { x1: p1.x, y1: p1.y, x2: p2.x, y2: p2.y };
  const found = await landmarksNear(models.detector, photo, working);
  const landmarks = found ?? landmarksInBox(working);
  const crop = alignFace(photo, landmarks);
  const [embedding] = await models.embedder.embed([crop]);
  const faceId = store.faces.addMarked(
    photoId,
    {
      box: original,
      landmarks: landmarks.map(point),
      // The user (or the tool that wrote the region) vouches that a face is there.
      score: 1,
      size: Math.min(original.x2 - original.x1, original.y2 - original.y1),
      sharpness: sharpness(crop),
      ...estimatePose(landmarks),
      modelId: models.embedder.modelId,
      embedding: embedding!,
    },
    origin,
  );
  await saveFaceThumbs(store.path, [{ faceId, jpeg: await renderFaceThumb(photo, working) }]);
  return { faceId, detected: found !== null };
}

/** Who a drawn face is: an existing person, or a name (found case-insensitively, else a new person). */
export type FaceTarget = { personId: number } | { newPersonName: string };

/**
 * The user drew a face and said who it is: the face is stored and confirmed as that person in
 * one journaled operation, whose undo removes the name and the drawn face with it.
 */
export async function addNamedFace(
  store: Store,
  people: PeopleService,
  models: ManualFaceModels,
  photoId: number,
  box: Box,
  to: FaceTarget,
  read?: PhotoReader,
): Promise<OpResult & { faceId: number; detected: boolean }> {
  const named = 'personId' in to ? store.people.get(to.personId) : store.people.findByName(to.newPersonName);
  if ('personId' in to && (!named || named.mergedInto !== null)) throw new UserError(`no person ${to.personId}`);
  if (!('personId' in to) && !to.newPersonName.trim()) throw new UserError('a name cannot be empty');
  const face = await addFaceFromBox(store, models, photoId, box, 'drawn', read);
  try {
    return store.transaction(() => {
      const result = named ? people.confirmFaces([face.faceId], named.id) : people.moveFaces([face.faceId], { newPersonName: (to as { newPersonName: string }).newPersonName });
      const who = store.people.get(result.personId!)?.name ?? 'a new person';
      const label = `Drew a face of ${who}`;
      const op = store.people.lastOperation()!;
      store.people.recordDrawnFaces(op.id, label, [face.faceId]);
      return { ...result, label, faceId: face.faceId, detected: face.detected };
    });
  } catch (err) {
    store.faces.remove(face.faceId); // not named: the drawn face goes too, as if never drawn
    throw err;
  }
}
