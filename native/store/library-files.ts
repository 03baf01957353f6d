/**
 * @file Every file a library keeps beside its database, by name, and keeping them private.
 * They hold everyone's faces and names, so on Unix they are the user's alone: files 0600,
 * folders 0700. A library made before Kith did this (0644 files, 0755 folders) is fixed the
 * next time it is opened. Windows keeps per-user ACLs on %APPDATA% and has no such modes.
 */
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

const POSIX = process.platform !== 'win32';

/** The files of the library whose database is `dbPath`; derived ones are rebuilt when lost. */
export function libraryFiles(dbPath: string) {
  return {
    db: dbPath,
    /** SQLite's own companions: they hold recent commits, so they are as private as the db. */
    sqlite: [`${dbPath}-wal`, `${dbPath}-shm`, `${dbPath}-journal`],
    hnsw: `${dbPath}.hnsw`,
    hnswSidecar: `${dbPath}.hnsw.json`,
    /** The k-NN graph full re-clusters keep current (native/search/knn-cache.ts). */
    knnCache: `${dbPath}.hnsw.knn`,
    thumbs: `${dbPath}.thumbs`,
  };
}

/** Set `path` to `mode` if it exists and has another; returns whether it existed. */
function chmodIfExists(path: string, mode: number): boolean {
  try {
    if ((statSync(path).mode & 0o777) !== mode) chmodSync(path, mode);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Make an existing file private (no-op when it does not exist, or on Windows). */
export function makePrivate(path: string): void {
  if (POSIX) chmodIfExists(path, PRIVATE_FILE_MODE);
}

/**
 * Create `path` empty and private unless it exists, so whatever then writes it (SQLite,
 * hnswlib) keeps mode 0600 from the first byte; an existing file is made private.
 */
export function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', PRIVATE_FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  makePrivate(path);
}

/** Create the folder (and missing parents, all 0700) and make it 0700 if it already existed. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (POSIX) chmodIfExists(path, PRIVATE_DIR_MODE);
}

/**
 * Make `dir` 0700 and, the first time (when it was not 0700 yet), every file in it 0600: later
 * files are written 0600, so the one-off sweep is not paid on every open of a large library.
 */
function makePrivateDirAndFiles(dir: string): void {
  let mode: number;
  try {
    mode = statSync(dir).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (mode === PRIVATE_DIR_MODE) return;
  // Files first: once the folder is 0700 a later sweep would never run again.
  for (const name of readdirSync(dir)) chmodIfExists(join(dir, name), PRIVATE_FILE_MODE);
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Make every existing file of the library at `dbPath` private (the fix for older libraries). */
export function secureLibraryFiles(dbPath: string): void {
  if (!POSIX) return;
  const files = libraryFiles(dbPath);
  for (const path of [files.db, ...files.sqlite, files.hnsw, files.hnswSidecar]) chmodIfExists(path, PRIVATE_FILE_MODE);
  makePrivateDirAndFiles(files.thumbs);
}

/**
 * Create the folder that will hold the library at `dbPath`: missing folders are made 0700.
 * `kithsOwn` (the per-user default folder, e.g. ~/.local/share/Kith) is made 0700 even if an
 * older Kith created it 0755; a folder the user chose with --db is left as it is.
 */
export function prepareLibraryFolder(dbPath: string, kithsOwn: boolean): void {
  const dir = dirname(dbPath);
  if (kithsOwn) ensurePrivateDir(dir);
  else mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}
