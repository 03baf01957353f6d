/**
 * @file The library's folders: listed with their photo counts, added (never one inside
 * another, so every photo has one folder), and removed with their photos and faces. Faces the
 * user had decided about are journaled like a deleted photo's; people keep their names.
 */
import { rmSync, statSync } from 'node:fs';
import { isWithin } from '../common/path-inside.ts';
import { UserError } from '../common/user-error.ts';
import { journalLostFaces } from '../indexing/face-journal.ts';
import { expandHome } from '../pipeline/folder-check.ts';
import { faceThumbPath } from '../pipeline/thumbs.ts';
import type { Store } from '../store/index.ts';

export interface FolderCounts {
  path: string;
  photos: number;
}

export class LibraryFolders {
  constructor(private readonly store: Store) {}

  list(): FolderCounts[] {
    const folders = this.store.folders.list();
    const photos = new Map(folders.map((f) => [f, 0]));
    for (const r of this.store.photos.list()) {
      const f = folders.find((folder) => isWithin(folder, r.path));
      if (f && r.duplicateOf === null) photos.set(f, photos.get(f)! + 1);
    }
    return folders.map((path) => ({ path, photos: photos.get(path)! }));
  }

  /** The folder's absolute path; a UserError when it is no folder, or overlaps one of the library's. */
  add(typed: string): string {
    const path = expandHome(typed);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new UserError(`folder not found: ${path}`);
    }
    if (!isDir) throw new UserError(`not a folder: ${path}`);
    for (const f of this.store.folders.list()) {
      if (f === path) return path;
      if (isWithin(f, path)) throw new UserError(`${path} is already in the library, inside ${f}`);
      if (isWithin(path, f)) throw new UserError(`${path} holds the library folder ${f}: remove that one first (kith remove), then add ${path}`);
    }
    this.store.folders.add(path);
    return path;
  }

  /** Drop the folder with its photos (and their copies) and faces, in one transaction. */
  remove(typed: string): { path: string; photos: number; faces: number } {
    const path = expandHome(typed);
    if (!this.store.folders.list().includes(path)) throw new UserError(`${path} is not one of the library's folders (see kith folders)`);
    const removed = this.store.transaction(() => {
      const rows = this.store.photos.list().filter((r) => isWithin(path, r.path));
      const lost = rows.map((r) => ({ path: r.path, faceIds: this.store.faces.forPhoto(r.id).map((f) => f.id) }));
      // Before the faces go: the journal entry holds the decisions that go with them.
      journalLostFaces(this.store, lost, { removedFolder: path });
      for (const r of rows) this.store.photos.delete(r.id);
      this.store.folders.remove(path);
      this.store.people.pruneEmpty();
      return { path, photos: rows.filter((r) => r.duplicateOf === null).length, faceIds: lost.flatMap((l) => l.faceIds) };
    });
    // Thumbnails are derived: one left behind is only wasted space.
    for (const id of removed.faceIds) rmSync(faceThumbPath(this.store.path, id), { force: true });
    return { path, photos: removed.photos, faces: removed.faceIds.length };
  }
}
