/**
 * @file What a run has to do, from the scan and the store: which files are new or changed,
 * which photos moved, which are gone, which files are copies of a photo. A photo row follows
 * its content (sha256): renamed, moved, or left only in a copy, it keeps its faces and every
 * decision about them. The fast path trusts size + mtime: a file whose size and mtime are
 * unchanged is not read (`verify` reads and hashes every file).
 */
import { isWithin } from '../common/path-inside.ts';
import type { ScannedFile, ScanProblem } from '../pipeline/scan.ts';
import type { PhotoRow } from '../store/index.ts';

export interface Plan {
  /** Files to decode and detect: new content, or a photo's changed content (its faces are matched). */
  todo: ScannedFile[];
  /** Size and mtime as last seen: not read. */
  unchanged: number;
  /** Size or mtime changed, content did not: only the row's size and mtime are updated. */
  touched: Array<{ row: PhotoRow; file: ScannedFile }>;
  /** A photo's content now lives at another path (renamed, moved, or only its copy is left). */
  moves: Array<{ row: PhotoRow; to: ScannedFile }>;
  /** Photos whose content is nowhere any more: they and their faces go. */
  removals: PhotoRow[];
  /** Copy rows to drop first (their file is gone or is no longer a copy of the same photo). */
  dropCopies: PhotoRow[];
  /** Files with the content of a photo: of a photo row (id), or of a file in `todo` (its path). */
  copies: Array<{ file: ScannedFile; hash: string; of: number | string }>;
  /** Files the scan could not read: recorded as errors so `kith errors` lists them. */
  problems: ScanProblem[];
  /** Rows not seen because their folder could not be read, or the whole folder came back empty: kept. */
  unseen: number;
}

export type HashFile = (path: string) => Promise<string | null>;

interface Current {
  file: ScannedFile;
  row?: PhotoRow;
  /** Content hash as far as known: the row's for an unchanged file, freshly read otherwise. */
  hash: string | null;
  sameAsRow: boolean;
}

/** Run `fn` over `items`, `width` at a time. */
async function eachLimited<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/**
 * Compare the scan with the store's rows under `root`. Reads (hashes) only the files that
 * need it: changed ones, and new ones whose size equals another file's or a vanished photo's.
 */
