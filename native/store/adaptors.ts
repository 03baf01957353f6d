/**
 * @file The stored personal metric (people/adaptor.ts): one row per embedding model holding
 * W, its start W0 and a version that grows with each training. Derived data, never the truth:
 * a missing or mismatched row means training again from the faces' own vectors. Beside it, in
 * the meta table: which decisions the stored W was trained on (so an unchanged set is not
 * trained again) and the last background retrain that failed (the stored W stays as it was).
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

/** A background retrain that did not store a new W. */
export interface AdaptorFailure {
  /** ISO time of the failure. */
  at: string;
  message: string;
  /** The version that stayed stored (0: none). */
  keptVersion: number;
}

const trainedOnKey = (modelId: string) => `adaptor.trained-on:${modelId}`;
const failureKey = (modelId: string) => `adaptor.failure:${modelId}`;

export class Adaptors {
  private readonly getStmt;
  private readonly putStmt;
  private readonly dropStmt;
  private readonly getMeta;
  private readonly putMeta;
  private readonly dropMeta;

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
    this.getMeta = db.prepare<[string], { value: string }>(`SELECT value FROM meta WHERE key = ?`);
    this.putMeta = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    this.dropMeta = db.prepare(`DELETE FROM meta WHERE key = ?`);
  }

  /** The stored adaptor for `modelId`, or undefined (none, or a row whose sizes do not add up). */
  get(modelId: string): AdaptorRow | undefined {
    const r = this.getStmt.get(modelId);
    if (!r) return undefined;
    const row = { ...r, weights: fromBlob(r.weights), start: fromBlob(r.start) };
    const n = row.inDim * row.outDim;
    return row.weights.length === n && row.start.length === n ? row : undefined;
  }

  /** Stores `row`; `trainedOn` names the decisions it was trained on (dropped when not given). */
  put(row: AdaptorRow, trainedOn?: string): void {
    const n = row.inDim * row.outDim;
    if (row.weights.length !== n || row.start.length !== n) throw new Error(`adaptor of ${row.weights.length} weights is not ${row.outDim} × ${row.inDim}`);
    this.putStmt.run({ ...row, weights: toBlob(row.weights), start: toBlob(row.start) });
    if (trainedOn === undefined) this.dropMeta.run(trainedOnKey(row.modelId));
    else this.putMeta.run(trainedOnKey(row.modelId), trainedOn);
  }

  /** What the stored W was trained on (put's `trainedOn`), if known. */
  trainedOn(modelId: string): string | undefined {
    return this.getMeta.get(trainedOnKey(modelId))?.value;
  }

  recordFailure(modelId: string, failure: AdaptorFailure): void {
    this.putMeta.run(failureKey(modelId), JSON.stringify(failure));
  }

  /** The last failed retrain since the last stored W, if any. */
  lastFailure(modelId: string): AdaptorFailure | undefined {
    const v = this.getMeta.get(failureKey(modelId))?.value;
    return v === undefined ? undefined : (JSON.parse(v) as AdaptorFailure);
  }

  clearFailure(modelId: string): void {
    this.dropMeta.run(failureKey(modelId));
  }

  remove(modelId: string): void {
    this.dropStmt.run(modelId);
    this.dropMeta.run(trainedOnKey(modelId));
  }
}
