/**
 * @file One row per indexing run: when, on what, on which execution provider, and how it
 * ended, so `kith stats` can say what the library was built with.
 */
import type { Db } from './db.ts';
import type { RunRow } from './records.ts';

const COLUMNS = `id, folder, started_at AS startedAt, finished_at AS finishedAt, status, provider, model_id AS modelId,
  photos_total AS photosTotal, photos_indexed AS photosIndexed, faces_found AS facesFound, errors`;

export class Runs {
  private readonly insert;
  private readonly finishStmt;
  private readonly progressStmt;
  private readonly last;
  private readonly abandon;

  constructor(db: Db) {
    this.insert = db.prepare(
      `INSERT INTO runs (folder, started_at, status, provider, model_id) VALUES (?, datetime('now'), 'running', ?, ?)`,
    );
    this.progressStmt = db.prepare(
      `UPDATE runs SET photos_total = ?, photos_indexed = ?, faces_found = ?, errors = ? WHERE id = ?`,
    );
    this.finishStmt = db.prepare(`UPDATE runs SET status = ?, finished_at = datetime('now') WHERE id = ?`);
    this.last = db.prepare<[], RunRow>(`SELECT ${COLUMNS} FROM runs ORDER BY id DESC LIMIT 1`);
    // A run still 'running' when a new one starts was killed.
    this.abandon = db.prepare(`UPDATE runs SET status = 'interrupted' WHERE status = 'running'`);
  }

  start(folder: string, provider: string, modelId: string): number {
    this.abandon.run();
    return Number(this.insert.run(folder, provider, modelId).lastInsertRowid);
  }

  progress(id: number, total: number, indexed: number, faces: number, errors: number): void {
    this.progressStmt.run(total, indexed, faces, errors, id);
  }

  finish(id: number, status: RunRow['status']): void {
    this.finishStmt.run(status, id);
  }

  latest(): RunRow | undefined {
    return this.last.get();
  }
}
