/**
 * @file `npm run bench:simd -- [--db lfw.db]`: whether the namer's hand-assembled WebAssembly
 * SIMD module (native/people/simd-kernels.ts) earns its place against plain Float32Array loops
 * (its scalar reference), at the app's sizes: 704-d vectors, 3,000 named faces, 300 people.
 * First the kernels alone on the matrix products training and scoring do (synthetic unit
 * vectors: timing does not depend on the values); then, with --db (an indexed lfw-dev), what a
 * user waits for: training from scratch, retraining after a naming change (warm start), and
 * scoring every unassigned face for suggestions, with each kind of kernel end to end.
 */
import { parseArgs } from 'node:util';
import { Namer, type NamedExample } from '../native/people/classify.ts';
import { paddedDim, Projection, scalarKernels, simdKernels, type KernelFactory } from '../native/people/simd-kernels.ts';
import { Store } from '../native/store/index.ts';
import { seededRandom } from '../test/seeded-random.ts';
import { machine, machineLine, printJson, round } from './common.ts';
import { labelledFaces } from './labels.ts';

const DIM = 704;
const FACES = 3000;
const PEOPLE = 300;
/** Unassigned faces scored for suggestions in one call. */
const PROBES = 2000;
/** Coordinate-descent steps timed (each: one dot and one axpy on a 704-d face). */
const STEPS = 100_000;

const KINDS: Array<[string, KernelFactory]> = [
  ['simd', simdKernels],
  ['scalar', scalarKernels],
];

