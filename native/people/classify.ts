/**
 * @file Naming suggestions: which named person an unnamed face or cluster most likely is, or
 * nobody. A one-vs-rest linear SVM (L2-regularised, solved by liblinear's dual coordinate
 * descent) trained on the faces the user confirmed, combined with the cosine similarity to
 * each person's centroid, and gated so that faces of people the user never named mostly get
 * no suggestion. Pure: no SQL, no I/O; the caller hands in vectors and gets person ids back.
 * The constants below were chosen by bench/naming-eval.ts; its report gives the figures.
 */

/** One face the user has decided about. */
export interface NamedExample {
  /** L2-normalised embedding; every example and query must come from the same model. */
  vector: Float32Array;
  personId: number;
  /**
   * Stable key (the store's face id). With it, retraining keeps the solver state of faces
   * that did not change; without it the vector object itself is the key.
   */
  faceId?: number;
  /** The user said this face is NOT `personId` (a rejected suggestion): a negative for that person only. */
  rejected?: boolean;
}

/** A named person the namer proposes for a face or cluster. */
export interface Suggestion {
  personId: number;
  /** 0–1, the Platt mapping of `score` (see CONFIDENCE); what the UI shows as "94%". */
  confidence: number;
  /** The gated quantity: centroidSimilarity + marginWeight · margin. */
  score: number;
  /** SVM decision value w·x + b for the person (> 0: on the person's side of the hyperplane). */
  margin: number;
  /** Cosine similarity to the person's centroid (normalised mean of their confirmed faces). */
  centroidSimilarity: number;
}

export interface NamerOptions {
  /** SVM cost (inverse regularisation). */
  C?: number;
  /** Hinge ('l1') or squared hinge ('l2') loss. */
  loss?: 'l1' | 'l2';
  /** Weight of the SVM margin in the score; 0 = nearest centroid alone. */
  marginWeight?: number;
  /** Smallest score that becomes a suggestion. */
  gate?: number;
  /** Dual coordinate descent stopping tolerance (liblinear's eps). */
  eps?: number;
  /** Most coordinate descent epochs per person and solve. */
  maxIter?: number;
  /** Seed of the per-person shuffles: the same examples always give the same namer. */
  seed?: number;
}

/*
 * The shipped setting, chosen by bench/naming-eval.ts on lfw-dev people A–D alone (tuning),
 * then read once on E–H (held out); ensemble embedding, five-shot protocol (5 confirmed faces
 * a named person), 8 rounds a half pooled: 3,110 closed-set and 21,194 never-named faces
 * (tuning), 3,507 and 13,451 (held out). Counts are faces wrongly named at a given
 * correct-accept level (99% / 99.5%, tuning):
 *   centroid alone 2 / 51;  SVM margin alone, L1: C=0.1 3,592 / 6,544, C=1 40 / 145, C=3 22 / 64;
 *   centroid + 0.5·margin (L1, C=3) 5 / 21 — the fewest summed over both levels of 58 rules.
 * C: with tens of faces a person the classes are separable, so any C ≥ 3 is the hard-margin
 * solution (C=3 and C=10 tie to the face); a small C drags every margin towards −1 and the
 * margin alone stops separating strangers (C=0.1: 17% false names at 99% correct-accept).
 * L1 vs L2 loss tie within a few faces; L1 keeps half the support vectors (44 vs ~80 a person).
 * Gate: the tuning score at which 99.0% of closed-set faces get their right name (top-1 99.77%,
 * 0.02% false names). Held out at the same gate: top-1 99.77%, correct-accept 99.69%, false
 * names 0.09% (12 of 13,451), no closed-set face named wrongly. Held out, the gate of the
 * centroid alone transferred better (1 false name, 99.66% correct-accept): cosine units mean
 * the same across libraries, margins depend on who else is named; see the issue report.
 */
export const NAMER_C = 3;
export const NAMER_LOSS: 'l1' | 'l2' = 'l1';
export const MARGIN_WEIGHT = 0.5;
export const SUGGEST_GATE = 0.6211;
/**
 * Confidence = 1 / (1 + exp(A·score + B)): Platt's logistic fit of "named correctly" on the
 * tuning scores (closed-set faces right = 1; wrong and never-named faces = 0), so it carries
 * LFW's mix of ~7 strangers per named face. At the gate it reads 0.74; held out, the rare
 * suggestions below 0.95 were right less often than stated (7 of 19), the 3,489 above it all were.
 */
export const CONFIDENCE = { A: -22.292, B: 12.776 };

const DEFAULTS: Required<NamerOptions> = {
  C: NAMER_C,
  loss: NAMER_LOSS,
  marginWeight: MARGIN_WEIGHT,
  gate: SUGGEST_GATE,
  eps: 0.1,
  maxIter: 1000,
  seed: 1,
};

/** The constant feature appended to every vector, so the bias is learned (and regularised) like a weight, as liblinear's -B 1. */
const BIAS = 1;
/** Negatives every person's first working set starts with, spread evenly over the examples: they pin the bias. */
const START_NEGATIVES = 32;
/** A cold person's first working set also holds the negatives most similar to their centroid: the likely support vectors. */
const START_NEAREST = 128;
/** At most this many violators join a working set per full check, worst first: the rest often stop violating once those are in. */
const ADD_PER_CHECK = 64;
/**
 * Share of examples in doubt above which a full check replaces single ones: a full check costs
 * about what a few hundred single margins do, and it also renews the reference.
 */
const FULL_CHECK_SHARE = 1 / 8;
/** An idle (zero-dual) negative leaves the working set once its margin is past 1 + this. */
const PRUNE = 0.25;
/** Rounds of solve → check before settling (far above what the benchmarks need). */
const MAX_ROUNDS = 50;

// ---------------------------------------------------------------------------------------
// f32x4 kernels. Every cost of training is a dot product of a face with a weight vector, and
// WebAssembly SIMD does those ~5× faster than scalar JS (a full pass over 2,500 faces × 300
// people: ~55 ms instead of ~350 ms). The module is a few dozen instructions, assembled
// here from named opcodes so no toolchain is needed; each function's loop is given above it.
// ---------------------------------------------------------------------------------------

