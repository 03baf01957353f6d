/**
 * The library stays live: while an engine watches it, photos copied, moved or deleted in its
 * folders are indexed in coalesced batches; what changed while it was closed is found from the
 * watcher's snapshot; a network share is looked at on a timer instead; folders are added and
 * removed (CLI and API) without losing anyone's name. Real portraits, real models, real SQLite.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { KithEngine, type KithClient } from '../native/api/api.ts';
import { mountTypeOf } from '../native/library/folder-kind.ts';
import { Store } from '../native/store/index.ts';
import { BBT, runCli, tempDir, waitFor } from './helpers.ts';

const FAST = { device: 'cpu', embedder: 'fr-feature' } as const;
/** Short waits so the tests run quickly; the coalescing itself is what is under test. */
const TUNING = { quietMs: 600, maxWaitMs: 5000, pollMs: 100 };
const portrait = (who: string, n: number) => join(BBT, who, `${who}${n}.png`);

/** A photo of `who` with new content (mirrored): a new photo of a known face, not a copy. */
async function newPhotoOf(who: string, n: number, to: string): Promise<string> {
  mkdirSync(join(to, '..'), { recursive: true });
  await sharp(portrait(who, n)).flop().jpeg({ quality: 92 }).toFile(to);
  return to;
}

interface Lib {
  dir: string;
  db: string;
  a: string;
  b: string;
  engine: KithEngine;
  api: KithClient;
}

/** A library with folder `a` (leonard 1-2, penny 1-2) indexed, and an empty folder `b`. */
async function library(): Promise<Lib> {
  const dir = tempDir('kith-live-');
  const a = join(dir, 'A');
  const b = join(dir, 'B');
  mkdirSync(a);
  mkdirSync(b);
  for (const [who, n] of [['leonard', 1], ['leonard', 2], ['penny', 1], ['penny', 2]] as const) cpSync(portrait(who, n), join(a, `${who}${n}.png`));
  const db = join(dir, 'library.db');
  const engine = KithEngine.open(db, FAST);
  const api = engine.client();
  await api.indexNow(a);
  return { dir, db, a, b, engine, api };
}

const runCount = (lib: Lib) => (lib.engine as unknown as { store: Store }).store.db.prepare(`SELECT count(*) AS n FROM runs`).get() as { n: number };
const photos = async (api: KithClient) => (await api.status()).photos;

describe('a watched library indexes what changes in its folders', () => {
  let lib: Lib;
  before(async () => {
    lib = await library();
  });
  after(() => lib.engine.close());

  it('indexes a burst of new photos in one run, and each later change in its own', async () => {
    const before = runCount(lib).n;
    await lib.engine.watchLibrary(TUNING);
    // Indexed just now: the run's record of the folder is where watching starts (no run).
    await waitFor('the first snapshot', () => existsSync(`${lib.db}.watch`) && readdirSync(`${lib.db}.watch`).length === 1);
    assert.equal(runCount(lib).n, before);
    assert.equal(statSync(`${lib.db}.watch`).mode & 0o777, 0o700, 'the snapshot folder is private');
    const snapshot = join(`${lib.db}.watch`, readdirSync(`${lib.db}.watch`)[0]!);
    assert.equal(statSync(snapshot).mode & 0o777, 0o600, 'the snapshot is private');

    const burst = ['amy', 'bernadette', 'howard', 'raj', 'sheldon', 'stuart'];
    for (const who of burst) cpSync(portrait(who, 1), join(lib.a, 'import', `${who}1.png`), { recursive: true });
    await waitFor('the burst indexed', async () => (await photos(lib.api)) === 4 + burst.length, { timeout: 60_000 });
    await lib.engine.idle();
    assert.equal(runCount(lib).n, before + 1, 'six photos copied at once were one indexing run');

    cpSync(portrait('amy', 2), join(lib.a, 'amy2.png'));
    await waitFor('the next photo indexed', async () => (await photos(lib.api)) === 11, { timeout: 60_000 });
    await lib.engine.idle();
    assert.equal(runCount(lib).n, before + 2);
    const faces = await lib.api.exportFaces();
    assert.ok(faces.some((f) => f.photo === join(lib.a, 'import', 'raj1.png')), 'the new photo has its face');
  });

  it('keeps the faces and the name of a photo moved to another library folder, and journals nothing', async () => {
    await lib.api.addFolder(lib.b);
    const leonard = (await lib.api.exportFaces()).find((f) => f.photo === join(lib.a, 'leonard1.png'))!;
    await lib.api.moveFaces([leonard.faceId], null, 'Leonard');
    renameSync(join(lib.a, 'leonard1.png'), join(lib.b, 'leonard1.png'));
    const moved = await waitFor('the move seen', async () => (await lib.api.exportFaces()).find((f) => f.photo === join(lib.b, 'leonard1.png')), { timeout: 60_000 });
    assert.equal(moved.faceId, leonard.faceId, 'same face');
    assert.equal(moved.personName, 'Leonard');
    assert.equal(await photos(lib.api), 11);
    const folders = await lib.api.folders();
    assert.deepEqual(folders.map((f) => [f.path, f.watch]), [[lib.a, 'events'], [lib.b, 'events']]);
    assert.deepEqual(folders.map((f) => f.photos), [10, 1]);
  });

  it('drops a deleted photo', async () => {
    rmSync(join(lib.a, 'amy2.png'));
    await waitFor('the deletion seen', async () => (await photos(lib.api)) === 10, { timeout: 60_000 });
  });
});