/** Median wall time of `fn` over `runs` runs, after one warm-up run, in ms. */
function timeMs(runs: number, fn: () => void): number {
  fn();
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

/**
 * Median time of `fn` on a fresh input from `make` each run (made untimed): a namer builds its
 * scoring matrix on first use, and after every naming change the user gets a fresh namer.
 */
function timeFresh<T>(runs: number, make: () => T, fn: (x: T) => void): number {
  fn(make());
  const t: number[] = [];
  for (let r = 0; r < runs; r++) {
    const x = make();
    const t0 = performance.now();
    fn(x);
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

function unitVectors(n: number, d: number, rand: () => number): Float32Array[] {
  return Array.from({ length: n }, () => {
    const v = Float32Array.from({ length: d }, () => rand() - 0.5);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

interface KernelTimes {
  /** One full check: every person's weights against every face (rowsDot2 pairs over the face matrix). */
  fullCheckMs: number;
  /** STEPS coordinate-descent steps (dot + axpy). */
  stepsMs: number;
  /** Scores of PROBES faces against PEOPLE scorers (what suggestMany does). */
  scoreMs: number;
}

function kernelTimes(make: KernelFactory, faces: Float32Array[], weights: Float32Array[]): KernelTimes {
  const dp = paddedDim(DIM), rows = Math.ceil(FACES / 4) * 4;
  const xAt = 0, wAt = 4 * rows * dp, outAt = wAt + 4 * PEOPLE * dp;
  const k = make(outAt + 4 * PEOPLE * rows + 64);
  const mem = new Float32Array(k.memory.buffer);
  faces.forEach((v, i) => mem.set(v, (xAt >> 2) + i * dp));
  weights.forEach((v, p) => mem.set(v, (wAt >> 2) + p * dp));
  const fullCheckMs = timeMs(3, () => {
    for (let p = 0; p + 1 < PEOPLE; p += 2) k.rowsDot2(xAt, rows, wAt + 4 * p * dp, wAt + 4 * (p + 1) * dp, dp, outAt + 4 * p * rows, outAt + 4 * (p + 1) * rows);
  });
  const stepsMs = timeMs(3, () => {
    for (let s = 0; s < STEPS; s++) {
      const at = xAt + 4 * (s % FACES) * dp, w = wAt + 4 * (s % PEOPLE) * dp;
      const g = k.dot(w, at, dp);
      k.axpy(w, g > 0 ? -1e-6 : 1e-6, at, dp);
    }
  });
  const projection = new Projection(weights, new Float64Array(PEOPLE), DIM, make);
  const probes = faces.slice(0, PROBES);
  const scoreMs = timeMs(3, () => projection.apply(probes));
  return { fullCheckMs, stepsMs, scoreMs };
}

interface UserTimes {
  examples: number;
  people: number;
  coldMs: number;
  /** Retrain after naming one more face, and after moving five faces between people (warm starts). */
  addOneMs: number;
  moveFiveMs: number;
  /** suggestMany over PROBES faces. */
  suggestMs: number;
  /** Faces whose best person differs from the SIMD namer's (0 for the SIMD row). */
  disagreements: number;
}

/** The user's waits on the most-photographed 300 people of an indexed lfw-dev (timeNamer's protocol in naming-eval.ts). */
function userTimes(dbPath: string): Array<[string, UserTimes]> {
  const store = new Store(dbPath);
  const { faces } = labelledFaces(store);
  store.close();
  const byLabel = new Map<string, typeof faces>();
  for (const f of faces) if (f.label !== null) byLabel.set(f.label, [...(byLabel.get(f.label) ?? []), f]);
  const groups = [...byLabel.entries()].filter(([, l]) => l.length >= 2).sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1)).slice(0, PEOPLE);
  const examples: NamedExample[] = groups.flatMap(([, list], p) => list.map((f) => ({ vector: f.row.embedding, personId: p + 1, faceId: f.row.id })));
  const used = new Set(examples.map((e) => e.faceId));
  const spare = faces.filter((f) => !used.has(f.row.id));
  const probes = spare.slice(0, PROBES).map((f) => f.row.embedding);
  const added = [...examples, { vector: spare[0]!.row.embedding, personId: 1, faceId: spare[0]!.row.id }];
  let moved = 0;
  const movedFive = examples.map((e) => (e.personId === 2 && moved++ < 5 ? { ...e, personId: 3 } : e));
  const out: Array<[string, UserTimes]> = [];
  let reference: Array<number | undefined> = [];
  for (const [kind, make] of KINDS) {
    const base = Namer.train(examples, undefined, undefined, make);
    const best = base.bestMany(probes).map((s) => s?.personId);
    if (kind === 'simd') reference = best;
    out.push([
      kind,
      {
        examples: examples.length,
        people: groups.length,
        coldMs: timeMs(3, () => Namer.train(examples, undefined, undefined, make)),
        addOneMs: timeMs(5, () => base.retrain(added)),
        moveFiveMs: timeMs(5, () => base.retrain(movedFive)),
        suggestMs: timeFresh(5, () => base.retrain(examples), (namer) => namer.suggestMany(probes)),
        disagreements: best.filter((p, i) => p !== reference[i]).length,
      },
    ]);
  }
  return out;
}

function main(): void {
  const { values } = parseArgs({ options: { db: { type: 'string' } } });
  const m = machine();
  console.log(machineLine(m));
  const rand = seededRandom(7);
  const faces = unitVectors(FACES, DIM, rand);
  const weights = unitVectors(PEOPLE, DIM, rand);
  console.log(`kernels at ${DIM}-d, ${FACES} faces, ${PEOPLE} people (medians of 3):`);
  const kernels = KINDS.map(([kind, make]) => [kind, kernelTimes(make, faces, weights)] as const);
  for (const [kind, t] of kernels) {
    console.log(`  ${kind.padEnd(6)}  full check ${t.fullCheckMs.toFixed(1)} ms   ${STEPS / 1000}k solver steps ${t.stepsMs.toFixed(1)} ms   scoring ${PROBES} faces ${t.scoreMs.toFixed(1)} ms`);
  }
  const [simd, scalar] = [kernels[0]![1], kernels[1]![1]];
  console.log(`  scalar / simd: full check ${(scalar.fullCheckMs / simd.fullCheckMs).toFixed(2)}×, solver steps ${(scalar.stepsMs / simd.stepsMs).toFixed(2)}×, scoring ${(scalar.scoreMs / simd.scoreMs).toFixed(2)}×`);
  let user: Array<[string, UserTimes]> | undefined;
  if (values.db) {
    user = userTimes(values.db);
    console.log(`\nwhat a user waits for, ${user[0]![1].examples} named faces of ${user[0]![1].people} people from ${values.db} (medians):`);
    for (const [kind, t] of user) {
      console.log(
        `  ${kind.padEnd(6)}  train ${t.coldMs.toFixed(0)} ms   retrain +1 face ${t.addOneMs.toFixed(0)} ms   retrain 5 moved ${t.moveFiveMs.toFixed(0)} ms   suggestMany(${PROBES}) ${t.suggestMs.toFixed(0)} ms   best person differs on ${t.disagreements} faces`,
      );
    }
    const [a, b] = [user[0]![1], user[1]![1]];
    console.log(`  scalar / simd: train ${(b.coldMs / a.coldMs).toFixed(2)}×, retrain +1 ${(b.addOneMs / a.addOneMs).toFixed(2)}×, retrain 5 moved ${(b.moveFiveMs / a.moveFiveMs).toFixed(2)}×, suggestions ${(b.suggestMs / a.suggestMs).toFixed(2)}×`);
  }
  const r = (t: object) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, typeof v === 'number' ? round(v, 2) : v]));
  printJson({ bench: 'simd-kernels', machine: m, dim: DIM, faces: FACES, people: PEOPLE, kernels: Object.fromEntries(kernels.map(([k, t]) => [k, r(t)])), user: user && Object.fromEntries(user.map(([k, t]) => [k, r(t)])) });
}

main();
