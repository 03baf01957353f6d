/**
 * @file A personal metric learned from the user's own names: a linear map W (704 → 128)
 * followed by L2 normalisation, trained with FaceNet's triplet loss
 *   [‖f(a)−f(p)‖² − ‖f(a)−f(n)‖² + α]₊ + λ‖W − W0‖²
 * with online semi-hard mining in batches of P people × K faces. Anchors and positives are the
 * confirmed faces of named people; negatives are other named people's faces and the faces the
 * user said are NOT a person (declined suggestions, faces kept apart). W starts at W0, the top
 * principal directions of the library's vectors (so with few names it changes nothing but
 * the projection), and the λ term keeps it near that start. Pure: Float32Arrays in, Float32Arrays
 * out, a seeded generator, no I/O; the raw vectors stay the truth and W can always be
 * retrained from them (store/adaptors.ts keeps the last one with a version).
 */
import { paddedDim, Projection, simdKernels, type Kernels } from './simd-kernels.ts';
import { seededRandom } from '../common/seeded-random.ts';

/** One confirmed face of a named person. */
export interface TripletFace {
  vector: Float32Array;
  personId: number;
}

/** A face the user said is not `personId`: a negative for that person's anchors only. */
export interface NotPerson {
  vector: Float32Array;
  personId: number;
}

export interface AdaptorSettings {
  /** Output size (FaceNet's 128). */
  outDim: number;
  /** Triplet margin α, in squared distance on the unit sphere (0–4). */
  alpha: number;
  /** Pull toward the start: λ‖W − W0‖². */
  lambda: number;
  /** People a batch (P) and faces a person (K). */
  people: number;
  faces: number;
  /** Adam steps per training call, and its step size. */
  steps: number;
  learningRate: number;
  seed: number;
}

/*
 * Defaults. outDim is the issue's; P × K = 16 × 4 is a 64-face batch, small enough that one
 * step costs a few milliseconds at 704 → 128. α, λ, steps and the learning rate were chosen
 * by bench/naming-eval.ts --adaptor on lfw-dev people A–D (see ADAPTOR_MEASUREMENT in
 * naming.ts for what they bought on E–H).
 */
export const ADAPTOR_DEFAULTS: Readonly<AdaptorSettings> = Object.freeze({
  outDim: 128,
  alpha: 0.2,
  lambda: 1,
  people: 16,
  faces: 4,
  steps: 60,
  learningRate: 2e-3,
  seed: 1,
});

/** Vectors the PCA start is computed from at most (an even sample of the library). */
const PCA_SAMPLE = 2000;
/** Subspace iterations of the PCA start (it needs a good subspace, not exact eigenvectors). */
const PCA_ITERATIONS = 6;

/** A trained (or starting) map: W is outDim × inDim, row-major. Immutable once made. */
export class Adaptor {
  constructor(
    readonly W: Float32Array,
    readonly W0: Float32Array,
    readonly inDim: number,
    readonly outDim: number,
    /** Training calls since the start (0: W = W0). */
    readonly version: number,
    readonly stats: AdaptorStats,
  ) {
    if (W.length !== inDim * outDim || W0.length !== inDim * outDim) throw new Error(`adaptor of ${W.length} weights is not ${outDim} × ${inDim}`);
  }

  /** f(x) = Wx / ‖Wx‖. */
  apply(x: Float32Array): Float32Array {
    if (x.length !== this.inDim) throw new Error(`vector has ${x.length} dimensions, the adaptor ${this.inDim}`);
    const u = new Float32Array(this.outDim);
    project(this.W, x, this.inDim, this.outDim, u);
    normaliseInPlace(u);
    return u;
  }

  /** apply() for many vectors: one matrix product on the SIMD kernels (float32 sums, so within rounding of apply()). */
  applyMany(xs: readonly Float32Array[]): Float32Array[] {
    for (const x of xs) if (x.length !== this.inDim) throw new Error(`vector has ${x.length} dimensions, the adaptor ${this.inDim}`);
    this.projection ??= new Projection(
      Array.from({ length: this.outDim }, (_, o) => this.W.subarray(o * this.inDim, (o + 1) * this.inDim)),
      new Float64Array(this.outDim),
      this.inDim,
    );
    return this.projection.apply(xs).map((u) => {
      normaliseInPlace(u);
      return u;
    });
  }

