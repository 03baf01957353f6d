/**
 * @file Ways to damage an HNSW index file and its sidecar, reproducibly from a seed, for
 * test/ann-integrity.test.ts and its child process (test/ann-integrity-trial.ts).
 */
import { createHash } from 'node:crypto';

export const SEARCH_K = 5;
const HEADER_BYTES = 96;
/** hnswlib's level-0 link slots for Kith's M = 16. */
const M0 = 32;

export type DamageMode = 'flip' | 'flip-structure' | 'bad-links' | 'resize' | 'sidecar' | 'agreeing' | 'huge-vector';

type Sidecar = Record<string, unknown> & { bytes: number; deleted: number[] };

/**
 * The index file `good` (with sidecar `goodSidecar`, for vectors of `dim`) damaged by `mode`;
 * `trial` picks the variant where a mode has several.
 */
export function damage(mode: DamageMode, good: Buffer, goodSidecar: string, dim: number, random: () => number, trial: number): { hnsw: Buffer; sidecar: string } {
  const int = (n: number) => Math.floor(random() * n);
  const recordBytes = 4 + 4 * M0 + 4 * dim + 8;
  const records = Math.floor((good.length - HEADER_BYTES) / recordBytes); // upper links make this an overestimate; fine
  const flipBits = (buf: Buffer, position: () => number, flips: number) => {
    const out = Buffer.from(buf);
    for (let i = 0; i < flips; i++) out[position()]! ^= 1 << int(8);
    return out;
  };
  /** A byte where hnswlib keeps structure (header, level-0 links, labels), not vector values. */
  const structuralByte = () => {
    const pick = int(3);
    if (pick === 0) return int(HEADER_BYTES);
    const rec = HEADER_BYTES + int(records - 1) * recordBytes;
    return Math.min(good.length - 1, pick === 1 ? rec + int(4 + 4 * M0) : rec + recordBytes - 8 + int(8));
  };
  const side = () => JSON.parse(goodSidecar) as Sidecar;
  /** A sidecar that agrees with `hnsw` on size and checksum, as if Kith had written both. */
  const agreeing = (hnsw: Buffer) => JSON.stringify({ ...side(), bytes: hnsw.length, sha256: createHash('sha256').update(hnsw).digest('hex') });
  const flips = 1 + int(12);
  switch (mode) {
    case 'flip': // anywhere, the sidecar untouched (so its size still matches)
      return { hnsw: flipBits(good, () => int(good.length), flips), sidecar: goodSidecar };
    case 'flip-structure': // where a flip crashes hnswlib, the sidecar untouched
      return { hnsw: flipBits(good, structuralByte, flips), sidecar: goodSidecar };
    case 'bad-links': {
      // every level-0 neighbour of one element pointed far outside the index, sidecar untouched
      const hnsw = Buffer.from(good);
      const rec = HEADER_BYTES + (trial % records) * recordBytes;
      for (let j = 0; j < hnsw.readUInt16LE(rec); j++) hnsw.writeUInt32LE(0x7fffff00 + j, rec + 4 + 4 * j);
      return { hnsw, sidecar: goodSidecar };
    }
    case 'resize': {
      // cut short or grown, and the size in the sidecar made to match
      const hnsw = random() < 0.5 ? good.subarray(0, int(good.length)) : Buffer.concat([good, Buffer.from(Array.from({ length: 1 + int(4096) }, () => int(256)))]);
      return { hnsw, sidecar: JSON.stringify({ ...side(), bytes: hnsw.length }) };
    }
    case 'sidecar': {
      // the index intact, its sidecar wrong in one way per trial
      const lies = [
        '{"modelId":',
        JSON.stringify({ ...side(), deleted: [987654] }),
        JSON.stringify({ ...side(), deleted: [1, 2, 3] }),
        JSON.stringify({ ...side(), count: 7 }),
        JSON.stringify({ ...side(), sha256: '0'.repeat(64) }),
        JSON.stringify({ ...side(), dim: dim + 1 }),
        JSON.stringify({ ...side(), bytes: -1 }),
        JSON.stringify({ bytes: good.length, deleted: [] }),
        'null',
      ];
      return { hnsw: good, sidecar: lies[trial % lies.length]! };
    }
    case 'agreeing': {
      // damaged where hnswlib would crash, and the sidecar rewritten to match: only the structure check stands between
      const hnsw = flipBits(good, structuralByte, flips);
      return { hnsw, sidecar: agreeing(hnsw) };
    }
    case 'huge-vector': {
      // one stored vector scaled far off the unit sphere, sidecar agreeing: a sound-looking file that searches to garbage
      const hnsw = Buffer.from(good);
      const rec = HEADER_BYTES + (trial % records) * recordBytes;
      for (let i = 0; i < dim; i++) {
        const at = rec + 4 + 4 * M0 + 4 * i;
        hnsw.writeFloatLE(hnsw.readFloatLE(at) * 1e20, at);
      }
      return { hnsw, sidecar: agreeing(hnsw) };
    }
  }
}
