/**
 * @file Keeps Kith in step with the library's folders while the app or `kith serve` runs.
 * @parcel/watcher watches each folder (one inotify watch per directory, not per file) and
 * its snapshot, written whenever everything seen has been indexed, tells at the next start
 * what changed while Kith was closed. Bursts are coalesced: changes are handed over once the
 * folder has been quiet for a moment (or a burst has gone on for long enough), one batch at a
 * time, so a camera import of 500 photos is one indexing run. Network shares send no events:
 * they are looked at again every few minutes instead.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import watcher from '@parcel/watcher';
import { ensurePrivateDir, makePrivate } from '../store/library-files.ts';
import { folderKind, type FolderKindOf } from './folder-kind.ts';

export interface WatchTuning {
  /** Hand a burst over after this long without a new change. */
  quietMs: number;
  /** …or once it has gone on this long. */
  maxWaitMs: number;
  /** How often a network share is looked at again. */
  rescanMs: number;
  /** Which folders are network shares (injectable for tests). */
  kindOf: FolderKindOf;
}

export const DEFAULT_TUNING: WatchTuning = { quietMs: 1500, maxWaitMs: 10_000, rescanMs: 5 * 60_000, kindOf: folderKind };

export interface WatchHooks {
  /**
   * Index these changed paths (files or folders, present or gone; a library folder itself means
   * all of it). Resolves once they are indexed (false: the run stopped before the end, so they
   * are handed over again); the next batch waits for it.
   */
  changed(paths: string[]): Promise<boolean>;
  /** Something went wrong watching (the folder keeps its place; nothing is lost but liveness). */
  problem(message: string): void;
}

export interface FolderWatch {
  watch: 'events' | 'rescan';
  rescanMinutes: number | null;
}

interface Watched {
  kind: 'events' | 'rescan';
  stop(): Promise<void>;
}

export class LibraryWatcher {
  private readonly tuning: WatchTuning;
  private readonly folders = new Map<string, Watched>();
  private readonly pending = new Set<string>();
  private burstStart = 0;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> | null = null;
  private stopped = false;

  /** `dbPath`: the library database (its own files are never photos; snapshots live beside it). */
  constructor(
    private readonly dbPath: string,
    private readonly hooks: WatchHooks,
    tuning: Partial<WatchTuning> = {},
  ) {
    this.tuning = { ...DEFAULT_TUNING, ...tuning };
  }

  /** How a folder is kept up with, or null when it is not watched. */
  info(folder: string): FolderWatch | null {
    const w = this.folders.get(folder);
    if (!w) return null;
    return { watch: w.kind, rescanMinutes: w.kind === 'rescan' ? this.tuning.rescanMs / 60_000 : null };
  }

  /** Watch exactly these folders: new ones start (with what changed while unwatched), gone ones stop. */
  async setFolders(folders: readonly string[]): Promise<void> {
    for (const [f, w] of this.folders) if (!folders.includes(f)) this.folders.delete(f), await w.stop();
    for (const f of folders) if (!this.folders.has(f) && !this.stopped) await this.start(f);
  }