  private projection?: Projection;

  /** The untrained map for a library: W = W0 = its principal directions. */
  static start(library: readonly Float32Array[], outDim = ADAPTOR_DEFAULTS.outDim, seed = ADAPTOR_DEFAULTS.seed): Adaptor {
    const W0 = pcaStart(library, outDim, seed);
    return new Adaptor(W0.slice(), W0, library[0]!.length, outDim, 0, emptyStats());
  }

  /**
   * A new adaptor trained on the current decisions, warm-started from this one's W and
   * regularised toward this one's W0.
   */
  train(faces: readonly TripletFace[], notPerson: readonly NotPerson[] = [], settings: Partial<AdaptorSettings> = {}): Adaptor {
    const s = { ...ADAPTOR_DEFAULTS, ...settings, outDim: this.outDim };
    const t0 = performance.now();
    const { W, stats } = trainTriplets(this.W, this.W0, this.inDim, this.outDim, faces, notPerson, s);
    stats.ms = performance.now() - t0;
    return new Adaptor(W, this.W0, this.inDim, this.outDim, this.version + 1, stats);
  }
}

export interface AdaptorStats {
  ms: number;
  steps: number;
  /** Triplets with a positive loss, summed over steps, and the mean loss of the last step. */
  activeTriplets: number;
  lastLoss: number;
}

const emptyStats = (): AdaptorStats => ({ ms: 0, steps: 0, activeTriplets: 0, lastLoss: 0 });

function project(W: Float32Array, x: Float32Array, inDim: number, outDim: number, out: Float32Array | Float64Array): void {
  for (let o = 0; o < outDim; o++) {
    const off = o * inDim;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, j = 0;
    for (; j + 3 < inDim; j += 4) {
      s0 += W[off + j]! * x[j]!;
      s1 += W[off + j + 1]! * x[j + 1]!;
      s2 += W[off + j + 2]! * x[j + 2]!;
      s3 += W[off + j + 3]! * x[j + 3]!;
    }
    for (; j < inDim; j++) s0 += W[off + j]! * x[j]!;
    out[o] = s0 + s1 + s2 + s3;
  }
}

function normaliseInPlace(u: Float32Array | Float64Array): number {
  let n = 0;
  for (let j = 0; j < u.length; j++) n += u[j]! * u[j]!;
  n = Math.sqrt(n) || 1;
  for (let j = 0; j < u.length; j++) u[j]! /= n;
  return n;
}

/**
 * W0: the top `outDim` eigenvectors of the library's second-moment matrix (uncentred: the
 * projection that keeps most of every vector's energy keeps dot products best), as rows, by
 * subspace iteration from a seeded random start. Fewer vectors than outDim still give an
 * orthonormal W0 (the rest of the rows span whatever the iteration leaves).
 */
