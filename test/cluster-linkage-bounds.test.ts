/**
 * @file The agglomeration computes a pair's linkage only when an upper bound of it reaches the
 * top of its queue (native/people/cluster.ts, agglomerate). This checks that shortcut against
 * the plain algorithm written out here: at every step compute every adjacent pair's average
 * linkage from the float32 sums and merge the best one (margin, then smaller roots). Faces are
 * the BBT portraits' real embeddings, replayed with noise into a few hundred faces so that
 * people grow through long chains of merges, at the product's rules and at looser linkages
 * where whole groups of people fuse (the bounds are stressed hardest there).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CLUSTER_RULES, clusterFaces, dot32, isGoodFace, mergeThreshold, type ClusterFace, type ClusterRules, type KnnEdge } from '../native/people/cluster.ts';
import { seededRandom } from './seeded-random.ts';
import { Store } from '../native/store/index.ts';
import { indexedFixtureCopy } from './indexed-fixture.ts';

const COPIES = 6;
const K = 12;

/** Plain average-linkage agglomeration over the kNN edges ≥ the linkage floor, every pair recomputed at every step. */
function referenceClusters(faces: readonly ClusterFace[], lists: readonly KnnEdge[][], p: ClusterRules): number[][] {
  const n = faces.length;
  const sum = faces.map((f) => f.vector);
  const count = new Array<number>(n).fill(1);
  const members = faces.map((_, i) => [i]);
  const adj = faces.map(() => new Set<number>());
  lists.forEach((list, i) => {
    for (const e of list) {
      if (e.similarity < p.linkage || e.j === i) continue;
      adj[i]!.add(e.j);
      adj[e.j]!.add(i);
    }
  });
  const alive = new Set(faces.map((_, i) => i));
  for (;;) {
    let best: { margin: number; a: number; b: number } | null = null;
    for (const a of alive) {
      for (const b of adj[a]!) {
        if (b <= a) continue;
        const sim = dot32(sum[a]!, sum[b]!) / (count[a]! * count[b]!);
        if (sim < mergeThreshold(p, count[a]!, count[b]!)) continue;
        const margin = sim - mergeThreshold(p, count[a]!, count[b]!);
        if (!best || margin > best.margin || (margin === best.margin && (a < best.a || (a === best.a && b < best.b)))) best = { margin, a, b };
      }
    }
    if (!best) break;
    const { a, b } = best; // a < b: a survives, as in the product
    const acc = Float32Array.from(sum[a]!);
    for (let d = 0; d < acc.length; d++) acc[d]! += sum[b]![d]!;
    sum[a] = acc;
    count[a]! += count[b]!;
    members[a]!.push(...members[b]!);
    for (const c of adj[b]!) {
      adj[c]!.delete(b);
      if (c !== a) {
        adj[c]!.add(a);
        adj[a]!.add(c);
      }
    }
    adj[a]!.delete(b);
    alive.delete(b);
  }
  return [...alive].map((r) => members[r]!.sort((x, y) => x - y)).sort((x, y) => x[0]! - y[0]!);
}

