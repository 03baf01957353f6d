/**
 * @file Carries out the bookkeeping half of a run's plan in one transaction, before any photo
 * is decoded: moves, touches, copies, removals and scan problems. A kill before the commit
 * leaves the library as it was; after it, the next run finds nothing of this left to do.
 */
import type { Plan } from './index-plan.ts';
import { journalLostFaces } from './face-journal.ts';
import type { Store } from '../store/index.ts';

export function applyPlan(store: Store, plan: Plan, runId: number): void {
  store.transaction(() => {
    journalLostFaces(store, plan.removals.map((r) => ({ path: r.path, faceIds: store.faces.forPhoto(r.id).map((f) => f.id) })), 'deleted');
    for (const r of plan.removals) store.photos.delete(r.id);
    for (const r of plan.dropCopies) store.photos.delete(r.id);
    // Two photos may swap paths: park every moving row on a path no file has first.
    for (const m of plan.moves) store.photos.relocate(m.row.id, `\u0000moving ${m.row.id}`, m.row.mtimeMs);
    for (const m of plan.moves) store.photos.relocate(m.row.id, m.to.path, m.to.mtimeMs, m.to.size);
    for (const t of plan.touched) store.photos.touch(t.row.id, t.file.size, t.file.mtimeMs);
    for (const c of plan.copies) {
      if (typeof c.of === 'number') store.photos.markDuplicate(c.file.path, c.of, { size: c.file.size, mtimeMs: c.file.mtimeMs, hash: c.hash, runId });
    }
    for (const p of plan.problems) {
      const row = store.photos.get(p.path);
      store.photos.upsert(p.path, { size: row?.size ?? 0, mtimeMs: row?.mtimeMs ?? 0, hash: row?.hash ?? null, status: 'error', error: p.error, runId });
    }
  });
}

/**
 * Copies of content first seen in this run point at the photo made from it, once that photo
 * is indexed. A copy of a file that could not be read is an error of its own.
 */
export function recordNewCopies(store: Store, plan: Plan, runId: number): number {
  let n = 0;
  store.transaction(() => {
    for (const c of plan.copies) {
      if (typeof c.of !== 'string') continue;
      const photo = store.photos.get(c.of);
      if (!photo || photo.hash !== c.hash) continue; // not indexed yet (the run stopped): the next run does it
      if (photo.status === 'done' && photo.duplicateOf === null) {
        store.photos.markDuplicate(c.file.path, photo.id, { size: c.file.size, mtimeMs: c.file.mtimeMs, hash: c.hash, runId });
        n++;
      } else {
        store.photos.upsert(c.file.path, {
          size: c.file.size,
          mtimeMs: c.file.mtimeMs,
          hash: c.hash,
          status: 'error',
          error: `same content as ${c.of}: ${photo.error ?? 'could not be read'}`,
          runId,
        });
      }
    }
  });
  return n + plan.copies.filter((c) => typeof c.of === 'number').length;
}
