/**
 * @file Photo rows: what the indexer knows about each file (where it is, what it was when
 * last read, and whether indexing worked).
 */
import type { Db } from './db.ts';
import type { PhotoRow, PhotoStatus } from './records.ts';

const COLUMNS = `id, path, size, mtime_ms AS mtimeMs, hash, width, height, format, taken_at AS takenAt, status, error`;

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
  private readonly byPath;
  private readonly byId;
  private readonly insert;
  private readonly update;
  private readonly move;
  private readonly remove;
  private readonly errorsStmt;
  private readonly counts;

  constructor(db: Db) {
    this.all = db.prepare<[], PhotoRow>(`SELECT ${COLUMNS} FROM photos ORDER BY path`);
    this.byPath = db.prepare<[string], PhotoRow>(`SELECT ${COLUMNS} FROM photos WHERE path = ?`);
    this.byId = db.prepare<[number], PhotoRow>(`SELECT ${COLUMNS} FROM photos WHERE id = ?`);
    this.insert = db.prepare(
      `INSERT INTO photos (path, size, mtime_ms, hash, width, height, format, taken_at, status, error, indexed_at, run_id)
       VALUES (@path, @size, @mtimeMs, @hash, @width, @height, @format, @takenAt, @status, @error, datetime('now'), @runId)`,
    );
    this.update = db.prepare(
      `UPDATE photos SET size = @size, mtime_ms = @mtimeMs, hash = @hash, width = @width, height = @height,
         format = @format, taken_at = @takenAt, status = @status, error = @error, indexed_at = datetime('now'), run_id = @runId
       WHERE id = @id`,
    );
    this.move = db.prepare(`UPDATE photos SET path = ?, mtime_ms = ? WHERE id = ?`);
    this.remove = db.prepare(`DELETE FROM photos WHERE id = ?`);
    this.errorsStmt = db.prepare<[], PhotoRow>(`SELECT ${COLUMNS} FROM photos WHERE status = 'error' ORDER BY path`);
    this.counts = db.prepare<[], { status: PhotoStatus; n: number }>(`SELECT status, count(*) AS n FROM photos GROUP BY status`);
  }

  list(): PhotoRow[] {
    return this.all.all();
  }

  get(path: string): PhotoRow | undefined {
    return this.byPath.get(path);
  }

  getById(id: number): PhotoRow | undefined {
    return this.byId.get(id);
  }

  /** Insert or update the row for `path`; returns its id. */
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

  /** The file was moved or renamed: keep the row (and so its faces and every decision about them). */
  relocate(id: number, newPath: string, mtimeMs: number): void {
    this.move.run(newPath, mtimeMs, id);
  }

  delete(id: number): void {
    this.remove.run(id);
  }

  errors(): PhotoRow[] {
    return this.errorsStmt.all();
  }

  countByStatus(): Record<PhotoStatus, number> {
    const out: Record<PhotoStatus, number> = { pending: 0, done: 0, error: 0 };
    for (const r of this.counts.all()) out[r.status] = r.n;
    return out;
  }
}
