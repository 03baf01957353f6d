/**
 * What counts as a photo: every supported extension in any case, in nested folders, but not
 * hidden or system folders, hidden files or other file types; a symlinked photo only when it
 * leads to a file inside the library folder.
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { indexFolder } from '../native/indexing/indexer.ts';
import { defaultDbPath } from '../native/store/library-path.ts';
import { scanFolder } from '../native/pipeline/scan.ts';
import { Store } from '../native/store/index.ts';
import { copyFaces, runCli, tempDir } from './helpers.ts';

describe('scanning a folder', () => {
  it('lists photos recursively and skips hidden, system and non-photo files', async () => {
    const root = tempDir();
    const files = [
      'a.jpg', 'b.JPEG', 'c.png', 'd.webp', 'e.tif', 'f.TIFF', 'g.gif', 'h.avif', 'i.HEIC', 'j.heif',
      'Trip/2024/k.jpg', 'Trip/2024/Deep/l.jpg',
      '.hidden/m.jpg', '.n.jpg', '@eaDir/o.jpg', '$RECYCLE.BIN/p.jpg', 'notes.txt', 'movie.mp4', 'q.jpg.xmp',
    ];
    for (const f of files) {
      mkdirSync(join(root, f, '..'), { recursive: true });
      writeFileSync(join(root, f), 'x');
    }
    const { files: found, problems } = await scanFolder(root);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      found.map((f) => relative(root, f.path)),
      ['Trip/2024/Deep/l.jpg', 'Trip/2024/k.jpg', 'a.jpg', 'b.JPEG', 'c.png', 'd.webp', 'e.tif', 'f.TIFF', 'g.gif', 'h.avif', 'i.HEIC', 'j.heif'],
    );
    assert.ok(found.every((f) => f.size === 1 && f.mtimeMs > 0));
  });

  it('reports a folder it cannot open instead of failing', async () => {
    const { files, problems } = await scanFolder(join(tempDir(), 'not-there'));
    assert.equal(files.length, 0);
    assert.match(problems[0]!.error, /cannot open this folder: not found/);
    assert.equal(problems[0]!.folder, true);
  });

  it("skips the library's own files beside a database kept inside the folder", async () => {
    const root = tempDir();
    const files = ['a.jpg', 'Kith/library.db', 'Kith/library.db-wal', 'Kith/library.db.hnsw', 'Kith/library.db.thumbs/1.jpg', 'Kith/mine.jpg'];
    for (const f of files) {
      mkdirSync(join(root, f, '..'), { recursive: true });
      writeFileSync(join(root, f), 'x');
    }
    const { files: found } = await scanFolder(root, { library: join(root, 'Kith', 'library.db') });
    assert.deepEqual(found.map((f) => relative(root, f.path)), ['Kith/mine.jpg', 'a.jpg']);
  });

  it('reports a file name that is not UTF-8 and a symlink loop, and carries on', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'good.jpg'), 'x');
    writeFileSync(Buffer.from(`${root}/caf\xe9.jpg`, 'latin1'), 'x');
    writeFileSync(Buffer.from(`${root}/notes\xe9.txt`, 'latin1'), 'x');
    symlinkSync('loop.jpg', join(root, 'loop.jpg'));
    const { files, problems } = await scanFolder(root);
    assert.deepEqual(files.map((f) => relative(root, f.path)), ['good.jpg']);
    assert.deepEqual(problems.map((p) => relative(root, p.path)).sort(), ['caf\ufffd.jpg', 'loop.jpg']);
  });

  it('indexes a symlinked photo only when it leads inside the library: one outside is an error in `kith errors`', async () => {
    const dir = tempDir();
    const library = join(dir, 'Photos');
    const [leonard] = copyFaces(library, ['portraits/faceapi-bbt/leonard/leonard1.png']);
    const [penny] = copyFaces(join(dir, 'elsewhere'), ['portraits/faceapi-bbt/penny/penny1.png']);
    const inside = join(library, 'leonard-again.png');
    const outside = join(library, 'penny-link.png');
    symlinkSync(relative(library, leonard!), inside);
    symlinkSync(penny!, outside);

    const dbPath = join(dir, 'library.db');
    const store = new Store(dbPath);
    try {
      const s = await indexFolder(store, library, { device: 'cpu', embedder: 'sirius' });
      assert.equal(s.faces, 1, "Leonard's face, once; nothing from the photo outside");
      assert.equal(s.copies, 1);
      // The file and the link inside are two places of one photo: one holds it, the other points at it.
      const [a, b] = [store.photos.get(leonard!)!, store.photos.get(inside)!];
      assert.deepEqual([a.status, b.status], ['done', 'done']);
      const holder = a.duplicateOf === null ? a : b;
      const copy = holder === a ? b : a;
      assert.deepEqual([holder.duplicateOf, copy.duplicateOf], [null, holder.id]);
      assert.deepEqual(store.photos.errors().map((r) => [r.path, r.error]), [[outside, 'links to a file outside the library folder: move or copy the photo into it']]);
      assert.equal(store.photos.get(penny!), undefined);
    } finally {
      store.close();
    }
    const r = await runCli(['errors', '--db', dbPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`${outside}\n  links to a file outside the library folder`), r.stdout);
  });
});

describe('where the library lives by default', () => {
  it('ignores an empty or relative XDG_DATA_HOME or APPDATA', () => {
    const linux = join(homedir(), '.local', 'share', 'Kith', 'library.db');
    assert.equal(defaultDbPath({ XDG_DATA_HOME: '' }, 'linux'), linux);
    assert.equal(defaultDbPath({ XDG_DATA_HOME: 'data' }, 'linux'), linux);
    assert.equal(defaultDbPath({ XDG_DATA_HOME: '/data' }, 'linux'), join('/data', 'Kith', 'library.db'));
    assert.equal(defaultDbPath({ APPDATA: '' }, 'win32'), join(homedir(), 'AppData', 'Roaming', 'Kith', 'library.db'));
  });
});
