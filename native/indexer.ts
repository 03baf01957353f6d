/**
 * @file Drives the pipeline over a folder: works out what changed since the last run
 * (new, changed, moved, deleted files; faces from another model), then streams the work
 * through decode → detect/align → embed → store with the stages overlapping, committing in
 * small atomic batches so a kill at any moment loses at most the batch in flight.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { FaceIndex } from './ann.ts';
import { analysePhoto, recrop, type FaceDraft } from './analyse.ts';
import { decodePhotoFile, DecodeError, photoFileSize, type DecodedPhoto } from './decode.ts';
import { DEFAULT_EMBEDDER, EMBED_BATCH, Embedder } from './embed.ts';
import { loadDetector } from './detect.ts';
import { MODELS_DIR, type DeviceChoice } from './runtime.ts';
import { scanFolder, type ScannedFile } from './scan.ts';
import type { IndexProgress } from './api-types.ts';
import type { PhotoRow, Store } from './store/index.ts';
import { saveFaceThumbs } from './thumbs.ts';

/** Photos read and decoded ahead of the one in the detector. */
const PREFETCH = 3;

export type { IndexProgress };

export interface StageTimes {
  /** Summed milliseconds per stage; stages overlap, so the sum can exceed wall time. */
  read: number;
  decode: number;
  detect: number;
  align: number;
  embed: number;
  store: number;
}

export interface IndexSummary {
  runId: number;
  provider: string;
  modelId: string;
  scanned: number;
  unchanged: number;
  indexed: number;
  moved: number;
  removed: number;
  reembedded: number;
  errors: number;
  faces: number;
  wallMs: number;
  stages: StageTimes;
  interrupted: boolean;
}

export interface IndexOptions {
  device?: DeviceChoice;
  embedder?: string;
  modelsDir?: string;
  onProgress?: (p: IndexProgress) => void;
  notice?: (line: string) => void;
  signal?: AbortSignal;
}

interface Loaded {
  file: ScannedFile;
  hash?: string;
  photo?: DecodedPhoto;
  error?: string;
  readMs: number;
  decodeMs: number;
}

