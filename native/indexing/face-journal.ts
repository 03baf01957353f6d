/**
 * @file Faces the user had decided about that an indexing run removes (their photo was
 * deleted, or edited so they are no longer in it, or its folder was removed from the library)
 * leave a line in the undo journal, so the user can see what went ("Removed 2 faces of edited
 * photo beach.jpg"). Undoing it cannot
 * bring a deleted face back; it restores nothing else either (the entry names no people).
 */
import { basename } from 'node:path';
import { UNDO_DEPTH } from '../people/service.ts';
import type { Store } from '../store/index.ts';

/**
 * Journal the decided faces among those `lost` (call before deleting them, in the same
 * transaction): one entry for the lot, so a run never floods the undo history. Returns how
 * many decided faces were journaled.
 */
export function journalLostFaces(
  store: Store,
  lost: ReadonlyArray<{ path: string; faceIds: readonly number[] }>,
  why: 'deleted' | 'edited' | { removedFolder: string },
): number {
  const decided = lost.map((l) => ({ path: l.path, faceIds: store.faces.decidedAmong(l.faceIds) })).filter((l) => l.faceIds.length > 0);
  const faceIds = decided.flatMap((l) => l.faceIds);
  if (faceIds.length === 0) return 0;
  const n = faceIds.length;
  const photos = decided.length === 1 ? `photo ${basename(decided[0]!.path)}` : `${decided.length} photos`;
  const where = typeof why === 'string' ? `${why} ${photos}` : `${photos} of the removed folder ${why.removedFolder}`;
  store.people.journal(`Removed ${n} face${n === 1 ? '' : 's'} of ${where}`, store.people.snapshot([], faceIds), UNDO_DEPTH);
  return n;
}
