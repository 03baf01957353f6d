/**
 * A library holds everyone's faces and names, so other users of the computer must not read
 * it: the database and its -wal/-shm, the HNSW file and its sidecar, and every face thumbnail
 * are 0600, their folders 0700 — for a new library, and for one an older Kith left 0644/0755,
 * once it is opened and indexed again. Real photos, a real SQLite file, a real HNSW index.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { indexPathFor } from '../native/search/ann.ts';
import { indexFolder } from '../native/indexing/indexer.ts';
import { Store } from '../native/store/index.ts';
import { thumbsDirFor } from '../native/pipeline/thumbs.ts';
import { copyFaces, facesIn, runCli, tempDir } from './helpers.ts';

const posixOnly = { skip: process.platform === 'win32' ? 'Windows has no Unix modes (per-user ACLs on %APPDATA%)' : false };
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** Every file of the library at `dbPath` with its mode, e.g. { 'library.db': '600', … }. */
function libraryModes(dbPath: string): Record<string, string> {
  const thumbs = thumbsDirFor(dbPath);
  const out: Record<string, string> = {};
  for (const path of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, indexPathFor(dbPath), `${indexPathFor(dbPath)}.json`, thumbs]) {
    if (existsSync(path)) out[path] = mode(path);
  }
  for (const name of readdirSync(thumbs)) out[join(thumbs, name)] = mode(join(thumbs, name));
  return out;
}

function assertPrivate(dbPath: string, thumbCount: number): void {
  const modes = libraryModes(dbPath);
  for (const must of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, indexPathFor(dbPath), `${indexPathFor(dbPath)}.json`]) assert.ok(must in modes, `${must} exists`);
  assert.equal(readdirSync(thumbsDirFor(dbPath)).length, thumbCount);
  for (const [path, m] of Object.entries(modes)) assert.equal(m, path === thumbsDirFor(dbPath) ? '700' : '600', path);
}

const bbt = (who: string[]) => facesIn('portraits/faceapi-bbt', (p) => who.some((n) => p.includes(`/${n}/`)));

describe('library files are private to the user', posixOnly, () => {
  it('a new library: database, -wal, -shm, HNSW file, sidecar and thumbnails are 0600, the thumbnail folder 0700', async () => {
    const dir = tempDir();
    const photos = join(dir, 'Photos');
    copyFaces(photos, bbt(['leonard']));
    const dbPath = join(dir, 'library.db');
    const store = new Store(dbPath);
    try {
      const s = await indexFolder(store, photos, { device: 'cpu', embedder: 'sirius' });
      assert.equal(s.faces, 5);
      assertPrivate(dbPath, 5);
    } finally {
      store.close();
    }
  });

  it('a library an older Kith left 0644/0755 is made private when opened and indexed again', async () => {
    const dir = tempDir();
    const photos = join(dir, 'Photos');
    copyFaces(photos, bbt(['leonard']));
    const dbPath = join(dir, 'library.db');
    const older = new Store(dbPath);
    await indexFolder(older, photos, { device: 'cpu', embedder: 'sirius' });
    // What an older Kith left behind; its connection stays open so -wal and -shm exist too.
    for (const path of Object.keys(libraryModes(dbPath))) chmodSync(path, path === thumbsDirFor(dbPath) ? 0o755 : 0o644);
    assert.equal(mode(`${dbPath}-wal`), '644');
    const store = new Store(dbPath);
    older.close();
    try {
      copyFaces(photos, bbt(['penny']));
      const s = await indexFolder(store, photos, { device: 'cpu', embedder: 'sirius' });
      assert.equal(s.indexed, 5);
      assertPrivate(dbPath, 10);
    } finally {
      store.close();
    }
  });

  it("Kith's own library folder is created 0700, and one an older Kith made 0755 is fixed; a folder the user chose is left alone", async () => {
    const dir = tempDir();
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_DATA_HOME: join(dir, 'xdg') };
    delete env.KITH_DB;
    const kithDir = join(dir, 'xdg', 'Kith');
    let r = await runCli(['stats'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(mode(kithDir), '700');
    assert.equal(mode(join(kithDir, 'library.db')), '600');
    chmodSync(kithDir, 0o755);
    chmodSync(join(kithDir, 'library.db'), 0o644);
    r = await runCli(['stats'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(mode(kithDir), '700');
    assert.equal(mode(join(kithDir, 'library.db')), '600');

    const chosen = join(dir, 'shared-folder');
    mkdirSync(chosen, { mode: 0o755 });
    chmodSync(chosen, 0o755);
    r = await runCli(['stats', '--db', join(chosen, 'new', 'library.db')], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(mode(chosen), '755');
    assert.equal(mode(join(chosen, 'new')), '700');
    assert.equal(mode(join(chosen, 'new', 'library.db')), '600');
  });
});
