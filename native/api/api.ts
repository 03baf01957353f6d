/**
 * @file The engine's one surface: every operation the UI, the CLI and the tests use, with
 * arguments checked, results shaped for screens, and events for live progress. Transports
 * (loopback HTTP in serve.ts, Electron IPC) are thin adapters over `KithEngine.call`.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { FaceIndex } from '../search/ann.ts';
import type {
  ApiMethod,
  FaceInfo,
  IndexProgress,
  KithApiSpec,
  KithEvents,
  LibraryStatus,
  MergeQuestion,
  PersonCard,
  PhotoInfo,
  SearchGroup,
  SearchHit,
  SearchPersonHit,
  SearchResult,
} from './types.ts';
import { alignFace } from '../pipeline/align.ts';
import { toOriginal } from '../pipeline/analyse.ts';
import { DecodeError, MAX_FILE_BYTES, decodePhoto, type DecodedPhoto } from '../pipeline/decode.ts';
import { detectFaces, loadDetector } from '../pipeline/detect.ts';
import { DEFAULT_EMBEDDER, Embedder, embedderModelId } from '../pipeline/embed.ts';
import { checkFolder, expandHome } from '../pipeline/folder-check.ts';
import { indexFolder } from '../pipeline/indexer.ts';
import { addNamedFace } from '../pipeline/manual-face.ts';
import { mergeQuestions } from '../people/merge-questions.ts';
import { Naming } from '../people/naming.ts';
import { PeopleClusterer } from '../people/clusterer.ts';
import { isMaybePerson } from '../people/maybe.ts';
import { PeopleService, UserError } from '../people/service.ts';
import type { DeviceChoice } from '../pipeline/runtime.ts';
import type { FaceView, PhotoView, Store } from '../store/index.ts';
import { openInside, realFileInside, type MediaFile } from '../common/path-inside.ts';
import { faceThumbPath, renderFaceThumb, saveFaceThumbs, thumbsDirFor } from '../pipeline/thumbs.ts';
import type { ApiHandler } from './serve.ts';
import { exportXmpSidecars, SIDECAR_STYLES, type SidecarStyle } from '../metadata/xmp-write.ts';
import { bool, int, ints, optInt, optStr, str } from './validate.ts';

export interface EngineOptions {
  device?: DeviceChoice;
  embedder?: string;
  modelsDir?: string;
  notice?: (line: string) => void;
}

const PHOTO_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', tiff: 'image/tiff', avif: 'image/avif', heif: 'image/heif', heic: 'image/heic',
};
const MAX_PAGE = 1000;
/**
 * Cosine similarity from which search offers a face as alike: the level only 1 in 10,000
 * different-person pairs of lfw-dev people A–D reach (`bench/search-threshold.ts`), where 97%
 * of same-person pairs pass. 1 in 1,000 (0.37) would keep 98% but let a stranger's photo
 * find a false match among every thousand faces of the library; search lists faces, so the
 * stricter end is the one a user sees.
 */
export const SEARCH_THRESHOLD = 0.435;

function faceInfo(v: FaceView): FaceInfo {
  return {
    id: v.id,
    photoId: v.photoId,
    box: { x1: v.x1, y1: v.y1, x2: v.x2, y2: v.y2 },
    score: v.score,
    personId: v.personId,
    personName: v.personName,
    state: v.personId === null ? 'unassigned' : v.confirmed ? 'confirmed' : 'machine',
  };
}

type Handlers = { [M in ApiMethod]: (...args: unknown[]) => Promise<ReturnType<KithApiSpec[M]>> | ReturnType<KithApiSpec[M]> };

export class KithEngine implements ApiHandler {
  readonly people: PeopleService;
  readonly clusterer: PeopleClusterer;
  readonly naming: Naming;
  private readonly events = new EventEmitter();
  private readonly embedderName: string;
  private embedderPromise: Promise<Embedder> | null = null;
  private faceIndex: FaceIndex | null = null;
  private run: { controller: AbortController; done: Promise<void>; progress: IndexProgress } | null = null;
  private paused = false;
  private readonly handlers: Handlers;

