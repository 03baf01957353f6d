/**
 * Nothing the user decided is lost when files change under Kith. A real group photo is named,
 * then touched, re-encoded, brightened, rotated (EXIF and pixels), cropped, moved and finally
 * replaced by another photo, with `kith index` after each change: the names, confirmations
 * and rejections on every face still in the photo hold throughout, and the faces that really
 * went leave an entry in the undo journal. Real JPEGs, real models, a real SQLite file.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { KithEngine } from '../native/api/api.ts';
import { PeopleService } from '../native/people/service.ts';
import { FaceIndex } from '../native/search/ann.ts';
import { indexFolder, type IndexOptions, type IndexSummary } from '../native/indexing/indexer.ts';
import { Store } from '../native/store/index.ts';
import { faceThumbPath, thumbsDirFor } from '../native/pipeline/thumbs.ts';
import { FACES, tempDir } from './helpers.ts';

const GROUP = join(FACES, 'groups', 'faceapi');
const fast: IndexOptions = { device: 'cpu', embedder: 'fr-feature' };

/** Every user fact about `faceIds`: hand-made assignments and confirm/reject decisions. */
function userFacts(store: Store, faceIds: readonly number[]): string[] {
  const ids = new Set(faceIds);
  return [
    ...store.people.assignments().filter((a) => ids.has(a.faceId) && a.source === 'user').map((a) => `${a.faceId} is ${a.personId}`),
    ...store.people.decisions().filter((d) => ids.has(d.faceId)).map((d) => `${d.faceId} ${d.kind} ${d.personId}`),
  ].sort();
}

describe('changing a named photo keeps every decision on the faces still in it', () => {
  let dir: string;
  let library: string;
  let store: Store;
  let engine: KithEngine;
  let photo: string;
  let decided: number[];
  let facts: string[];

  const index = (o: Partial<IndexOptions> = {}) => indexFolder(store, library, { ...fast, ...o });
  const facesOf = (path: string) => store.faces.forPhoto(store.photos.get(path)!.id).map((f) => f.id);
  /** Replace the photo's bytes with `bytes`, with a later mtime (as an editor saving would). */
  const save = (bytes: Buffer) => {
    const old = statSync(photo).mtimeMs;
    writeFileSync(photo, bytes);
    utimesSync(photo, new Date(), new Date(old + 60_000));
  };
  const stillHolds = (s: IndexSummary, expect: Partial<IndexSummary>) => {
    for (const [k, v] of Object.entries(expect)) assert.equal(s[k as keyof IndexSummary], v, k);
    const ids = facesOf(photo);
    for (const id of decided) assert.ok(ids.includes(id), `decided face ${id} is still in the photo (faces now ${ids})`);
    assert.deepEqual(userFacts(store, decided), facts);
    assert.equal(store.faces.total(), ids.length + 1, 'no face stored twice');
    assert.equal(store.integrityCheck(), 'ok');
  };

  before(async () => {
    dir = tempDir();
    library = join(dir, 'Photos');
    mkdirSync(library, { recursive: true });
    photo = join(library, 'party.jpg');
    cpSync(join(GROUP, 'bbt4.jpg'), photo);
    cpSync(join(FACES, 'portraits', 'faceapi-bbt', 'raj', 'raj1.png'), join(library, 'raj.png'));
    store = new Store(join(dir, 'library.db'));
    engine = new KithEngine(store, fast);
    await index();
    const faces = facesOf(photo);
    assert.equal(faces.length, 6);
    // Name two faces, confirm a third into one of them, and reject a fourth from it.
    const amy = new PeopleService(store).moveFaces([faces[0]!], { newPersonName: 'Amy' }).personId!;
    new PeopleService(store).moveFaces([faces[1]!], { newPersonName: 'Raj' });
    new PeopleService(store).confirmFaces([faces[2]!], amy);
    new PeopleService(store).rejectFaces([faces[3]!], amy);
    decided = faces.slice(0, 4);
    facts = userFacts(store, decided);
    assert.equal(facts.length, 7);
  });

  it('touch: same content, new mtime: nothing is read again', async () => {
    utimesSync(photo, new Date(), new Date(Date.now() + 120_000));
    const s = await index();
    stillHolds(s, { indexed: 0, touched: 1 });
    assert.equal(s.stages.detect, 0);
    // The touch was recorded: the next run finds the file unchanged without reading it.
    assert.equal((await index()).touched, 0);
  });

  it('re-encoded at quality 40', async () => {
    save(await sharp(readFileSync(photo)).jpeg({ quality: 40 }).toBuffer());
    stillHolds(await index(), { indexed: 1 });
  });

  it('brightened by 25%', async () => {
    save(await sharp(readFileSync(photo)).modulate({ brightness: 1.25 }).jpeg({ quality: 90 }).toBuffer());
    stillHolds(await index(), { indexed: 1 });
  });

  it('rotated by its EXIF orientation (the pixels unchanged)', async () => {
    save(await sharp(readFileSync(photo)).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer());
    const s = await index();
    stillHolds(s, { indexed: 1 });
    assert.deepEqual([store.photos.get(photo)!.width, store.photos.get(photo)!.height], [473, 710]);
  });

  it('rotated back by turning the pixels', async () => {
    save(await sharp(readFileSync(photo)).rotate().rotate(-90).jpeg({ quality: 90 }).toBuffer());
    const s = await index();
    stillHolds(s, { indexed: 1 });
    assert.deepEqual([store.photos.get(photo)!.width, store.photos.get(photo)!.height], [710, 473]);
  });

  it('cropped', async () => {
    save(await sharp(readFileSync(photo)).extract({ left: 20, top: 15, width: 660, height: 440 }).jpeg({ quality: 90 }).toBuffer());
    stillHolds(await index(), { indexed: 1 });
  });

  it('moved to another folder', async () => {
    const to = join(library, 'kept', 'party-2019.jpg');
    mkdirSync(join(library, 'kept'));
    renameSync(photo, to);
    photo = to;
    stillHolds(await index(), { indexed: 0, moved: 1 });
  });

  it('the HNSW index holds the edited vectors of the faces that kept their ids', async () => {
    const face = store.faces.get(decided[0]!)!;
    const index = FaceIndex.open(store, face.modelId, face.embedding.length);
    const [top] = index.search(face.embedding, 1);
    assert.equal(top!.faceId, face.id);
    assert.ok(top!.similarity > 0.999, `index vector is the stored one (${top!.similarity})`);
  });

  it('replaced by another photo: its faces go, and the journal says so', async () => {
    save(readFileSync(join(FACES, 'groups', 'face_recognition', 'two_people.jpg')));
    const s = await index();
    assert.equal(s.indexed, 1);
    const ids = facesOf(photo);
    for (const id of decided) assert.equal(ids.includes(id), false, `face ${id} of the old photo is gone`);
    assert.deepEqual(userFacts(store, decided), []);
    const op = store.people.lastOperation()!;
    assert.equal(op.label, 'Removed 4 faces of edited photo party-2019.jpg');
    assert.equal(op.before.decisions.length, 4);
    assert.equal(op.before.assignments.length, 3);
    // Undoing it cannot bring the faces back, and touches nothing else.
    const amy = store.people.findByName('Amy')!;
    assert.equal(new PeopleService(store).undo()!.label, 'Undid: Removed 4 faces of edited photo party-2019.jpg');
    assert.equal(store.people.get(amy.id)!.name, 'Amy');
    assert.equal(store.faces.total(), ids.length + 1);
  });
});