/** The slice of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Kernels {
  memory: WasmMemory;
  /** For r in [0, rows) (rows % 4 == 0): out[r] = Σ_j x[r·dim + j] · w[j]. Pointers in bytes, dim % 8 == 0. */
  rowsDot(x: number, rows: number, w: number, dim: number, out: number): void;
  /** rowsDot for two weight vectors in one pass over x (x is the big operand: each load serves both). */
  rowsDot2(x: number, rows: number, wA: number, wB: number, dim: number, outA: number, outB: number): void;
  /** Σ_j a[j] · b[j]. */
  dot(a: number, b: number, dim: number): number;
  /** y[j] += alpha · x[j]. */
  axpy(y: number, alpha: number, x: number, dim: number): void;
}

const uleb = (v: number): number[] => {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
};
const sleb = (v: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  geu: [0x4f],
  f32add: [0x92],
  /** block; loop; (exit when the i32 on top is true via `exitIf`) …; continue; end; end */
  loop: (body: number[]) => [0x02, 0x40, 0x03, 0x40, ...body, 0x0c, 0x00, 0x0b, 0x0b],
  exitIf: [0x0d, 0x01],
  vload: [0xfd, ...uleb(0x00), 0x04, 0x00],
  vstore: [0xfd, ...uleb(0x0b), 0x04, 0x00],
  vzero: [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)],
  fmul: [0xfd, ...uleb(0xe6)],
  fadd: [0xfd, ...uleb(0xe4)],
  splat: [0xfd, ...uleb(0x13)],
  lane: (l: number) => [0xfd, ...uleb(0x1f), l],
  f32store: [0x38, 0x02, 0x00],
};
/** Horizontal sum of the v128 in local `v`. */
const hsum = (v: number) => [...op.get(v), ...op.lane(0), ...op.get(v), ...op.lane(1), ...op.f32add, ...op.get(v), ...op.lane(2), ...op.get(v), ...op.lane(3), ...op.f32add, ...op.f32add];
/** acc += load(base + j) · wv  (acc, base, j, wv are locals). */
const fma = (acc: number, base: number, j: number, wv: number) => [...op.get(acc), ...op.get(base), ...op.get(j), ...op.add, ...op.vload, ...op.get(wv), ...op.fmul, ...op.fadd, ...op.set(acc)];

function assemble(): Uint8Array {
  // rowsDot(x, rows, w, dim, out): for r in 0..rows step 4, four accumulators share each load of w.
  //   locals 5 r, 6 j, 7 bytes(dim·4), 8..11 row pointers, 12..15 acc, 16 wv
  const rowsDot = [
    ...op.get(3), ...op.i32(2), ...op.shl, ...op.set(7),
    ...op.i32(0), ...op.set(5),
    ...op.loop([
      ...op.get(5), ...op.get(1), ...op.geu, ...op.exitIf,
      ...op.get(0), ...op.get(5), ...op.get(7), ...op.mul, ...op.add, ...op.tee(8),
      ...op.get(7), ...op.add, ...op.tee(9), ...op.get(7), ...op.add, ...op.tee(10), ...op.get(7), ...op.add, ...op.set(11),
      ...op.vzero, ...op.set(12), ...op.vzero, ...op.set(13), ...op.vzero, ...op.set(14), ...op.vzero, ...op.set(15),
      ...op.i32(0), ...op.set(6),
      ...op.loop([
        ...op.get(6), ...op.get(7), ...op.geu, ...op.exitIf,
        ...op.get(2), ...op.get(6), ...op.add, ...op.vload, ...op.set(16),
        ...fma(12, 8, 6, 16), ...fma(13, 9, 6, 16), ...fma(14, 10, 6, 16), ...fma(15, 11, 6, 16),
        ...op.get(6), ...op.i32(16), ...op.add, ...op.set(6),
      ]),
      ...[12, 13, 14, 15].flatMap((acc, k) => [
        ...op.get(4), ...op.get(5), ...op.i32(k), ...op.add, ...op.i32(2), ...op.shl, ...op.add, ...hsum(acc), ...op.f32store,
      ]),
      ...op.get(5), ...op.i32(4), ...op.add, ...op.set(5),
    ]),
  ];
  // rowsDot2(x, rows, wA, wB, dim, outA, outB): as rowsDot, 4 rows × 2 weight vectors a step.
  //   locals 7 r, 8 j, 9 bytes, 10..13 row pointers, 14..21 acc (row-major: 14+2r = A, 15+2r = B), 22 wa, 23 wb, 24 xv
  const fma2 = (r: number) => [
    ...op.get(10 + r), ...op.get(8), ...op.add, ...op.vload, ...op.set(24),
    ...op.get(14 + 2 * r), ...op.get(24), ...op.get(22), ...op.fmul, ...op.fadd, ...op.set(14 + 2 * r),
    ...op.get(15 + 2 * r), ...op.get(24), ...op.get(23), ...op.fmul, ...op.fadd, ...op.set(15 + 2 * r),
  ];
  const rowsDot2 = [
    ...op.get(4), ...op.i32(2), ...op.shl, ...op.set(9),
    ...op.i32(0), ...op.set(7),
    ...op.loop([
      ...op.get(7), ...op.get(1), ...op.geu, ...op.exitIf,
      ...op.get(0), ...op.get(7), ...op.get(9), ...op.mul, ...op.add, ...op.tee(10),
      ...op.get(9), ...op.add, ...op.tee(11), ...op.get(9), ...op.add, ...op.tee(12), ...op.get(9), ...op.add, ...op.set(13),
      ...[14, 15, 16, 17, 18, 19, 20, 21].flatMap((acc) => [...op.vzero, ...op.set(acc)]),
      ...op.i32(0), ...op.set(8),
      ...op.loop([
        ...op.get(8), ...op.get(9), ...op.geu, ...op.exitIf,
        ...op.get(2), ...op.get(8), ...op.add, ...op.vload, ...op.set(22),
        ...op.get(3), ...op.get(8), ...op.add, ...op.vload, ...op.set(23),
        ...fma2(0), ...fma2(1), ...fma2(2), ...fma2(3),
        ...op.get(8), ...op.i32(16), ...op.add, ...op.set(8),
      ]),
      ...[0, 1, 2, 3].flatMap((r) => [
        ...op.get(5), ...op.get(7), ...op.i32(r), ...op.add, ...op.i32(2), ...op.shl, ...op.add, ...hsum(14 + 2 * r), ...op.f32store,
        ...op.get(6), ...op.get(7), ...op.i32(r), ...op.add, ...op.i32(2), ...op.shl, ...op.add, ...hsum(15 + 2 * r), ...op.f32store,
      ]),
      ...op.get(7), ...op.i32(4), ...op.add, ...op.set(7),
    ]),
  ];
  // dot(a, b, dim) -> f32: two accumulators, 8 floats a step.   locals 3 j, 4 bytes, 5..6 acc
  const dot = [
    ...op.get(2), ...op.i32(2), ...op.shl, ...op.set(4),
    ...op.vzero, ...op.set(5), ...op.vzero, ...op.set(6),
    ...op.i32(0), ...op.set(3),
    ...op.loop([
      ...op.get(3), ...op.get(4), ...op.geu, ...op.exitIf,
      ...op.get(5), ...op.get(0), ...op.get(3), ...op.add, ...op.vload, ...op.get(1), ...op.get(3), ...op.add, ...op.vload, ...op.fmul, ...op.fadd, ...op.set(5),
      ...op.get(3), ...op.i32(16), ...op.add, ...op.set(3),
      ...op.get(6), ...op.get(0), ...op.get(3), ...op.add, ...op.vload, ...op.get(1), ...op.get(3), ...op.add, ...op.vload, ...op.fmul, ...op.fadd, ...op.set(6),
      ...op.get(3), ...op.i32(16), ...op.add, ...op.set(3),
    ]),
    ...op.get(5), ...op.get(6), ...op.fadd, ...op.set(5), ...hsum(5),
  ];
  // axpy(y, alpha, x, dim): y[j] += alpha·x[j].   locals 4 j, 5 bytes, 6 splat(alpha)
  const axpy = [
    ...op.get(3), ...op.i32(2), ...op.shl, ...op.set(5),
    ...op.get(1), ...op.splat, ...op.set(6),
    ...op.i32(0), ...op.set(4),
    ...op.loop([
      ...op.get(4), ...op.get(5), ...op.geu, ...op.exitIf,
      ...op.get(0), ...op.get(4), ...op.add,
      ...op.get(0), ...op.get(4), ...op.add, ...op.vload, ...op.get(6), ...op.get(2), ...op.get(4), ...op.add, ...op.vload, ...op.fmul, ...op.fadd,
      ...op.vstore,
      ...op.get(4), ...op.i32(16), ...op.add, ...op.set(4),
    ]),
  ];
  const code = (locals: number[][], body: number[]) => {
    const f = [...vec(locals), ...body, 0x0b];
    return [...uleb(f.length), ...f];
  };
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([
      [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0x00],
      [0x60, ...vec([[I32], [I32], [I32]]), 0x01, F32],
      [0x60, ...vec([[I32], [F32], [I32], [I32]]), 0x00],
      [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32]]), 0x00],
    ])),
    ...section(3, vec([[0], [1], [2], [3]])),
    ...section(5, vec([[0x00, 0x01]])),
    ...section(7, vec([[...name('rowsDot'), 0x00, 0], [...name('dot'), 0x00, 1], [...name('axpy'), 0x00, 2], [...name('rowsDot2'), 0x00, 3], [...name('memory'), 0x02, 0]])),
    ...section(10, vec([
      code([[7, I32], [5, V128]], rowsDot),
      code([[2, I32], [2, V128]], dot),
      code([[2, I32], [1, V128]], axpy),
      code([[7, I32], [11, V128]], rowsDot2),
    ])),
  ]);
}