  constructor(
    readonly store: Store,
    private readonly opts: EngineOptions = {},
  ) {
    this.embedderName = opts.embedder ?? DEFAULT_EMBEDDER;
    this.people = new PeopleService(store);
    this.clusterer = new PeopleClusterer(store);
    this.naming = new Naming(store, this.modelId);
    this.events.setMaxListeners(100);
    this.handlers = {
      status: () => this.status(),
      errors: () => this.store.photos.errors().map((p) => ({ photoId: p.id, path: p.path, error: p.error ?? '' })),
      startIndex: (folder) => this.startIndex(optStr(folder, 'folder')),
      checkFolder: (path) => checkFolder(str(path, 'path', 4096)),
      pauseIndex: () => this.pauseIndex(),
      people: (includeHidden) => this.listPeople(bool(includeHidden, 'includeHidden', false)),
      person: (id, offset, limit) => this.person(int(id, 'personId'), optInt(offset, 'offset', 0), optInt(limit, 'limit', 200, MAX_PAGE)),
      unassignedFaces: (offset, limit) => {
        const o = optInt(offset, 'offset', 0);
        const page = this.store.views.unassignedFaces(this.modelId, o, optInt(limit, 'limit', 200, MAX_PAGE));
        return { total: page.total, offset: o, items: page.faces.map(faceInfo) };
      },
      photo: (id) => this.photo(int(id, 'photoId')),
      photosOfPerson: (id, offset, limit) => {
        const p = int(id, 'personId');
        const o = optInt(offset, 'offset', 0);
        const rows = this.store.views.personPhotos(p, o, optInt(limit, 'limit', 100, MAX_PAGE));
        return { total: this.store.views.personPhotoCount(p), offset: o, items: rows.map((r) => this.photoInfo(r)) };
      },
      renamePerson: (id, name) => this.changed(this.people.rename(int(id, 'personId'), str(name, 'name', 200))),
      mergePeople: (ids, into, name) => this.changed(this.people.merge(ints(ids, 'personIds'), int(into, 'intoId'), optStr(name, 'name'))),
      moveFaces: (faceIds, to, newName) =>
        this.changed(
          this.people.moveFaces(
            ints(faceIds, 'faceIds'),
            to === null || to === undefined ? { newPersonName: optStr(newName, 'newPersonName') ?? null } : { personId: int(to, 'toPersonId') },
          ),
        ),
      rejectFaces: (faceIds, id) => this.changed(this.people.rejectFaces(ints(faceIds, 'faceIds'), int(id, 'personId'))),
      confirmFaces: (faceIds, id) => this.changed(this.people.confirmFaces(ints(faceIds, 'faceIds'), int(id, 'personId'))),
      setHidden: (id, hidden) => this.changed(this.people.setHidden(int(id, 'personId'), bool(hidden, 'hidden'))),
      setCover: (id, faceId) => this.changed(this.people.setCover(int(id, 'personId'), int(faceId, 'faceId'))),
      undo: () => {
        const r = this.people.undo();
        // Undoing a drawn face deletes it: the search index lets it go too.
        if (r && this.faceIndex?.syncWith(this.store)) this.faceIndex.save();
        return r ? this.changed(r) : null;
      },
      suggestions: () => this.naming.suggestions(),
      acceptSuggestion: (key) => this.changed(this.naming.accept(str(key, 'key', 100), this.people)),
      rejectSuggestion: (key) => this.changed(this.naming.reject(str(key, 'key', 100), this.people)),
      mergeQuestions: async () => this.mergeQuestions(),
      notSamePerson: (a, b) => this.changed(this.people.notSamePerson(int(a, 'personA'), int(b, 'personB'))),
      searchByFace: (faceId, k) => this.searchByFace(int(faceId, 'faceId'), optInt(k, 'k', 24, 500)),
      searchByPhoto: async (b64, k) => this.searchByPhoto(str(b64, 'photo', 80_000_000), optInt(k, 'k', 24, 500)),
      addFace: async (photoId, box, to, newName) => this.changed(await this.addFace(int(photoId, 'photoId'), box, to, newName)),
      cluster: async (full) => {
        await this.cluster(bool(full, 'full', false));
        return this.status();
      },
      exportXmp: (sidecar) => {
        const style = optStr(sidecar, 'sidecar') ?? 'jpg.xmp';
        if (!(SIDECAR_STYLES as readonly string[]).includes(style)) throw new UserError(`sidecar must be ${SIDECAR_STYLES.join(' or ')} (got ${style})`);
        return exportXmpSidecars(this.store, { sidecar: style as SidecarStyle });
      },
    };
  }