export function pcaStart(library: readonly Float32Array[], outDim: number, seed: number): Float32Array {
  if (library.length === 0) throw new Error('the PCA start needs at least one vector');
  const d = library[0]!.length;
  if (outDim > d) throw new Error(`cannot map ${d} dimensions to ${outDim}`);
  const step = Math.max(1, library.length / PCA_SAMPLE);
  const sample: Float32Array[] = [];
  for (let t = 0; Math.floor(t) < library.length; t += step) sample.push(library[Math.floor(t)]!);
  // On the kernels: Xᵀ (d rows of the sample's coordinates), M = XᵀX / n one row at a time,
  // then each subspace iteration is M·q for every q.
  const n = sample.length, np = paddedDim(n), dr = Math.ceil(d / 4) * 4, dp = paddedDim(d);
  const xtAt = 0, mAt = 4 * dr * np, qAt = mAt + 4 * dr * dp, outAt = qAt + 4 * dp;
  const k = simdKernels(outAt + 4 * dr + 64);
  const Xt = new Float32Array(k.memory.buffer, xtAt, dr * np);
  sample.forEach((x, s) => {
    for (let i = 0; i < d; i++) Xt[i * np + s] = x[i]!;
  });
  const M = new Float32Array(k.memory.buffer, mAt, dr * dp);
  const out = new Float32Array(k.memory.buffer, outAt, dr);
  for (let i = 0; i < d; i++) {
    k.rowsDot(xtAt, dr, xtAt + 4 * i * np, np, outAt);
    for (let j = 0; j < d; j++) M[i * dp + j] = out[j]! / n;
  }
  const rand = seededRandom(seed);
  // Q: outDim orthonormal vectors of length d (row-major, one per row).
  const Q = new Float64Array(outDim * d);
  for (let i = 0; i < Q.length; i++) Q[i] = rand() - 0.5;
  orthonormaliseRows(Q, outDim, d);
  const q = new Float32Array(k.memory.buffer, qAt, dp);
  for (let it = 0; it < PCA_ITERATIONS; it++) {
    for (let r = 0; r < outDim; r++) {
      for (let j = 0; j < d; j++) q[j] = Q[r * d + j]!;
      k.rowsDot(mAt, dr, qAt, dp, outAt);
      for (let j = 0; j < d; j++) Q[r * d + j] = out[j]!;
    }
    orthonormaliseRows(Q, outDim, d);
  }
  // Rayleigh–Ritz would order them; the order of rows does not matter to distances.
  return Float32Array.from(Q);
}

/** Modified Gram–Schmidt over the rows; a row that collapses is replaced by a fresh basis vector. */
function orthonormaliseRows(Q: Float64Array, rows: number, d: number): void {
  for (let r = 0; r < rows; r++) {
    const a = r * d;
    for (let pass = 0; pass < 2; pass++) {
      for (let s = 0; s < r; s++) {
        const b = s * d;
        let dot = 0;
        for (let j = 0; j < d; j++) dot += Q[a + j]! * Q[b + j]!;
        for (let j = 0; j < d; j++) Q[a + j]! -= dot * Q[b + j]!;
      }
    }
    let n = 0;
    for (let j = 0; j < d; j++) n += Q[a + j]! * Q[a + j]!;
    n = Math.sqrt(n);
    if (n < 1e-9) {
      for (let j = 0; j < d; j++) Q[a + j] = j === r % d ? 1 : 0;
      r--; // orthogonalise the replacement against the rows before it
      continue;
    }
    for (let j = 0; j < d; j++) Q[a + j]! /= n;
  }
}

/** A triplet over a batch: indices of anchor, positive and negative. */
export type Triplet = readonly [number, number, number];

/**
 * Kernel memory for one training run: W (outDim rows padded to a multiple of 4, each row
 * padded to paddedDim(inDim)), its gradient, and a batch of input vectors. Forward is one
 * rowsDot of W's rows with each vector, backward one axpy per (vector, output row): the SIMD
 * module's products, as the namer's.
 */
class Workspace {
  readonly dp: number;
  readonly rows: number;
  readonly k: Kernels;
  /** W and its gradient (padded views into kernel memory). */
  readonly W: Float32Array;
  readonly G: Float32Array;
  private readonly xAt: number;
  private readonly uAt: number;
  private readonly u: Float32Array;
  private capacity: number;

  constructor(readonly inDim: number, readonly outDim: number, items: number) {
    this.dp = paddedDim(inDim);
    this.rows = Math.ceil(outDim / 4) * 4;
    this.capacity = items;
    const wBytes = 4 * this.rows * this.dp;
    this.xAt = 2 * wBytes;
    this.uAt = this.xAt + 4 * items * this.dp;
    this.k = simdKernels(this.uAt + 4 * this.rows + 64);
    this.W = new Float32Array(this.k.memory.buffer, 0, this.rows * this.dp);
    this.G = new Float32Array(this.k.memory.buffer, wBytes, this.rows * this.dp);
    this.u = new Float32Array(this.k.memory.buffer, this.uAt, this.rows);
  }

  setW(W: Float32Array): void {
    for (let o = 0; o < this.outDim; o++) this.W.set(W.subarray(o * this.inDim, (o + 1) * this.inDim), o * this.dp);
  }