let compiled: object | undefined;

/** A fresh kernel instance with its own memory of at least `bytes`. */
function kernels(bytes: number): Kernels {
  compiled ??= new wasm.Module(assemble());
  const inst = new wasm.Instance(compiled, {});
  const memory = inst.exports.memory as WasmMemory;
  const pages = Math.ceil(bytes / 65536);
  if (pages > 1) memory.grow(pages - 1);
  return {
    memory,
    rowsDot: inst.exports.rowsDot as Kernels['rowsDot'],
    rowsDot2: inst.exports.rowsDot2 as Kernels['rowsDot2'],
    dot: inst.exports.dot as Kernels['dot'],
    axpy: inst.exports.axpy as Kernels['axpy'],
  };
}

// ---------------------------------------------------------------------------------------

/** Deterministic 32-bit PRNG (xorshift32). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Per-person solver state: the working set with its dual variables, and the weights they give. */
interface PersonModel {
  personId: number;
  /** Weights (a view into the kernel memory, padded) and bias: always Σ alpha_i·y_i·x̃_i over the working set. */
  w: Float32Array;
  b: number;
  /** Byte offset of `w` in the kernel memory. */
  wAt: number;
  /** The weights at the last full check, and every example's margin under them (a view, padded). */
  ref: Float32Array;
  refB: number;
  refMargin: Float32Array;
  /** Example indices in the working set, and their dual variables. */
  ws: number[];
  alpha: number[];
  /** Positions of examples in `ws`, by example index (-1 = outside). */
  slot: Int32Array;
  /** Each example's label in this person's problem: +1 theirs, −1 a negative, 0 not in it. */
  y: Int8Array;
  /** Whether any example is a negative for this person (else the SVM term is not learned). */
  hasNegatives: boolean;
  centroid: Float32Array;
}

/** What training did, for benchmarks and logs. */
export interface TrainStats {
  ms: number;
  examples: number;
  people: number;
  /** Mean working-set size and support vectors per person at the end. */
  workingSet: number;
  supportVectors: number;
  /** Coordinate descent epochs summed over people and solves. */
  epochs: number;
  /** Full checks of one person's weights against every example. */
  columnChecks: number;
  /** Single margins recomputed because the weights moved too far for the bound. */
  rechecks: number;
  /** Solves run (all people on a cold start, the touched ones when warm). */
  solved: number;
  warm: boolean;
}

