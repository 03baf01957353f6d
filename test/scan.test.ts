/**
 * What counts as a photo: every supported extension in any case, in nested folders, but not
 * hidden or system folders, hidden files or other file types.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { scanFolder } from '../native/scan.ts';
import { tempDir } from './helpers.ts';

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
    assert.match(problems[0]!.error, /ENOENT/);
  });
});
