/**
 * @file What the user typed as a photo folder, checked before indexing starts: `~` expanded
 * (the server's working directory means nothing to them), and whether it exists, is a folder,
 * can be read, and roughly how many photos it holds, counted with a bounded walk so a huge
 * disk answers quickly.
 */
import { constants } from 'node:fs';
import { access, opendir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import type { FolderCheck } from '../api/types.ts';
import { PHOTO_EXTENSIONS } from './scan.ts';

/** The walk stops after this many entries; the count is then a lower bound. */
const MAX_ENTRIES = 20_000;
const MAX_MS = 1500;

/** `~` and `~/x` (or `~\x`) mean the user's home folder, as in a shell; then an absolute path. */
export function expandHome(path: string, home = homedir()): string {
  const p = path.trim();
  if (p === '~') return home;
  if (p.startsWith('~/') || p.startsWith('~\\')) return join(home, p.slice(2));
  return resolve(p);
}

/** Photos under `root` (hidden folders skipped, as scan.ts does), counted until a limit. */
async function countPhotos(root: string): Promise<{ photos: number; complete: boolean }> {
  const deadline = Date.now() + MAX_MS;
  const pending = [root];
  let photos = 0;
  let entries = 0;
  while (pending.length > 0) {
    const dir = pending.pop()!;
    try {
      for await (const e of await opendir(dir)) {
        if (++entries > MAX_ENTRIES || Date.now() > deadline) return { photos, complete: false };
        if (e.name.startsWith('.')) continue;
        if (e.isDirectory()) pending.push(join(dir, e.name));
        else if (PHOTO_EXTENSIONS.has(extname(e.name).toLowerCase())) photos++;
      }
    } catch {
      // An unreadable subfolder is reported by the indexing run itself.
    }
  }
  return { photos, complete: true };
}

/** Is `typed` a folder Kith can index, and about how many photos does it hold? */
export async function checkFolder(typed: string): Promise<FolderCheck> {
  const path = expandHome(typed);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return { path, state: 'unreadable', photos: null, complete: false };
    return { path, state: 'missing', photos: null, complete: false };
  }
  if (!info.isDirectory()) return { path, state: 'not-folder', photos: null, complete: false };
  try {
    await access(path, constants.R_OK | constants.X_OK);
  } catch {
    return { path, state: 'unreadable', photos: null, complete: false };
  }
  const { photos, complete } = await countPhotos(path);
  return { path, state: 'ok', photos, complete };
}
