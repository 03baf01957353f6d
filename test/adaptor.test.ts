/**
 * @file The triplet-loss adaptor (native/people/adaptor.ts): its analytic gradient agrees with
 * finite differences, training on a synthetic library with a known hard pair (two people who
 * differ only along a direction the PCA start drops) tells them apart without losing anyone
 * else, it changes nothing when there is nothing to learn, the same seed gives the same W, and
 * the training time at the app's size is printed (not asserted: the machine is shared).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from './seeded-random.ts';
import { Adaptor, mineSemiHard, tripletObjective, type NotPerson, type Triplet, type TripletFace } from '../native/people/adaptor.ts';

function gaussian(rand: () => number): number {
  const u = Math.max(1e-12, rand()), v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  return v.map((x) => x / n);
}

interface Library {
  faces: Array<{ vector: Float32Array; personId: number }>;
  dim: number;
}

/**
 * `people` people in `dim` dimensions: centres in the first half of the dimensions, noise on
 * all. People 1 and 2 are the hard pair: the same centre, apart only along the last dimension,
 * which carries almost none of the library's variance, so a PCA start drops it.
 */
function syntheticLibrary(people: number, perPerson: number, dim: number, seed: number): Library {
  const rand = seededRandom(seed);
  const half = dim / 2;
  const centres = Array.from({ length: people }, () => Float32Array.from({ length: dim }, (_, j) => (j < half ? gaussian(rand) : 0)));
  centres[1]!.set(centres[0]!);
  centres[0]![dim - 1] = 1;
  centres[1]![dim - 1] = -1;
  const faces: Library['faces'] = [];
  centres.forEach((c, p) => {
    for (let i = 0; i < perPerson; i++) {
      const v = Float32Array.from(c, (x, j) => x + (j < half ? 0.35 : 0.03) * gaussian(rand));
      faces.push({ vector: unit(v), personId: p + 1 });
    }
  });
  return { faces, dim };
}

/** Nearest-centroid accuracy of `probes` in the adapted space, centroids from `train`. */
function accuracy(adaptor: Adaptor, train: readonly TripletFace[], probes: readonly TripletFace[]): number {
  const sums = new Map<number, Float32Array>();
  for (const f of train) {
    const a = adaptor.apply(f.vector);
    const s = sums.get(f.personId) ?? new Float32Array(a.length);
    for (let j = 0; j < a.length; j++) s[j]! += a[j]!;
    sums.set(f.personId, s);
  }
  let right = 0;
  for (const p of probes) {
    const a = adaptor.apply(p.vector);
    let best = -1, bestSim = -Infinity;
    for (const [id, c] of sums) {
      const cu = unit(c);
      let s = 0;
      for (let j = 0; j < a.length; j++) s += a[j]! * cu[j]!;
      if (s > bestSim) (bestSim = s), (best = id);
    }
    if (best === p.personId) right++;
  }
  return right / probes.length;
}

