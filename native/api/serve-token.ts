/**
 * @file The library's `kith serve` token: kept beside the database (`<db>.token`, readable by
 * its owner only) so the printed link, and a bookmark of it, survive a restart. `--new-token`
 * replaces it, which makes every older link stop working.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

/** 32 random bytes, URL-safe: what a token looks like. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenPathFor(dbPath: string): string {
  return `${dbPath}.token`;
}

/**
 * The token kept at `file` if it is a plain file of ours that nobody else can read and holds a
 * well-formed token; null otherwise (missing, a symlink, readable by others, someone else's:
 * such a token may be known to others, so it is replaced rather than used).
 */
function readKept(file: string): string | null {
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return null;
  }
  if (!st.isFile()) return null;
  if (process.platform !== 'win32' && ((st.mode & 0o077) !== 0 || (process.getuid && st.uid !== process.getuid()))) return null;
  const text = readFileSync(file, 'utf8').trim();
  return TOKEN_SHAPE.test(text) ? text : null;
}

/** Write `token` to `file` with mode 0600 from the start (never briefly readable by others), atomically. */
function keep(file: string, token: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  rmSync(temp, { force: true });
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

/** The library's token: the kept one, or a new one (kept) when there is none, it is unsafe, or `rotate`. */
export function libraryToken(dbPath: string, opts: { rotate?: boolean } = {}): { token: string; file: string; created: boolean } {
  const file = tokenPathFor(dbPath);
  const kept = opts.rotate ? null : readKept(file);
  if (kept) return { token: kept, file, created: false };
  const token = newToken();
  keep(file, token);
  return { token, file, created: true };
}
