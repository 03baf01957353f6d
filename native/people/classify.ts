/**
 * @file Naming suggestions: which named person an unnamed face or cluster most likely is, or
 * nobody. A one-vs-rest linear SVM (L2-regularised, solved by liblinear's dual coordinate
 * descent) trained on the faces the user confirmed, combined with the cosine similarity to
 * each person's centroid, and gated so that faces of people the user never named mostly get
 * no suggestion. Pure: no SQL, no I/O; the caller hands in vectors and gets person ids back.
 * The constants below were chosen by bench/naming-eval.ts; its report gives the figures. The
 * arithmetic runs on native/people/simd-kernels.ts.
 */
import { paddedDim, Projection, simdKernels, type KernelFactory, type Kernels } from './simd-kernels.ts';

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
export interface NameGuess {
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

/**
 * The SVM's loss and cost. The app always trains with NAMER_SVM; bench/naming-eval.ts trains
 * with others to measure them (the scoring rule and gate it compares are its own arithmetic
 * over PersonModelView, not options of the namer).
 */
export interface SvmSettings {
  /** SVM cost (inverse regularisation). */
  C: number;
  /** Hinge ('l1') or squared hinge ('l2') loss. */
  loss: 'l1' | 'l2';
}

/** What the namer learnt about one named person: enough to recompute every figure of a NameGuess. */
export interface PersonModelView {
  personId: number;
  /** Normalised mean of the person's confirmed faces. */
  centroid: Float32Array;
  /** SVM weights and bias; null when no face is a negative for this person (the centroid decides alone). */
  weights: Float32Array | null;
  bias: number;
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
 * the same across libraries, margins depend on who else is named (figures: `npm run bench:naming`).
 */
export const NAMER_C = 3;
export const NAMER_LOSS: 'l1' | 'l2' = 'l1';
/** Weight of the SVM margin in the score (0 would be the nearest centroid alone); chosen with C above. */
export const MARGIN_WEIGHT = 0.5;
/** Smallest score that becomes a suggestion; chosen above (99.0% correct-accept on the tuning half). */
export const SUGGEST_GATE = 0.6211;
export const NAMER_SVM: Readonly<SvmSettings> = Object.freeze({ C: NAMER_C, loss: NAMER_LOSS });
/**
 * Confidence = 1 / (1 + exp(A·score + B)): Platt's logistic fit of "named correctly" on the
 * tuning scores (closed-set faces right = 1; wrong and never-named faces = 0), so it carries
 * LFW's mix of ~7 strangers per named face. At the gate it reads 0.74; held out, the rare
 * suggestions below 0.95 were right less often than stated (7 of 19), the 3,489 above it all were.
 */
export const CONFIDENCE = { A: -22.292, B: 12.776 };

/*
 * A person with no negatives (the only one named, nothing declined for them) is scored by
 * centroid similarity alone, which SUGGEST_GATE (tuned for centroid + 0.5·margin) rarely lets
 * through: a stray face of a user's first named person got no question. The same protocol,
 * one named person at a time (bench/naming-adaptor.ts: lfw-dev five-shot, 8 rounds; every
 * other face of the half a stranger): SOLO_GATE = 99% correct-accept on people A–D; read once
 * on E–H: correct-accept 99.66%, 1 false name in 288,451 (person, stranger face) pairs (the
 * shipped gate would name 98.94%). SOLO_CONFIDENCE: Platt's fit on A–D's suggestions at that
 * gate; on E–H the 90–100% bin (3,495 suggestions) shows 100.0% and is 100.0% right, the one
 * suggestion below it (80.6%) was wrong: too few to judge the lower bins.
 */
export const SOLO_GATE = 0.5358;
export const SOLO_CONFIDENCE = { A: -71.325, B: 37.113 };

/**
 * Dual coordinate descent stopping tolerance and epoch limit: liblinear's defaults (eps 0.1,
 * 1,000 iterations), never re-measured here. The namer's figures were all taken at them; the
 * benchmarks never reach the limit (the solver stops on eps).
 */
const EPS = 0.1;
const MAX_ITER = 1000;
/** Seed of the per-person shuffles, so the same examples always give the same namer. Any value would do; 1 is not a measurement. */
const SEED = 1;

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
    private readonly svm: Readonly<SvmSettings>,
    readonly dim: number,
    private readonly solver: Solver,
    readonly stats: TrainStats,
    private readonly makeKernels: KernelFactory,
  ) {
    const models = solver.models;
    this.scorer = new Float32Array(models.length * dim);
    this.scorerBias = new Float64Array(models.length);
    models.forEach((m, k) => {
      const mu = m.hasNegatives ? MARGIN_WEIGHT : 0;
      for (let j = 0; j < dim; j++) this.scorer[k * dim + j] = m.centroid[j]! + mu * m.w[j]!;
      this.scorerBias[k] = mu * m.b;
    });
  }

  private scorerProjection?: Projection;

  /** People scored by centroid similarity alone (no negatives): their own gate and confidence. */
  private get solo(): ReadonlySet<number> {
    return (this.soloSet ??= new Set(this.solver.models.filter((m) => !m.hasNegatives).map((m) => m.personId)));
  }
  private soloSet?: Set<number>;

  /** Whether `s` is shown: its score against the gate of its kind of person. */
  passes(s: NameGuess): boolean {
    return s.score >= (this.solo.has(s.personId) ? SOLO_GATE : SUGGEST_GATE);
  }

