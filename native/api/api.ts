/**
 * @file The engine's one surface: every operation the UI, the CLI and the tests use, by name,
 * with its arguments checked, and the events that keep every window live. Transports (loopback
 * HTTP in serve.ts, Electron IPC in engine-host.ts) are thin adapters over `KithEngine.call`;
 * the CLI calls `client()`. The work is done by one service per domain, private to the engine:
 * indexing (indexing/index-job.ts), people (people/service.ts, naming, clustering), search
 * (search/search-service.ts), media and library views (library/).
 */
import { EventEmitter } from 'node:events';
import type { MediaFile } from '../common/path-inside.ts';
import { isUserError, UserError } from '../common/user-error.ts';
import { exportXmpSidecars, SIDECAR_STYLES, type SidecarStyle } from '../metadata/xmp-write.ts';
import { MediaService } from '../library/media.ts';
import { LibraryViews } from '../library/views.ts';
import { LibraryFolders } from '../library/folders.ts';
import { LibraryWatcher, snapshotBeforeRun, type WatchTuning } from '../library/watch.ts';
import { onExternalCommits } from '../library/external-changes.ts';
import { PeopleClusterer } from '../people/clusterer.ts';
import { mergeQuestions } from '../people/merge-questions.ts';
import { Naming } from '../people/naming.ts';
import { PeopleService } from '../people/service.ts';
import { PeopleViews } from '../people/views.ts';
import { checkFolder } from '../pipeline/folder-check.ts';
import { IndexJob } from '../indexing/index-job.ts';
import { addNamedFace } from '../people/manual-face.ts';
import { ModelSet, type ModelOptions } from '../pipeline/models.ts';
import { SearchService } from '../search/search-service.ts';
import { prepareLibraryFolder } from '../store/library-files.ts';
import { Store } from '../store/index.ts';
import type { ApiHandler } from './handler.ts';
import type { ApiMethod, ClusterSummary, KithApiSpec, KithEvents, LibraryFolder, LibraryStatus, MergeQuestion } from './types.ts';
import { bool, int, ints, optInt, optStr, str } from './validate.ts';

export type EngineOptions = ModelOptions;

const MAX_PAGE = 1000;

type Handlers = { [M in ApiMethod]: (...args: unknown[]) => Promise<ReturnType<KithApiSpec[M]>> | ReturnType<KithApiSpec[M]> };
export type KithClient = { [M in ApiMethod]: (...args: Parameters<KithApiSpec[M]>) => Promise<ReturnType<KithApiSpec[M]>> };

export class KithEngine implements ApiHandler {
  private readonly events = new EventEmitter();
  private readonly models: ModelSet;
  private readonly people: PeopleService;
  private readonly clusterer: PeopleClusterer;
  private readonly naming: Naming;
  private readonly search: SearchService;
  private readonly media: MediaService;
  private readonly peopleViews: PeopleViews;
  private readonly library: LibraryViews;
  private readonly job: IndexJob;
  private readonly folders: LibraryFolders;
  private readonly handlers: Handlers;
  /** While the library is kept live (`watchLibrary`): the folder watcher, and the stop of the external-change poll. */
  private live: { watcher: LibraryWatcher; stopPoll: () => void } | null = null;

  /** Open (or create) the library at `dbPath`, private to this user, and an engine on it; `close()` closes both. */
  static open(dbPath: string, opts: EngineOptions & { kithsOwnFolder?: boolean } = {}): KithEngine {
    prepareLibraryFolder(dbPath, opts.kithsOwnFolder ?? false);
    const engine = new KithEngine(new Store(dbPath), opts);
    engine.ownsStore = true;
    return engine;
  }

  private ownsStore = false;

