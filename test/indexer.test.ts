/**
 * A library that changes under Kith: indexing a folder, then re-indexing after nothing,
 * an added photo, an edited photo, a rename, a deletion and a model change. Real photos,
 * a real SQLite file and a real HNSW index.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { FaceIndex, indexPathFor } from '../native/search/ann.ts';
import { Embedder } from '../native/pipeline/embed.ts';
import { indexFolder } from '../native/indexing/indexer.ts';
import { Store } from '../native/store/index.ts';
import { faceThumbPath } from '../native/pipeline/thumbs.ts';
import { FACES, copyFaces, facesIn, tempDir } from './helpers.ts';

const people = ['leonard', 'sheldon', 'penny'];

describe('indexing a folder that changes', () => {
  let library: string;
  let store: Store;
  let photos: string[];

  before(() => {
    const dir = tempDir();
    library = join(dir, 'Photos');
    photos = copyFaces(library, facesIn('portraits/faceapi-bbt', (p) => people.some((n) => p.includes(`/${n}/`))));
    store = new Store(join(dir, 'library.db'));
  });

  const faceIdsByPath = () =>
    new Map(store.photos.list().map((p) => [p.path, store.faces.forPhoto(p.id).map((f) => f.id)]));

  it('indexes every photo, with faces, thumbnails and an HNSW index', async () => {
    const s = await indexFolder(store, library, { device: 'cpu', embedder: 'fr-feature' });
    assert.equal(s.scanned, 15);
    assert.equal(s.indexed, 15);
    assert.equal(s.errors, 0);
    assert.equal(s.faces, 15);
    assert.equal(store.faces.total(), 15);
    assert.equal(s.provider, 'cpu');
    assert.equal(store.runs.latest()!.provider, 'cpu');
    for (const p of store.photos.list()) {
      assert.equal(p.status, 'done');
      assert.match(p.hash!, /^[0-9a-f]{64}$/);
      assert.equal(p.width, 150);
      const [face] = store.faces.forPhoto(p.id);
      assert.ok(face && face.modelId === 'fr-feature-512' && face.embedding.length === 512);
      assert.ok(face.sharpness > 0 && Math.abs(face.yaw) < 60, `quality of ${p.path}`);
      assert.ok(statSync(faceThumbPath(store.path, face.id)).size > 1000);
    }
    assert.ok(existsSync(indexPathFor(store.path)));
  });

  it('finds a face by its own vector, and same-person faces next', () => {
    const index = FaceIndex.open(store, 'fr-feature-512', 512);
    assert.equal(index.size, 15);
    const leonard = store.photos.list().find((p) => p.path.includes('/leonard/'))!;
    const face = store.faces.forPhoto(leonard.id)[0]!;
    const hits = index.search(face.embedding, 5);
    assert.equal(hits[0]!.faceId, face.id);
    assert.ok(hits[0]!.similarity > 0.999);
    const samePerson = hits.slice(1).filter((h) => store.photos.getById(store.faces.get(h.faceId)!.photoId)!.path.includes('/leonard/'));
    assert.equal(samePerson.length, 4, 'the four other Leonards are the nearest neighbours');
  });

  it('does no work on an unchanged folder', async () => {
    const before = faceIdsByPath();
    const s = await indexFolder(store, library, { device: 'cpu', embedder: 'fr-feature' });
    assert.equal(s.indexed, 0);
    assert.equal(s.unchanged, 15);
    assert.equal(s.stages.detect, 0);
    assert.equal(s.stages.embed, 0);
    assert.deepEqual(faceIdsByPath(), before);
  });

  it('adds a new photo, re-indexes an edited one, keeps a renamed one, drops a deleted one', async () => {
    const before = faceIdsByPath();
    const [added] = copyFaces(library, ['portraits/faceapi-bbt/raj/raj1.png']);
    const edited = photos[0]!; // leonard1 becomes a different photo
    cpSync(join(FACES, 'portraits/faceapi-bbt/amy/amy2.png'), edited);
    utimesSync(edited, new Date(), new Date(Date.now() + 5000));
    const renamedFrom = photos[1]!;
    const renamedTo = join(library, 'portraits', 'renamed-leonard.png');
    renameSync(renamedFrom, renamedTo);
    const deleted = photos[14]!;
    rmSync(deleted);

    const s = await indexFolder(store, library, { device: 'cpu', embedder: 'fr-feature' });
    assert.deepEqual(
      { indexed: s.indexed, moved: s.moved, removed: s.removed, unchanged: s.unchanged },
      { indexed: 2, moved: 1, removed: 1, unchanged: 12 },
    );
    const after = faceIdsByPath();
    assert.equal(after.get(added!)!.length, 1);
    assert.notDeepEqual(after.get(edited), before.get(edited), 'edited photo has new faces');
    assert.deepEqual(after.get(renamedTo), before.get(renamedFrom), 'renamed photo keeps its face ids');
    assert.equal(after.has(renamedFrom), false);
    assert.equal(after.has(deleted), false);
    assert.equal(store.faces.total(), 15);
    // The HNSW index follows: the deleted face is gone, the new one is found.
    const index = FaceIndex.open(store, 'fr-feature-512', 512);
    assert.equal(index.size, 15);
    const addedFace = store.faces.get(after.get(added!)![0]!)!;
    assert.equal(index.search(addedFace.embedding, 1)[0]!.faceId, addedFace.id);
    for (const id of before.get(deleted)!) assert.equal(store.faces.get(id), undefined);
  });

  it('re-embeds on a model change, keeping every face id, and never mixes spaces', async () => {
    const before = faceIdsByPath();
    const s = await indexFolder(store, library, { device: 'cpu', embedder: 'ensemble' });
    const ensemble = await Embedder.load('ensemble', 'cpu');
    assert.equal(s.indexed, 0);
    assert.equal(s.reembedded, 15);
    assert.deepEqual(faceIdsByPath(), before);
    assert.deepEqual(store.faces.modelCounts(), [{ modelId: ensemble.modelId, n: 15 }]);
    const index = FaceIndex.open(store, ensemble.modelId, ensemble.dim);
    assert.equal(index.size, 15);
    const face = store.faces.get([...before.values()][3]![0]!)!;
    assert.equal(face.embedding.length, ensemble.dim);
    assert.equal(index.search(face.embedding, 1)[0]!.faceId, face.id);
  });

  it('rebuilds a missing or corrupted HNSW file from SQLite', () => {
    const path = indexPathFor(store.path);
    rmSync(path);
    const ensembleId = store.faces.modelCounts()[0]!.modelId;
    const dim = store.faces.get(store.faces.idsFor(ensembleId)[0]!)!.embedding.length;
    assert.equal(FaceIndex.open(store, ensembleId, dim).size, 15);
    cpSync(store.path, path); // garbage where the index should be
    assert.equal(FaceIndex.open(store, ensembleId, dim).size, 15);
    assert.equal(store.integrityCheck(), 'ok');
  });
});
