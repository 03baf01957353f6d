/**
 * @file Photo rows: what the indexer knows about each file (where it is, what it was when
 * last read, and whether indexing worked). A file with the same content as another photo is
 * a row that points at that photo (`duplicate_of`) and holds no faces of its own.
 */
import type { Db } from './db.ts';
import type { PhotoRow, PhotoStatus } from './records.ts';

const COLUMNS = `id, path, size, mtime_ms AS mtimeMs, hash, width, height, format, taken_at AS takenAt, status, error,
  duplicate_of AS duplicateOf`;

export interface PhotoUpdate {
  size: number;
  mtimeMs: number;
  hash: string | null;
  width?: number | null;
  height?: number | null;
  format?: string | null;
  takenAt?: string | null;
  status: PhotoStatus;
  error?: string | null;
  runId?: number | null;
}

export class Photos {
  private readonly all;
  private readonly sizeRows;
  private readonly byPath;
  private readonly byId;
  private readonly insert;
  private readonly update;
  private readonly move;
  private readonly remove;
  private readonly errorsStmt;
  private readonly counts;
  private readonly touchStmt;
  private readonly duplicateInsert;
  private readonly duplicateUpdate;
  private readonly copiesOf;
  private readonly duplicates;

  constructor(db: Db) {
    this.all = db.prepare<[], PhotoRow>(`SELECT ${COLUMNS} FROM photos ORDER BY path`);
    this.sizeRows = db.prepare<[], { id: number; width: number | null; height: number | null }>(`SELECT id, width, height FROM photos`);
    this.byPath = db.prepare<[string], PhotoRow>(`SELECT ${COLUMNS} FROM photos WHERE path = ?`);
    this.byId = db.prepare<[number], PhotoRow>(`SELECT ${COLUMNS} FROM photos WHERE id = ?`);
    this.insert = db.prepare(
      `INSERT INTO photos (path, size, mtime_ms, hash, width, height, format, taken_at, status, error, indexed_at, run_id)
       VALUES (@path, @size, @mtimeMs, @hash, @width, @height, @format, @takenAt, @status, @error, datetime('now'), @runId)`,
    );
    this.update = db.prepare(
      `UPDATE photos SET size = @size, mtime_ms = @mtimeMs, hash = @hash, width = @width, height = @height,
         format = @format, taken_at = @takenAt, status = @status, error = @error, indexed_at = datetime('now'), run_id = @runId,
         duplicate_of = NULL
       WHERE id = @id`,
    );
    this.move = db.prepare(`UPDATE photos SET path = ?, size = coalesce(?, size), mtime_ms = ? WHERE id = ?`);
    this.remove = db.prepare(`DELETE FROM photos WHERE id = ?`);
    this.errorsStmt = db.prepare<[], PhotoRow>(`SELECT ${COLUMNS} FROM photos WHERE status = 'error' ORDER BY path`);
    this.counts = db.prepare<[], { status: PhotoStatus; n: number }>(
      `SELECT status, count(*) AS n FROM photos WHERE duplicate_of IS NULL GROUP BY status`,
    );
    this.touchStmt = db.prepare(`UPDATE photos SET size = ?, mtime_ms = ? WHERE id = ?`);
    this.duplicateInsert = db.prepare(
      `INSERT INTO photos (path, size, mtime_ms, hash, status, indexed_at, run_id, duplicate_of)
       VALUES (@path, @size, @mtimeMs, @hash, 'done', datetime('now'), @runId, @of)`,
    );
    this.duplicateUpdate = db.prepare(
      `UPDATE photos SET size = @size, mtime_ms = @mtimeMs, hash = @hash, width = NULL, height = NULL, format = NULL,
         taken_at = NULL, status = 'done', error = NULL, indexed_at = datetime('now'), run_id = @runId, duplicate_of = @of
       WHERE id = @id`,
    );
    this.copiesOf = db.prepare<[number], PhotoRow>(`SELECT ${COLUMNS} FROM photos WHERE duplicate_of = ? ORDER BY path`);
    this.duplicates = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM photos WHERE duplicate_of IS NOT NULL`);
  }

  /** Every photo's pixel size by id (what clustering needs to place faces in their frame). */
  sizes(): Map<number, { width: number | null; height: number | null }> {
    return new Map(this.sizeRows.all().map((p) => [p.id, { width: p.width, height: p.height }]));
  }

  /** Every row, copies included, by path. */
  list(): PhotoRow[] {
    return this.all.all();
  }

  get(path: string): PhotoRow | undefined {
    return this.byPath.get(path);
  }

  getById(id: number): PhotoRow | undefined {
    return this.byId.get(id);
  }

  /** Insert or update the row for `path` as a photo of its own (never a copy); returns its id. */
  upsert(path: string, u: PhotoUpdate): number {
    const row = {
      path,
      width: null,
      height: null,
      format: null,
      takenAt: null,
      error: null,
      runId: null,
      ...u,
    };
    const existing = this.byPath.get(path);
    if (existing) {
      this.update.run({ ...row, id: existing.id });
      return existing.id;
    }
    return Number(this.insert.run(row).lastInsertRowid);
  }

  /** The file at `path` has the same content as photo `of`: record it as a copy of it (no faces). */
  markDuplicate(path: string, of: number, u: { size: number; mtimeMs: number; hash: string; runId?: number | null }): number {
    const row = { path, of, runId: null, ...u };
    const existing = this.byPath.get(path);
    if (existing) {
      this.duplicateUpdate.run({ ...row, id: existing.id });
      return existing.id;
    }
    return Number(this.duplicateInsert.run(row).lastInsertRowid);
  }

  /** Same content, only the file's size or time changed (a touch, a copy without -p, a restore). */
  touch(id: number, size: number, mtimeMs: number): void {
    this.touchStmt.run(size, mtimeMs, id);
  }

  /** The file was moved or renamed: keep the row (and so its faces and every decision about them). */
  relocate(id: number, newPath: string, mtimeMs: number, size?: number): void {
    this.move.run(newPath, size ?? null, mtimeMs, id);
  }

  delete(id: number): void {
    this.remove.run(id);
  }

  /** The other files with this photo's content, by path. */
  copies(photoId: number): PhotoRow[] {
    return this.copiesOf.all(photoId);
  }

  /** Files that are copies of another photo. */
  duplicateCount(): number {
    return this.duplicates.get()!.n;
  }

  errors(): PhotoRow[] {
    return this.errorsStmt.all();
  }

  /** Photos by status; copies of another photo are not counted (they are that photo). */
  countByStatus(): Record<PhotoStatus, number> {
    const out: Record<PhotoStatus, number> = { pending: 0, done: 0, error: 0 };
    for (const r of this.counts.all()) out[r.status] = r.n;
    return out;
  }
}
