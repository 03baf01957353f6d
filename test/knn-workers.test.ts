/**
 * @file FaceIndex.searchAll, the k-NN pass of a full re-cluster, split over worker threads that
 * each load the saved HNSW file: on the real portraits library it must answer exactly what
 * FaceIndex.search answers face by face (ids and similarities), with deleted faces never among
 * the hits, fall back to this thread when the file on disk is not the one the index wrote, and
 * a full re-cluster must come out the same with and without workers. The answers of a large
 * batch are cached beside the index and reused only for the same index file and queries.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { PeopleClusterer } from '../native/people/clusterer.ts';
import { FaceIndex, indexPathFor, type HitLists, type Neighbour } from '../native/search/ann.ts';
import { Store } from '../native/store/index.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

const K = 41;
const WORKERS = { workers: 2, minQueries: 0, cache: false };

function lists(h: HitLists): Neighbour[][] {
  return Array.from(h.counts, (n, q) => Array.from({ length: n }, (_, r) => ({ faceId: h.faceIds[q * h.k + r]!, similarity: h.similarities[q * h.k + r]! })));
}

describe('k-NN over worker threads', () => {
  let db: string;
  let modelId: string;
  let dim: number;

  before(async () => {
    db = (await indexedFixtureCopy('portraits')).db;
    const store = new Store(db);
    const [model] = store.faces.modelCounts();
    modelId = model!.modelId;
    dim = store.faces.facesAfter(modelId, 0)[0]!.embedding.length;
    store.close();
  });

  it('answers exactly what search answers, face by face, with deleted faces never among the hits', async () => {
    const store = new Store(db);
    try {
      const ids = store.faces.idsFor(modelId);
      const gone = ids.filter((_, i) => i % 10 === 3);
      for (const id of gone) store.faces.remove(id);
      const index = FaceIndex.open(store, modelId, dim); // marks them deleted and saves the file
      const vectors = store.faces.facesAfter(modelId, 0).map((f) => f.embedding);
      const one = vectors.map((v) => index.search(v, K));
      const all = await index.searchAll(vectors, K, WORKERS);
      assert.ok(all.workerAnswered >= vectors.length / 2, `workers answered ${all.workerAnswered} of ${vectors.length}`);
      assert.deepEqual(lists(all), one);
      const goneSet = new Set(gone);
      assert.ok(one.every((hits) => hits.length === Math.min(K, vectors.length) && hits.every((h) => !goneSet.has(h.faceId))));
    } finally {
      store.close();
    }
  });

  it('answers in this thread when the file on disk is not the one the index wrote', async () => {
    const store = new Store(db);
    try {
      const index = FaceIndex.open(store, modelId, dim);
      const vectors = store.faces.facesAfter(modelId, 0).map((f) => f.embedding);
      const one = vectors.map((v) => index.search(v, K));
      // Another process put a different file in its place (here: the same index with its bytes shifted).
      const path = indexPathFor(db);
      copyFileSync(path, `${path}.bak`);
      const bytes = readFileSync(path);
      writeFileSync(path, Buffer.concat([bytes.subarray(1), bytes.subarray(0, 1)]));
      const all = await index.searchAll(vectors, K, WORKERS);
      assert.equal(all.workerAnswered, 0);
      assert.deepEqual(lists(all), one);
      copyFileSync(`${path}.bak`, path);
    } finally {
      store.close();
    }
  });

  it('a full re-cluster gives the same people with and without workers', async () => {
    const people = async (search: { workers: number; minQueries: number; cache: boolean }) => {
      const store = new Store(db);
      try {
        const index = FaceIndex.open(store, modelId, dim);
        const summary = await new PeopleClusterer(store, search).full(index);
        const groups = store.people.summaries().map((p) => store.people.facesOf(p.id).map((f) => f.faceId).sort((a, b) => a - b));
        return { people: summary.people, unassigned: summary.unassigned, groups: groups.sort((a, b) => a[0]! - b[0]!) };
      } finally {
        store.close();
      }
    };
    const inThread = await people({ workers: 0, minQueries: 0, cache: false });
    const withWorkers = await people(WORKERS);
    assert.ok(inThread.people > 5, `${inThread.people} people`);
    assert.deepEqual(withWorkers, inThread);
  });

  it('reuses the answers only for the same index file and the same queries', async () => {
    const store = new Store(db);
    try {
      let index = FaceIndex.open(store, modelId, dim);
      const vectors = store.faces.facesAfter(modelId, 0).map((f) => f.embedding);
      const fresh = await index.searchAll(vectors, K, { minQueries: 0, workers: 0 });
      const again = await index.searchAll(vectors, K, { minQueries: 0, workers: 0 });
      assert.deepEqual([fresh.cached, again.cached], [false, true]);
      assert.deepEqual(lists(again), lists(fresh));
      // Other queries (one face fewer) are another question.
      assert.equal((await index.searchAll(vectors.slice(1), K, { minQueries: 0, workers: 0 })).cached, false);
      // A damaged cache is not read.
      const cachePath = `${indexPathFor(db)}.knn`;
      const bytes = readFileSync(cachePath);
      bytes[bytes.length - 5]! ^= 0xff;
      writeFileSync(cachePath, bytes);
      assert.equal((await index.searchAll(vectors, K, { minQueries: 0, workers: 0 })).cached, false);
      // The index changes (a face removed): the old answers are not reused, the new ones match search.
      const gone = store.faces.idsFor(modelId)[0]!;
      store.faces.remove(gone);
      index = FaceIndex.open(store, modelId, dim);
      const now = await index.searchAll(vectors, K, { minQueries: 0, workers: 0 });
      assert.equal(now.cached, false);
      assert.deepEqual(lists(now), vectors.map((v) => index.search(v, K)));
      assert.ok(lists(now).every((hits) => hits.every((h) => h.faceId !== gone)));
    } finally {
      store.close();
    }
  });
});