  getW(): Float32Array {
    const out = new Float32Array(this.outDim * this.inDim);
    for (let o = 0; o < this.outDim; o++) out.set(this.W.subarray(o * this.dp, o * this.dp + this.inDim), o * this.inDim);
    return out;
  }

  /** Copies the batch in and returns f (normalised Wx, float64, n × outDim) and ‖Wx‖. */
  embed(xs: readonly Float32Array[]): { f: Float64Array; norm: Float64Array } {
    if (xs.length > this.capacity) throw new Error(`batch of ${xs.length} over ${this.capacity}`);
    const { dp, outDim } = this;
    const X = new Float32Array(this.k.memory.buffer, this.xAt, xs.length * dp);
    X.fill(0);
    xs.forEach((x, i) => X.set(x, i * dp));
    const f = new Float64Array(xs.length * outDim), norm = new Float64Array(xs.length);
    for (let i = 0; i < xs.length; i++) {
      this.k.rowsDot(0, this.rows, this.xAt + 4 * i * dp, dp, this.uAt);
      let n = 0;
      for (let o = 0; o < outDim; o++) n += this.u[o]! * this.u[o]!;
      n = Math.sqrt(n) || 1;
      norm[i] = n;
      for (let o = 0; o < outDim; o++) f[i * outDim + o] = this.u[o]! / n;
    }
    return { f, norm };
  }

  /** G = Σ_i (dL/du_i) x_iᵀ for the batch last embedded, from dL/df (gf). */
  backward(f: Float64Array, norm: Float64Array, gf: Float64Array, n: number): void {
    const { dp, outDim } = this;
    this.G.fill(0);
    for (let i = 0; i < n; i++) {
      const at = i * outDim;
      let g2 = 0, gdotf = 0;
      for (let j = 0; j < outDim; j++) {
        g2 += gf[at + j]! * gf[at + j]!;
        gdotf += gf[at + j]! * f[at + j]!;
      }
      if (g2 === 0) continue;
      // Through f = u/‖u‖: dL/du = (g − (g·f) f)/‖u‖.
      for (let o = 0; o < outDim; o++) {
        const gu = (gf[at + o]! - gdotf * f[at + o]!) / norm[i]!;
        if (gu !== 0) this.k.axpy(this.G.byteOffset + 4 * o * dp, gu, this.xAt + 4 * i * dp, dp);
      }
    }
  }
}

/** The hinged triplet losses and dL/df for embeddings f; returns the mean loss (over `pairs`) and active triplets. */
function tripletGradient(f: Float64Array, outDim: number, triplets: readonly Triplet[], pairs: number, alpha: number, gf: Float64Array): { loss: number; active: number } {
  let loss = 0, active = 0;
  const scale = 1 / Math.max(1, pairs);
  for (const [a, p, q] of triplets) {
    const l = sqDist(f, a, p, outDim) - sqDist(f, a, q, outDim) + alpha;
    if (l <= 0) continue;
    loss += l * scale;
    active++;
    // d/dfa = 2(fq − fp), d/dfp = 2(fp − fa), d/dfq = 2(fa − fq)
    for (let j = 0; j < outDim; j++) {
      const fa = f[a * outDim + j]!, fp = f[p * outDim + j]!, fq = f[q * outDim + j]!;
      gf[a * outDim + j]! += 2 * scale * (fq - fp);
      gf[p * outDim + j]! += 2 * scale * (fp - fa);
      gf[q * outDim + j]! += 2 * scale * (fa - fq);
    }
  }
  return { loss, active };
}

/**
 * The objective for fixed triplets over `xs`: mean over `pairs` anchor–positive pairs of the
 * hinged triplet loss, plus λ‖W − W0‖²; and its gradient in W (outDim × inDim). Training runs
 * the same arithmetic on each mined batch; this entry point is for the gradient check.
 */