  get modelId(): string {
    return embedderModelId(this.embedderName);
  }

  /** Dispatch one API call by name; arguments come from outside and are checked. */
  async call(method: ApiMethod, args: unknown[]): Promise<unknown> {
    const handler = this.handlers[method] as ((...a: unknown[]) => unknown) | undefined;
    if (!handler || !Object.hasOwn(this.handlers, method)) throw new UserError(`no API method "${String(method)}"`);
    return handler(...args);
  }

  /** Typed client over `call`, for in-process callers (CLI, tests). */
  client(): { [M in ApiMethod]: (...args: Parameters<KithApiSpec[M]>) => Promise<ReturnType<KithApiSpec[M]>> } {
    return new Proxy({} as never, {
      // Not thenable: `await engine.client()` must not mistake the client for a promise.
      get: (_t, method: string) => (method === 'then' ? undefined : (...args: unknown[]) => this.call(method as ApiMethod, args)),
    });
  }

  on<E extends keyof KithEvents>(event: E, listener: (data: KithEvents[E]) => void): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  /** Every event, for transports that forward them all (SSE, IPC). */
  subscribe(listener: (event: keyof KithEvents, data: KithEvents[keyof KithEvents]) => void): () => void {
    const offs = (['progress', 'changed'] as const).map((e) => this.on(e, (d) => listener(e, d)));
    return () => offs.forEach((off) => off());
  }

  private emit<E extends keyof KithEvents>(event: E, data: KithEvents[E]): void {
    this.events.emit(event, data);
  }

  private changed<T>(result: T): T {
    this.naming.invalidate();
    this.emit('changed', { reason: 'people' });
    return result;
  }

  private embedder(): Promise<Embedder> {
    this.embedderPromise ??= Embedder.load(this.embedderName, this.opts.device ?? 'auto', this.opts.notice, this.opts.modelsDir);
    this.embedderPromise.catch(() => (this.embedderPromise = null));
    return this.embedderPromise;
  }

  /** "Same person?" questions, less any a naming suggestion already asks ("Is this <name>?" about the same two people). */
  private async mergeQuestions(): Promise<MergeQuestion[]> {
    const index = await this.index();
    const asked = new Set(this.naming.suggestions().flatMap((s) => (s.personId === null ? [] : [`${s.personId}:${s.suggestedPersonId}`])));
    return mergeQuestions(this.store, index.modelId, (v, k) => index.search(v, k)).filter((q) => !asked.has(`${q.fromId}:${q.intoId}`));
  }

  /** The HNSW index for the current model, opened (and synced with SQLite) on first use. */
  async index(): Promise<FaceIndex> {
    if (!this.faceIndex) {
      const e = await this.embedder();
      this.faceIndex = FaceIndex.open(this.store, e.modelId, e.dim);
    }
    return this.faceIndex;
  }

