/**
 * @file Finds the photos under a library folder. The walk is the only place that decides
 * what counts as a photo, so every later stage sees the same list.
 */
import { opendir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

export const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif', '.heic', '.heif']);

/** Folders that hold caches, trash or OS metadata, never the user's photos. */
const SYSTEM_FOLDERS = new Set([
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

export interface ScanResult {
  files: ScannedFile[];
  /** Folders or files that could not be read; the walk carries on past them. */
  problems: Array<{ path: string; error: string }>;
}

function skipName(name: string): boolean {
  return name.startsWith('.') || SYSTEM_FOLDERS.has(name);
}

/** Recursively lists photo files (by extension) under `root`, sorted by path for a stable order. */
export async function scanFolder(root: string): Promise<ScanResult> {
  const files: ScannedFile[] = [];
  const problems: ScanResult['problems'] = [];
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let handle;
    try {
      handle = await opendir(dir);
    } catch (err) {
      problems.push({ path: dir, error: (err as Error).message });
      continue;
    }
    for await (const entry of handle) {
      if (skipName(entry.name)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if ((entry.isFile() || entry.isSymbolicLink()) && PHOTO_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
        try {
          const st = await stat(full);
          if (st.isFile()) files.push({ path: full, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
        } catch (err) {
          problems.push({ path: full, error: (err as Error).message });
        }
      }
    }
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, problems };
}