export function tripletObjective(
  W: Float32Array,
  W0: Float32Array,
  inDim: number,
  outDim: number,
  xs: readonly Float32Array[],
  triplets: readonly Triplet[],
  pairs: number,
  alpha: number,
  lambda: number,
): { loss: number; grad: Float64Array; active: number } {
  const ws = new Workspace(inDim, outDim, xs.length);
  ws.setW(W);
  const { f, norm } = ws.embed(xs);
  const gf = new Float64Array(f.length);
  let { loss, active } = tripletGradient(f, outDim, triplets, pairs, alpha, gf);
  ws.backward(f, norm, gf, xs.length);
  const grad = new Float64Array(outDim * inDim);
  for (let o = 0; o < outDim; o++) {
    for (let j = 0; j < inDim; j++) {
      const k = o * inDim + j, diff = W[k]! - W0[k]!;
      loss += lambda * diff * diff;
      grad[k] = ws.G[o * ws.dp + j]! + 2 * lambda * diff;
    }
  }
  return { loss, grad, active };
}

function sqDist(f: Float64Array, a: number, b: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = f[a * d + j]! - f[b * d + j]!;
    s += t * t;
  }
  return s;
}

/**
 * Online semi-hard mining (as FaceNet, and TensorFlow's triplet_semihard_loss): for every
 * anchor–positive pair of the batch, the negative closest to the anchor among those farther
 * than the positive; when there is none, the farthest negative (its loss is then usually 0).
 * `negativeFor(a, q)`: may q be a negative of a's person?
 */
export function mineSemiHard(f: Float64Array, dim: number, person: Int32Array, anchors: number, negativeFor: (a: number, q: number) => boolean): { triplets: Triplet[]; pairs: number } {
  const n = person.length;
  const d = new Float64Array(n);
  const triplets: Triplet[] = [];
  let pairs = 0;
  for (let a = 0; a < anchors; a++) {
    for (let q = 0; q < n; q++) d[q] = sqDist(f, a, q, dim);
    for (let p = 0; p < anchors; p++) {
      if (p === a || person[p] !== person[a]) continue;
      pairs++;
      let semi = -1, far = -1;
      for (let q = 0; q < n; q++) {
        if (!negativeFor(a, q)) continue;
        if (d[q]! > d[p]! && (semi < 0 || d[q]! < d[semi]!)) semi = q;
        if (far < 0 || d[q]! > d[far]!) far = q;
      }
      const neg = semi >= 0 ? semi : far;
      if (neg >= 0) triplets.push([a, p, neg]);
    }
  }
  return { triplets, pairs };
}

