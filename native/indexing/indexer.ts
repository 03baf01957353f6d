/**
 * @file Drives the pipeline over a folder: works out what changed since the last run
 * (new, changed, moved, deleted files; faces from another model), then streams the work
 * through decode → detect/align → embed → store with the stages overlapping, committing in
 * small atomic batches so a kill at any moment loses at most the batch in flight.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { FaceIndex } from '../search/ann.ts';
import { recrop } from '../pipeline/analyse.ts';
import { startAnalyser, type PhotoAnalyser, type ThreadLayout } from '../pipeline/analysis-pool.ts';
import { decodePhotoFile, type DecodedPhoto } from '../pipeline/decode.ts';
import { describeError, providerOf, sha256File, type AnalysedFile, type PhotoModels } from '../pipeline/photo-analysis.ts';
import { DEFAULT_EMBEDDER, EMBED_BATCH, Embedder, embedderDim, type FaceEmbedder, embedderModelId } from '../pipeline/embed.ts';
import { loadDetector } from '../pipeline/detect.ts';
import { certainlyCpu, MODELS_DIR, type DeviceChoice } from '../pipeline/runtime.ts';
import type { ScannedFile } from '../pipeline/scan.ts';
import type { IndexProgress, IndexSummary, StageTimes } from '../api/types.ts';

export type { IndexSummary };
import type { Store } from '../store/index.ts';
import { saveFaceThumbs } from '../pipeline/thumbs.ts';
import { planRun } from './index-plan.ts';
import { runScope } from './index-scope.ts';
import { isWithin } from '../common/path-inside.ts';
import { applyPlan, recordNewCopies } from './index-apply.ts';
import { matchFaces, type MatchableFace } from './face-match.ts';
import { journalLostFaces } from './face-journal.ts';
import { missingThumbs, rebuildThumbs } from './thumb-repair.ts';
import { importFaceRegions } from '../metadata/region-import.ts';

/**
 * A run with fewer photos to read than this (a few files the folder watcher saw change) analyses
 * them in-process: starting the pool, each worker loading its own models, would cost more.
 */
const SMALL_RUN = 8;

/** Photos (or faces) stored per transaction: a kill loses at most one batch. */
const STORE_BATCH = EMBED_BATCH;

export type { IndexProgress };

export interface IndexOptions {
  device?: DeviceChoice;
  embedder?: string;
  modelsDir?: string;
  onProgress?: (p: IndexProgress) => void;
  notice?: (line: string) => void;
  signal?: AbortSignal;
  /** Read and hash every file, not only those whose size or mtime changed (`kith index --verify`). */
  verify?: boolean;
  /** Workers and threads for the analysis (analysis-pool.ts); the machine's default when absent. */
  layout?: ThreadLayout;
  /** An analyser already started (a benchmark starts it before its clock); left running at the end. */
  analyser?: PhotoAnalyser;
  /** Only these files or folders changed (the folder watcher): the rest is taken as last seen. */
  paths?: readonly string[];
}

export { describeError, sha256, sha256File } from '../pipeline/photo-analysis.ts';

type Analysed = AnalysedFile & { file: ScannedFile };

/**
 * The analyser over `files`, as many at once as it can hold (and a little more, so none waits),
 * yielding results in order. Once aborted it stops feeding and drops what is in flight: the
 * photos in hand are the ones already yielded.
 */
async function* analysedInOrder(analyser: PhotoAnalyser, files: readonly ScannedFile[], signal?: AbortSignal): AsyncGenerator<Analysed> {
  const inflight: Promise<Analysed>[] = [];
  let next = 0;
  const feed = () => {
    while (!signal?.aborted && next < files.length && inflight.length < analyser.capacity + 1) {
      const file = files[next++]!;
      inflight.push(analyser.analyse(file.path).then((r) => ({ ...r, file })));
    }
  };
  try {
    feed();
    while (inflight.length > 0) {
      const item = await inflight.shift()!;
      feed();
      yield item;
      if (signal?.aborted) return;
    }
  } finally {
    await Promise.allSettled(inflight);
  }
}

/**
 * Index `folder` (or the library's folders, all in one run so a photo moved between them keeps
 * its faces) into `store`; safe to interrupt and re-run at any point.
 */