  status(): LibraryStatus {
    const counts = this.store.photos.countByStatus();
    const people = this.store.people.summaries();
    const lastRun = this.store.runs.latest();
    return {
      root: this.store.meta('root') ?? null,
      photos: counts.done + counts.error + counts.pending,
      faces: this.store.faces.total(),
      errors: counts.error,
      // The People screen's count: shown people, not hidden ones or the "Maybe" groups.
      people: people.filter((p) => p.faceCount > 0 && !p.hidden && !isMaybePerson(this.store, p)).length,
      namedPeople: people.filter((p) => p.name !== null).length,
      unassignedFaces: this.store.views.unassignedFaces(this.modelId, 0, 0).total,
      indexing: this.run ? { ...this.run.progress } : null,
      paused: this.paused,
      modelId: lastRun?.modelId ?? null,
      provider: lastRun?.provider ?? null,
    };
  }

  /** Start indexing in the background (the library's folder unless another is given). */
  startIndex(folder?: string): LibraryStatus {
    if (this.run) return this.status();
    const root = folder ? expandHome(folder) : this.store.meta('root');
    if (!root) throw new UserError('choose a folder to index first');
    if (!existsSync(root)) throw new UserError(`folder not found: ${root}`);
    if (folder && this.store.meta('root') && this.store.meta('root') !== root) {
      throw new UserError(`this library indexes ${this.store.meta('root')}; open another library for ${root}`);
    }
    this.paused = false;
    const controller = new AbortController();
    const progress: IndexProgress = { phase: 'scanning', total: 0, done: 0, faces: 0, errors: 0, photosPerSec: 0, etaSec: null };
    const done = (async () => {
      try {
        await indexFolder(this.store, root, {
          device: this.opts.device,
          embedder: this.embedderName,
          modelsDir: this.opts.modelsDir,
          notice: this.opts.notice,
          signal: controller.signal,
          onProgress: (p) => {
            Object.assign(progress, p);
            this.emit('progress', { ...p });
          },
        });
        this.faceIndex = null; // the indexer rewrote the index file
        // A paused run clusters what it found too, so People shows it while the rest waits.
        Object.assign(progress, { phase: 'clustering' });
        this.emit('progress', { ...progress });
        await this.cluster(false);
      } catch (err) {
        this.opts.notice?.(`indexing failed: ${(err as Error).message}`);
      } finally {
        this.run = null;
        this.emit('progress', { ...progress, phase: 'done' });
        this.emit('changed', { reason: 'index' });
      }
    })();
    this.run = { controller, done, progress };
    return this.status();
  }

  /** Stop the run after the photo in hand; everything done so far is kept. */
  pauseIndex(): LibraryStatus {
    if (this.run) {
      this.paused = true;
      this.run.controller.abort();
    }
    return this.status();
  }

  /** Resolves when the current indexing run (if any) has finished. */
  async idle(): Promise<void> {
    await this.run?.done;
  }

  async cluster(full: boolean) {
    const index = await this.index();
    const summary = full ? this.clusterer.full(index) : this.clusterer.incremental(index);
    this.naming.invalidate();
    this.emit('changed', { reason: 'cluster' });
    return summary;
  }

  private listPeople(includeHidden: boolean): PersonCard[] {
    return this.store.people
      .summaries()
      .filter((p) => p.faceCount > 0 && (includeHidden || !p.hidden))
      .map((p) => ({ id: p.id, name: p.name, hidden: p.hidden, faceCount: p.faceCount, coverFaceId: p.displayFaceId, maybe: isMaybePerson(this.store, p) }))
      // Named first, "Maybe" groups last (the People grid's order), then by size.
      .sort((a, b) => Number(b.name !== null) - Number(a.name !== null) || Number(a.maybe) - Number(b.maybe) || b.faceCount - a.faceCount || a.id - b.id);
  }

  private person(id: number, offset: number, limit: number) {
    const card = this.store.people.summaries().find((p) => p.id === id);
    if (!card) throw new UserError(`no person ${id}`);
    return {
      id,
      name: card.name,
      hidden: card.hidden,
      faceCount: card.faceCount,
      coverFaceId: card.displayFaceId,
      maybe: isMaybePerson(this.store, card),
      photoCount: this.store.views.personPhotoCount(id),
      faces: this.store.views.personFaces(id, offset, limit).map(faceInfo),
    };
  }