describe('adaptor', () => {
  it('has an analytic gradient that agrees with finite differences', () => {
    const rand = seededRandom(7);
    const inDim = 6, outDim = 3;
    const xs = Array.from({ length: 6 }, () => unit(Float32Array.from({ length: inDim }, () => gaussian(rand))));
    const W = Float32Array.from({ length: inDim * outDim }, () => gaussian(rand) * 0.5);
    const W0 = Float32Array.from({ length: inDim * outDim }, () => gaussian(rand) * 0.5);
    // A large margin keeps every triplet active, so the objective is smooth around W.
    const triplets: Triplet[] = [[0, 1, 2], [1, 0, 3], [4, 5, 0], [5, 4, 1]];
    const alpha = 5, lambda = 0.3;
    const { grad, active } = tripletObjective(W, W0, inDim, outDim, xs, triplets, triplets.length, alpha, lambda);
    assert.equal(active, 4);
    const h = 1e-3;
    let worst = 0;
    for (let k = 0; k < W.length; k++) {
      const plus = W.slice(), minus = W.slice();
      plus[k]! += h;
      minus[k]! -= h;
      const numeric = (tripletObjective(plus, W0, inDim, outDim, xs, triplets, 4, alpha, lambda).loss - tripletObjective(minus, W0, inDim, outDim, xs, triplets, 4, alpha, lambda).loss) / (plus[k]! - minus[k]!);
      worst = Math.max(worst, Math.abs(numeric - grad[k]!) / Math.max(1e-3, Math.abs(numeric)));
    }
    assert.ok(worst < 1e-3, `relative gradient error ${worst}`);
  });

  it('mines the closest negative farther than the positive, else the farthest', () => {
    // Points on a line (1-d "embedding"): anchor 0 at 0, positive 1 at 0.5; negatives at 0.3, 0.7, 0.9.
    const f = Float64Array.from([0, 0.5, 0.3, 0.7, 0.9]);
    const person = Int32Array.from([1, 1, 2, 3, 4]);
    const { triplets, pairs } = mineSemiHard(f, 1, person, 2, (a, q) => person[q] !== person[a]);
    assert.equal(pairs, 2);
    // Anchor 0: d(a,p)=0.25; negatives 0.09, 0.49, 0.81 → semi-hard 3. Anchor 1: d=0.25; 0.04, 0.04, 0.16 → none farther → farthest, 2 (0.04, first of the tie) or 4 (0.16).
    assert.deepEqual(triplets, [[0, 1, 3], [1, 0, 4]]);
  });

  it('learns a known hard pair apart and keeps everyone else, on a synthetic library', () => {
    const lib = syntheticLibrary(30, 12, 32, 3);
    const start = Adaptor.start(lib.faces.map((f) => f.vector), 8, 1);
    // The user named people 1–10 with 6 faces each; the other 6 of each are asked about.
    const named = lib.faces.filter((f) => f.personId <= 10);
    const train = named.filter((_, i) => i % 12 < 6);
    const probes = named.filter((_, i) => i % 12 >= 6);
    const pair = probes.filter((f) => f.personId <= 2);
    const others = probes.filter((f) => f.personId > 2);
    const before = { pair: accuracy(start, train, pair), others: accuracy(start, train, others) };
    const trained = start.train(train, [], { steps: 200, learningRate: 1e-2, lambda: 0.01, people: 10, faces: 4 });
    const after = { pair: accuracy(trained, train, pair), others: accuracy(trained, train, others) };
    console.log(`hard pair: ${(before.pair * 100).toFixed(0)}% → ${(after.pair * 100).toFixed(0)}%; others ${(before.others * 100).toFixed(0)}% → ${(after.others * 100).toFixed(0)}%`);
    assert.ok(before.pair <= 0.75, `the PCA start should confuse the pair (${before.pair})`);
    assert.ok(after.pair >= 0.9, `the trained map should tell the pair apart (${after.pair})`);
    assert.ok(after.others >= before.others, `others ${before.others} → ${after.others}`);
    assert.equal(trained.version, 1);
  });

  it('leaves W unchanged when there is nothing to learn, and learns from "not this person" alone', () => {
    const lib = syntheticLibrary(10, 6, 16, 5);
    const start = Adaptor.start(lib.faces.map((f) => f.vector), 4, 1);
    const one = lib.faces.filter((f) => f.personId === 3);
    assert.deepEqual(start.train(one).W, start.W, 'one named person, no negatives');
    assert.deepEqual(start.train(lib.faces.filter((f, i) => i % 6 === 0)).W, start.W, 'one face a person: no positive pairs');
    const declined: NotPerson[] = lib.faces.filter((f) => f.personId === 4).map((f) => ({ vector: f.vector, personId: 3 }));
    assert.notDeepEqual(start.train(one, declined, { alpha: 1 }).W, start.W, 'declined faces are negatives');
  });

  it('gives the same W for the same seed, another for another seed', () => {
    const lib = syntheticLibrary(12, 6, 16, 9);
    const start = Adaptor.start(lib.faces.map((f) => f.vector), 4, 1);
    assert.deepEqual(Adaptor.start(lib.faces.map((f) => f.vector), 4, 1).W, start.W);
    const a = start.train(lib.faces, [], { seed: 4, steps: 20 });
    const b = start.train(lib.faces, [], { seed: 4, steps: 20 });
    const c = start.train(lib.faces, [], { seed: 5, steps: 20 });
    assert.deepEqual(a.W, b.W);
    assert.notDeepEqual(a.W, c.W);
    // Warm start: training goes on from the previous W, toward the same start.
    const warm = a.train(lib.faces, [], { seed: 4, steps: 20 });
    assert.equal(warm.version, 2);
    assert.deepEqual(warm.W0, start.W0);
  });

  it('trains at the app size (300 people × 10 faces, 704 → 128), time printed', () => {
    const rand = seededRandom(11);
    const faces: TripletFace[] = [];
    for (let p = 1; p <= 300; p++) {
      const c = Float32Array.from({ length: 704 }, () => gaussian(rand));
      for (let i = 0; i < 10; i++) faces.push({ personId: p, vector: unit(c.map((x) => x + 0.8 * gaussian(rand))) });
    }
    let t0 = performance.now();
    const start = Adaptor.start(faces.map((f) => f.vector));
    const pcaMs = performance.now() - t0;
    t0 = performance.now();
    const first = start.train(faces);
    const coldMs = performance.now() - t0;
    t0 = performance.now();
    const second = first.train(faces);
    const warmMs = performance.now() - t0;
    console.log(`PCA start on ${faces.length} vectors: ${pcaMs.toFixed(0)} ms; training update (${second.stats.steps} steps of 16 × 4): ${coldMs.toFixed(0)} ms, warm ${warmMs.toFixed(0)} ms`);
    assert.equal(second.W.length, 704 * 128);
  });
});