export async function indexFolder(store: Store, folder: string | readonly string[], opts: IndexOptions = {}): Promise<IndexSummary> {
  const started = performance.now();
  const notice = opts.notice ?? (() => {});
  const device = opts.device ?? 'auto';
  const modelsDir = opts.modelsDir ?? MODELS_DIR;
  const embedderName = opts.embedder ?? DEFAULT_EMBEDDER;
  // Loaded in this thread only when something here needs them: a run the worker pool analyses
  // keeps the recognisers out of the main thread (peak RSS on groups 10-35 MiB lower).
  let loaded: Promise<PhotoModels> | undefined;
  const models = () =>
    (loaded ??= (async () => ({ embedder: await Embedder.load(embedderName, device, notice, modelsDir), detector: await loadDetector(device, notice, modelsDir) }))());
  let pool: PhotoAnalyser | undefined;
  // Started once the run knows how many photos it has to read: none, no analyser at all.
  const analyserFor = async (photos: number): Promise<PhotoAnalyser> => {
    if (opts.analyser) return opts.analyser;
    const layout = opts.layout ?? (photos < SMALL_RUN ? { workers: 0, threads: availableParallelism() } : undefined);
    pool = await startAnalyser({ device, embedder: embedderName, modelsDir, notice, layout });
    return pool;
  };
  try {
    return await indexWith(analyserFor, store, folder, opts, { started, notice, device, modelId: embedderModelId(embedderName), dim: () => embedderDim(embedderName, modelsDir), models });
  } finally {
    await pool?.close();
  }
}

interface RunContext {
  started: number;
  notice: (line: string) => void;
  device: DeviceChoice;
  /** The id the run's vectors are stored under, and their length: both known without loading the models. */
  modelId: string;
  dim: () => number;
  /** The models in this thread, loaded on first use. */
  models: () => Promise<PhotoModels>;
}