describe('identical files are one photo', () => {
  it('stores the faces of a copied group photo once, shows its other place, and keeps them when the first file goes', async () => {
    const dir = tempDir();
    const library = join(dir, 'Photos');
    mkdirSync(join(library, 'phone'), { recursive: true });
    const first = join(library, 'bbt1.jpg');
    const copy = join(library, 'phone', 'copy-of-bbt1.jpg');
    cpSync(join(GROUP, 'bbt1.jpg'), first);
    cpSync(join(GROUP, 'bbt1.jpg'), copy);
    cpSync(join(GROUP, 'bbt2.jpg'), join(library, 'bbt2.jpg'));
    const store = new Store(join(dir, 'library.db'));
    const engine = new KithEngine(store, fast);
    const s = await indexFolder(store, library, fast);
    assert.equal(s.copies, 1);
    const photo = store.photos.get(first)!;
    const faces = store.faces.forPhoto(photo.id).map((f) => f.id);
    assert.equal(faces.length, 4);
    assert.equal(store.faces.total(), 4 + store.faces.forPhoto(store.photos.get(join(library, 'bbt2.jpg'))!.id).length);
    assert.equal(store.faces.forPhoto(store.photos.get(copy)!.id).length, 0);
    assert.equal(store.photos.duplicateCount(), 1);
    assert.equal((await engine.client().status()).photos, 2);
    assert.deepEqual((await engine.client().photo(photo.id)).alsoAt, [copy]);

    // A re-run does nothing more; a new copy of it found later is a copy too.
    const again = await indexFolder(store, library, fast);
    assert.deepEqual([again.indexed, again.copies], [0, 0]);
    cpSync(join(GROUP, 'bbt1.jpg'), join(library, 'third.jpg'));
    assert.deepEqual([(await indexFolder(store, library, fast)).copies, store.photos.duplicateCount()], [1, 2]);

    new PeopleService(store).moveFaces([faces[0]!], { newPersonName: 'Raj' });
    rmSync(first);
    rmSync(join(library, 'third.jpg'));
    const after = await indexFolder(store, library, fast);
    assert.deepEqual([after.indexed, after.removed], [0, 0]);
    const promoted = store.photos.get(copy)!;
    assert.equal(promoted.id, photo.id, 'the copy took over the photo');
    assert.equal(promoted.duplicateOf, null);
    assert.deepEqual(store.faces.forPhoto(promoted.id).map((f) => f.id), faces);
    assert.equal(store.people.assignmentOf(faces[0]!)!.personId, store.people.findByName('Raj')!.id);
    assert.equal(store.photos.duplicateCount(), 0);
    assert.deepEqual((await engine.client().photo(photo.id)).alsoAt, []);
  });
});

