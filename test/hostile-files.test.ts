/**
 * Hostile and huge files never stall or bloat Kith: files that are not photos (an SVG named
 * .jpg, which libvips would spend minutes rendering) are refused by their bytes before any
 * decoder runs; files over the size limit are refused from stat, never read whole (peak memory
 * stays flat); a HEIC whose header claims a giant image is refused before it is decoded.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { before, describe, it } from 'node:test';
import { decodePhoto, decodePhotoFile, MAX_FILE_BYTES } from '../native/pipeline/decode.ts';
import { indexFolder, type IndexSummary } from '../native/indexing/indexer.ts';
import { Store } from '../native/store/index.ts';
import { BBT, FACES, tempDir } from './helpers.ts';

const GiB = 1024 ** 3;

/** A small SVG; libvips would render it like a photo (a hostile one takes minutes of CPU). */
const SVG = Buffer.from(
  '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400">' +
    '<filter id="f"><feTurbulence baseFrequency="0.02" numOctaves="8"/><feGaussianBlur stdDeviation="40"/></filter>' +
    '<rect width="400" height="400" filter="url(#f)"/></svg>\n',
);

/** A real JPEG's bytes, then a sparse tail up to `size` bytes: huge on paper, nothing on disk. */
function sparseJpeg(path: string, head: Buffer, size: number): void {
  const fd = openSync(path, 'w');
  writeSync(fd, head);
  closeSync(fd);
  truncateSync(path, size);
}

/** A real HEVC HEIC whose `ispe` boxes (the image size in the container) claim `side`². */
function heicClaiming(side: number): Buffer {
  const bytes = Buffer.from(readFileSync(join(FACES, 'extras', 'heic', 'bbt3.heic')));
  let found = 0;
  for (let at = bytes.indexOf('ispe'); at >= 0; at = bytes.indexOf('ispe', at + 1), found++) {
    bytes.writeUInt32BE(side, at + 8);
    bytes.writeUInt32BE(side, at + 12);
  }
  assert.ok(found > 0, 'the sample HEIC has ispe boxes');
  return bytes;
}

/** Peak resident set of this process so far, in MiB. */
function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

describe('hostile and huge files', () => {
  let dir: string;
  let library: string;
  let store: Store;
  let summary: IndexSummary;
  let peakGrowthMiB: number;
  const faceJpeg = readFileSync(join(FACES, 'groups', 'faceapi', 'bbt1.jpg'));

  before(async () => {
    dir = tempDir();
    library = join(dir, 'Photos');
    mkdirSync(library, { recursive: true });
    writeFileSync(join(library, 'howard.png'), readFileSync(join(BBT, 'howard', 'howard1.png')));
    store = new Store(join(dir, 'library.db'));
    // A first run loads the models, so the second measures only what the hostile files cost.
    await indexFolder(store, library, { device: 'cpu', embedder: 'fr-feature' });
    writeFileSync(join(library, 'drawing.jpg'), SVG);
    writeFileSync(join(library, 'drawing-compressed.png'), gzipSync(SVG));
    writeFileSync(join(library, 'giant.heic'), heicClaiming(20000));
    for (const n of [1, 2, 3]) sparseJpeg(join(library, `huge-${n}.jpg`), faceJpeg, Math.round(1.9 * GiB) + n);
    const before = peakRssMiB();
    summary = await indexFolder(store, library, { device: 'cpu', embedder: 'fr-feature' });
    peakGrowthMiB = peakRssMiB() - before;
  });

  it('refuses an SVG named .jpg as not a photo, from file or uploaded bytes', async () => {
    const path = join(library, 'drawing.jpg');
    const notPhoto = /^not a photo: SVG images are not supported/;
    await assert.rejects(decodePhotoFile(path), { message: notPhoto });
    await assert.rejects(decodePhoto(SVG), { message: notPhoto });
    assert.match(store.photos.get(path)?.error ?? '', notPhoto);
    assert.match(store.photos.get(join(library, 'drawing-compressed.png'))?.error ?? '', /^not a photo: compressed \(gzip\) files are not supported/);
  });

  it('refuses files over the size limit from stat, with a clear error, without reading them', async () => {
    // Three 1.9 GB files once took 6 GB; the bound is generous, far below one file's size.
    assert.ok(peakGrowthMiB < 400, `peak RSS grew by ${Math.round(peakGrowthMiB)} MiB`);
    for (const n of [1, 2, 3]) {
      const row = store.photos.get(join(library, `huge-${n}.jpg`));
      assert.equal(row?.status, 'error');
      assert.equal(row.error, 'file too large: 1.9 GB is over the 1.0 GB limit for a photo');
    }
    const big = join(dir, 'big.jpg');
    sparseJpeg(big, faceJpeg, 3 * GiB);
    await assert.rejects(decodePhotoFile(big), { message: /^file too large: 3\.0 GB is over the 1\.0 GB limit/ });
    assert.ok(MAX_FILE_BYTES < 3 * GiB);
  });

  it('refuses a HEIC whose header claims a giant image before decoding it', async () => {
    const error = store.photos.get(join(library, 'giant.heic'))?.error;
    assert.equal(error, 'image too large: 20000×20000 exceeds 150 megapixels');
  });

  it('still decodes real HEVC HEIC photos, and indexes the good photo beside the hostile ones', async () => {
    const heic = await decodePhotoFile(join(FACES, 'extras', 'heic', 'two_people.heic'));
    const jpeg = await decodePhotoFile(join(FACES, 'groups', 'face_recognition', 'two_people.jpg'));
    assert.equal(heic.format, 'heic');
    assert.deepEqual([heic.originalWidth, heic.originalHeight], [jpeg.originalWidth, jpeg.originalHeight]);
    assert.equal(store.photos.get(join(library, 'howard.png'))?.status, 'done');
    assert.equal(summary.errors, 6);
    assert.equal(store.integrityCheck(), 'ok');
  });
});