type Key = number | Float32Array;

/** Example indices grouped for building the per-person models (see Solver.rowLists). */
interface RowLists {
  own: Map<number, number[]>;
  rejectedFor: Map<number, number[]>;
  rejected: number[];
  labels: Int8Array;
  slots: Int32Array;
}
const keyOf = (e: NamedExample): Key => e.faceId ?? e.vector;

/** A trained namer; immutable. `retrain` returns a new one, warm-started from this one. */
export class Namer {
  /** The score is linear in x: s_k(x) = (c_k + μ·w_k)·x + μ·b_k, so one dot product per person. */
  private readonly scorer: Float32Array;
  private readonly scorerBias: Float64Array;

  private constructor(
    private readonly opts: Required<NamerOptions>,
    readonly dim: number,
    private readonly solver: Solver,
    readonly stats: TrainStats,
  ) {
    const models = solver.models;
    this.scorer = new Float32Array(models.length * dim);
    this.scorerBias = new Float64Array(models.length);
    models.forEach((m, k) => {
      const mu = m.hasNegatives ? opts.marginWeight : 0;
      for (let j = 0; j < dim; j++) this.scorer[k * dim + j] = m.centroid[j]! + mu * m.w[j]!;
      this.scorerBias[k] = mu * m.b;
    });
  }

  private scorerProjection?: Projection;
  private centroidProjection?: Projection;
  private marginProjection?: Projection;

  /** Named people, in the order of `explain`'s arrays. */
  get people(): number[] {
    return this.solver.models.map((m) => m.personId);
  }

  get options(): Readonly<Required<NamerOptions>> {
    return this.opts;
  }

  /** Train from scratch, or warm-started from `previous` when its solver options match. */
  static train(examples: readonly NamedExample[], opts: NamerOptions = {}, previous?: Namer): Namer {
    const t0 = performance.now();
    const o: Required<NamerOptions> = { ...DEFAULTS, ...stripUndefined(opts) };
    const ex = canonical(examples);
    const d = ex[0]?.vector.length ?? previous?.dim ?? 0;
    for (const e of ex) if (e.vector.length !== d) throw new Error(`examples mix vector sizes (${d} and ${e.vector.length})`);
    const warm = previous && previous.dim === d && sameSolverOptions(previous.opts, o) ? previous.solver : undefined;
    const solver = new Solver(ex, d, o);
    const stats = solver.run(warm);

    stats.ms = performance.now() - t0;
    return new Namer(o, d, solver, stats);
  }

  /** The namer for `examples` (the full current set of decisions), reusing this one's solution. */
  retrain(examples: readonly NamedExample[], opts: NamerOptions = {}): Namer {
    return Namer.train(examples, { ...this.opts, ...stripUndefined(opts) }, this);
  }

  /** Per-person SVM margin and centroid similarity of one vector, in `people` order (benchmarks, explanations). */
  explain(vector: Float32Array): { margin: Float64Array; centroidSimilarity: Float64Array } {
    const models = this.solver.models;
    const margin = new Float64Array(models.length), centroidSimilarity = new Float64Array(models.length);
    models.forEach((m, k) => {
      centroidSimilarity[k] = dot(m.centroid, vector);
      margin[k] = this.marginOf(m, vector);
    });
    return { margin, centroidSimilarity };
  }

  /** explain() for many vectors at once (SIMD kernels; what benchmarks use). */
  explainMany(vectors: readonly Float32Array[]): Array<{ margin: Float64Array; centroidSimilarity: Float64Array }> {
    const models = this.solver.models;
    this.centroidProjection ??= new Projection(models.map((m) => m.centroid), new Float64Array(models.length), this.dim);
    this.marginProjection ??= new Projection(
      models.map((m) => (m.hasNegatives ? m.w : new Float32Array(this.dim))),
      Float64Array.from(models, (m) => (m.hasNegatives ? m.b * BIAS : 0)),
      this.dim,
    );
    const c = this.centroidProjection.apply(vectors), w = this.marginProjection.apply(vectors);
    return vectors.map((_, r) => ({ margin: Float64Array.from(w[r]!), centroidSimilarity: Float64Array.from(c[r]!) }));
  }

  /**
   * The best person for each face and its figures, whether or not it passes the gate (null:
   * nobody named). The scores of a batch are one matrix product on the SIMD kernels (~0.1 µs
   * per face and person); the winner's score is then recomputed exactly in float64.
   */
  bestMany(vectors: readonly Float32Array[]): Array<Suggestion | null> {
    if (this.scorerBias.length === 0) return vectors.map(() => null);
    for (const v of vectors) if (v.length !== this.dim) throw new Error(`vector has ${v.length} dimensions, the namer ${this.dim}`);
    const K = this.scorerBias.length;
    this.scorerProjection ??= new Projection(
      Array.from({ length: K }, (_, k) => this.scorer.subarray(k * this.dim, (k + 1) * this.dim)),
      this.scorerBias,
      this.dim,
    );
    return this.scorerProjection.apply(vectors).map((scores, r) => {
      let k = 0;
      for (let c = 1; c < K; c++) if (scores[c]! > scores[k]!) k = c;
      const v = vectors[r]!, m = this.solver.models[k]!;
      const score = this.scoreOf(k, v);
      return { personId: m.personId, confidence: confidenceOf(score), score, margin: this.marginOf(m, v), centroidSimilarity: dot(m.centroid, v) };
    });
  }

  /** The best person for one face, gated or not. */
  best(vector: Float32Array): Suggestion | null {
    return this.bestMany([vector])[0]!;
  }

  /** suggest() for many faces at once (every unassigned face of a library, say). */
  suggestMany(vectors: readonly Float32Array[]): Array<Suggestion | null> {
    return this.bestMany(vectors).map((s) => (s && s.score >= this.opts.gate ? s : null));
  }

  /** The named person this face most likely is, or null when no one is likely enough. */
  suggest(vector: Float32Array): Suggestion | null {
    const s = this.best(vector);
    return s && s.score >= this.opts.gate ? s : null;
  }