/** A user-readable reason for a failure to read or decode a file. */
export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof DecodeError) return e.message;
  switch (e?.code) {
    case 'ENOENT':
      return 'file vanished before it could be read';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: Kith cannot read this file';
    case 'EISDIR':
      return 'not a file';
    default:
      return e?.message ?? String(err);
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * sha256 of a photo file, streamed so memory stays flat. A file over the photo size limit is
 * refused (DecodeError) rather than read: it will never be indexed, so its hash is never needed.
 */
export async function sha256File(path: string): Promise<string> {
  await photoFileSize(path);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Check, hash and decode one file; the file is never held in memory whole. */
async function load(file: ScannedFile): Promise<Loaded> {
  const t0 = performance.now();
  let size: number;
  let hash: string;
  try {
    // The size limit comes first: an oversized file is neither read nor decoded.
    size = await photoFileSize(file.path);
    hash = await sha256File(file.path);
  } catch (err) {
    return { file, error: describeError(err), readMs: performance.now() - t0, decodeMs: 0 };
  }
  const t1 = performance.now();
  try {
    const photo = await decodePhotoFile(file.path);
    return { file: { ...file, size }, hash, photo, readMs: t1 - t0, decodeMs: performance.now() - t1 };
  } catch (err) {
    return { file: { ...file, size }, hash, error: describeError(err), readMs: t1 - t0, decodeMs: performance.now() - t1 };
  }
}

/** Runs `load` over `files` keeping PREFETCH in flight, yielding results in order. */
async function* prefetched(files: readonly ScannedFile[], signal?: AbortSignal): AsyncGenerator<Loaded> {
  const inflight: Promise<Loaded>[] = [];
  let next = 0;
  while (next < files.length && inflight.length < PREFETCH) inflight.push(load(files[next++]!));
  while (inflight.length > 0) {
    const item = await inflight.shift()!;
    if (!signal?.aborted && next < files.length) inflight.push(load(files[next++]!));
    yield item;
    if (signal?.aborted) {
      await Promise.allSettled(inflight);
      return;
    }
  }
}

interface Plan {
  todo: ScannedFile[];
  unchanged: number;
  moves: Array<{ row: PhotoRow; to: ScannedFile }>;
  removals: PhotoRow[];
}

function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Compare the scan with the store: what to index, what moved, what is gone. */
async function plan(store: Store, root: string, files: readonly ScannedFile[]): Promise<Plan> {
  const known = new Map(store.photos.list().filter((r) => isInside(r.path, root)).map((r) => [r.path, r]));
  const seen = new Set(files.map((f) => f.path));
  const missing = [...known.values()].filter((r) => !seen.has(r.path));
  const todo: ScannedFile[] = [];
  const moves: Plan['moves'] = [];
  let unchanged = 0;
  const missingBySize = new Map<number, PhotoRow[]>();
  for (const r of missing) if (r.hash) missingBySize.set(r.size, [...(missingBySize.get(r.size) ?? []), r]);
  for (const f of files) {
    const row = known.get(f.path);
    if (row) {
      if (row.size === f.size && row.mtimeMs === f.mtimeMs && row.status !== 'pending') unchanged++;
      else todo.push(f);
      continue;
    }
    // A new path whose size matches a vanished photo may be that photo moved: compare content hashes.
    const candidates = missingBySize.get(f.size);
    if (candidates?.length) {
      try {
        const hash = sha256(await readFile(f.path));
        const i = candidates.findIndex((r) => r.hash === hash);
        if (i >= 0) {
          moves.push({ row: candidates[i]!, to: f });
          candidates.splice(i, 1);
          continue;
        }
      } catch {
        // Unreadable now: index it normally and let that record the error.
      }
    }
    todo.push(f);
  }
  const movedIds = new Set(moves.map((m) => m.row.id));
  return { todo, unchanged, moves, removals: missing.filter((r) => !movedIds.has(r.id)) };
}

/** Index `folder` into `store`; safe to interrupt and re-run at any point. */
export async function indexFolder(store: Store, folder: string, opts: IndexOptions = {}): Promise<IndexSummary> {
  const started = performance.now();
  const root = resolve(folder);
  const notice = opts.notice ?? (() => {});
  const device = opts.device ?? 'auto';
  const modelsDir = opts.modelsDir ?? MODELS_DIR;
  const embedder = await Embedder.load(opts.embedder ?? DEFAULT_EMBEDDER, device, notice, modelsDir);
  const detector = await loadDetector(device, notice, modelsDir);
  const provider = embedder.provider === detector.provider ? detector.provider : `${detector.provider}/${embedder.provider}`;
  if (!store.meta('root')) store.setMeta('root', root);

  const progress: IndexProgress = { phase: 'scanning', total: 0, done: 0, faces: 0, errors: 0, photosPerSec: 0, etaSec: null };
  const emit = () => opts.onProgress?.({ ...progress });
  emit();
  const scan = await scanFolder(root);
  for (const p of scan.problems) notice(`cannot read ${p.path}: ${p.error}`);
  const work = await plan(store, root, scan.files);

  const runId = store.runs.start(root, provider, embedder.modelId);
  store.transaction(() => {
    for (const m of work.moves) store.photos.relocate(m.row.id, m.to.path, m.to.mtimeMs);
    for (const r of work.removals) store.photos.delete(r.id);
  });

  const stages: StageTimes = { read: 0, decode: 0, detect: 0, align: 0, embed: 0, store: 0 };
  const reembedIds = store.faces.photosNeedingReembed(embedder.modelId);
  progress.phase = 'indexing';
  // The whole folder counts, so a resumed run reads "45 of 77", not "9 of 41": photos already
  // indexed (unchanged or moved) are done before it starts.
  progress.total = scan.files.length + reembedIds.length;
  progress.done = scan.files.length - work.todo.length;
  const doneBefore = progress.done;
  emit();
  const rateStart = performance.now();
  const tick = (current: string) => {
    progress.done++;
    progress.current = current;
    const secs = (performance.now() - rateStart) / 1000;
    progress.photosPerSec = secs > 0 ? (progress.done - doneBefore) / secs : 0;
    progress.etaSec = progress.photosPerSec > 0 ? (progress.total - progress.done) / progress.photosPerSec : null;
    emit();
  };

  type Pending = { loaded: Loaded; faces: FaceDraft[]; crops: Uint8Array[]; thumbs: Buffer[] };
  let batch: Pending[] = [];
  let indexed = 0;

  const flush = async () => {
    if (batch.length === 0) return;
    const t0 = performance.now();
    const vectors = await embedder.embed(batch.flatMap((p) => p.crops));
    const t1 = performance.now();
    let v = 0;
    const thumbs: Array<{ faceId: number; jpeg: Buffer }> = [];
    store.transaction(() => {
      for (const p of batch) {
        const { file, hash, photo } = p.loaded;
        const photoId = store.photos.upsert(file.path, {
          size: file.size,
          mtimeMs: file.mtimeMs,
          hash: hash ?? null,
          width: photo!.originalWidth,
          height: photo!.originalHeight,
          format: photo!.format,
          takenAt: photo!.takenAt,
          status: 'done',
          runId,
        });
        const ids = store.faces.replaceForPhoto(
          photoId,
          p.faces.map((f) => ({ ...f, modelId: embedder.modelId, embedding: vectors[v++]! })),
        );
        ids.forEach((faceId, i) => thumbs.push({ faceId, jpeg: p.thumbs[i]! }));
      }
      store.runs.progress(runId, progress.total, indexed + batch.length, progress.faces, progress.errors);
    });
    indexed += batch.length;
    batch = [];
    await saveFaceThumbs(store.path, thumbs);
    stages.embed += t1 - t0;
    stages.store += performance.now() - t1;
  };

  for await (const loaded of prefetched(work.todo, opts.signal)) {
    stages.read += loaded.readMs;
    stages.decode += loaded.decodeMs;
    if (loaded.error || !loaded.photo) {
      store.photos.upsert(loaded.file.path, {
        size: loaded.file.size,
        mtimeMs: loaded.file.mtimeMs,
        hash: loaded.hash ?? null,
        status: 'error',
        error: loaded.error ?? 'unknown error',
        runId,
      });
      progress.errors++;
      tick(loaded.file.path);
      continue;
    }
    const result = await analysePhoto(detector, loaded.photo);
    stages.detect += result.ms.detect;
    stages.align += result.ms.align;
    // Drop the pixels now; only crops and thumbnails wait for the embedding batch.
    batch.push({ loaded: { ...loaded, photo: { ...loaded.photo, rgb: Buffer.alloc(0) } }, ...result });
    progress.faces += result.faces.length;
    if (batch.reduce((n, p) => n + p.crops.length, 0) >= EMBED_BATCH || batch.length >= EMBED_BATCH) await flush();
    tick(loaded.file.path);
  }
  await flush();

  let reembedded = 0;
  if (reembedIds.length > 0 && !opts.signal?.aborted) {
    progress.phase = 'reembedding';
    reembedded = await reembedPhotos(store, embedder, reembedIds, tick, opts.signal);
  }

  progress.phase = 'indexing-ann';
  emit();
  FaceIndex.open(store, embedder.modelId, embedder.dim);

  const interrupted = opts.signal?.aborted ?? false;
  store.runs.progress(runId, progress.total, indexed, progress.faces, progress.errors);
  store.runs.finish(runId, interrupted ? 'interrupted' : 'done');
  progress.phase = 'done';
  emit();
  return {
    runId,
    provider,
    modelId: embedder.modelId,
    scanned: scan.files.length,
    unchanged: work.unchanged,
    indexed,
    moved: work.moves.length,
    removed: work.removals.length,
    reembedded,
    errors: progress.errors,
    faces: progress.faces,
    wallMs: performance.now() - started,
    stages,
    interrupted,
  };
}

/**
 * New vectors for faces made by another model. Faces keep their ids and boxes (landmarks are
 * stored), so names and other decisions about them survive a model change.
 */
async function reembedPhotos(
  store: Store,
  embedder: Embedder,
  photoIds: number[],
  tick: (current: string) => void,
  signal?: AbortSignal,
): Promise<number> {
  let count = 0;
  for (const photoId of photoIds) {
    if (signal?.aborted) break;
    const row = store.photos.getById(photoId);
    if (!row) continue;
    const faces = store.faces.forPhoto(photoId).filter((f) => f.modelId !== embedder.modelId);
    let photo: DecodedPhoto;
    try {
      photo = await decodePhotoFile(row.path);
    } catch (err) {
      // The file is gone or broken now; its old vectors stay until the next scan settles it.
      tick(`${row.path} (${describeError(err)})`);
      continue;
    }
    const vectors = await embedder.embed(recrop(photo, faces.map((f) => f.landmarks)));
    store.transaction(() => faces.forEach((f, i) => store.faces.reembed(f.id, vectors[i]!, embedder.modelId)));
    count++;
    tick(row.path);
  }
  return count;
}