  private photoInfo(p: PhotoView): PhotoInfo {
    return { ...p, alsoAt: this.store.views.alsoAt(p.id), faces: this.store.views.photoFaces(p.id).map(faceInfo) };
  }

  private photo(id: number): PhotoInfo {
    const p = this.store.views.photo(id);
    if (!p) throw new UserError(`no photo ${id}`);
    return this.photoInfo(p);
  }

  /** People among `hits`, each at their best similarity, most similar first. */
  private peopleOf(hits: SearchHit[]): SearchPersonHit[] {
    const people = new Map<number, SearchPersonHit>();
    for (const h of hits) {
      if (h.personId === null) continue;
      const best = people.get(h.personId);
      if (!best || best.similarity < h.similarity) people.set(h.personId, { personId: h.personId, name: h.personName, similarity: h.similarity });
    }
    return [...people.values()].sort((a, b) => b.similarity - a.similarity);
  }

  /** The whole answer from one group per query face; a face hit by several keeps its best. */
  private hitsToResult(groups: SearchGroup[]): SearchResult {
    const hits = new Map<number, SearchHit>();
    for (const g of groups) for (const h of g.hits) if ((hits.get(h.faceId)?.similarity ?? -1) < h.similarity) hits.set(h.faceId, h);
    const all = [...hits.values()].sort((a, b) => b.similarity - a.similarity);
    return { queryFaces: groups.length, hits: all, people: this.peopleOf(all), groups, threshold: SEARCH_THRESHOLD };
  }

  private group(thumb: string | null, hits: SearchHit[]): SearchGroup {
    return { thumb, hits, people: this.peopleOf(hits) };
  }

  /** Up to `k` faces at least SEARCH_THRESHOLD alike, most similar first. */
  private async nearest(vector: Float32Array, k: number, exclude?: number): Promise<SearchHit[]> {
    const index = await this.index();
    return index
      .search(vector, k + (exclude === undefined ? 0 : 1))
      .filter((h) => h.faceId !== exclude && h.similarity >= SEARCH_THRESHOLD)
      .slice(0, k)
      .flatMap((h) => {
        const v = this.store.views.face(h.faceId);
        return v ? [{ faceId: h.faceId, photoId: v.photoId, similarity: h.similarity, personId: v.personId, personName: v.personName }] : [];
      });
  }

  private async searchByFace(faceId: number, k: number): Promise<SearchResult> {
    const face = this.store.faces.get(faceId);
    if (!face) throw new UserError(`no face ${faceId}`);
    if (face.modelId !== this.modelId) throw new UserError('this face has not been embedded with the current model yet');
    return this.hitsToResult([this.group(null, await this.nearest(face.embedding, k, faceId))]);
  }

  /** Faces most like each face in a photo from outside the library (detect → align → embed → HNSW). */
  private async searchByPhoto(base64: string, k: number): Promise<SearchResult> {
    const bytes = Buffer.from(base64, 'base64');
    const photo = await decodePhoto(bytes).catch((err: Error) => {
      throw new UserError(err.message);
    });
    const detector = await loadDetector(this.opts.device ?? 'auto', this.opts.notice, this.opts.modelsDir);
    const faces = (await detectFaces(detector, photo)).sort((a, b) => a.x1 - b.x1);
    if (faces.length === 0) return this.hitsToResult([]);
    const vectors = await (await this.embedder()).embed(faces.map((f) => alignFace(photo, f.landmarks)));
    const groups: SearchGroup[] = [];
    for (const [i, f] of faces.entries()) {
      const thumb = `data:image/jpeg;base64,${(await renderFaceThumb(photo, f)).toString('base64')}`;
      groups.push(this.group(thumb, await this.nearest(vectors[i]!, k)));
    }
    return this.hitsToResult(groups);
  }