  /**
   * One suggestion for a whole cluster: the person with the best mean score over its faces,
   * gated like a single face. The score is linear, so the mean score is the score of the mean
   * vector; what is noise in one face averages out.
   */
  suggestForCluster(vectors: readonly Float32Array[]): Suggestion | null {
    if (vectors.length === 0) return null;
    const mean = new Float32Array(this.dim);
    for (const v of vectors) for (let j = 0; j < this.dim; j++) mean[j]! += v[j]! / vectors.length;
    return this.suggest(mean);
  }

  private scoreOf(k: number, v: Float32Array): number {
    const d = this.dim, off = k * d, W = this.scorer;
    let s0 = 0, s1 = 0, j = 0;
    for (; j + 1 < d; j += 2) {
      s0 += W[off + j]! * v[j]!;
      s1 += W[off + j + 1]! * v[j + 1]!;
    }
    if (j < d) s0 += W[off + j]! * v[j]!;
    return s0 + s1 + this.scorerBias[k]!;
  }

  private marginOf(m: PersonModel, v: Float32Array): number {
    return m.hasNegatives ? dot(m.w, v) + m.b : 0;
  }
}

/** Faces a batch of suggestMany() takes through the kernel at once. */
const BATCH = 256;

/** rows · v + bias for a fixed set of rows and many vectors, on the SIMD kernels. */
class Projection {
  private readonly k: Kernels;
  private readonly dp: number;
  private readonly batchAt: number;
  private readonly outAt: number;

  constructor(
    rows: readonly Float32Array[],
    private readonly bias: Float64Array,
    private readonly d: number,
  ) {
    const M = rows.length;
    this.dp = Math.max(8, Math.ceil(d / 8) * 8);
    this.batchAt = 4 * M * this.dp;
    this.outAt = this.batchAt + 4 * BATCH * this.dp;
    this.k = kernels(this.outAt + 4 * M * BATCH + 64);
    const W = new Float32Array(this.k.memory.buffer, 0, M * this.dp);
    rows.forEach((r, m) => W.set(r.subarray(0, d), m * this.dp));
  }

  /** Per vector, its score against every row. */
  apply(vectors: readonly Float32Array[]): Float32Array[] {
    const M = this.bias.length, { dp, k } = this;
    const out: Float32Array[] = [];
    const batch = new Float32Array(this.k.memory.buffer, this.batchAt, BATCH * dp);
    const res = new Float32Array(this.k.memory.buffer, this.outAt, M * BATCH);
    for (let start = 0; start < vectors.length; start += BATCH) {
      const B = Math.min(BATCH, vectors.length - start);
      const rows = Math.ceil(B / 4) * 4;
      batch.fill(0);
      for (let r = 0; r < B; r++) batch.set(vectors[start + r]!.subarray(0, this.d), r * dp);
      let m = 0;
      for (; m + 1 < M; m += 2) k.rowsDot2(this.batchAt, rows, 4 * m * dp, 4 * (m + 1) * dp, dp, this.outAt + 4 * m * BATCH, this.outAt + 4 * (m + 1) * BATCH);
      if (m < M) k.rowsDot(this.batchAt, rows, 4 * m * dp, dp, this.outAt + 4 * m * BATCH);
      for (let r = 0; r < B; r++) {
        const scores = new Float32Array(M);
        for (let c = 0; c < M; c++) scores[c] = res[c * BATCH + r]! + this.bias[c]!;
        out.push(scores);
      }
    }
    return out;
  }
}

/** Platt mapping from score to confidence (CONFIDENCE, fitted on the tuning half). */
export function confidenceOf(score: number): number {
  return 1 / (1 + Math.exp(CONFIDENCE.A * score + CONFIDENCE.B));
}

/** Train a namer on the user's confirmed (and rejected) faces. */
export function trainNamer(examples: readonly NamedExample[], opts: NamerOptions = {}): Namer {
  return Namer.train(examples, opts);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function sameSolverOptions(a: Required<NamerOptions>, b: Required<NamerOptions>): boolean {
  return a.C === b.C && a.loss === b.loss && a.seed === b.seed && a.eps === b.eps;
}

/**
 * Examples in a canonical order (by face id, then input order for keyless ones), one per key,
 * person and kind: the namer must not depend on the order the caller listed faces in.
 */
function canonical(examples: readonly NamedExample[]): NamedExample[] {
  const seen = new Map<Key, Set<string>>();
  const out: Array<{ e: NamedExample; i: number }> = [];
  examples.forEach((e, i) => {
    const tag = `${e.personId}:${e.rejected ? 'r' : 'p'}`;
    const tags = seen.get(keyOf(e)) ?? new Set<string>();
    if (tags.has(tag)) return;
    tags.add(tag);
    seen.set(keyOf(e), tags);
    out.push({ e, i });
  });
  return out.sort((a, b) => (a.e.faceId ?? Infinity) - (b.e.faceId ?? Infinity) || a.i - b.i).map((x) => x.e);
}

/** Σ a[j]·b[j] over b's length (a may be padded). */
function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let j = 0; j < b.length; j++) s += a[j]! * b[j]!;
  return s;
}

function normalise(v: Float32Array): void {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  for (let j = 0; j < v.length; j++) v[j]! /= n;
}

/**
 * One-vs-rest L2-regularised linear SVM by dual coordinate descent (Hsieh et al. 2008, as in
 * liblinear's solve_l2r_l1l2_svc, with its shrinking), each person's problem kept to a working
 * set: the examples that are, or may become, support vectors. Examples outside it are
 * negatives whose margin was safe at the last full check (refMargin, under ref); while the
 * weights move by δ a margin moves by at most δ·‖x̃‖, so only examples that close to the line
 * need a fresh look. The result is liblinear's optimum to the same tolerance, while an epoch
 * touches ~100 faces instead of all, and a retrain after a few name changes touches only the
 * people whose problem changed.
 */