export async function planRun(
  rows: readonly PhotoRow[],
  scan: { files: readonly ScannedFile[]; problems: readonly ScanProblem[] },
  hashFile: HashFile,
  opts: { verify?: boolean } = {},
): Promise<Plan> {
  const byPath = new Map(rows.map((r) => [r.path, r]));
  const unreadable = scan.problems.filter((p) => p.folder).map((p) => p.path);
  const problemPaths = new Set(scan.problems.map((p) => p.path));
  const seen = new Set(scan.files.map((f) => f.path));
  // Under a folder that could not be read, or in a folder that came back empty where photos
  // were (an unmounted drive): unseen, not deleted.
  const emptied = scan.files.length === 0 && rows.length > 0;
  const isUnseen = (r: PhotoRow) =>
    !seen.has(r.path) && !problemPaths.has(r.path) && (emptied || unreadable.some((d) => isWithin(d, r.path)));
  // Rows at a path the scan could not read stay as they are (the problem is recorded on them).
  const visible = rows.filter((r) => !isUnseen(r) && !problemPaths.has(r.path));
  const missing = visible.filter((r) => !seen.has(r.path));

  // 1. Content of every file, as far as it is needed.
  const sizes = new Map<number, number>();
  for (const s of [...scan.files.map((f) => f.size), ...missing.map((r) => r.size)]) sizes.set(s, (sizes.get(s) ?? 0) + 1);
  const current: Current[] = scan.files.map((file) => ({ file, row: byPath.get(file.path), hash: null, sameAsRow: false }));
  const toHash: Current[] = [];
  for (const c of current) {
    const r = c.row;
    if (r && !opts.verify && r.size === c.file.size && r.mtimeMs === c.file.mtimeMs && r.status !== 'pending') {
      c.hash = r.hash;
      c.sameAsRow = true;
    } else if (r || (sizes.get(c.file.size) ?? 0) > 1) toHash.push(c);
  }
  await eachLimited(toHash, 4, async (c) => {
    c.hash = await hashFile(c.file.path);
    c.sameAsRow = c.row !== undefined && c.hash !== null && c.hash === c.row.hash && c.row.status !== 'pending';
  });
  const holders = new Map<string, Current[]>();
  for (const c of current) if (c.hash) holders.set(c.hash, [...(holders.get(c.hash) ?? []), c]);

  // 2. Where each photo's content is now: where it was, else a copy of it, else a new path.
  const placed = new Map<string, { row: PhotoRow; edit: boolean }>();
  const moves: Plan['moves'] = [];
  const primaries = visible.filter((r) => r.duplicateOf === null);
  for (const c of current) if (c.sameAsRow && c.row!.duplicateOf === null) placed.set(c.file.path, { row: c.row!, edit: false });
  const homeless: PhotoRow[] = [];
  for (const r of primaries) {
    if (placed.get(r.path)?.row === r) continue;
    const free = (r.hash ? (holders.get(r.hash) ?? []) : []).filter((c) => !placed.has(c.file.path));
    const to = free.find((c) => c.row?.duplicateOf === r.id) ?? free.find((c) => !c.row) ?? free[0];
    if (to) {
      placed.set(to.file.path, { row: r, edit: false });
      moves.push({ row: r, to: to.file });
    } else homeless.push(r);
  }
  /** The photo now holding `hash` (a placed photo whose content there is known and readable). */
  const ownerOf = (hash: string | null): PhotoRow | undefined => {
    for (const c of (hash && holders.get(hash)) || []) {
      const p = placed.get(c.file.path);
      if (p && !p.edit && p.row.status === 'done') return p.row;
    }
    return undefined;
  };

  // 3. A photo whose content is nowhere, but whose file is still there, was edited: it stays and
  // its faces are matched to the new ones, unless its new content is another photo's.
  const removals: PhotoRow[] = [];
  const firstOfNewContent = new Map<string, string>();
  for (const r of homeless) {
    const c = current.find((x) => x.file.path === r.path);
    if (c && !placed.has(r.path) && !ownerOf(c.hash)) {
      placed.set(r.path, { row: r, edit: true });
      if (c.hash && !firstOfNewContent.has(c.hash)) firstOfNewContent.set(c.hash, r.path);
    } else removals.push(r);
  }

  // 4. Every other file: still a copy, a new copy, or new content (the first path of it is indexed).
  const todo: ScannedFile[] = [];
  const copies: Plan['copies'] = [];
  const staying = new Set<number>();
  for (const c of current) {
    const p = placed.get(c.file.path);
    if (p) {
      if (p.edit) todo.push(c.file);
      continue;
    }
    const owner = ownerOf(c.hash);
    if (c.sameAsRow && c.row!.duplicateOf !== null && owner?.id === c.row!.duplicateOf) staying.add(c.row!.id);
    else if (owner) copies.push({ file: c.file, hash: c.hash!, of: owner.id });
    else if (c.hash && firstOfNewContent.has(c.hash) && firstOfNewContent.get(c.hash) !== c.file.path) {
      copies.push({ file: c.file, hash: c.hash, of: firstOfNewContent.get(c.hash)! });
    } else {
      if (c.hash) firstOfNewContent.set(c.hash, c.file.path);
      todo.push(c.file);
    }
  }

  const kept = (c: Current) =>
    c.sameAsRow && (c.row!.duplicateOf === null ? placed.get(c.file.path)?.row === c.row && !placed.get(c.file.path)!.edit : staying.has(c.row!.id));
  const same = (c: Current) => c.row!.size === c.file.size && c.row!.mtimeMs === c.file.mtimeMs;
  return {
    todo,
    unchanged: current.filter((c) => kept(c) && same(c)).length,
    touched: current.filter((c) => kept(c) && !same(c)).map((c) => ({ row: c.row!, file: c.file })),
    moves,
    removals,
    dropCopies: visible.filter((r) => r.duplicateOf !== null && !staying.has(r.id)),
    copies,
    problems: [...scan.problems],
    unseen: rows.filter(isUnseen).length,
  };
}
