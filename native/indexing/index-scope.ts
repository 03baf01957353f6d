/**
 * @file What an indexing run looks at: the files of every library folder and the photos
 * Kith knows there, so a file moved from one folder to another is the same photo. A run for
 * a few changed paths (the folder watcher's) reads only those from disk: every other photo
 * is handed to the plan as it was last seen (unchanged, so never read), which keeps every
 * rule of a full run (moves, copies, edits, deletions) while costing only the changed files.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { isWithin } from '../common/path-inside.ts';
import { LINK_OUTSIDE, PHOTO_EXTENSIONS, scanFolder, SYSTEM_FOLDERS, type ScannedFile, type ScanProblem } from '../pipeline/scan.ts';
import type { PhotoRow, Store } from '../store/index.ts';

export interface RunScope {
  files: ScannedFile[];
  problems: ScanProblem[];
  /** The store's photos inside the run's folders. */
  rows: PhotoRow[];
  /** Said to the user: folders that came back empty where photos were (their photos are kept). */
  notices: string[];
}

export interface ScopeOptions {
  /** The library database: its own files are never photos. */
  library: string;
  /** Only these paths changed (files or folders, present or gone); the rest is as last seen. */
  paths?: readonly string[];
}

const within = (parent: string, path: string) => path === parent || isWithin(parent, path);

/** A row as the file it was when last seen: the plan takes it as unchanged and reads nothing. */
const asSeen = (r: PhotoRow): ScannedFile => ({ path: r.path, size: r.size, mtimeMs: r.mtimeMs });

/** True when the library database is `path` or one of its files beside it. */
function ownFile(library: string, path: string): boolean {
  const db = resolve(library);
  return path === db || path.startsWith(`${db}.`) || path.startsWith(`${db}-`);
}

/**
 * One changed file under `root`, by the same rules as the folder walk (scan.ts): a photo by
 * extension, not hidden or in a system folder, not Kith's own, no folder symlink on the way,
 * a file symlink only when it leads inside the folder. Null when it is none of the library's.
 */
async function scanOne(root: string, path: string, library: string): Promise<ScannedFile | ScanProblem | null> {
  const names = relative(root, path).split(sep);
  if (names.some((n) => n.startsWith('.') || SYSTEM_FOLDERS.has(n))) return null;
  if (ownFile(library, path) || !PHOTO_EXTENSIONS.has(extname(path).toLowerCase())) return null;
  try {
    const link = await lstat(path);
    if (!link.isFile() && !link.isSymbolicLink()) return null;
    const realRoot = await realpath(root);
    // The walk never follows a folder symlink: a file reached through one is not in the folder.
    if ((await realpath(dirname(path))) !== join(realRoot, relative(root, dirname(path)))) return null;
    const st = await stat(path);
    if (!st.isFile()) return null;
    if (link.isSymbolicLink() && !isWithin(realRoot, await realpath(path))) return { path, error: LINK_OUTSIDE, folder: false };
    return { path, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null; // gone again: its row (if any) is missing
    return { path, error: (err as Error).message, folder: false };
  }
}

/** True when `path` is a folder now (a folder moved in, or a root): it is walked whole. */
async function isFolder(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null))?.isDirectory() ?? false;
}

/**
 * The files and rows of a run over `roots`. Every root is walked unless `paths` narrows the
 * run; a root whose walk finds nothing where photos were (an unplugged drive) keeps its photos
 * when other folders are indexed with it (alone, the plan itself keeps them).
 */
export async function runScope(store: Store, roots: readonly string[], opts: ScopeOptions): Promise<RunScope> {
  const rows = store.photos.list().filter((r) => roots.some((root) => isWithin(root, r.path)));
  const changed = opts.paths?.map((p) => resolve(p)).filter((p) => roots.some((root) => within(root, p)));
  const walked = new Set<string>();
  for (const root of roots) {
    if (!changed) walked.add(root);
    // A changed folder (moved in, renamed, or a root) means walking its root: the walk knows what a photo is.
    else for (const p of changed) if (within(root, p) && (p === root || (await isFolder(p)))) walked.add(root);
  }
  const files: ScannedFile[] = [];
  const problems: ScanProblem[] = [];
  const notices: string[] = [];
  const shown = new Set<string>();
  for (const root of walked) {
    const scan = await scanFolder(root, { library: opts.library });
    const known = rows.filter((r) => isWithin(root, r.path));
    if (scan.files.length === 0 && known.length > 0 && roots.length > 1) {
      notices.push(`found no photos in ${root}, where ${known.length} were: keeping them (is the drive connected?)`);
      for (const r of known) files.push(asSeen(r)), shown.add(r.path);
      continue;
    }
    for (const f of scan.files) files.push(f), shown.add(f.path);
    problems.push(...scan.problems);
  }
  if (changed) {
    const touched = (path: string) => changed.some((p) => within(p, path));
    for (const p of changed) {
      const root = roots.find((r) => isWithin(r, p));
      if (!root || walked.has(root) || shown.has(p)) continue;
      const one = await scanOne(root, p, opts.library);
      if (!one) continue;
      if ('error' in one) problems.push(one);
      else files.push(one), shown.add(one.path);
    }
    for (const r of rows) if (!shown.has(r.path) && !walked.has(roots.find((root) => isWithin(root, r.path))!) && !touched(r.path)) files.push(asSeen(r));
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, problems, rows, notices };
}