  /** The photo as the viewer shows it: only a file inside the library folder (a symlink leading out is refused). */
  private async readServable(photoId: number): Promise<DecodedPhoto> {
    const source = await this.resource('photo', photoId);
    const file = source && (await openInside(source.root, source.path));
    if (!file) throw new UserError(`photo ${photoId} is not in the library folder now`);
    try {
      if (file.size > MAX_FILE_BYTES) throw new UserError('the photo is too large to read');
      return await decodePhoto(await file.handle.readFile());
    } finally {
      await file.handle.close();
    }
  }

  /** A drawn face, stored, named through the person service, and added to the search index. */
  private async addFace(photoId: number, box: unknown, to: unknown, newName: unknown) {
    const b = box as Record<string, unknown> | null;
    if (!b || typeof b !== 'object') throw new UserError('box must be {x1, y1, x2, y2}');
    const rect = { x1: Number(b.x1), y1: Number(b.y1), x2: Number(b.x2), y2: Number(b.y2) };
    const target = to === null || to === undefined ? { newPersonName: str(newName, 'newPersonName', 200) } : { personId: int(to, 'toPersonId') };
    const detector = await loadDetector(this.opts.device ?? 'auto', this.opts.notice, this.opts.modelsDir);
    const result = await addNamedFace(this.store, this.people, { detector, embedder: await this.embedder() }, photoId, rect, target, () => this.readServable(photoId));
    const index = await this.index();
    if (index.syncWith(this.store)) index.save();
    return result;
  }

  /**
   * File behind a thumbnail or photo URL, or null. Only faces and indexed (`done`) photos of this
   * library, whose real path is inside the library folder (a symlink leading out is refused),
   * typed by the format the decoder recognised (an unknown format is refused).
   */
  async resource(kind: 'thumb' | 'photo', id: number): Promise<MediaFile | null> {
    if (kind === 'thumb') {
      const owner = this.store.views.photoOfFace(id);
      if (!owner) return null;
      const root = thumbsDirFor(this.store.path);
      const path = faceThumbPath(this.store.path, id);
      if (!existsSync(path) && !(await this.rebuildThumb(id, owner.photoId))) return null;
      const real = await realFileInside(root, path);
      return real ? { path: real, type: 'image/jpeg', root } : null;
    }
    const photo = this.store.photos.getById(id);
    const root = this.store.meta('root');
    const type = PHOTO_TYPES[photo?.format ?? ''];
    if (!photo || photo.status !== 'done' || !type || !root) return null;
    const real = await realFileInside(root, photo.path);
    return real ? { path: real, type, root } : null;
  }

  /** Thumbnails are derived: a missing one is cut again from its photo (only a servable one). False when it cannot be. */
  private async rebuildThumb(faceId: number, photoId: number): Promise<boolean> {
    const face = this.store.faces.get(faceId);
    const source = await this.resource('photo', photoId);
    if (!face || !source) return false;
    const file = await openInside(source.root, source.path);
    if (!file) return false;
    let photo;
    try {
      // Read whole only a file the decoder would take: one swapped for a huge file is refused unread.
      if (file.size > MAX_FILE_BYTES) return false;
      photo = await decodePhoto(await file.handle.readFile());
    } catch (err) {
      if (err instanceof DecodeError) return false; // the file changed since it was indexed
      throw err;
    } finally {
      await file.handle.close();
    }
    const { sx, sy } = toOriginal(photo);
    const box = { x1: face.box.x1 / sx, y1: face.box.y1 / sy, x2: face.box.x2 / sx, y2: face.box.y2 / sy };
    await saveFaceThumbs(this.store.path, [{ faceId, jpeg: await renderFaceThumb(photo, box) }]);
    return true;
  }

  isUserError(err: unknown): boolean {
    return err instanceof UserError;
  }
}
