/**
 * @file Clustering on real faces: the 8 Big Bang Theory characters (5 tight crops each) are indexed
 * with the default embedder, then grouped. Checks the grouping itself, that it does not depend
 * on run or input order, that cannot-link (and photo-mates) are never violated, that must-link
 * groups hold, the incremental step, and the metrics on a small example worked by hand.
 */
import assert from 'node:assert/strict';
import { basename, dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { FaceIndex } from '../native/search/ann.ts';
import { clusterScores } from '../bench/cluster-metrics.ts';
import {
  assignIncremental,
  CLUSTER_RULES,
  clusterFaces,
  countObservations,
  DEFAULT_GATE,
  isGoodFace,
  isNearDuplicate,
  knnFromSearch,
  relativeBox,
  summarisePerson,
  type ClusterFace,
  type ClusterResult,
  type Knn,
} from '../native/people/cluster.ts';
import { indexFolder } from '../native/indexing/indexer.ts';
import { Store } from '../native/store/index.ts';
import { copyFaces, facesIn, tempDir } from './helpers.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

interface Labelled {
  faces: ClusterFace[];
  who: string[];
  knn: Knn;
}

/** Cluster results as sorted lists of face ids, comparable across input orders. */
function asIds(faces: readonly ClusterFace[], r: ClusterResult): { clusters: number[][]; unassigned: number[] } {
  return {
    clusters: r.clusters.map((c) => c.map((i) => faces[i]!.id).sort((a, b) => a - b)).sort((a, b) => a[0]! - b[0]!),
    unassigned: r.unassigned.map((i) => faces[i]!.id).sort((a, b) => a - b),
  };
}

/** The same faces in another order, with a Knn that follows them. */
function permuted(data: Labelled, order: number[]): Labelled {
  const back = new Map(order.map((old, i) => [old, i]));
  return {
    faces: order.map((i) => data.faces[i]!),
    who: order.map((i) => data.who[i]!),
    knn: (i) => data.knn(order[i]!).map((e) => ({ j: back.get(e.j)!, similarity: e.similarity })),
  };
}

describe('clustering the eight BBT characters', () => {
  let data: Labelled;

  before(async () => {
    // The BBT portraits indexed once for every test file that needs them (indexed-fixture.ts).
    const store = new Store((await indexedFixtureCopy('bbt')).db);
    const [model, ...others] = store.faces.modelCounts();
    assert.deepEqual([model!.n, others.length], [40, 0], 'one face per crop, one model');
    const paths = new Map(store.photos.list().map((p) => [p.id, p.path]));
    const rows = [...store.faces.iterate(model!.modelId)];
    const faces = rows.map((f) => ({ id: f.id, photoId: f.photoId, vector: f.embedding, good: isGoodFace(f) }));
    const index = FaceIndex.open(store, model!.modelId, rows[0]!.embedding.length);
    const lists = faces.map((_, i) => knnFromSearch(faces, (v, k) => index.search(v, k))(i));
    data = { faces, who: rows.map((f) => basename(dirname(paths.get(f.photoId)!))), knn: (i) => lists[i]! };
    store.close();
  });

  it('finds 8 people, each one character, each character one person', () => {
    const r = clusterFaces(data.faces, data.knn);
    assert.equal(r.unassigned.length, 0);
    assert.equal(r.clusters.length, 8);
    for (const c of r.clusters) {
      const names = new Set(c.map((i) => data.who[i]));
      assert.equal(names.size, 1, `cluster mixes ${[...names].join(', ')}`);
      assert.equal(c.length, 5);
    }
    const s = clusterScores(
      data.faces.map((_, i) => r.clusters.findIndex((c) => c.includes(i))),
      data.who,
    );
    assert.equal(s.pairwise.precision, 1);
    assert.equal(s.bcubed.f1, 1);
    assert.equal(s.effort.merges + s.effort.moves, 0);
  });

  it('gates one turned head as poor, and it still joins its person', () => {
    const poor = data.faces.flatMap((f, i) => (f.good ? [] : [i]));
    // stuart5 looks over his shoulder (yaw ≈ −80°): too turned to found a person, close enough to join one.
    assert.deepEqual(poor.map((i) => data.who[i]), ['stuart'], `gate ${JSON.stringify(DEFAULT_GATE)}`);
    const r = clusterFaces(data.faces, data.knn);
    const home = r.clusters.find((c) => c.includes(poor[0]!));
    assert.ok(home && home.every((i) => data.who[i] === 'stuart'));
  });

  it('gives the same result twice and for any input order', () => {
    const first = asIds(data.faces, clusterFaces(data.faces, data.knn));
    assert.deepEqual(asIds(data.faces, clusterFaces(data.faces, data.knn)), first);
    const n = data.faces.length;
    const reversed = permuted(data, [...Array(n).keys()].reverse());
    assert.deepEqual(asIds(reversed.faces, clusterFaces(reversed.faces, reversed.knn)), first);
    // A fixed shuffle (interleaving the characters).
    const shuffled = permuted(data, [...Array(n).keys()].sort((a, b) => ((a * 17) % n) - ((b * 17) % n)));
    assert.deepEqual(asIds(shuffled.faces, clusterFaces(shuffled.faces, shuffled.knn)), first);
    // Exposed positions follow the caller's order: clusters are sorted by their first face id.
    const r = clusterFaces(reversed.faces, reversed.knn);
    const firstIds = r.clusters.map((c) => reversed.faces[c[0]!]!.id);
    assert.deepEqual(firstIds, [...firstIds].sort((a, b) => a - b));
  });

  it('never puts a cannot-link pair or two faces of one photo together', () => {
    const of = (name: string) => data.who.flatMap((w, i) => (w === name ? [i] : []));
    const [s0, s1, s2] = of('sheldon');
    const [p0, p1] = of('penny');
    // Two Penny crops pretend to be one photo: photo-mates are never one person.
    const faces = data.faces.map((f, i) => (i === p1 ? { ...f, photoId: data.faces[p0!]!.photoId } : f));
    const cannotLink: Array<[number, number]> = [
      [s0!, s1!],
      [s1!, s2!],
    ];
    const r = clusterFaces(faces, data.knn, { cannotLink });
    const clusterOf = new Map<number, number>();
    r.clusters.forEach((c, k) => c.forEach((i) => clusterOf.set(i, k)));
    const together = (a: number, b: number) => clusterOf.has(a) && clusterOf.get(a) === clusterOf.get(b);
    for (const [a, b] of cannotLink) assert.ok(!together(a, b), 'cannot-link violated');
    assert.ok(!together(p0!, p1!), 'photo-mates together');
    for (const c of r.clusters) {
      assert.equal(new Set(c.map((i) => data.who[i])).size, 1, 'constraints never cause mixing');
      assert.equal(new Set(c.map((i) => faces[i]!.photoId)).size, c.length, 'one face per photo per person');
    }
  });

  it('keeps must-link groups together and two confirmed people apart', () => {
    const penny = data.who.flatMap((w, i) => (w === 'penny' ? [i] : []));
    const amy = data.who.flatMap((w, i) => (w === 'amy' ? [i] : []));
    // The user confirmed two Penny groups as two people (say, before merging them), and Amy with a poor face.
    const faces = data.faces.map((f, i) => (i === amy[0] ? { ...f, good: false } : f));
    const mustLink = [penny.slice(0, 2), penny.slice(2, 4), amy.slice(0, 2)];
    const r = clusterFaces(faces, data.knn, { mustLink });
    const clusterOf = new Map<number, number>();
    r.clusters.forEach((c, k) => c.forEach((i) => clusterOf.set(i, k)));
    for (const g of mustLink) assert.equal(new Set(g.map((i) => clusterOf.get(i))).size, 1, 'must-link group split');
    assert.notEqual(clusterOf.get(penny[0]!), clusterOf.get(penny[2]!), 'two confirmed people merged');
    assert.equal(r.clusters.length, 9);
    for (const c of r.clusters) assert.equal(new Set(c.map((i) => data.who[i])).size, 1);
  });

  it('places a new crop of each character with its person, incrementally', () => {
    const last = new Map<string, number>();
    data.who.forEach((w, i) => last.set(w, i)); // the last crop of each character arrives later
    const newer = new Set(last.values());
    const old = data.faces.map((_, i) => i).filter((i) => !newer.has(i));
    const oldPos = new Map(old.map((i, r) => [i, r]));
    const base = clusterFaces(
      old.map((i) => data.faces[i]!),
      (r) => data.knn(old[r]!).flatMap((e) => (oldPos.has(e.j) ? [{ j: oldPos.get(e.j)!, similarity: e.similarity }] : [])),
    );
    assert.equal(base.clusters.length, 8);
    const people = base.clusters.map((c, key) => summarisePerson(key, c.map((r) => data.faces[old[r]!]!)));
    const personOf = new Map<number, number>();
    base.clusters.forEach((c, key) => c.forEach((r) => personOf.set(old[r]!, key)));
    const fresh = [...newer].sort((a, b) => a - b);
    const freshPos = new Map(fresh.map((i, r) => [i, r]));
    const result = assignIncremental(
      fresh.map((i) => data.faces[i]!),
      (r) => data.knn(fresh[r]!).flatMap((e) => (freshPos.has(e.j) ? [{ j: freshPos.get(e.j)!, similarity: e.similarity }] : [])),
      people,
      { candidates: (r) => data.knn(fresh[r]!).flatMap((e) => (personOf.has(e.j) ? [personOf.get(e.j)!] : [])) },
    );
    assert.equal(result.joins.length, 8, 'every new crop joins someone');
    assert.deepEqual(result.clusters, []);
    for (const { face, person } of result.joins) {
      const members = base.clusters[person]!.map((r) => data.who[old[r]!]);
      assert.ok(members.every((w) => w === data.who[fresh[face]!]), `${data.who[fresh[face]!]} joined ${members[0]}`);
    }
    // A face the user rejected from its person does not go back there.
    const target = result.joins[0]!;
    const again = assignIncremental([data.faces[fresh[target.face]!]!], () => [], people, { cannotJoin: [[0, target.person]] });
    assert.ok(!again.joins.some((j) => j.person === target.person));
  });
});

describe('cluster metrics', () => {
  // Truth a a a b b c; prediction {0,1} {2,3,5} and item 4 unassigned.
  const truth = ['a', 'a', 'a', 'b', 'b', 'c'];
  const predicted = [1, 1, 2, 2, null, 2];

  it('counts pairs through the contingency table', () => {
    const s = clusterScores(predicted, truth);
    // Predicted pairs: 1 + 3; correct: (0,1); true pairs: 3 (a) + 1 (b).
    assert.deepEqual([s.pairwise.correct, s.pairwise.predicted, s.pairwise.truth], [1, 4, 4]);
    assert.equal(s.pairwise.precision, 0.25);
    assert.equal(s.pairwise.recall, 0.25);
  });

  it('computes BCubed per item, unassigned items as singletons', () => {
    const s = clusterScores(predicted, truth);
    // Precision: 1, 1, 1/3, 1/3, 1 (alone), 1/3. Recall: 2/3, 2/3, 1/3, 1/2, 1/2, 1.
    assert.ok(Math.abs(s.bcubed.precision - 4 / 6) < 1e-12);
    assert.ok(Math.abs(s.bcubed.recall - 11 / 18) < 1e-12);
    const f = (2 * (4 / 6) * (11 / 18)) / (4 / 6 + 11 / 18);
    assert.ok(Math.abs(s.bcubed.f1 - f) < 1e-12);
  });

  it('counts the merges and moves that would fix it', () => {
    const s = clusterScores(predicted, truth);
    // Both clusters are labelled a (the tie in {a, b, c} goes to a): 1 merge. b and c sit in
    // a's cluster: 2 moves out. b has no cluster, so gathering its 2 faces costs 1 more.
    assert.deepEqual({ merges: s.effort.merges, moves: s.effort.moves }, { merges: 1, moves: 3 });
    assert.ok(Math.abs(s.effort.perFace - 4 / 6) < 1e-12);
  });

  it('scores a perfect result as 1 with no effort, and "all unassigned" as precise but incomplete', () => {
    const perfect = clusterScores(['x', 'x', 'y', 'z'], truth.slice(0, 3).concat('c'));
    assert.equal(perfect.pairwise.precision, 1);
    const same = clusterScores([7, 7, 7, 8, 8, 9], truth);
    assert.deepEqual([same.pairwise.f1, same.bcubed.f1, same.effort.perFace], [1, 1, 0]);
    const none = clusterScores(truth.map(() => null), truth);
    assert.equal(none.pairwise.precision, 1);
    assert.equal(none.pairwise.recall, 0);
    assert.equal(none.bcubed.precision, 1);
    assert.ok(Math.abs(none.bcubed.recall - (3 * (1 / 3) + 2 * (1 / 2) + 1) / 6) < 1e-12);
    // Two persons need gathering (a: 2 moves, b: 1), c is a correct singleton.
    assert.deepEqual({ merges: none.effort.merges, moves: none.effort.moves }, { merges: 0, moves: 3 });
  });
});

describe('quality gate', () => {
  it('passes a clean frontal face and rejects each kind of poor one', () => {
    const clean = { score: 0.99, size: 120, sharpness: 150, yaw: 5, pitch: -3 };
    assert.ok(isGoodFace(clean));
    for (const bad of [{ score: 0.6 }, { size: 30 }, { sharpness: 5 }, { yaw: -90 }, { pitch: 60 }]) {
      assert.ok(!isGoodFace({ ...clean, ...bad }), JSON.stringify(bad));
    }
  });
});

describe('near-duplicates count once', () => {
  let faces: ClusterFace[];
  let knn: Knn;
  let copyIds: Set<number>;

  before(async () => {
    // Four resized copies (240p to 1080p) of one Obama photo: one observation of him, not four.
    const dir = tempDir();
    const library = join(dir, 'Photos');
    copyFaces(library, facesIn('extras/face_recognition-variants', (p) => /obama-\d+p\.jpg$/.test(p)));
    const store = new Store(join(dir, 'library.db'));
    const summary = await indexFolder(store, library, { device: 'cpu' });
    const photos = new Map(store.photos.list().map((p) => [p.id, p]));
    const rows = [...store.faces.iterate(summary.modelId)];
    faces = rows.map((f) => {
      const p = photos.get(f.photoId)!;
      return { id: f.id, photoId: f.photoId, vector: f.embedding, good: isGoodFace(f), box: relativeBox(f.box, p.width, p.height) };
    });
    copyIds = new Set(rows.filter((f) => f.size >= 40).map((f) => f.id));
    const index = FaceIndex.open(store, summary.modelId, rows[0]!.embedding.length);
    const lists = faces.map((_, i) => knnFromSearch(faces, (v, k) => index.search(v, k))(i));
    knn = (i) => lists[i]!;
    store.close();
  });

  it('finds his face in each copy, at one place of the frame', () => {
    assert.equal(copyIds.size, 4, 'one clear face per copy');
    const copies = faces.filter((f) => copyIds.has(f.id));
    for (const a of copies) for (const b of copies) if (a !== b) assert.ok(isNearDuplicate(a, b, dot(a.vector, b.vector)), `${a.id} ~ ${b.id}: cos ${dot(a.vector, b.vector)}, ${JSON.stringify([a.box, b.box])}`);
    assert.equal(countObservations(copies), 1);
  });

  it('does not make a person of one photo and its resized copies', () => {
    const r = clusterFaces(faces, knn);
    const grouped = r.clusters.filter((c) => c.some((i) => copyIds.has(faces[i]!.id)));
    assert.deepEqual(grouped, [], 'the copies are one observation: no person yet');
    const counted = clusterFaces(faces, knn, {}, { ...CLUSTER_RULES, nearDuplicates: null });
    assert.ok(counted.clusters.some((c) => c.filter((i) => copyIds.has(faces[i]!.id)).length === 4), 'counted one by one, they would be a person');
  });

  it('joins the copies to a person as one, once there is a second, real photo of him', () => {
    // A different photo of the same man (not a copy: other pixels, other place in the frame).
    const copies = faces.filter((f) => copyIds.has(f.id));
    const other: ClusterFace = { ...copies[0]!, id: 999_999, photoId: 999_999, box: { cx: 0.2, cy: 0.3, w: 0.1 } };
    const all = [...faces, other];
    const r = clusterFaces(all, (i) => (i === all.length - 1 ? copies.map((c) => ({ j: faces.indexOf(c), similarity: 0.99 })) : knn(i)));
    const person = r.clusters.find((c) => c.includes(all.length - 1));
    assert.ok(person, 'a second photo makes him a person');
    assert.equal(person.length, 5, 'with every copy');
  });
});

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