describe('what the fast path trusts', () => {
  it('a file swapped for other content of the same size and mtime is found by --verify', async () => {
    const dir = tempDir();
    const library = join(dir, 'Photos');
    mkdirSync(library);
    const a = readFileSync(join(GROUP, 'bbt3.jpg'));
    const b = readFileSync(join(FACES, 'portraits', 'faceapi-bbt', 'penny', 'penny1.png'));
    const size = Math.max(a.length, b.length);
    // Bytes after the end of an image are ignored by decoders: both files get the same size.
    const pad = (x: Buffer) => Buffer.concat([x, Buffer.alloc(size - x.length)]);
    const file = join(library, 'photo.jpg');
    writeFileSync(file, pad(a));
    const store = new Store(join(dir, 'library.db'));
    await indexFolder(store, library, fast);
    assert.equal(store.faces.total(), 5);
    const ref = join(dir, 'ref');
    writeFileSync(ref, '');
    execFileSync('touch', ['-r', file, ref]);
    writeFileSync(file, pad(b));
    execFileSync('touch', ['-r', ref, file]);
    assert.equal((await indexFolder(store, library, fast)).indexed, 0, 'size + mtime are trusted');
    const s = await indexFolder(store, library, { ...fast, verify: true });
    assert.equal(s.indexed, 1);
    assert.equal(store.faces.total(), 1);
  });
});

describe("Kith's own files and what it cannot read", () => {
  it('never indexes its own library inside the photo folder, and says where it is', async () => {
    const library = join(tempDir(), 'Photos');
    mkdirSync(library);
    for (const n of ['bbt1.jpg', 'bbt2.jpg', 'bbt3.jpg']) cpSync(join(GROUP, n), join(library, n));
    mkdirSync(join(library, 'Kith'));
    const store = new Store(join(library, 'Kith', 'library.db'));
    const notices: string[] = [];
    await indexFolder(store, library, { ...fast, notice: (l) => notices.push(l) });
    assert.ok(statSync(thumbsDirFor(store.path)).isDirectory());
    const s = await indexFolder(store, library, { ...fast, notice: (l) => notices.push(l) });
    assert.equal(s.scanned, 3);
    assert.equal(store.photos.list().length, 3);
    assert.ok(notices.some((l) => l.includes('is inside the photo folder')), notices.join('\n'));
  });

  it('makes missing face thumbnails again', async () => {
    const dir = tempDir();
    const library = join(dir, 'Photos');
    mkdirSync(library);
    cpSync(join(GROUP, 'bbt2.jpg'), join(library, 'bbt2.jpg'));
    const store = new Store(join(dir, 'library.db'));
    await indexFolder(store, library, fast);
    rmSync(thumbsDirFor(store.path), { recursive: true });
    const s = await indexFolder(store, library, fast);
    assert.ok(s.thumbsRebuilt > 0);
    for (const id of store.faces.idsFor('fr-feature-512')) assert.ok(statSync(faceThumbPath(store.path, id)).size > 1000);
  });

  it('lists a non-UTF-8 file name and a symlink loop in `kith errors`, and keeps photos it cannot see', async () => {
    const dir = tempDir();
    const library = join(dir, 'Photos');
    mkdirSync(join(library, 'album'), { recursive: true });
    cpSync(join(GROUP, 'bbt2.jpg'), join(library, 'album', 'bbt2.jpg'));
    writeFileSync(Buffer.from(`${library}/caf\xe9.jpg`, 'latin1'), readFileSync(join(GROUP, 'bbt3.jpg')));
    symlinkSync('loop.jpg', join(library, 'loop.jpg'));
    const store = new Store(join(dir, 'library.db'));
    await indexFolder(store, library, fast);
    const errors = store.photos.errors().map((r) => [r.path.slice(library.length + 1), r.error]);
    assert.equal(errors.length, 2, JSON.stringify(errors));
    assert.deepEqual(errors[0]![0], 'caf\ufffd.jpg');
    assert.match(errors[0]![1]!, /not valid UTF-8 \(bytes 636166e92e6a7067/);
    assert.deepEqual(errors[1]![0], 'loop.jpg');
    assert.match(errors[1]![1]!, /symbolic link loop/);
    assert.equal((await indexFolder(store, library, fast)).errors, 0);
    assert.equal(store.photos.errors().length, 2, 'still listed, once each');

    // The drive is gone: nothing is deleted.
    const faces = store.faces.total();
    renameSync(library, `${library}-unplugged`);
    const s = await indexFolder(store, library, fast);
    assert.equal(s.removed, 0);
    assert.equal(store.faces.total(), faces);
  });
});