class Solver {
  readonly models: PersonModel[] = [];
  private readonly n: number;
  /** Rows padded to a multiple of 4 (zero rows), dimensions to a multiple of 8 (zeros). */
  private readonly rows: number;
  private readonly dp: number;
  private readonly k: Kernels;
  /** Byte offsets of the example matrix, the weights and the reference margins in kernel memory. */
  private readonly xAt: number;
  private readonly person: Int32Array;
  private readonly rejected: Uint8Array;
  /** ‖x̃_i‖² = ‖x_i‖² + BIAS². */
  private readonly sq: Float64Array;
  private readonly maxNorm: number;
  private readonly stats: TrainStats;

  constructor(
    readonly ex: readonly NamedExample[],
    private readonly d: number,
    private readonly o: Required<NamerOptions>,
  ) {
    const n = (this.n = ex.length);
    this.rows = Math.ceil(n / 4) * 4;
    this.dp = Math.max(8, Math.ceil(d / 8) * 8);
    const people = new Set(ex.filter((e) => !e.rejected).map((e) => e.personId)).size;
    this.k = kernels(4 * (this.rows * this.dp + people * this.dp * 2 + people * this.rows) + 64);
    this.xAt = 0;
    const X = this.x();
    ex.forEach((e, i) => X.set(e.vector, i * this.dp));
    this.person = Int32Array.from(ex, (e) => e.personId);
    this.rejected = Uint8Array.from(ex, (e) => (e.rejected ? 1 : 0));
    this.sq = new Float64Array(n);
    let maxSq = 0;
    for (let i = 0; i < n; i++) {
      this.sq[i] = dot(this.row(i), this.row(i)) + BIAS * BIAS;
      maxSq = Math.max(maxSq, this.sq[i]!);
    }
    this.maxNorm = Math.sqrt(maxSq);
    this.stats = { ms: 0, examples: n, people, workingSet: 0, supportVectors: 0, epochs: 0, columnChecks: 0, rechecks: 0, solved: 0, warm: false };
  }

  /** The example matrix (a fresh view each time: views die when memory grows, and it never grows after the constructor). */
  private x(): Float32Array {
    return new Float32Array(this.k.memory.buffer, this.xAt, this.rows * this.dp);
  }