async function indexWith(
  analyserFor: (photos: number) => Promise<PhotoAnalyser>,
  store: Store,
  folder: string | readonly string[],
  opts: IndexOptions,
  ctx: RunContext,
): Promise<IndexSummary> {
  const { started, notice, modelId } = ctx;
  const roots = (typeof folder === 'string' ? [folder] : folder).map((f) => resolve(f));
  const root = roots[0]!;
  if (store.folders.list().length === 0) store.folders.add(root);

  const progress: IndexProgress = { phase: 'scanning', total: 0, done: 0, faces: 0, errors: 0, photosPerSec: 0, etaSec: null };
  const emit = () => opts.onProgress?.({ ...progress });
  emit();
  const dbPath = resolve(store.path);
  if (roots.some((r) => isWithin(r, dbPath))) notice(`the library ${dbPath} is inside the photo folder; Kith skips its own files there`);
  const { rows, notices, ...scan } = await runScope(store, roots, { library: dbPath, paths: opts.paths });
  for (const p of scan.problems) notice(`cannot read ${p.path}: ${p.error}`);
  notices.forEach(notice);
  const work = await planRun(rows, scan, (path) => sha256File(path).catch(() => null), { verify: opts.verify });
  if (work.unseen > 0) {
    notice(
      scan.files.length === 0
        ? `found no photos in ${root}, where ${work.unseen} were: keeping them (is the drive connected?)`
        : `${work.unseen} photos are in folders Kith cannot read now: keeping them as they were`,
    );
  }

  // The analyser first: the run records the execution provider it uses.
  const analyser = work.todo.length > 0 ? await analyserFor(work.todo.length) : null;
  const provider = analyser?.provider ?? (certainlyCpu(ctx.device) ? 'cpu' : providerOf(await ctx.models()));
  const runId = store.runs.start(roots.join(', '), provider, modelId);
  applyPlan(store, work, runId);

  const stages: StageTimes = { read: 0, decode: 0, detect: 0, align: 0, embed: 0, store: 0 };
  const reembedIds = store.faces.photosNeedingReembed(modelId);
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

  let batch: Array<Analysed & { photo: NonNullable<AnalysedFile['photo']> }> = [];
  let indexed = 0;

  const flush = async () => {
    if (batch.length === 0) return;
    const t1 = performance.now();
    const thumbs: Array<{ faceId: number; jpeg: Buffer }> = [];
    store.transaction(() => {
      const matched = batch.map((p) => {
        const faces = p.faces.map((f, j) => ({ ...f, modelId, embedding: p.vectors[j]! }));
        return { p, faces, kept: keptFaceIds(store, p.file.path, p.photo, faces) };
      });
      // Before the faces go: the journal entry holds the decisions that go with them.
      journalLostFaces(store, matched.map((m) => ({ path: m.p.file.path, faceIds: m.kept.lost })), 'edited');
      for (const { p, faces, kept } of matched) {
        const { file, hash, photo } = p;
        const photoId = store.photos.upsert(file.path, {
          size: p.size ?? file.size,
          mtimeMs: file.mtimeMs,
          hash,
          width: photo.originalWidth,
          height: photo.originalHeight,
          format: photo.format,
          takenAt: photo.takenAt,
          status: 'done',
          runId,
        });
        const ids = store.faces.syncForPhoto(photoId, faces.map((f, j) => ({ ...f, keepId: kept.ids[j] })));
        ids.forEach((faceId, i) => thumbs.push({ faceId, jpeg: Buffer.from(p.thumbs[i]!) }));
      }
      store.runs.progress(runId, progress.total, indexed + batch.length, progress.faces, progress.errors);
    });
    indexed += batch.length;
    batch = [];
    await saveFaceThumbs(store.path, thumbs);
    stages.store += performance.now() - t1;
  };

  for await (const analysed of analyser ? analysedInOrder(analyser, work.todo, opts.signal) : []) {
    const { file, photo, ms } = analysed;
    stages.read += ms.read;
    stages.decode += ms.decode;
    stages.detect += ms.detect;
    stages.align += ms.align;
    stages.embed += ms.embed;
    if (analysed.error || !photo) {
      store.photos.upsert(file.path, {
        size: analysed.size ?? file.size,
        mtimeMs: file.mtimeMs,
        hash: analysed.hash,
        status: 'error',
        error: analysed.error ?? 'unknown error',
        runId,
      });
      progress.errors++;
      tick(file.path);
      continue;
    }
    batch.push({ ...analysed, photo });
    progress.faces += analysed.faces.length;
    if (batch.reduce((n, p) => n + p.faces.length, 0) >= STORE_BATCH || batch.length >= STORE_BATCH) await flush();
    tick(file.path);
  }
  await flush();

  let reembedded = 0;
  if (reembedIds.length > 0 && !opts.signal?.aborted) {
    progress.phase = 'reembedding';
    reembedded = await reembedPhotos(store, (await ctx.models()).embedder, reembedIds, tick, opts.signal);
  }

  const copies = opts.signal?.aborted ? 0 : recordNewCopies(store, work, runId);

  let thumbsRebuilt = 0;
  if (!opts.signal?.aborted) {
    const missing = missingThumbs(store);
    progress.total += missing.size;
    for (const [photoId, faceIds] of missing) {
      if (opts.signal?.aborted) break;
      if (await rebuildThumbs(store, photoId, faceIds)) thumbsRebuilt += faceIds.length;
      tick(store.photos.getById(photoId)?.path ?? '');
    }
  }

  for (const root of opts.signal?.aborted ? [] : roots) {
    const named = await importFaceRegions(store, root, opts.signal, ctx.models);
    if (named.regions > 0) {
      notice(
        `read ${named.regions} named face regions from photo metadata: ${named.named} faces named, ${named.unmatched} with no face found there` +
          `${named.conflict ? `, ${named.conflict} conflicting (see kith errors)` : ''}${named.kept ? `, ${named.kept} left as you decided in Kith` : ''}`,
      );
    }
  }

  progress.phase = 'indexing-ann';
  emit();
  openFaceIndex(store, modelId, analyser?.dim ?? ctx.dim());

  const interrupted = opts.signal?.aborted ?? false;
  store.runs.progress(runId, progress.total, indexed, progress.faces, progress.errors);
  store.runs.finish(runId, interrupted ? 'interrupted' : 'done');
  progress.phase = 'done';
  emit();
  return {
    runId,
    provider,
    modelId,
    scanned: scan.files.length,
    unchanged: work.unchanged + work.touched.length,
    touched: work.touched.length,
    indexed,
    moved: work.moves.length,
    copies,
    thumbsRebuilt,
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
 * The HNSW index for `modelId`, in line with SQLite: new and gone faces by syncing, and faces
 * whose vector changed in place (an edited photo) by refreshing them. The stale marks are
 * cleared only after the index file is saved, so a kill in between redoes it next time.
 */
export function openFaceIndex(store: Store, modelId: string, dim: number): FaceIndex {
  const index = FaceIndex.open(store, modelId, dim);
  const stale = store.faces.staleForIndex(modelId);
  if (stale.length > 0) {
    index.refresh(stale);
    index.save();
    store.faces.markIndexed(stale.map((f) => f.id));
  }
  return index;
}

/**
 * Which new faces of a photo whose content changed are its old faces (they keep their ids),
 * and which old faces are gone. A new photo, or one that had no faces, keeps nothing.
 */
function keptFaceIds(
  store: Store,
  path: string,
  photo: Pick<DecodedPhoto, 'originalWidth' | 'originalHeight'>,
  faces: ReadonlyArray<MatchableFace>,
): { ids: Array<number | undefined>; lost: number[] } {
  const row = store.photos.get(path);
  const old = row && row.duplicateOf === null ? store.faces.forPhoto(row.id) : [];
  const ids: Array<number | undefined> = faces.map(() => undefined);
  if (old.length === 0) return { ids, lost: [] };
  const pairs = matchFaces(
    { width: row!.width ?? photo.originalWidth, height: row!.height ?? photo.originalHeight, faces: old },
    { width: photo.originalWidth, height: photo.originalHeight, faces },
  );
  for (const [i, j] of pairs) ids[j] = old[i]!.id;
  const kept = new Set(pairs.map(([i]) => i));
  // Drawn and imported faces stay whether found again or not (Faces.syncForPhoto).
  return { ids, lost: old.filter((f, i) => !kept.has(i) && f.origin === 'detected').map((f) => f.id) };
}

/**
 * New vectors for faces made by another model. Faces keep their ids and boxes (landmarks are
 * stored), so names and other decisions about them survive a model change.
 */
async function reembedPhotos(
  store: Store,
  embedder: FaceEmbedder,
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