/** Adam on the mined objective, from `start`, for `settings.steps` batches. */
function trainTriplets(
  start: Float32Array,
  W0: Float32Array,
  inDim: number,
  outDim: number,
  faces: readonly TripletFace[],
  notPerson: readonly NotPerson[],
  s: AdaptorSettings,
): { W: Float32Array; stats: AdaptorStats } {
  const stats = emptyStats();
  const byPerson = new Map<number, Float32Array[]>();
  for (const e of faces) byPerson.set(e.personId, [...(byPerson.get(e.personId) ?? []), e.vector]);
  const notFor = new Map<number, Float32Array[]>();
  for (const e of notPerson) notFor.set(e.personId, [...(notFor.get(e.personId) ?? []), e.vector]);
  // A person can anchor a triplet once they have two faces and someone else to be told from.
  const anchorsOf = [...byPerson.keys()].sort((a, b) => a - b).filter((p) => byPerson.get(p)!.length >= 2 && (byPerson.size > 1 || (notFor.get(p)?.length ?? 0) > 0));
  const anyDrift = start.some((w, k) => w !== W0[k]);
  if (anchorsOf.length === 0 && !anyDrift) return { W: start.slice(), stats };
  const ws = new Workspace(inDim, outDim, s.people * s.faces * 2 + s.people);
  ws.setW(start);
  const W = ws.W, G = ws.G, dp = ws.dp;
  const W0p = new Float32Array(W.length);
  for (let o = 0; o < outDim; o++) W0p.set(W0.subarray(o * inDim, (o + 1) * inDim), o * dp);
  const rand = seededRandom(s.seed);
  const m = new Float32Array(W.length), v = new Float32Array(W.length);
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const people = [...byPerson.keys()].sort((a, b) => a - b);
  for (let step = 1; step <= s.steps; step++) {
    const xs: Float32Array[] = [];
    const who: number[] = [];
    // P anchor people, K faces each; then one face each of up to P other people, and up to K
    // "not this person" faces per anchor person, as extra negatives.
    const chosen = sample(anchorsOf, s.people, rand);
    for (const p of chosen) for (const x of sample(byPerson.get(p)!, s.faces, rand)) (xs.push(x), who.push(p));
    const anchors = xs.length;
    const chosenSet = new Set(chosen);
    for (const p of sample(people.filter((q) => !chosenSet.has(q)), s.people, rand)) (xs.push(sample(byPerson.get(p)!, 1, rand)[0]!), who.push(p));
    const notOwner: number[] = new Array<number>(xs.length).fill(-1);
    for (const p of chosen) {
      for (const x of sample(notFor.get(p) ?? [], s.faces, rand)) {
        xs.push(x);
        who.push(-1);
        notOwner.push(p);
      }
    }
    const person = Int32Array.from(who);
    let loss = 0;
    G.fill(0);
    if (anchors > 0) {
      const { f, norm } = ws.embed(xs);
      const { triplets, pairs } = mineSemiHard(f, outDim, person, anchors, (a, q) => (person[q] === -1 ? notOwner[q] === person[a] : person[q] !== person[a]));
      const gf = new Float64Array(f.length);
      const r = tripletGradient(f, outDim, triplets, pairs, s.alpha, gf);
      loss = r.loss;
      stats.activeTriplets += r.active;
      if (r.active > 0) ws.backward(f, norm, gf, xs.length);
    }
    const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step, lr = s.learningRate;
    for (let k = 0; k < W.length; k++) {
      const diff = W[k]! - W0p[k]!;
      loss += s.lambda * diff * diff;
      const g = G[k]! + 2 * s.lambda * diff;
      if (g === 0 && m[k] === 0) continue;
      m[k] = b1 * m[k]! + (1 - b1) * g;
      v[k] = b2 * v[k]! + (1 - b2) * g * g;
      W[k]! -= (lr * (m[k]! / c1)) / (Math.sqrt(v[k]! / c2) + eps);
    }
    stats.lastLoss = loss;
    stats.steps++;
  }
  return { W: ws.getW(), stats };
}

/** Up to `k` distinct items, in a seeded random order (partial Fisher–Yates on a copy). */
function sample<T>(items: readonly T[], k: number, rand: () => number): T[] {
  const a = items.slice();
  const n = Math.min(k, a.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, n);
}

/** The stored map a background retrain starts from (store/adaptors.ts's row, less its model). */
export interface AdaptorWeights {
  W: Float32Array;
  W0: Float32Array;
  inDim: number;
  outDim: number;
  version: number;
}

/** One background retrain, everything it needs by value: what a worker thread is handed. */
export interface AdaptorJob {
  /** The last stored map (warm start); null: start from the PCA of `library`. */
  start: AdaptorWeights | null;
  /** An even sample of the library's vectors, for the PCA start (empty when `start` is given). */
  library: Float32Array[];
  faces: TripletFace[];
  notPerson: NotPerson[];
  settings?: Partial<AdaptorSettings>;
}

export interface TrainedAdaptor extends AdaptorWeights {
  stats: AdaptorStats;
}

/** Runs a job: warm-started from `start` (or the library's PCA), one training call, version + 1. */
export function trainAdaptorJob(job: AdaptorJob): TrainedAdaptor {
  const from = job.start
    ? new Adaptor(job.start.W, job.start.W0, job.start.inDim, job.start.outDim, job.start.version, emptyStats())
    : Adaptor.start(job.library, job.settings?.outDim ?? ADAPTOR_DEFAULTS.outDim, job.settings?.seed ?? ADAPTOR_DEFAULTS.seed);
  const a = from.train(job.faces, job.notPerson, job.settings);
  return { W: a.W, W0: a.W0, inDim: a.inDim, outDim: a.outDim, version: a.version, stats: a.stats };
}
