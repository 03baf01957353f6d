/**
 * @file Finds the photos under a library folder. The walk is the only place that decides
 * what counts as a photo, so every later stage sees the same list. Kith's own files (the
 * library database and everything beside it) are never photos, even inside the folder, and
 * a symlink is one only when it leads to a file inside the folder (the only files Kith serves).
 */
import { opendir, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { isWithin } from '../common/path-inside.ts';

export const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif', '.heic', '.heif']);

/** Folders that hold caches, trash or OS metadata, never the user's photos. */
export const SYSTEM_FOLDERS = new Set([
  '@eaDir', // Synology thumbnails
  '$RECYCLE.BIN',
  'System Volume Information',
  'lost+found',
  'node_modules',
  '__MACOSX',
]);

export interface ScannedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface ScanProblem {
  /** The path as far as it can be written: a name that is not UTF-8 has U+FFFD in place of the bad bytes. */
  path: string;
  /** Written for the user. */
  error: string;
  /** A folder that could not be read: what Kith knew under it is not gone, only unseen. */
  folder: boolean;
}

export interface ScanResult {
  files: ScannedFile[];
  /** Folders or files that could not be read; the walk carries on past them. */
  problems: ScanProblem[];
}

export interface ScanOptions {
  /**
   * The library database: it, and every file or folder beside it whose name starts with its
   * name and a `.` or `-` (thumbnails, HNSW index, WAL), are Kith's own and never scanned.
   */
  library?: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');

function skipName(name: string): boolean {
  return name.startsWith('.') || SYSTEM_FOLDERS.has(name);
}

/** A predicate that is true for the library's own files. */
function ownFiles(library: string | undefined): (path: string) => boolean {
  if (!library) return () => false;
  const db = resolve(library);
  return (path) => path === db || path.startsWith(`${db}.`) || path.startsWith(`${db}-`);
}

/** Why a symlinked photo leading out of the library is not indexed (it could never be shown). */
export const LINK_OUTSIDE = 'links to a file outside the library folder: move or copy the photo into it';

/** A user-readable reason a path could not be read. */
function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ELOOP':
      return 'symbolic link loop: the link points (through other links) back at itself';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: Kith cannot read it';
    case 'ENOENT':
      return 'not found (gone, or a link to nothing)';
    default:
      return e.message;
  }
}

/** Recursively lists photo files (by extension) under `root`, sorted by path for a stable order. */
export async function scanFolder(root: string, options: ScanOptions = {}): Promise<ScanResult> {
  const files: ScannedFile[] = [];
  const problems: ScanProblem[] = [];
  const isOwn = ownFiles(options.library);
  const pending = [resolve(root)];
  const realRoot = await realpath(pending[0]!).catch(() => pending[0]!); // a missing root is reported below
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let handle;
    try {
      // Names as bytes: one that is not valid UTF-8 cannot be opened by a string path, so it is reported, not lost.
      handle = await opendir(dir, { encoding: 'buffer' as BufferEncoding }); // typed as string names; they are Buffers
    } catch (err) {
      problems.push({ path: dir, error: `cannot open this folder: ${reason(err)}`, folder: true });
      continue;
    }
    for await (const entry of handle) {
      const raw = entry.name as unknown as Buffer;
      let name: string;
      try {
        name = strictUtf8.decode(raw);
      } catch {
        const shown = lossyUtf8.decode(raw);
        if (skipName(shown)) continue;
        const what = entry.isDirectory() ? 'folder' : 'file';
        if (what === 'file' && !PHOTO_EXTENSIONS.has(extname(shown).toLowerCase())) continue;
        problems.push({
          path: join(dir, shown),
          error:
            `the ${what} name is not valid UTF-8 (bytes ${raw.toString('hex')}; shown with � for the bad bytes), ` +
            `so Kith cannot open it${what === 'folder' ? ' or the photos in it' : ''}: rename it`,
          folder: what === 'folder',
        });
        continue;
      }
      if (skipName(name)) continue;
      const full = join(dir, name);
      if (isOwn(full)) continue;
      if (entry.isDirectory()) pending.push(full);
      else if ((entry.isFile() || entry.isSymbolicLink()) && PHOTO_EXTENSIONS.has(extname(name).toLowerCase())) {
        try {
          const st = await stat(full);
          if (!st.isFile()) continue;
          // Folder symlinks are not followed, so only a file symlink can lead out of the library.
          if (entry.isSymbolicLink() && !isWithin(realRoot, await realpath(full))) problems.push({ path: full, error: LINK_OUTSIDE, folder: false });
          else files.push({ path: full, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
        } catch (err) {
          problems.push({ path: full, error: reason(err), folder: false });
        }
      }
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, problems };
}