describe('what changed while Kith was closed', () => {
  it('is found from the snapshot and indexed when the library is watched again', async () => {
    const lib = await library();
    await lib.engine.watchLibrary(TUNING);
    await waitFor('the snapshot', () => existsSync(`${lib.db}.watch`) && readdirSync(`${lib.db}.watch`).length === 1);
    await lib.engine.close();

    await newPhotoOf('penny', 3, join(lib.a, 'later', 'penny3.jpg'));
    rmSync(join(lib.a, 'leonard2.png'));

    const engine = KithEngine.open(lib.db, FAST);
    try {
      const api = engine.client();
      assert.equal(await photos(api), 4, 'nothing known yet');
      await engine.watchLibrary(TUNING);
      const paths = await waitFor('the changes indexed', async () => {
        const p = new Set((await api.exportFaces()).map((f) => f.photo));
        return p.has(join(lib.a, 'later', 'penny3.jpg')) && !p.has(join(lib.a, 'leonard2.png')) && p;
      }, { timeout: 60_000 });
      assert.equal(paths.size, 4);
    } finally {
      await engine.close();
    }
  });
});

describe('a library indexed from the terminal and opened later', () => {
  it('catches up on what changed in between, though it was never watched', async () => {
    const lib = await library(); // `kith index`: a whole run records the folder as it read it
    await lib.engine.close();
    assert.deepEqual(readdirSync(`${lib.db}.watch`).length, 1, 'the run kept a record of the folder');

    await newPhotoOf('howard', 2, join(lib.a, 'howard2.jpg'));
    rmSync(join(lib.a, 'penny2.png'));

    const engine = KithEngine.open(lib.db, FAST);
    try {
      const api = engine.client();
      await engine.watchLibrary(TUNING);
      const paths = await waitFor('the changes indexed', async () => {
        const p = new Set((await api.exportFaces()).map((f) => f.photo));
        return p.has(join(lib.a, 'howard2.jpg')) && !p.has(join(lib.a, 'penny2.png')) && p;
      }, { timeout: 60_000 });
      assert.equal(paths.size, 4);
    } finally {
      await engine.close();
    }
  });
});