describe('agglomeration with linkage bounds', () => {
  let faces: ClusterFace[];
  let lists: KnnEdge[][];

  before(async () => {
    const store = new Store((await indexedFixtureCopy('bbt')).db);
    const [model] = store.faces.modelCounts();
    const real = [...store.faces.iterate(model!.modelId)].filter((f) => isGoodFace(f)).map((f) => f.embedding);
    store.close();
    // Each copy: the real vectors with their coordinates permuted (strangers to the other copies) and noise added.
    const rand = seededRandom(7);
    const dim = real[0]!.length;
    faces = [];
    for (let c = 0; c < COPIES; c++) {
      const perm = Array.from({ length: dim }, (_, i) => i).sort(() => rand() - 0.5);
      for (const v of real) {
        const w = Float32Array.from({ length: dim }, (_, d) => v[c === 0 ? d : perm[d]!]! + (rand() - 0.5) * 0.04);
        const norm = Math.sqrt(dot32(w, w));
        for (let d = 0; d < dim; d++) w[d]! /= norm;
        faces.push({ id: faces.length + 1, photoId: faces.length + 1, vector: w, good: true });
      }
    }
    // Exact kNN (every pair), as the index would answer.
    lists = faces.map((f, i) =>
      faces
        .map((g, j) => ({ j, similarity: dot32(f.vector, g.vector) }))
        .filter((e) => e.j !== i)
        .sort((x, y) => y.similarity - x.similarity || x.j - y.j)
        .slice(0, K),
    );
  });

  for (const [label, linkage, sizeBonus, largest] of [
    ['the product rules', CLUSTER_RULES.linkage, CLUSTER_RULES.sizeBonus, 5],
    ['a loose linkage (people fuse)', 0.1, 0.05, 10],
    ['no size bonus', 0.3, 0, 5],
  ] as const) {
    it(`merges exactly as computing every pair at every step, at ${label}`, () => {
      const p: ClusterRules = { ...CLUSTER_RULES, linkage, sizeBonus, nearDuplicates: null, minClusterSize: 1 };
      const got = clusterFaces(faces, (i) => lists[i]!, {}, p);
      const want = referenceClusters(faces, lists, p);
      assert.ok(want.some((c) => c.length >= largest), `a person of ${largest}+ faces grows through a chain of merges`);
      assert.deepEqual(got.clusters, want);
      assert.deepEqual(got.unassigned, []);
    });
  }

  it('clusters the same lists given in flat arrays (a list in any order, self and strays among them) the same', () => {
    const k = K + 2;
    const counts = new Int32Array(faces.length);
    const j = new Int32Array(faces.length * k).fill(-1);
    const similarity = new Float64Array(faces.length * k);
    lists.forEach((list, i) => {
      // Least similar first (every list out of order), the face itself, a position that is no face.
      const rows: Array<[number, number]> = [...list.map((e): [number, number] => [e.j, e.similarity]).reverse(), [i, 1], [faces.length + 3, 0.99]];
      rows.forEach(([jj, s], r) => {
        j[i * k + r] = jj;
        similarity[i * k + r] = s;
      });
      counts[i] = rows.length;
    });
    for (const linkage of [CLUSTER_RULES.linkage, 0.1]) {
      const p: ClusterRules = { ...CLUSTER_RULES, linkage };
      const flat = clusterFaces(faces, { k, counts, j, similarity }, {}, p);
      assert.ok(flat.clusters.some((c) => c.length >= 5));
      assert.deepEqual(flat, clusterFaces(faces, (i) => lists[i]!, {}, p));
    }
  });

  it('merges exact copies (many linkages equal to the bit) as the reference does', () => {
    // Every vector twice (exact copies in other photos): many pairs share one linkage to the bit.
    const twins = faces.slice(0, 90).flatMap((f) => [f, { ...f, id: f.id + 10_000, photoId: f.photoId + 10_000 }]);
    const exact = twins.map((f, i) =>
      twins
        .map((g, j) => ({ j, similarity: dot32(f.vector, g.vector) }))
        .filter((e) => e.j !== i)
        .sort((x, y) => y.similarity - x.similarity || x.j - y.j)
        .slice(0, K),
    );
    const p: ClusterRules = { ...CLUSTER_RULES, nearDuplicates: null, minClusterSize: 1 };
    const got = clusterFaces(twins, (i) => exact[i]!, {}, p);
    assert.ok(got.clusters.some((c) => c.length >= 6));
    const sorted = (clusters: number[][]) => clusters.map((c) => [...c].sort((x, y) => x - y)).sort((x, y) => x[0]! - y[0]!);
    assert.deepEqual(sorted(got.clusters), sorted(referenceClusters(twins, exact, p)));
  });
});