  /** Named people, in the order of `models`. */
  get people(): number[] {
    return this.solver.models.map((m) => m.personId);
  }

  /** What was learnt per named person (views of the namer's own arrays: read, do not write). */
  get models(): PersonModelView[] {
    return this.solver.models.map((m) => ({
      personId: m.personId,
      centroid: m.centroid,
      weights: m.hasNegatives ? m.w.subarray(0, this.dim) : null,
      bias: m.hasNegatives ? m.b * BIAS : 0,
    }));
  }

  /**
   * Train from scratch, or warm-started from `previous` when its SVM settings match.
   * `makeKernels` is the arithmetic (the SIMD module; its scalar reference for tests and the benchmark).
   */
  static train(examples: readonly NamedExample[], svm: Readonly<SvmSettings> = NAMER_SVM, previous?: Namer, makeKernels: KernelFactory = simdKernels): Namer {
    const t0 = performance.now();
    const ex = canonical(examples);
    const d = ex[0]?.vector.length ?? previous?.dim ?? 0;
    for (const e of ex) if (e.vector.length !== d) throw new Error(`examples mix vector sizes (${d} and ${e.vector.length})`);
    const warm = previous && previous.dim === d && previous.svm.C === svm.C && previous.svm.loss === svm.loss ? previous.solver : undefined;
    const solver = new Solver(ex, d, svm, makeKernels);
    const stats = solver.run(warm);

    stats.ms = performance.now() - t0;
    return new Namer(svm, d, solver, stats, makeKernels);
  }

  /** The namer for `examples` (the full current set of decisions), reusing this one's solution. */
  retrain(examples: readonly NamedExample[]): Namer {
    return Namer.train(examples, this.svm, this, this.makeKernels);
  }

  /**
   * The best person for each face and its figures, whether or not it passes the gate (null:
   * nobody named). The scores of a batch are one matrix product on the SIMD kernels (~0.1 µs
   * per face and person); the winner's score is then recomputed exactly in float64.
   */
  bestMany(vectors: readonly Float32Array[]): Array<NameGuess | null> {
    if (this.scorerBias.length === 0) return vectors.map(() => null);
    for (const v of vectors) if (v.length !== this.dim) throw new Error(`vector has ${v.length} dimensions, the namer ${this.dim}`);
    const K = this.scorerBias.length;
    this.scorerProjection ??= new Projection(
      Array.from({ length: K }, (_, k) => this.scorer.subarray(k * this.dim, (k + 1) * this.dim)),
      this.scorerBias,
      this.dim,
      this.makeKernels,
    );
    return this.scorerProjection.apply(vectors).map((scores, r) => {
      let k = 0;
      for (let c = 1; c < K; c++) if (scores[c]! > scores[k]!) k = c;
      const v = vectors[r]!, m = this.solver.models[k]!;
      const score = this.scoreOf(k, v);
      return { personId: m.personId, confidence: m.hasNegatives ? confidenceOf(score) : soloConfidenceOf(score), score, margin: this.marginOf(m, v), centroidSimilarity: dot(m.centroid, v) };
    });
  }

  /** The best person for one face, gated or not. */
  best(vector: Float32Array): NameGuess | null {
    return this.bestMany([vector])[0]!;
  }

  /** suggest() for many faces at once (every unassigned face of a library, say). */
  suggestMany(vectors: readonly Float32Array[]): Array<NameGuess | null> {
    return this.bestMany(vectors).map((s) => (s && this.passes(s) ? s : null));
  }

  /** The named person this face most likely is, or null when no one is likely enough. */
  suggest(vector: Float32Array): NameGuess | null {
    const s = this.best(vector);
    return s && this.passes(s) ? s : null;
  }

  /**
   * One suggestion for a whole cluster: the person with the best mean score over its faces,
   * gated like a single face. The score is linear, so the mean score is the score of the mean
   * vector; what is noise in one face averages out.
   */
  suggestForCluster(vectors: readonly Float32Array[]): NameGuess | null {
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

/** Platt mapping from score to confidence (CONFIDENCE, fitted on the tuning half). */
export function confidenceOf(score: number): number {
  return 1 / (1 + Math.exp(CONFIDENCE.A * score + CONFIDENCE.B));
}

/** Platt mapping for a person scored by centroid similarity alone (SOLO_CONFIDENCE). */
export function soloConfidenceOf(score: number): number {
  return 1 / (1 + Math.exp(SOLO_CONFIDENCE.A * score + SOLO_CONFIDENCE.B));
}

/** Train a namer on the user's confirmed (and rejected) faces; the app uses NAMER_SVM. */
export function trainNamer(examples: readonly NamedExample[], svm: Readonly<SvmSettings> = NAMER_SVM): Namer {
  return Namer.train(examples, svm);
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
    private readonly o: Readonly<SvmSettings>,
    makeKernels: KernelFactory,
  ) {
    const n = (this.n = ex.length);
    this.rows = Math.ceil(n / 4) * 4;
    this.dp = paddedDim(d);
    const people = new Set(ex.filter((e) => !e.rejected).map((e) => e.personId)).size;
    this.k = makeKernels(4 * (this.rows * this.dp + people * this.dp * 2 + people * this.rows) + 64);
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
    const rand = rng((SEED * 0x9e3779b1) ^ (m.personId * 0x85ebca6b));
    let active = size;
    let PGmaxOld = Infinity, PGminOld = -Infinity;
    for (let iter = 0; iter < MAX_ITER; iter++) {
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
      if (PGmax - PGmin <= EPS) {
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