describe('a folder on a network share', () => {
  it('is looked at on a timer (no events come from a share), and the folder list says so', async () => {
    const lib = await library();
    rmSync(`${lib.db}.watch`, { recursive: true }); // the run's own record (it took the folder for a local one)
    try {
      await lib.engine.watchLibrary({ ...TUNING, rescanMs: 300, kindOf: async () => 'network' });
      const [folder] = await lib.api.folders();
      assert.equal(folder!.watch, 'rescan');
      assert.equal(folder!.rescanMinutes, 300 / 60_000);
      await newPhotoOf('raj', 2, join(lib.a, 'raj2.jpg'));
      await waitFor('the rescan to find the new photo', async () => (await photos(lib.api)) === 5, { timeout: 60_000 });
      assert.equal(existsSync(`${lib.db}.watch`), false, 'no snapshot of a share: it is rescanned on start');
    } finally {
      await lib.engine.close();
    }
  });

  it('is told apart from a local folder by its mount type', () => {
    const mountinfo = [
      '22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
      '40 22 0:40 / /mnt/nas rw,relatime - nfs4 nas:/photos rw',
      '41 22 0:41 / /home/u/My\\040Share rw - cifs //srv/share rw',
      '42 22 0:42 / /home/u/remote rw - fuse.sshfs u@host: rw',
    ].join('\n');
    assert.equal(mountTypeOf('/home/u/Photos', mountinfo), 'ext4');
    assert.equal(mountTypeOf('/mnt/nas/2020/a.jpg', mountinfo), 'nfs4');
    assert.equal(mountTypeOf('/mnt/nasty', mountinfo), 'ext4');
    assert.equal(mountTypeOf('/home/u/My Share/x', mountinfo), 'cifs');
    assert.equal(mountTypeOf('/home/u/remote', mountinfo), 'fuse.sshfs');
  });
});

describe('folders from the command line', () => {
  it('adds, lists and removes folders; people with faces elsewhere keep their names; the removed decisions are journaled', async () => {
    const dir = tempDir('kith-folders-');
    const a = join(dir, 'A');
    const b = join(dir, 'B');
    const db = join(dir, 'library.db');
    cpSync(portrait('leonard', 1), join(a, 'leonard1.png'), { recursive: true });
    cpSync(portrait('leonard', 2), join(b, 'leonard2.png'), { recursive: true });
    cpSync(portrait('penny', 1), join(b, 'penny1.png'), { recursive: true });
    const cli = (...args: string[]) => runCli([...args, '--db', db, '--device', 'cpu', '--embedder', 'fr-feature']);
    let r = await cli('index', a);
    assert.equal(r.code, 0, r.stderr);
    r = await cli('add', b);
    assert.equal(r.code, 0, r.stderr);
    r = await cli('folders');
    assert.equal(r.stdout, `${a}  (1 photos)\n${b}  (2 photos)\n`);
    r = await cli('add', join(b, 'sub'));
    assert.notEqual(r.code, 0);

    const engine = KithEngine.open(db, FAST);
    try {
      const api = engine.client();
      const faces = await api.exportFaces();
      const face = (file: string) => faces.find((f) => f.photo.endsWith(file))!.faceId;
      await api.moveFaces([face('leonard1.png'), face('leonard2.png')], null, 'Leonard');
      await api.moveFaces([face('penny1.png')], null, 'Penny');
    } finally {
      await engine.close();
    }

    r = await cli('remove', b);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 photos, 2 faces/);
    r = await cli('folders');
    assert.equal(r.stdout, `${a}  (1 photos)\n`);
    const store = new Store(db);
    try {
      const left = [...store.views.allFaces()];
      assert.deepEqual(left.map((f) => [f.path, f.personName]), [[join(a, 'leonard1.png'), 'Leonard']]);
      assert.match(journalLabel(store), /Removed 2 faces of 2 photos of the removed folder/);
    } finally {
      store.close();
    }
    // The photos are still on disk: removing a folder never touches the user's files.
    assert.ok(existsSync(join(b, 'penny1.png')));
  });
});

/** The newest undo journal entry's label. */
function journalLabel(store: Store): string {
  return (store.db.prepare(`SELECT label FROM operations ORDER BY id DESC LIMIT 1`).get() as { label: string } | undefined)?.label ?? '';
}
