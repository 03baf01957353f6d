/**
 * @file Checks an hnswlib index file before hnswlib reads it. hnswlib trusts its file
 * completely: a flipped bit in a neighbour id or a link count sends a search outside its
 * memory (a segfault), and a bad header makes it allocate whatever size it reads. So a file
 * is only handed to hnswlib when its size and sha256 are those Kith recorded when it wrote
 * it, and its structure is one hnswlib can walk safely: the header agrees with the dimension
 * and M, every link count is within its limit, every neighbour exists (on that level), every
 * label is unique and the delete marks are those the sidecar lists. The file is read once,
 * in chunks, for both checks.
 *
 * Layout (hnswlib 0.8 `saveIndex`, little-endian, size_t = 8 bytes): a 96-byte header, then
 * `count` level-0 records of `sizeDataPerElement` bytes (u16 link count, u8 flags, u8 unused,
 * maxM0 u32 neighbour ids, `dim` float32s, u64 label), then per element a u32 byte length and
 * its upper-level link lists (per level: u16 count, u16 unused, maxM u32 neighbour ids).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const HEADER_BYTES = 96;
const CHUNK_BYTES = 4 << 20;
/** A level above this is not a file hnswlib wrote (levels grow like log_M(count)). */
const MAX_LEVEL = 32;

export interface HnswFileExpectation {
  dim: number;
  m: number;
  /** Elements in the file, deleted ones included. */
  count: number;
  bytes: number;
  sha256: string;
  /** Labels the sidecar says are deleted: exactly these carry hnswlib's delete mark. */
  deleted: ReadonlySet<number>;
}

export type HnswFileCheck = { ok: true } | { ok: false; reason: string };

/** sha256 (hex) of a file, read in chunks. */
export function sha256OfFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** Sequential reads over a file descriptor that hash every byte they read. */
class HashingReader {
  private buf = Buffer.alloc(0);
  private pos = 0;
  private eof = false;

  constructor(
    private readonly fd: number,
    private readonly hash: Hash,
  ) {}

  /** The next `n` bytes, or null if the file ends first. */
  take(n: number): Buffer | null {
    while (this.buf.length - this.pos < n) {
      if (this.eof) return null;
      const chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, n));
      const got = readSync(this.fd, chunk, 0, chunk.length, null);
      if (got === 0) this.eof = true;
      this.hash.update(chunk.subarray(0, got));
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk.subarray(0, got)]);
      this.pos = 0;
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Whether every byte has been taken (reads on to the end, so the hash is complete). */
  atEnd(): boolean {
    return this.take(1) === null && this.pos === this.buf.length;
  }
}

class Invalid extends Error {}

function need(condition: boolean, reason: string): asserts condition {
  if (!condition) throw new Invalid(reason);
}

/** Read a u64 that must fit a JS number exactly. */
function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  need(v <= BigInt(Number.MAX_SAFE_INTEGER), 'a 64-bit field is out of range');
  return Number(v);
}

/** Whether the file at `path` is the one described by `expect`, and safe to give hnswlib. */
export function checkHnswFile(path: string, expect: HnswFileExpectation): HnswFileCheck {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  try {
    if (fstatSync(fd).size !== expect.bytes) return { ok: false, reason: 'size differs from the sidecar' };
    const hash = createHash('sha256');
    walk(new HashingReader(fd, hash), expect);
    if (hash.digest('hex') !== expect.sha256) return { ok: false, reason: 'sha256 differs from the sidecar' };
    return { ok: true };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: err.message };
    return { ok: false, reason: (err as Error).message };
  } finally {
    closeSync(fd);
  }
}

function walk(reader: HashingReader, expect: HnswFileExpectation): void {
  const head = reader.take(HEADER_BYTES);
  need(head !== null, 'shorter than its header');
  const offsetLevel0 = u64(head, 0);
  const maxElements = u64(head, 8);
  const count = u64(head, 16);
  const sizeDataPerElement = u64(head, 24);
  const labelOffset = u64(head, 32);
  const offsetData = u64(head, 40);
  const maxLevel = head.readInt32LE(48);
  const enterPoint = head.readUInt32LE(52);
  const maxM = u64(head, 56);
  const maxM0 = u64(head, 64);
  const m = u64(head, 72);
  const mult = head.readDoubleLE(80);
  const efConstruction = u64(head, 88);

  const linksLevel0 = maxM0 * 4 + 4;
  need(m === expect.m && maxM === m && maxM0 === 2 * m, 'M differs');
  need(offsetLevel0 === 0 && offsetData === linksLevel0 && labelOffset === offsetData + expect.dim * 4, 'record layout differs');
  need(sizeDataPerElement === labelOffset + 8, 'record size differs');
  need(count === expect.count, 'element count differs from the sidecar');
  // hnswlib allocates maxElements records on load: a bound keeps a bad header from asking for terabytes.
  need(maxElements >= count && maxElements <= Math.max(4096, 4 * count), 'capacity out of range');
  need(Number.isFinite(mult) && mult > 0 && efConstruction >= 1 && efConstruction <= 100_000, 'build parameters out of range');
  if (count === 0) need(maxLevel === -1 && enterPoint === 0xffffffff, 'an empty index with an entry point');
  else need(maxLevel >= 0 && maxLevel <= MAX_LEVEL && enterPoint < count, 'entry point out of range');

  const labels = new Set<number>();
  for (let i = 0; i < count; i++) {
    const rec = reader.take(sizeDataPerElement);
    need(rec !== null, 'level-0 records cut short');
    const links = rec.readUInt16LE(0);
    need(links <= maxM0, 'level-0 link count too large');
    const label = u64(rec, labelOffset);
    need(rec[2] === (expect.deleted.has(label) ? 1 : 0) && rec[3] === 0, 'delete mark differs from the sidecar');
    for (let j = 0; j < links; j++) need(rec.readUInt32LE(4 + 4 * j) < count, 'level-0 neighbour out of range');
    need(!labels.has(label), 'a label appears twice');
    labels.add(label);
  }

  const linksPerLevel = maxM * 4 + 4;
  const levels = new Uint8Array(count);
  // Upper-level neighbours must themselves reach that level; checked once every level is known.
  const upper: number[] = [];
  for (let i = 0; i < count; i++) {
    const size = reader.take(4);
    need(size !== null, 'link lists cut short');
    const bytes = size.readUInt32LE(0);
    need(bytes % linksPerLevel === 0 && bytes / linksPerLevel <= maxLevel, 'link list size out of range');
    levels[i] = bytes / linksPerLevel;
    if (bytes === 0) continue;
    const lists = reader.take(bytes);
    need(lists !== null, 'link lists cut short');
    for (let level = 1; level <= levels[i]!; level++) {
      const at = (level - 1) * linksPerLevel;
      const links = lists.readUInt16LE(at);
      need(links <= maxM && lists.readUInt16LE(at + 2) === 0, 'link count too large');
      for (let j = 0; j < links; j++) {
        const to = lists.readUInt32LE(at + 4 + 4 * j);
        need(to < count, 'neighbour out of range');
        upper.push(to, level);
      }
    }
  }
  need(reader.atEnd(), 'bytes after the last link list');
  if (count > 0) need(levels[enterPoint] === maxLevel, 'entry point is not on the top level');
  for (let p = 0; p < upper.length; p += 2) need(levels[upper[p]!]! >= upper[p + 1]!, 'a neighbour is missing from its level');
}
