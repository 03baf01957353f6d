/**
 * Bad input never stops a run: a generated corpus of broken, disguised and hostile files is
 * indexed beside good photos in every format Kith reads. Each bad file gets a clear error that
 * `kith errors` shows; every good photo is indexed; the database stays sound.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { indexFolder, type IndexSummary } from '../native/indexing/indexer.ts';
import { Store } from '../native/store/index.ts';
import { BBT, runCli, tempDir } from './helpers.ts';

/** A real PNG whose header claims `width`×`height` (CRC fixed up so only the size is a lie). */
function pngClaiming(real: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(real);
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

describe('bad input', () => {
  let dir: string;
  let library: string;
  let store: Store;
  let summary: IndexSummary;
  const face = readFileSync(join(BBT, 'howard', 'howard1.png'));
  const faceJpeg = readFileSync(join(BBT, '..', '..', 'groups', 'faceapi', 'bbt1.jpg'));
  const good: Record<string, () => Promise<Buffer>> = {
    'good.png': async () => face,
    'disguised-webp.jpg': () => sharp(face).webp().toBuffer(),
    'photo.avif': () => sharp(face).avif().toBuffer(),
    'photo.tiff': () => sharp(face).tiff().toBuffer(),
    'photo.gif': () => sharp(face).gif().toBuffer(),
    'cmyk.jpg': () => sharp(face).toColourspace('cmyk').jpeg().toBuffer(),
    'sixteen-bit.png': () => sharp(face).toColourspace('rgb16').png().toBuffer(),
    'alpha.webp': () => sharp(face).ensureAlpha(0.5).webp({ lossless: true }).toBuffer(),
  };
  const bad: Record<string, { bytes: () => Buffer; error: RegExp }> = {
    'empty.jpg': { bytes: () => Buffer.alloc(0), error: /empty file/ },
    'truncated.jpg': { bytes: () => faceJpeg.subarray(0, Math.floor(faceJpeg.length * 0.4)), error: /cannot decode jpeg|not a readable image/ },
    'noise.png': { bytes: () => Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)), error: /not a readable image/ },
    'notes.jpg': { bytes: () => Buffer.from('these are my holiday notes, not a photo\n'), error: /not a readable image/ },
    'bomb.png': { bytes: () => pngClaiming(face, 60000, 60000), error: /image too large: 60000×60000/ },
  };

  before(async () => {
    dir = tempDir();
    library = join(dir, 'Photos');
    mkdirSync(join(library, 'formats'), { recursive: true });
    mkdirSync(join(library, 'broken'), { recursive: true });
    for (const [name, make] of Object.entries(good)) writeFileSync(join(library, 'formats', name), await make());
    for (const [name, spec] of Object.entries(bad)) writeFileSync(join(library, 'broken', name), spec.bytes());
    // Sorted last, so it is still unread when the first photo finishes; then it vanishes. Its own
    // photo (not a copy of another file here, which the indexer would record as a copy unread).
    writeFileSync(join(library, 'zz-vanishes.png'), readFileSync(join(BBT, 'penny', 'penny2.png')));
    store = new Store(join(dir, 'library.db'));
    summary = await indexFolder(store, library, {
      device: 'cpu',
      embedder: 'fr-feature',
      onProgress: (p) => {
        if (p.phase === 'indexing' && p.done === 1) rmSync(join(library, 'zz-vanishes.png'));
      },
    });
  });

  it('indexes every good photo, whatever its format or disguise', () => {
    for (const name of Object.keys(good)) {
      const row = store.photos.get(join(library, 'formats', name));
      assert.equal(row?.status, 'done', `${name}: ${row?.error}`);
      assert.equal(store.faces.forPhoto(row.id).length, 1, `${name} has Howard's face`);
    }
    assert.equal(store.photos.get(join(library, 'formats', 'disguised-webp.jpg'))!.format, 'webp');
  });

  it('records a clear error for each bad file and carries on', () => {
    assert.equal(summary.errors, Object.keys(bad).length + 1);
    for (const [name, spec] of Object.entries(bad)) {
      const row = store.photos.get(join(library, 'broken', name));
      assert.equal(row?.status, 'error', name);
      assert.match(row.error!, spec.error, `${name}: ${row.error}`);
    }
    assert.match(store.photos.get(join(library, 'zz-vanishes.png'))!.error!, /vanished/);
    assert.equal(store.integrityCheck(), 'ok');
  });

  it('does not retry an unchanged bad file, and forgets a vanished one', async () => {
    const again = await indexFolder(store, library, { device: 'cpu', embedder: 'fr-feature' });
    assert.equal(again.indexed, 0);
    assert.equal(again.removed, 1);
    assert.equal(store.photos.get(join(library, 'zz-vanishes.png')), undefined);
  });

  it('lists the errors with `kith errors`, and indexes past an unreadable file', async () => {
    const unreadable = join(library, 'broken', 'locked.jpg');
    writeFileSync(unreadable, faceJpeg);
    chmodSync(unreadable, 0o000);
    store.close();
    // root reads anything, so under root the CLI runs as `nobody` to meet a real permission error.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    if ('uid' in asNobody) {
      // Then the library is nobody's, as a user's own library is theirs (Kith keeps its files private).
      for (const f of ['library.db-wal', 'library.db-shm']) rmSync(join(dir, f), { force: true });
      execFileSync('chown', ['-R', '65534:65534', dir]);
    }
    const db = join(dir, 'library.db');
    const index = await runCli(['index', library, '--db', db, '--device', 'cpu', '--embedder', 'fr-feature'], asNobody);
    assert.equal(index.code, 0, index.stderr);
    const errors = await runCli(['errors', '--db', db], asNobody);
    assert.equal(errors.code, 0, errors.stderr);
    assert.match(errors.stdout, /locked\.jpg\n\s+permission denied/);
    for (const [name, spec] of Object.entries(bad)) {
      assert.match(errors.stdout, new RegExp(`${name.replace('.', '\\.')}\\n\\s+${spec.error.source}`), name);
    }
    const stats = await runCli(['stats', '--db', db, '--json'], asNobody);
    const parsed = JSON.parse(stats.stdout) as { photos: number; errors: number; faces: number };
    assert.deepEqual(parsed.errors, Object.keys(bad).length + 1);
    assert.equal(parsed.faces, Object.keys(good).length);
  });
});