  constructor(
    private readonly store: Store,
    opts: EngineOptions = {},
  ) {
    this.models = new ModelSet(opts);
    this.people = new PeopleService(store);
    this.clusterer = new PeopleClusterer(store);
    this.naming = new Naming(store, this.models.modelId);
    this.search = new SearchService(store, this.models);
    this.media = new MediaService(store);
    this.peopleViews = new PeopleViews(store, () => this.models.modelId);
    this.library = new LibraryViews(store);
    this.folders = new LibraryFolders(store);
    this.job = new IndexJob(store, this.models, {
      progress: (p) => this.emit('progress', p),
      indexed: () => {
        this.search.reopen(); // the indexer rewrote the index file
        return this.cluster(false);
      },
      finished: () => this.emit('changed', { reason: 'index' }),
      beforeWholeRun: (roots) => snapshotBeforeRun(store.path, roots, (message) => opts.notice?.(message)),
    });
    this.events.setMaxListeners(100);
    const page = (v: unknown, fallback: number) => optInt(v, 'limit', fallback, MAX_PAGE);
    this.handlers = {
      status: () => this.status(),
      errors: () => this.library.errors(),
      stats: () => this.library.stats(),
      startIndex: async (folder) => {
        this.job.start(optStr(folder, 'folder')).catch((err: Error) => opts.notice?.(`indexing failed: ${err.message}`));
        await this.live?.watcher.setFolders(this.store.folders.list()); // the first folder of a new library
        return this.status();
      },
      indexNow: (folder, verify) => {
        const run = this.job.start(optStr(folder, 'folder'), { verify: bool(verify, 'verify', false), clusterWhenPaused: false });
        void this.live?.watcher.setFolders(this.store.folders.list());
        return run;
      },
      checkFolder: (path) => checkFolder(str(path, 'path', 4096)),
      pauseIndex: () => {
        this.job.pause();
        return this.status();
      },
      people: (includeHidden) => this.peopleViews.people(bool(includeHidden, 'includeHidden', false)),
      person: (id, offset, limit) => this.peopleViews.person(int(id, 'personId'), optInt(offset, 'offset', 0), page(limit, 200)),
      personByName: (name) => this.peopleViews.personByName(str(name, 'name', 200)),
      unassignedFaces: (offset, limit) => this.peopleViews.unassignedFaces(optInt(offset, 'offset', 0), page(limit, 200)),
      photo: (id) => this.peopleViews.photo(int(id, 'photoId')),
      photosOfPerson: (id, offset, limit) => this.peopleViews.photosOfPerson(int(id, 'personId'), optInt(offset, 'offset', 0), page(limit, 100)),
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
        this.search.syncIfOpen();
        return r ? this.changed(r) : null;
      },
      suggestions: () => this.naming.suggestions(),
      acceptSuggestion: (key) => this.changed(this.naming.accept(str(key, 'key', 100), this.people)),
      rejectSuggestion: (key) => this.changed(this.naming.reject(str(key, 'key', 100), this.people)),
      mergeQuestions: () => this.mergeQuestions(),
      notSamePerson: (a, b) => this.changed(this.people.notSamePerson(int(a, 'personA'), int(b, 'personB'))),
      searchByFace: (faceId, k) => this.search.byFace(int(faceId, 'faceId'), optInt(k, 'k', 24, 500)),
      searchByPhoto: (b64, k) => this.search.byPhoto(str(b64, 'photo', 80_000_000), optInt(k, 'k', 24, 500)),
      addFace: async (photoId, box, to, newName) => this.changed(await this.addFace(int(photoId, 'photoId'), box, to, newName)),
      cluster: (full) => this.cluster(bool(full, 'full', false)),
      exportXmp: (sidecar) => {
        const style = optStr(sidecar, 'sidecar') ?? 'jpg.xmp';
        if (!(SIDECAR_STYLES as readonly string[]).includes(style)) throw new UserError(`sidecar must be ${SIDECAR_STYLES.join(' or ')} (got ${style})`);
        return exportXmpSidecars(this.store, { sidecar: style as SidecarStyle });
      },
      exportFaces: () => this.library.exportFaces(this.naming.suggestions()),
      folders: () => this.folderList(),
      addFolder: async (path) => {
        this.folders.add(str(path, 'path', 4096));
        return this.foldersChanged();
      },
      removeFolder: async (path) => {
        const removed = this.folders.remove(str(path, 'path', 4096));
        this.search.syncIfOpen();
        this.naming.invalidate();
        return { photos: removed.photos, faces: removed.faces, folders: await this.foldersChanged() };
      },
    };
  }

  /** The library database's path (its token and other files live beside it). */
  get dbPath(): string {
    return this.store.path;
  }

  /** Dispatch one API call by name; arguments come from outside and are checked. */
  async call(method: ApiMethod, args: unknown[]): Promise<unknown> {
    const handler = this.handlers[method] as ((...a: unknown[]) => unknown) | undefined;
    if (!handler || !Object.hasOwn(this.handlers, method)) throw new UserError(`no API method "${String(method)}"`);
    return handler(...args);
  }

  /** Typed client over `call`, for in-process callers (CLI, tests). */
  client(): KithClient {
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

  resource(kind: 'thumb' | 'photo', id: number): Promise<MediaFile | null> {
    return this.media.resource(kind, id);
  }

  isUserError(err: unknown): boolean {
    return isUserError(err);
  }

  /** Resolves when the current indexing run (if any) has finished. */
  idle(): Promise<void> {
    return this.job.idle();
  }

  /**
   * Keep the library live while the app or `kith serve` runs: index what changes in its folders
   * (and what changed while Kith was closed), and tell every window when another process changed
   * the library. `close()` stops it.
   */
  async watchLibrary(tuning: Partial<WatchTuning> & { pollMs?: number } = {}): Promise<void> {
    if (this.live) return;
    const watcher = new LibraryWatcher(
      this.store.path,
      {
        changed: async (paths) => {
          const outcome = await this.job.indexChanges(paths, () => this.live !== null);
          return outcome !== null && !outcome.summary.interrupted;
        },
        problem: (message) => this.models.opts.notice?.(message),
      },
      tuning,
    );
    const stopPoll = onExternalCommits(
      this.store.db,
      () => {
        this.naming.invalidate();
        this.search.reopen(); // another process may have indexed (and rewritten the index file)
        this.emit('changed', { reason: 'elsewhere' });
      },
      tuning.pollMs,
    );
    this.live = { watcher, stopPoll };
    await watcher.setFolders(this.store.folders.list());
  }

  /** Stop indexing after the photos in hand, wait for it, and close the library if this engine opened it. */
  async close(): Promise<void> {
    const live = this.live;
    this.live = null;
    live?.stopPoll();
    this.job.pause();
    await live?.watcher.stop();
    await this.job.idle();
    await this.naming.close(); // the adaptor's background retrain, if on
    if (this.ownsStore) this.store.close();
  }

  private emit<E extends keyof KithEvents>(event: E, data: KithEvents[E]): void {
    this.events.emit(event, data);
  }

  private changed<T>(result: T): T {
    this.naming.invalidate();
    this.emit('changed', { reason: 'people' });
    return result;
  }

  private folderList(): LibraryFolder[] {
    return this.folders.list().map((f) => {
      const w = this.live?.watcher.info(f.path);
      return { ...f, watch: w?.watch ?? null, rescanMinutes: w?.rescanMinutes ?? null };
    });
  }

  /** The folder list changed: the watcher follows it, every window hears of it. */
  private async foldersChanged(): Promise<LibraryFolder[]> {
    await this.live?.watcher.setFolders(this.store.folders.list());
    this.emit('changed', { reason: 'folders' });
    return this.folderList();
  }

  private status(): LibraryStatus {
    const counts = this.store.photos.countByStatus();
    const lastRun = this.store.runs.latest();
    const { shown, named } = this.peopleViews.shownPeople();
    const folders = this.store.folders.list();
    return {
      root: folders[0] ?? null,
      folders,
      photos: counts.done + counts.error + counts.pending,
      faces: this.store.faces.total(),
      errors: counts.error,
      people: shown,
      namedPeople: named,
      unassignedFaces: this.peopleViews.unassignedCount(),
      indexing: this.job.progress,
      paused: this.job.paused,
      modelId: lastRun?.modelId ?? null,
      provider: lastRun?.provider ?? null,
    };
  }

  private async cluster(full: boolean): Promise<ClusterSummary> {
    const index = await this.search.index();
    const summary = await (full ? this.clusterer.full(index) : this.clusterer.incremental(index));
    this.naming.invalidate();
    this.emit('changed', { reason: 'cluster' });
    return summary;
  }

  /** "Same person?" questions, less any a naming suggestion already asks ("Is this <name>?" about the same two people). */
  private async mergeQuestions(): Promise<MergeQuestion[]> {
    const index = await this.search.index();
    const asked = new Set(this.naming.suggestions().flatMap((s) => (s.personId === null ? [] : [`${s.personId}:${s.suggestedPersonId}`])));
    return mergeQuestions(this.store, index.modelId, (v, k) => index.search(v, k)).filter((q) => !asked.has(`${q.fromId}:${q.intoId}`));
  }

  /** A drawn face, stored, named through the person service, and added to the search index. */
  private async addFace(photoId: number, box: unknown, to: unknown, newName: unknown) {
    const b = box as Record<string, unknown> | null;
    if (!b || typeof b !== 'object') throw new UserError('box must be {x1, y1, x2, y2}');
    const rect = { x1: Number(b.x1), y1: Number(b.y1), x2: Number(b.x2), y2: Number(b.y2) };
    const target = to === null || to === undefined ? { newPersonName: str(newName, 'newPersonName', 200) } : { personId: int(to, 'toPersonId') };
    const models = { detector: await this.models.detector(), embedder: await this.models.embedder() };
    const result = await addNamedFace(this.store, this.people, models, photoId, rect, target, () => this.media.readPhoto(photoId));
    await this.search.sync();
    return result;
  }
}
