/**
 * @file The library store: the one place that touches SQL. Opens the database and groups
 * the per-table repositories; `transaction` wraps several writes into one atomic commit.
 */
import { Adaptors } from './adaptors.ts';
import { openDb, type Db } from './db.ts';
import { Faces } from './faces.ts';
import { Folders } from './folders.ts';
import { People } from './people.ts';
import { Photos } from './photos.ts';
import { Regions } from './regions.ts';
import { Runs } from './runs.ts';
import { Views } from './views.ts';

export type { FaceOrigin, FaceRow, NewFace, PhotoRow, PhotoStatus, RunRow } from './records.ts';
export type { FaceView, NamedFaceView, PhotoView } from './views.ts';
export type { RegionOutcome, RegionReadCandidate, RegionRecord } from './regions.ts';
export type { Assignment, Decision, DecisionKind, PersonRow, PersonSummary, Snapshot } from './people.ts';

export class Store {
  readonly photos: Photos;
  readonly faces: Faces;
  readonly runs: Runs;
  readonly people: People;
  readonly views: Views;
  readonly regions: Regions;
  readonly folders: Folders;
  readonly adaptors: Adaptors;
  private readonly getMeta;
  private readonly putMeta;

  constructor(
    readonly path: string,
    readonly db: Db = openDb(path),
  ) {
    this.photos = new Photos(db);
    this.faces = new Faces(db);
    this.runs = new Runs(db);
    this.people = new People(db);
    this.views = new Views(db);
    this.regions = new Regions(db);
    this.folders = new Folders(db);
    this.adaptors = new Adaptors(db);
    this.getMeta = db.prepare<[string], { value: string }>(`SELECT value FROM meta WHERE key = ?`);
    this.putMeta = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  }

  meta(key: string): string | undefined {
    return this.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.putMeta.run(key, value);
  }

  /**
   * Runs `fn` as one atomic transaction (nested calls become savepoints). BEGIN IMMEDIATE takes
   * the write lock up front, so another process writing meanwhile makes us wait (busy_timeout)
   * instead of failing: a deferred transaction that has read cannot wait to upgrade to a write.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }

  close(): void {
    this.db.close();
  }
}