  /** Stop watching; the snapshots are written when every change seen was indexed (else the next start sees them again). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.busy;
    if (this.pending.size === 0) await this.writeSnapshots();
    for (const w of this.folders.values()) await w.stop();
    this.folders.clear();
  }

  /** Resolves once nothing is waiting to be handed over or being indexed (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.busy || this.timer) await (this.busy ?? new Promise((r) => setTimeout(r, 50)));
  }

  private async start(folder: string): Promise<void> {
    const kind = (await this.tuning.kindOf(folder)) === 'network' ? 'rescan' : 'events';
    if (kind === 'rescan') {
      const timer = setInterval(() => this.add([folder]), this.tuning.rescanMs);
      timer.unref();
      this.folders.set(folder, { kind, stop: async () => clearInterval(timer) });
      this.add([folder]); // what changed while Kith was closed
      return;
    }
    // Subscribe first, then ask what changed since the snapshot: a change in between is seen twice, never missed.
    let sub: watcher.AsyncSubscription | null = null;
    try {
      sub = await watcher.subscribe(folder, (err, events) => {
        if (err) this.hooks.problem(`watching ${folder}: ${err.message}`);
        else this.add(events.map((e) => e.path));
      });
    } catch (err) {
      this.hooks.problem(`cannot watch ${folder} (${(err as Error).message}): it is looked at every ${this.tuning.rescanMs / 60_000} minutes instead`);
      const timer = setInterval(() => this.add([folder]), this.tuning.rescanMs);
      timer.unref();
      this.folders.set(folder, { kind: 'rescan', stop: async () => clearInterval(timer) });
      this.add([folder]);
      return;
    }
    if (this.stopped) return sub.unsubscribe(); // closed while it was starting
    this.folders.set(folder, { kind, stop: () => sub.unsubscribe() });
    const snapshot = snapshotFile(this.dbPath, folder);
    // No record (a folder just added, whose run is going; or a library from before Kith kept
    // records): from here on is what counts, and "Look for new photos" finds older changes.
    if (!existsSync(snapshot)) return this.writeSnapshot(folder);
    try {
      this.add((await watcher.getEventsSince(folder, snapshot)).map((e) => e.path));
    } catch (err) {
      this.hooks.problem(`the snapshot of ${folder} could not be read (${(err as Error).message}): looking at the whole folder`);
      this.add([folder]);
    }
  }

  /** Queue changed paths; Kith's own files (a library kept inside a photo folder) are not changes. */
  private add(paths: readonly string[]): void {
    const db = resolve(this.dbPath);
    const own = (p: string) => p === db || p.startsWith(`${db}.`) || p.startsWith(`${db}-`);
    let added = false;
    for (const p of paths) {
      if (own(p) || p.split(sep).some((n) => n.startsWith('.') && n.length > 1)) continue;
      this.pending.add(p);
      added = true;
    }
    if (!added || this.stopped) return;
    const now = Date.now();
    if (!this.timer) this.burstStart = now;
    else clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.tuning.quietMs, this.burstStart + this.tuning.maxWaitMs - now));
    this.timer = setTimeout(() => this.handOver(), wait);
  }

  /** One batch at a time: changes that come while it is indexed form the next batch. */
  private handOver(): void {
    this.timer = null;
    if (this.busy || this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    this.busy = (async () => {
      let done = true;
      try {
        done = await this.hooks.changed(batch);
      } catch (err) {
        this.hooks.problem(`indexing changed files failed: ${(err as Error).message}`);
      }
      const newer = this.pending.size > 0;
      // Paused before the end: kept for the next batch (the next change, or the next start), and
      // out of the snapshot until then. Not retried at once: the user paused indexing.
      if (!done) for (const p of batch) this.pending.add(p);
      this.busy = null;
      if (this.stopped || !done) return;
      if (newer) {
        if (!this.timer) this.burstStart = Date.now();
        this.timer ??= setTimeout(() => this.handOver(), this.tuning.quietMs);
      } else await this.writeSnapshots();
    })();
  }

  /** Everything seen is indexed: the snapshots say so. */
  private async writeSnapshots(): Promise<void> {
    for (const [folder, w] of this.folders) if (w.kind === 'events') await this.writeSnapshot(folder);
  }

  /** The folder as it is now, private like the library's other files. */
  private async writeSnapshot(folder: string): Promise<void> {
    await writeFolderSnapshot(this.dbPath, folder, snapshotFile(this.dbPath, folder), (m) => this.hooks.problem(m));
  }
}

/** Where the snapshot of one library folder is kept (beside the library, never in the photo folder). */
function snapshotFile(dbPath: string, folder: string): string {
  const name = createHash('sha256').update(folder).digest('hex').slice(0, 32);
  return join(`${dbPath}.watch`, `${name}.snapshot`);
}

async function writeFolderSnapshot(dbPath: string, folder: string, file: string, problem: (message: string) => void): Promise<boolean> {
  try {
    ensurePrivateDir(`${dbPath}.watch`);
    await watcher.writeSnapshot(folder, file);
    makePrivate(file);
    return true;
  } catch (err) {
    problem(`could not save what Kith has seen of ${folder}: ${(err as Error).message}`);
    return false;
  }
}

/**
 * Record the library's folders as they are before a whole-library run (`kith index`, "Look for
 * new photos") reads them; the returned function keeps the record once that run has finished.
 * Taken before the scan, a change made during the run is seen again at the next start, never
 * missed, so a library indexed from the terminal and opened later catches up on what changed in
 * between. Network shares are skipped: they are looked at again at every start anyway.
 */
export async function snapshotBeforeRun(
  dbPath: string,
  folders: readonly string[],
  problem: (message: string) => void,
): Promise<() => Promise<void>> {
  const taken: Array<{ next: string; file: string }> = [];
  for (const folder of folders) {
    // A drive not connected is the indexer's to report; a share is looked at on every start.
    if (!existsSync(folder) || (await folderKind(folder)) === 'network') continue;
    const file = snapshotFile(dbPath, folder);
    const next = `${file}.next`;
    if (await writeFolderSnapshot(dbPath, folder, next, problem)) taken.push({ next, file });
  }
  return async () => {
    for (const { next, file } of taken) await rename(next, file).catch((err: Error) => problem(`could not save what Kith has seen: ${err.message}`));
  };
}
