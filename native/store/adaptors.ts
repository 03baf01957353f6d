/**
 * @file The stored personal metric (people/adaptor.ts): one row per embedding model holding
 * W, its start W0 and a version that grows with each training. Derived data, never the truth:
 * a missing or mismatched row means training again from the faces' own vectors.
 */
import { fromBlob, toBlob } from './blobs.ts';
import type { Db } from './db.ts';

export interface AdaptorRow {
  modelId: string;
  version: number;
  inDim: number;
  outDim: number;
  /** out_dim × in_dim, row-major. */
  weights: Float32Array;
  start: Float32Array;
}

interface RawRow {
  modelId: string;
  version: number;
  inDim: number;
  outDim: number;
  weights: Buffer;
  start: Buffer;
}

export class Adaptors {
  private readonly getStmt;
  private readonly putStmt;
  private readonly dropStmt;

  constructor(db: Db) {
    this.getStmt = db.prepare<[string], RawRow>(
      `SELECT model_id AS modelId, version, in_dim AS inDim, out_dim AS outDim, weights, start FROM adaptors WHERE model_id = ?`,
    );
    this.putStmt = db.prepare(
      `INSERT INTO adaptors (model_id, version, in_dim, out_dim, weights, start) VALUES (@modelId, @version, @inDim, @outDim, @weights, @start)
       ON CONFLICT (model_id) DO UPDATE SET version = excluded.version, in_dim = excluded.in_dim, out_dim = excluded.out_dim,
         weights = excluded.weights, start = excluded.start, trained_at = datetime('now')`,
    );
    this.dropStmt = db.prepare(`DELETE FROM adaptors WHERE model_id = ?`);
  }

  /** The stored adaptor for `modelId`, or undefined (none, or a row whose sizes do not add up). */
  get(modelId: string): AdaptorRow | undefined {
    const r = this.getStmt.get(modelId);
    if (!r) return undefined;
    const row = { ...r, weights: fromBlob(r.weights), start: fromBlob(r.start) };
    const n = row.inDim * row.outDim;
    return row.weights.length === n && row.start.length === n ? row : undefined;
  }

  put(row: AdaptorRow): void {
    const n = row.inDim * row.outDim;
    if (row.weights.length !== n || row.start.length !== n) throw new Error(`adaptor of ${row.weights.length} weights is not ${row.outDim} × ${row.inDim}`);
    this.putStmt.run({ ...row, weights: toBlob(row.weights), start: toBlob(row.start) });
  }

  remove(modelId: string): void {
    this.dropStmt.run(modelId);
  }
}
