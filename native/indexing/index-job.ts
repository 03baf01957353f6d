/**
 * @file One indexing run at a time, in the background: started from the UI, `kith serve` or
 * `kith index`, paused after the photos in hand (everything done so far is kept), followed by
 * incremental clustering so People shows what was found, even after a pause.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { isWithin } from '../common/path-inside.ts';
import { UserError } from '../common/user-error.ts';
import type { ClusterSummary, IndexOutcome, IndexProgress } from '../api/types.ts';
import type { Store } from '../store/index.ts';
import { expandHome } from '../pipeline/folder-check.ts';
import { indexFolder } from './indexer.ts';
import type { ModelSet } from '../pipeline/models.ts';

export interface IndexJobHooks {
  progress(p: IndexProgress): void;
  /** After the run wrote photos and the HNSW file: cluster what it found. */
  indexed(): Promise<ClusterSummary>;
  /** The run ended (done, paused or failed). */
  finished(): void;
  /**
   * Before a run over the whole library reads its folders: record them as they are; the returned
   * function keeps that record once the run has finished (library/watch.ts, snapshotBeforeRun).
   */
  beforeWholeRun?(roots: readonly string[]): Promise<() => Promise<void>>;
}

export interface IndexRunOptions {
  /** Re-hash every file (`kith index --verify`). */
  verify?: boolean;
  /** Cluster after a paused run too (the app shows what it found); `kith index` stops at once on Ctrl+C. */
  clusterWhenPaused?: boolean;
  /** Only these files or folders changed (the folder watcher); the rest of the library is as last seen. */
  paths?: readonly string[];
}

export class IndexJob {
  private run: { controller: AbortController; done: Promise<IndexOutcome>; progress: IndexProgress } | null = null;
  private pausedByUser = false;

  constructor(
    private readonly store: Store,
    private readonly models: ModelSet,
    private readonly hooks: IndexJobHooks,
  ) {}

  get progress(): IndexProgress | null {
    return this.run ? { ...this.run.progress } : null;
  }

  get paused(): boolean {
    return this.pausedByUser;
  }

  /**
   * The folders a run indexes: all of the library's, in one run (a photo moved from one to
   * another keeps its faces). `folder` must be one of them, or the first of a new library.
   */
  private rootsFor(folder?: string): string[] {
    const current = this.store.folders.list();
    const root = folder ? resolve(expandHome(folder)) : current[0];
    if (!root) throw new UserError('choose a folder to index first');
    // One folder of several may be unplugged: its photos are kept, the others indexed.
    if (folder ? !existsSync(root) : !current.some((f) => existsSync(f))) throw new UserError(`folder not found: ${root}`);
    if (current.length === 0) this.store.folders.add(root);
    else if (!current.some((f) => f === root || isWithin(f, root))) {
      throw new UserError(`${root} is not one of this library's folders (${current.join(', ')}): add it with \`kith add\``);
    }
    return this.store.folders.list();
  }

  /** Start a run unless one is going (then that run's promise): resolves with what it did, rejects when it failed. */
  start(folder?: string, opts: IndexRunOptions = {}): Promise<IndexOutcome> {
    if (this.run) return this.run.done;
    const roots = this.rootsFor(folder);
    this.pausedByUser = false;
    const controller = new AbortController();
    const progress: IndexProgress = { phase: 'scanning', total: 0, done: 0, faces: 0, errors: 0, photosPerSec: 0, etaSec: null };
    const m = this.models.opts;
    const done = (async () => {
      try {
        const keepSnapshot = opts.paths ? null : await this.hooks.beforeWholeRun?.(roots);
        const summary = await indexFolder(this.store, roots, {
          device: m.device,
          embedder: this.models.embedderName,
          modelsDir: m.modelsDir,
          notice: m.notice,
          verify: opts.verify,
          paths: opts.paths,
          signal: controller.signal,
          onProgress: (p) => {
            Object.assign(progress, p);
            this.hooks.progress({ ...p });
          },
        });
        if (!summary.interrupted) await keepSnapshot?.();
        if (summary.interrupted && !(opts.clusterWhenPaused ?? true)) return { summary, clustering: null };
        Object.assign(progress, { phase: 'clustering' });
        this.hooks.progress({ ...progress });
        return { summary, clustering: await this.hooks.indexed() };
      } finally {
        this.run = null;
        this.hooks.progress({ ...progress, phase: 'done' });
        this.hooks.finished();
      }
    })();
    this.run = { controller, done, progress };
    return done;
  }

  /**
   * Index the files or folders that changed, after the run in progress (a run already going
   * may have passed them by). Resolves when they are indexed, or null when `wanted` says no
   * once it is their turn (the library is closing).
   */
  async indexChanges(paths: readonly string[], wanted: () => boolean): Promise<IndexOutcome | null> {
    while (this.run) await this.idle();
    return wanted() ? this.start(undefined, { paths }) : null;
  }

  /** Stop the run after the photos in hand; everything done so far is kept. */
  pause(): void {
    if (!this.run) return;
    this.pausedByUser = true;
    this.run.controller.abort();
  }

  /** Resolves when the current run (if any) has finished. */
  async idle(): Promise<void> {
    await this.run?.done.catch(() => {}); // whoever started it hears how it ended
  }
}