  private row(i: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, this.xAt + 4 * i * this.dp, this.d);
  }

  private rowAt(i: number): number {
    return this.xAt + 4 * i * this.dp;
  }

  /** The person's own faces and the faces rejected for them: always in their working set. */
  private isOwn(m: PersonModel, i: number): boolean {
    return this.person[i] === m.personId;
  }

  /**
   * A person's empty model: weights and margins in kernel memory, labels from the index lists
   * (own faces +1, faces rejected for them −1, faces rejected for others 0, the rest −1).
   */
  private newModel(personId: number, k: number, lists: RowLists): PersonModel {
    const { n, d, dp, rows } = this;
    const buf = this.k.memory.buffer;
    const K = this.stats.people;
    const wAt = 4 * rows * dp + 4 * k * dp * 2;
    const y = lists.labels.subarray(k * n, (k + 1) * n);
    y.fill(-1);
    for (const i of lists.rejected) y[i] = 0;
    for (const i of lists.rejectedFor.get(personId) ?? []) y[i] = -1;
    const own = lists.own.get(personId) ?? [];
    for (const i of own) y[i] = 1;
    const m: PersonModel = {
      personId,
      w: new Float32Array(buf, wAt, dp),
      b: 0,
      wAt,
      ref: new Float32Array(buf, wAt + 4 * dp, dp),
      refB: 0,
      refMargin: new Float32Array(buf, 4 * rows * dp + 4 * K * dp * 2 + 4 * k * rows, rows),
      ws: [],
      alpha: [],
      slot: lists.slots.subarray(k * n, (k + 1) * n),
      y,
      hasNegatives: n - own.length - lists.rejected.length + (lists.rejectedFor.get(personId)?.length ?? 0) > 0,
      centroid: new Float32Array(d),
    };
    for (const i of own) addTo(m.centroid, this.row(i));
    normalise(m.centroid);
    return m;
  }

  run(previous?: Solver): TrainStats {
    const { n } = this;
    const pids = [...new Set(this.ex.filter((e) => !e.rejected).map((e) => e.personId))].sort((a, b) => a - b);
    const dirty = new Set<PersonModel>();
    // Which current examples already existed with the same person and kind (so the same label everywhere).
    const oldOf = new Int32Array(n).fill(-1);
    if (previous) {
      const before = new Map<Key, number[]>();
      previous.ex.forEach((e, j) => before.set(keyOf(e), [...(before.get(keyOf(e)) ?? []), j]));
      this.ex.forEach((e, i) => {
        for (const j of before.get(keyOf(e)) ?? []) {
          const p = previous.ex[j]!;
          if (p.personId === e.personId && !!p.rejected === !!e.rejected) oldOf[i] = j;
        }
      });
    }
    const newOf = new Int32Array(previous?.ex.length ?? 0).fill(-1);
    oldOf.forEach((j, i) => j >= 0 && (newOf[j] = i));
    const fresh: number[] = [];
    oldOf.forEach((j, i) => j < 0 && fresh.push(i));
    const prevModels = new Map(previous?.models.map((m) => [m.personId, m]) ?? []);
    this.stats.warm = previous !== undefined;
    const lists = this.rowLists(pids.length);

    const cold: PersonModel[] = [];
    const warm: PersonModel[] = [];
    pids.forEach((pid, k) => {
      const m = this.newModel(pid, k, lists);
      this.models.push(m);
      const old = prevModels.get(pid);
      if (old && old.hasNegatives && m.hasNegatives) {
        // Warm start: keep the duals of examples still there with the same label, and the
        // last full check of every example that did not change.
        warm.push(m);
        let lost = false;
        old.ws.forEach((j, s) => {
          const i = newOf[j]!;
          if (i >= 0) this.enter(m, i, old.alpha[s]!);
          else if (old.alpha[s]! > 0) lost = true;
        });
        m.ref.set(old.ref);
        m.refB = old.refB;
        for (let i = 0; i < n; i++) if (oldOf[i]! >= 0) m.refMargin[i] = old.refMargin[oldOf[i]!]!;
        for (const i of fresh) m.refMargin[i] = this.k.dot(m.wAt + 4 * this.dp, this.rowAt(i), this.dp) + m.refB * BIAS;
        let changed = lost;
        for (const i of fresh) if (this.isOwn(m, i)) changed = this.enter(m, i, 0) || changed;
        // Same support vectors, same weights: copy them instead of summing them again.
        if (lost) this.recomputeWeights(m);
        else {
          m.w.set(old.w);
          m.b = old.b;
        }
        if (changed) dirty.add(m);
      } else {
        cold.push(m);
        for (const i of lists.own.get(pid) ?? []) this.enter(m, i, 0);
        for (const i of lists.rejectedFor.get(pid) ?? []) this.enter(m, i, 0);
        const step = Math.max(1, Math.floor(n / START_NEGATIVES));
        for (let i = pid % step; i < n; i += step) if (m.y[i]! < 0) this.enter(m, i, 0);
      }
    });
    this.seedNearest(cold);
    // Cold people: solve on the starting set, then a full check against every example.
    for (const m of cold) this.solve(m);
    for (const m of this.checkColumns(cold)) dirty.add(m);
    // New faces are new negatives for everyone else; the bound finds the few that matter.
    const full: PersonModel[] = [];
    for (const m of warm) {
      const r = this.recheck(m);
      if (r === 'full') full.push(m);
      else if (r) dirty.add(m);
    }
    for (const m of this.checkColumns(full)) dirty.add(m);

    for (let round = 0; round < MAX_ROUNDS && dirty.size > 0; round++) {
      for (const m of dirty) this.solve(m);
      const again = new Set<PersonModel>();
      const full: PersonModel[] = [];
      for (const m of dirty) {
        const r = this.recheck(m);
        if (r === 'full') full.push(m);
        else if (r) again.add(m);
      }
      for (const m of this.checkColumns(full)) again.add(m);
      dirty.clear();
      for (const m of again) dirty.add(m);
    }

    let ws = 0, sv = 0;
    for (const m of this.models) {
      ws += m.ws.length;
      for (const a of m.alpha) if (a > 0) sv++;
    }
    const K = Math.max(1, this.models.length);
    Object.assign(this.stats, { workingSet: ws / K, supportVectors: sv / K });
    return this.stats;
  }

  /**
   * Add to each cold person's working set the negatives most similar to their centroid (one
   * batched pass, the centroid standing in for the weights in the ref slot, which the first
   * real check overwrites).
   */
  private seedNearest(cold: PersonModel[]): void {
    if (START_NEAREST <= 0) return;
    for (const m of cold) m.ref.set(m.centroid);
    this.columns(cold, (m) => m.wAt + 4 * this.dp);
    for (const m of cold) {
      const negSim = new Float32Array(this.n);
      const candidates: number[] = [];
      for (let i = 0; i < this.n; i++) {
        negSim[i] = -m.refMargin[i]!;
        if (m.y[i]! < 0 && m.slot[i]! < 0) candidates.push(i);
      }
      for (const i of smallest(candidates, negSim, START_NEAREST)) this.enter(m, i, 0);
    }
  }

  /** refMargin = X · v for each model's vector at `at(m)` (no bias), two models a pass over X. */
  private columns(models: PersonModel[], at: (m: PersonModel) => number): void {
    const { k, xAt, rows, dp } = this;
    let j = 0;
    for (; j + 1 < models.length; j += 2) {
      const a = models[j]!, b = models[j + 1]!;
      k.rowsDot2(xAt, rows, at(a), at(b), dp, a.refMargin.byteOffset, b.refMargin.byteOffset);
    }
    if (j < models.length) k.rowsDot(xAt, rows, at(models[j]!), dp, models[j]!.refMargin.byteOffset);
    this.stats.columnChecks += models.length;
  }

  /** Example indices by person, and the label and slot arrays every person's model takes a slice of. */
  private rowLists(people: number): RowLists {
    const lists: RowLists = {
      own: new Map(),
      rejectedFor: new Map(),
      rejected: [],
      labels: new Int8Array(people * this.n),
      slots: new Int32Array(people * this.n).fill(-1),
    };
    for (let i = 0; i < this.n; i++) {
      const byPerson = this.rejected[i] ? lists.rejectedFor : lists.own;
      if (this.rejected[i]) lists.rejected.push(i);
      const list = byPerson.get(this.person[i]!);
      if (list) list.push(i);
      else byPerson.set(this.person[i]!, [i]);
    }
    return lists;
  }

  /** Add example i to the working set (no-op if there); returns whether it was added. */
  private enter(m: PersonModel, i: number, alpha: number): boolean {
    if (m.slot[i]! >= 0) return false;
    m.slot[i] = m.ws.length;
    m.ws.push(i);
    m.alpha.push(alpha);
    return true;
  }

  /** Drop example i from the working set (its dual must be 0, so w is unchanged). */
  private exit(m: PersonModel, i: number): void {
    const slot = m.slot[i]!;
    const last = m.ws.length - 1;
    const j = m.ws[last]!;
    m.ws[slot] = j;
    m.alpha[slot] = m.alpha[last]!;
    m.slot[j] = slot;
    m.ws.pop();
    m.alpha.pop();
    m.slot[i] = -1;
  }

  private recomputeWeights(m: PersonModel): void {
    m.w.fill(0);
    m.b = 0;
    m.ws.forEach((i, s) => {
      const c = m.alpha[s]! * m.y[i]!;
      if (c === 0) return;
      this.k.axpy(m.wAt, c, this.rowAt(i), this.dp);
      m.b += c * BIAS;
    });
  }

  /** ‖(w, b) − (ref, refB)‖: how far the weights moved since the last full check. */
  private drift(m: PersonModel): number {
    let s = (m.b - m.refB) ** 2;
    for (let j = 0; j < this.d; j++) s += (m.w[j]! - m.ref[j]!) ** 2;
    return Math.sqrt(s);
  }

  /**
   * Dual coordinate descent over the working set (liblinear solve_l2r_l1l2_svc): random order
   * each epoch, shrinking of variables stuck at a bound, stop when the projected gradient's
   * spread is below eps on the whole working set. Idle negatives well clear of the margin
   * then leave the set; recheck() watches them from outside.
   */
  private solve(m: PersonModel): void {
    if (!m.hasNegatives) return;
    this.stats.solved++;
    const { o, k, dp } = this;
    const l2 = o.loss === 'l2';
    const Dii = l2 ? 0.5 / o.C : 0;
    const U = l2 ? Infinity : o.C;
    const size = m.ws.length;
    const order = Int32Array.from({ length: size }, (_, s) => s);
    const lastG = new Float64Array(size);
    const rand = rng((o.seed * 0x9e3779b1) ^ (m.personId * 0x85ebca6b));
    let active = size;
    let PGmaxOld = Infinity, PGminOld = -Infinity;
    for (let iter = 0; iter < o.maxIter; iter++) {
      this.stats.epochs++;
      for (let s = 0; s < active; s++) {
        const r = s + Math.floor(rand() * (active - s));
        const t = order[s]!;
        order[s] = order[r]!;
        order[r] = t;
      }
      let PGmax = -Infinity, PGmin = Infinity;
      for (let s = 0; s < active; s++) {
        const slot = order[s]!;
        const i = m.ws[slot]!;
        const y = m.y[i]!;
        const at = this.rowAt(i);
        const a = m.alpha[slot]!;
        const G = y * (k.dot(m.wAt, at, dp) + m.b * BIAS) - 1 + Dii * a;
        lastG[slot] = G;
        let PG = 0;
        if (a === 0) {
          if (G > PGmaxOld) {
            active--;
            order[s] = order[active]!;
            order[active] = slot;
            s--;
            continue;
          }
          if (G < 0) PG = G;
        } else if (a === U) {
          if (G < PGminOld) {
            active--;
            order[s] = order[active]!;
            order[active] = slot;
            s--;
            continue;
          }
          if (G > 0) PG = G;
        } else PG = G;
        if (PG > PGmax) PGmax = PG;
        if (PG < PGmin) PGmin = PG;
        if (Math.abs(PG) > 1e-12) {
          const next = Math.min(Math.max(a - G / (this.sq[i]! + Dii), 0), U);
          const delta = (next - a) * y;
          m.alpha[slot] = next;
          k.axpy(m.wAt, delta, at, dp);
          m.b += delta * BIAS;
        }
      }
      if (PGmax - PGmin <= o.eps) {
        if (active === size) break;
        active = size;
        PGmaxOld = Infinity;
        PGminOld = -Infinity;
        continue;
      }
      PGmaxOld = PGmax <= 0 ? Infinity : PGmax;
      PGminOld = PGmin >= 0 ? -Infinity : PGmin;
    }
    const idle: number[] = [];
    for (let s = 0; s < size; s++) if (m.alpha[s] === 0 && lastG[s]! > PRUNE && !this.isOwn(m, m.ws[s]!)) idle.push(m.ws[s]!);
    for (const i of idle) this.exit(m, i);
  }

  /**
   * Margins of every example under each person's weights (the one step whose cost is
   * examples × dims); then ref = w. The worst violators join the working set, idle negatives
   * well clear of the margin leave. Returns the people that gained examples.
   */
  private checkColumns(models: PersonModel[]): PersonModel[] {
    this.columns(models, (m) => m.wAt);
    return models.filter((m) => this.afterCheck(m));
  }

  private afterCheck(m: PersonModel): boolean {
    const n = this.n;
    m.ref.set(m.w);
    m.refB = m.b;
    const margin = m.refMargin, y = m.y, slot = m.slot, b = m.b * BIAS;
    const violators: number[] = [];
    const yms = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      margin[i]! += b;
      if (y[i] === 0) continue;
      const ym = (yms[i] = y[i]! * margin[i]!);
      const s = slot[i]!;
      if (s < 0) {
        if (ym < 1) violators.push(i);
      } else if (ym > 1 + PRUNE && m.alpha[s] === 0 && !this.isOwn(m, i)) this.exit(m, i);
    }
    for (const i of smallest(violators, yms, ADD_PER_CHECK)) this.enter(m, i, 0);
    return violators.length > 0;
  }

  /**
   * After the weights moved: examples outside the working set whose margin could now be
   * inside (refMargin within drift·‖x̃‖ of the line) get an exact look, and violators join.
   * When many are in doubt, a full check is cheaper: returns 'full' for the caller to batch.
   * Otherwise returns whether any joined.
   */
  private recheck(m: PersonModel): boolean | 'full' {
    if (!m.hasNegatives) return false;
    const bound = this.drift(m) * this.maxNorm;
    const doubtful: number[] = [];
    for (let i = 0; i < this.n; i++) {
      if (m.slot[i]! >= 0) continue;
      const y = m.y[i]!;
      if (y !== 0 && y * m.refMargin[i]! - bound < 1) doubtful.push(i);
    }
    if (doubtful.length === 0) return false;
    if (doubtful.length > this.n * FULL_CHECK_SHARE) return 'full';
    this.stats.rechecks += doubtful.length;
    let added = false;
    for (const i of doubtful) {
      if (m.y[i]! * (this.k.dot(m.wAt, this.rowAt(i), this.dp) + m.b * BIAS) < 1) added = this.enter(m, i, 0) || added;
    }
    return added;
  }
}

/**
 * The `count` items with the smallest key, ties to the earlier item (deterministic). Finding
 * the cut by selection, not sorting: sorts of thousands of items per person were a third of
 * the training time.
 */
function smallest(items: number[], key: ArrayLike<number>, count: number): number[] {
  if (items.length <= count) return items;
  const keys = new Float64Array(items.length);
  for (let j = 0; j < items.length; j++) keys[j] = key[items[j]!]!;
  const cut = nth(keys.slice(), count - 1);
  const out: number[] = [];
  for (let j = 0; j < items.length && out.length < count; j++) if (keys[j]! < cut) out.push(items[j]!);
  for (let j = 0; j < items.length && out.length < count; j++) if (keys[j] === cut) out.push(items[j]!);
  return out;
}

/** The value that would sit at index k if `a` were sorted (Hoare's quickselect; reorders `a`). */
function nth(a: Float64Array, k: number): number {
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

function addTo(acc: Float32Array, v: Float32Array): void {
  for (let j = 0; j < v.length; j++) acc[j]! += v[j]!;
}
