/**
 * @file Is a file really inside a folder? Photos, thumbnails and the app's own files are served
 * by path, and a path that looks inside the library can lead anywhere through a symlink (placed
 * before indexing, or swapped in for a photo afterwards). Every server (kith serve, the kith://
 * protocol) and the engine ask here, and only here. Dependency-free: Electron main bundles it.
 */
import { constants } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';

/** A file the engine vouches for: what it is, and the folder it must still be inside when served. */
export interface MediaFile {
  /** Real path (no symlink in it) when the engine checked it. */
  path: string;
  /** Content type, from what the decoder recognised, never from the file name. */
  type: string;
  /** The folder the file must be inside at the moment it is opened (library folder, thumbnail folder). */
  root: string;
}

/** True when real path `child` is strictly below real path `parent` (both absolute, no symlinks). */
export function isWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** An open regular file inside a folder; the caller owns `handle` and must close it (a read stream on it does). */
export interface InsideFile {
  handle: FileHandle;
  size: number;
  /** Its real path, inside the real root. */
  realPath: string;
}

// O_NOFOLLOW refuses a symlink as the last component outright; O_NONBLOCK keeps a FIFO named
// like a photo from hanging the open. Both are 0 where the platform lacks them (Windows).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Open `path` for reading only if it is a regular file whose real path is inside the real path
 * of `root`; null otherwise (missing, a directory, a symlink or a parent symlink leading out).
 * The check is made on the file actually opened: the real path is resolved after opening and its
 * device and inode must be the handle's, so swapping a symlink in between cannot redirect it.
 */
export async function openInside(root: string, path: string): Promise<InsideFile | null> {
  let handle: FileHandle | null = null;
  try {
    const realRoot = await realpath(root);
    handle = await open(path, OPEN_FLAGS);
    const opened = await handle.stat({ bigint: true });
    if (!opened.isFile()) throw new Error('not a regular file');
    const realPath = await realpath(path);
    if (!isWithin(realRoot, realPath)) throw new Error('outside the folder');
    const named = await stat(realPath, { bigint: true });
    if (named.dev !== opened.dev || named.ino !== opened.ino) throw new Error('changed while opening');
    return { handle, size: Number(opened.size), realPath };
  } catch {
    await handle?.close().catch(() => undefined);
    return null;
  }
}

/** The real path of `path` when it is a regular file inside `root` (see openInside), else null. */
export async function realFileInside(root: string, path: string): Promise<string | null> {
  const file = await openInside(root, path);
  if (!file) return null;
  await file.handle.close();
  return file.realPath;
}
