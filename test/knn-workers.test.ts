/**
 * @file FaceIndex.searchAll, the k-NN pass of a full re-cluster, split over worker threads that
 * each load the saved HNSW file: on the real portraits library it must answer exactly what
 * FaceIndex.search answers face by face (ids and similarities), with deleted faces never among
 * the hits, fall back to this thread when the file on disk is not the one the index wrote, and
 * a full re-cluster must come out the same with and without workers. The lists of a large
 * batch are kept beside the index, and a later batch reuses each only while it is what a search
 * would answer: new, changed and gone faces make exactly the lists a search would make.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { dot32 } from '../native/people/cluster.ts';
import { PeopleClusterer } from '../native/people/clusterer.ts';
import { FaceIndex, indexPathFor, type FaceQuery, type HitLists, type Neighbour } from '../native/search/ann.ts';
import { Store } from '../native/store/index.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

const K = 41;
const WORKERS = { workers: 2, minQueries: 0, cache: false };

function queriesOf(store: Store, modelId: string): FaceQuery[] {
  return store.faces.facesAfter(modelId, 0).map((f) => ({ faceId: f.id, vector: f.embedding }));
}

/**
 * Neighbours at least this similar: all that clustering reads (its lowest threshold is 0.45). A
 * kept list can hold a weaker face that an approximate search passes over (a new face enters
 * every list it found, a search may not reach it), so only this head is compared with search.
 */
const CLUSTERING_HEAD = 0.3;
const head = (all: Neighbour[][]) => all.map((hits) => hits.filter((h) => h.similarity >= CLUSTERING_HEAD));

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
      const queries = queriesOf(store, modelId);
      const vectors = queries.map((q) => q.vector);
      const one = vectors.map((v) => index.search(v, K));
      const all = await index.searchAll(queries, K, WORKERS);
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
      const queries = queriesOf(store, modelId);
      const one = queries.map((q) => index.search(q.vector, K));
      // Another process put a different file in its place (here: the same index with its bytes shifted).
      const path = indexPathFor(db);
      copyFileSync(path, `${path}.bak`);
      const bytes = readFileSync(path);
      writeFileSync(path, Buffer.concat([bytes.subarray(1), bytes.subarray(0, 1)]));
      const all = await index.searchAll(queries, K, WORKERS);
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

  it('reuses a kept list only while it is what a search would answer', async () => {
    const store = new Store(db);
    const KEEP = { minQueries: 0, workers: 0 };
    const searched = (index: FaceIndex, queries: FaceQuery[]) => queries.map((q) => index.search(q.vector, K));
    /** The same strong neighbours as a search, and every weaker one a real neighbour at its true similarity, most similar first. */
    const asSearchFinds = (index: FaceIndex, got: HitLists, queries: FaceQuery[]) => {
      assert.deepEqual(head(lists(got)), head(searched(index, queries)));
      const vectorOf = new Map(queries.map((q) => [q.faceId, q.vector]));
      lists(got).forEach((hits, q) => {
        assert.ok(hits.length <= K && hits.every((h, r) => r === 0 || hits[r - 1]!.similarity >= h.similarity));
        for (const h of hits) assert.ok(Math.abs(h.similarity - dot32(queries[q]!.vector, vectorOf.get(h.faceId)!)) < 1e-5, `${queries[q]!.faceId}→${h.faceId} ${h.similarity} vs ${dot32(queries[q]!.vector, vectorOf.get(h.faceId)!)}`);
      });
    };
    let closed = false;
    try {
      let index = FaceIndex.open(store, modelId, dim);
      const queries = queriesOf(store, modelId);
      const graphPath = `${indexPathFor(db)}.knn`;
      rmSync(graphPath, { force: true });
      const fresh = await index.searchAll(queries, K, KEEP);
      const again = await index.searchAll(queries, K, KEEP);
      assert.deepEqual([fresh.reused, again.reused], [0, queries.length]);
      assert.deepEqual(lists(again), lists(fresh));
      assert.deepEqual(lists(fresh), searched(index, queries));

      // A face re-embedded under its id (an edited photo keeps its faces' ids): its list and the lists naming it are searched again.
      const edited = queries[5]!;
      const namingEdited = lists(fresh).filter((hits) => hits.some((h) => h.faceId === edited.faceId)).length;
      const editedVector = edited.vector.map((x, d) => (d % 7 === 0 ? -x : x));
      store.faces.reembed(edited.faceId, editedVector, modelId);
      index.refresh([{ id: edited.faceId, embedding: editedVector }]); // as the indexer does for an edited photo
      index.save();
      const afterEdit = queriesOf(store, modelId);
      const reEmbedded = await index.searchAll(afterEdit, K, KEEP);
      assert.ok(namingEdited > 1, `${namingEdited} lists named the edited face`);
      assert.equal(reEmbedded.reused, queries.length - namingEdited);
      asSearchFinds(index, reEmbedded, afterEdit);

      // A damaged file is not read.
      const bytes = readFileSync(graphPath);
      bytes[bytes.length - 5]! ^= 0xff;
      writeFileSync(graphPath, bytes);
      const rewritten = await index.searchAll(afterEdit, K, KEEP);
      assert.equal(rewritten.reused, 0);

      // A face removed: the lists that named it are searched again, the rest kept, all as a search answers now.
      const gone = queries[0]!.faceId;
      const naming = lists(rewritten).filter((hits) => hits.some((h) => h.faceId === gone)).length;
      store.faces.remove(gone);
      index = FaceIndex.open(store, modelId, dim);
      const left = queriesOf(store, modelId);
      const now = await index.searchAll(left, K, KEEP);
      assert.ok(naming > 1, `${naming} lists named the removed face`);
      assert.equal(now.reused, left.length - naming + 1); // its own list went with it
      asSearchFinds(index, now, left);

      // Faces indexed again (as new), in a copy of the library that never lost them: they are searched, and enter the kept lists they belong in.
      const kept = readFileSync(graphPath);
      store.close();
      closed = true;
      const full = (await indexedFixtureCopy('portraits')).db;
      const fullStore = new Store(full);
      try {
        fullStore.faces.reembed(edited.faceId, editedVector, modelId);
        const fullIndex = FaceIndex.open(fullStore, modelId, dim);
        fullIndex.refresh([{ id: edited.faceId, embedding: editedVector }]);
        writeFileSync(`${indexPathFor(full)}.knn`, kept);
        const all = queriesOf(fullStore, modelId);
        const updated = await fullIndex.searchAll(all, K, KEEP);
        assert.ok(all.length > left.length);
        assert.equal(updated.reused, left.length); // only the faces it lacks are searched (the removed one, and those the first test removed)
        asSearchFinds(fullIndex, updated, all);
      } finally {
        fullStore.close();
      }
    } finally {
      if (!closed) store.close();
    }
  });
});
