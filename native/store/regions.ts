/**
 * @file Named face regions read from photo metadata (XMP, Picasa): what each became (matched a face,
 * made one, conflicted, or left as the user had decided), and which photos were read, by a
 * signature of their content and sidecars, so a photo is read again only when either changed.
 */
import type { Db } from './db.ts';

export type RegionOutcome = 'named' | 'unmatched' | 'conflict' | 'kept';

export interface RegionRecord {
  name: string;
  /** Where it was read. */
  source: 'sidecar' | 'embedded' | 'picasa';
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  faceId: number | null;
  outcome: RegionOutcome;
  detail: string | null;
}

/** An indexed photo (not a copy) with its last read signature, null when never read. */
export interface RegionReadCandidate {
  id: number;
  path: string;
  hash: string | null;
  width: number;
  height: number;
  signature: string | null;
}

export class Regions {
  private readonly s;

  constructor(db: Db) {
    this.s = {
      candidates: db.prepare<[], RegionReadCandidate>(
        `SELECT p.id, p.path, p.hash, p.width, p.height, r.signature FROM photos p
           LEFT JOIN region_reads r ON r.photo_id = p.id
          WHERE p.status = 'done' AND p.duplicate_of IS NULL AND p.width > 0 AND p.height > 0
          ORDER BY p.id`,
      ),
      insert: db.prepare(
        `INSERT INTO face_regions (photo_id, name, source, x1, y1, x2, y2, face_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      clear: db.prepare<[number]>(`DELETE FROM face_regions WHERE photo_id = ?`),
      mark: db.prepare(
        `INSERT INTO region_reads (photo_id, signature) VALUES (?, ?) ON CONFLICT (photo_id) DO UPDATE SET signature = excluded.signature`,
      ),
      totals: db.prepare<[], { outcome: RegionOutcome; n: number }>(`SELECT outcome, COUNT(*) AS n FROM face_regions GROUP BY outcome`),
      conflicts: db.prepare<[], { photoId: number; path: string; detail: string }>(
        `SELECT DISTINCT p.id AS photoId, p.path, r.detail FROM face_regions r JOIN photos p ON p.id = r.photo_id
          WHERE r.outcome = 'conflict' OR (r.outcome = 'unmatched' AND r.detail LIKE 'skipped %') ORDER BY p.path, r.id`,
      ),
    };
  }

  readCandidates(): RegionReadCandidate[] {
    return this.s.candidates.all();
  }

  /** The photo's regions as read now, and its signature; the caller wraps it in the photo's transaction. */
  replace(photoId: number, regions: readonly RegionRecord[], signature: string): void {
    this.s.clear.run(photoId);
    for (const r of regions) this.s.insert.run(photoId, r.name, r.source, r.x1, r.y1, r.x2, r.y2, r.faceId, r.outcome, r.detail);
    this.s.mark.run(photoId, signature);
  }

  totals(): Record<RegionOutcome, number> & { regions: number } {
    const out = { regions: 0, named: 0, unmatched: 0, conflict: 0, kept: 0 };
    for (const r of this.s.totals.all()) {
      out[r.outcome] = r.n;
      out.regions += r.n;
    }
    return out;
  }

  /** Faces two regions give different names, and entries Kith skipped (an unmatched region whose detail starts with "skipped "). */
  conflicts(): Array<{ photoId: number; path: string; detail: string }> {
    return this.s.conflicts.all();
  }
}
