/**
 * @file Groups faces into people. Average-linkage agglomeration over the sparse k-nearest-
 * neighbour graph (never an n×n matrix), with the linkage computed exactly from per-cluster
 * vector sums: for unit vectors the mean cosine over all A×B pairs is dot(ΣA, ΣB)/(|A|·|B|).
 * Only good faces may found a person; poor faces join one when clearly close, else stay
 * unassigned. Photo-mates and caller-given cannot-link pairs never share a cluster; must-link
 * groups start as one cluster. Everything is keyed on face ids, so the result is the same for
 * any input order and any run. Pure: no SQL, no I/O. The measurements behind the defaults are
 * in bench/cluster-experiments.ts.
 */

/** Per-face detection and pose figures the quality gate reads (as stored on a FaceRow). */
export interface FaceQuality {
  /** Detector confidence, 0..1. */
  score: number;
  /** Short side of the face box, original-image pixels. */
  size: number;
  /** Laplacian variance of the aligned 112×112 crop (native/pipeline/quality.ts). */
  sharpness: number;
  /** Head turn, degrees (±90 = the landmark estimate saturated: profile or failed landmarks). */
  yaw: number;
  /** Head nod, degrees. */
  pitch: number;
}

export interface QualityGate {
  minScore: number;
  minSize: number;
  minSharpness: number;
  /** Largest |yaw|, degrees. */
  maxYaw: number;
  /** Largest |pitch|, degrees. */
  maxPitch: number;
}

/**
 * Chosen on lfw-dev A–D (`tsx bench/cluster-experiments.ts <db> --only gate` prints the table).
 * Faces failing a bound are "hubs": their embeddings drift toward a common blur/profile region
 * and sit close to many strangers. Mean count of ≥ 0.45 neighbours among background
 * (unlabelled) faces: clean 7; score < 0.8: 33; size < 32 px: 49, 32–40: 23, 40–50: 18,
 * 50–64: 13, ≥ 64: 7; sharpness < 10: 37, 10–15: 18; |yaw| > 60 (mostly the saturated ±90
 * estimate): 28. Each bound sits where hubness returns toward the clean level. At 40 px,
 * gate-passing 40–62 px background faces formed "people" of unrelated smudges; at 64 px those
 * are gone, for −0.0002 BCubed F on A–D (labelled faces are ≥ 64 px, so they are unaffected).
 * On A–D the gate makes 1.5 % of the labelled faces poor (they may still join a person) and
 * 76 % of the background faces.
 */
export const DEFAULT_GATE: QualityGate = { minScore: 0.9, minSize: 64, minSharpness: 15, maxYaw: 60, maxPitch: 45 };

/** Whether a face is good enough to found a person (poor faces may only join one). */
export function isGoodFace(face: FaceQuality, gate: QualityGate = DEFAULT_GATE): boolean {
  return (
    face.score >= gate.minScore &&
    face.size >= gate.minSize &&
    face.sharpness >= gate.minSharpness &&
    Math.abs(face.yaw) <= gate.maxYaw &&
    Math.abs(face.pitch) <= gate.maxPitch
  );
}

export interface ClusterFace {
  /** Stable face id (the store's); ids order every tie, so they must be unique. */
  id: number;
  photoId: number;
  /** L2-normalised embedding; every face in one call must come from the same model. */
  vector: Float32Array;
  /** isGoodFace(...) or a caller override (e.g. a user-confirmed face). */
  good: boolean;
  /** Where the face sits in its photo, as fractions of the photo; without it a face has no near-duplicates. */
  box?: RelativeBox;
}

/** A face box relative to its photo: centre and width as fractions of the photo's width and height. */
export interface RelativeBox {
  cx: number;
  cy: number;
  w: number;
}

/** Face box (pixels) and photo size to a RelativeBox; undefined when the photo size is unknown. */
export function relativeBox(box: { x1: number; y1: number; x2: number; y2: number }, width: number | null, height: number | null): RelativeBox | undefined {
  if (!width || !height) return undefined;
  return { cx: (box.x1 + box.x2) / 2 / width, cy: (box.y1 + box.y2) / 2 / height, w: (box.x2 - box.x1) / width };
}

/**
 * When two faces in two photos are one observation (a resized copy, a re-saved export): the
 * vectors nearly identical and the face in the same place of the frame. Such faces count once
 * as evidence that a person exists or that two groups are one person.
 */
export interface NearDuplicateRule {
  /** Smallest cosine similarity. */
  similarity: number;
  /** Largest difference of the box centres, as a fraction of the photo side. */
  position: number;
  /** Largest relative difference of the box widths (relative to the photo width). */
  scale: number;
}

/**
 * Measured with `tsx bench/near-duplicates.ts <db>`: the resized copies of one photo in the messy
 * library (240p to 1080p) score cosine 0.969–0.999 with centres within 0.006 and widths within
 * 6 % of each other (a crop of the photo moves the face in the frame and is not folded). On
 * lfw-dev, whose faces all sit at the same place by design so only the cosine separates, 18 of
 * 199,261 same-person pairs of different photos pass at 0.95 (0.009 %: LFW's own near-identical
 * shots), and 2 different-person pairs (one photo filed under two names).
 */
export const NEAR_DUPLICATE: NearDuplicateRule = { similarity: 0.95, position: 0.02, scale: 0.1 };

/** Whether faces a and b (of similarity `sim`) are one observation under `rule`. */
export function isNearDuplicate(a: Pick<ClusterFace, 'photoId' | 'box'>, b: Pick<ClusterFace, 'photoId' | 'box'>, sim: number, rule: NearDuplicateRule | null = NEAR_DUPLICATE): boolean {
  if (!rule || sim < rule.similarity || a.photoId === b.photoId || !a.box || !b.box) return false;
  return (
    Math.abs(a.box.cx - b.box.cx) <= rule.position &&
    Math.abs(a.box.cy - b.box.cy) <= rule.position &&
    Math.abs(a.box.w - b.box.w) <= rule.scale * Math.max(a.box.w, b.box.w)
  );
}

/** How many observations `faces` are once near-duplicates count as one (all pairs compared: for small groups). */
export function countObservations(faces: readonly Pick<ClusterFace, 'photoId' | 'box' | 'vector'>[], rule: NearDuplicateRule | null = NEAR_DUPLICATE): number {
  const parent = faces.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (let i = 0; i < faces.length; i++) {
    for (let j = i + 1; j < faces.length; j++) {
      if (isNearDuplicate(faces[i]!, faces[j]!, dot32(faces[i]!.vector, faces[j]!.vector), rule)) parent[find(j)] = find(i);
    }
  }
  return new Set(faces.map((_, i) => find(i))).size;
}

export interface KnnEdge {
  /** Position in the faces array of the same call. */
  j: number;
  /** Cosine similarity, 1 = same direction. */
  similarity: number;
}

/**
 * Nearest neighbours of the face at position `i`, by position in the same faces array. Self and
 * positions outside the array are ignored; order does not matter. Ask for about KNN_K.
 */
export type Knn = (i: number) => readonly KnnEdge[];

/**
 * The same neighbours in flat arrays, for a whole library (100k faces have 4M edges, and an
 * object per edge cost a full run ~1 s): face i's are j[r], similarity[r] for r in
 * [i·k, i·k + counts[i]), by position in the faces array; j = -1 is a neighbour to ignore.
 */
export interface FlatKnn {
  k: number;
  counts: Int32Array;
  j: Int32Array;
  similarity: Float64Array;
}

/*
 * The product's clustering rules. Chosen on lfw-dev people A–D (3,819 faces, 1,455 people) and
 * read once on E–H (2,722 faces, 734 people), ensemble embedder; `tsx bench/cluster-experiments.ts
 * <db>` reprints every row. Rule: pairwise precision ≥ 0.995 on A–D, then best BCubed F, then
 * fewest background faces. At these settings: A–D pairwise P/R 0.9996/0.9874, BCubed P/R/F
 * 0.9957/0.9804/0.9880; E–H 0.9998/0.9894, 0.9965/0.9880/0.9922. Portrait sets: pairwise
 * precision 1.0 on all four; faceapi-bbt 8/8 people.
 */

/**
 * Average-linkage similarity two large clusters need to merge (the limit of mergeThreshold as
 * sizes grow). Swept 0.35–0.5 (with SIZE_BONUS 0–0.15): 0.45 + 0.05/√(ab) is the row above.
 */
export const LINKAGE = 0.45;
/**
 * Extra similarity demanded of small merges: threshold = LINKAGE + SIZE_BONUS / √(|A|·|B|). A
 * single pair of faces is one noisy sample; the mean over many pairs is not. Without it
 * (0.45 + 0) A–D BCubed P falls from 0.9957 to 0.9839 (pairs of look-alike strangers).
 */
export const SIZE_BONUS = 0.05;
/** Mean similarity a poor face needs to the cluster it joins. Poor faces joining lifts A–D BCubed R 0.9669 → 0.9804 (swept 0.45, 0.5, 0.55). */
export const JOIN = 0.5;
/** How much better that cluster must be than the next-best cluster. Margins 0 and 0.05 tie on every A–D figure; 0.05 kept (0.1 swept too). */
export const JOIN_MARGIN = 0.05;
/** Smallest cluster a poor face may join: a good singleton is a person-in-waiting. 2 costs 0.0015 A–D BCubed F. */
export const JOIN_MIN_SIZE = 1;
/**
 * Poor faces a cluster may take per good face it holds (best first). Blurry, tiny faces sit
 * close to one another and to any soft-looking face, so without a cap one barely-good face
 * gathers a "person" of a dozen smudges. 1: the same labelled scores as no cap, fewer
 * background smudges gathered.
 */
export const MAX_POOR_PER_GOOD = 1;
/**
 * Clusters smaller than this are reported as unassigned (must-link groups always count): one
 * face is not yet a person. Not swept; a person needs a second sighting by definition.
 */
export const MIN_CLUSTER_SIZE = 2;
/**
 * Neighbours per face a Knn should return (knnFromSearch's default, and the clusterer's). 8, 16,
 * 32 and 64 give identical labelled scores on A–D (linkage is exact from sums; the graph only has
 * to connect); 32 leaves room for poor faces whose nearest neighbours are other poor faces.
 */
export const KNN_K = 32;

/**
 * The numbers the clustering rules read. The app always runs with CLUSTER_RULES; the
 * experiments in bench/ pass other values to measure them, and the incremental step clusters
 * its new faces with MIN_CLUSTER_SIZE 1 (a lone new face may still join a person).
 */
export interface ClusterRules {
  linkage: number;
  sizeBonus: number;
  join: number;
  joinMargin: number;
  joinMinSize: number;
  maxPoorPerGood: number;
  minClusterSize: number;
  /** Near-duplicate faces count as one observation (null: every face counts). */
  nearDuplicates: NearDuplicateRule | null;
}

export const CLUSTER_RULES: Readonly<ClusterRules> = Object.freeze({
  linkage: LINKAGE,
  sizeBonus: SIZE_BONUS,
  join: JOIN,
  joinMargin: JOIN_MARGIN,
  joinMinSize: JOIN_MIN_SIZE,
  maxPoorPerGood: MAX_POOR_PER_GOOD,
  minClusterSize: MIN_CLUSTER_SIZE,
  nearDuplicates: NEAR_DUPLICATE,
});

/** What the user has said about who is who, as face positions. */
export interface ClusterConstraints {
  /** Groups of face positions known to be one person (confirmed faces). Different groups never merge. */
  mustLink?: readonly (readonly number[])[];
  /** Pairs of face positions that are never one person (a rejected face). Photo-mates are added automatically. */
  cannotLink?: readonly (readonly [number, number])[];
}

export interface ClusterResult {
  /** People: face positions, each list sorted by face id, lists sorted by their first face id. */
  clusters: number[][];
  /** Positions in no cluster (poor faces left alone, singletons), sorted by face id. */
  unassigned: number[];
}

/** The merge threshold for clusters of sizes a and b (see SIZE_BONUS). */
export function mergeThreshold(p: Pick<ClusterRules, 'linkage' | 'sizeBonus'>, a: number, b: number): number {
  return p.linkage + p.sizeBonus / Math.sqrt(a * b);
}

// ---- The join rules, written once: full clustering and incremental placement both decide with these. ----

/** Whether two groups of sizes a and b whose average linkage is `sim` are one person (the merge rule). */
export function merges(p: Pick<ClusterRules, 'linkage' | 'sizeBonus'>, sim: number, a: number, b: number): boolean {
  return sim >= mergeThreshold(p, a, b);
}

/** A face's (or group's) most similar target, and the similarity of the runner-up (−1 when there is none). */
export interface BestTarget<T> {
  target: T;
  sim: number;
  runnerUp: number;
}

/**
 * The most similar of `targets` (each counted once), ties to the smaller `tieKey`; `similarity`
 * is asked once per distinct target.
 */
export function bestTarget<T>(targets: Iterable<T>, similarity: (t: T) => number, tieKey: (t: T) => number): BestTarget<T> | undefined {
  let best: BestTarget<T> | undefined;
  for (const t of new Set(targets)) {
    const sim = similarity(t);
    if (!best) best = { target: t, sim, runnerUp: -1 };
    else if (sim > best.sim || (sim === best.sim && tieKey(t) < tieKey(best.target))) best = { target: t, sim, runnerUp: best.sim };
    else best.runnerUp = Math.max(best.runnerUp, sim);
  }
  return best;
}

/** The poor-face rule: it joins its best target when close enough (`join`) and clearly ahead of the runner-up (`joinMargin`). */
export function poorFaceJoins(p: Pick<ClusterRules, 'join' | 'joinMargin'>, hit: { sim: number; runnerUp: number } | undefined): boolean {
  return hit !== undefined && hit.sim >= p.join && hit.sim - hit.runnerUp >= p.joinMargin;
}

/** Whether a target holding `good` good (or confirmed) faces and `poor` poor ones may take one more poor face. */
export function roomForPoor(p: Pick<ClusterRules, 'maxPoorPerGood'>, good: number, poor: number): boolean {
  return poor < p.maxPoorPerGood * good;
}

/**
 * dot(a, b) of two float32 vectors, accumulated in float64: every linkage of the clustering is
 * this. The agglomeration's hot loop: kept monomorphic (one array type) and unrolled, as it
 * runs ~15 times per face.
 */
export function dot32(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  for (; i < n; i++) s0 += a[i]! * b[i]!;
  return s0 + s1 + s2 + s3;
}

/** dot(a, b) in float64, for sums and vectors alike. */
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * The adjacent pairs of clusters during agglomeration, by pair id in typed arrays (a 100k-face
 * run has ~0.5M of them: objects cost seconds of garbage collection), with a max-heap over the
 * queued ones. A pair holds at most one heap slot, moved in place when its key changes, so
 * nothing stale is ever popped. Key: an upper bound on the pair's margin (linkage minus
 * threshold), exact once its linkage was computed; ties go to the pair with the smaller roots,
 * so the order is fixed by face ids. Four children per node, keys kept beside the ids: a sift's
 * cost is its levels, each one or two cache lines.
 */
class PairQueue {
  /** The pair's roots, a < b. */
  readonly a: Int32Array;
  readonly b: Int32Array;
  /** Upper bound on the pair's linkage, the linkage itself when `exact`. */
  readonly bound: Float64Array;
  readonly exact: Uint8Array;
  /** Heap position, -1 when not queued. */
  private readonly slot: Int32Array;
  private readonly ids: Int32Array;
  private readonly keys: Float64Array;
  size = 0;
  count = 0;

  constructor(capacity: number) {
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
    this.bound = new Float64Array(capacity);
    this.exact = new Uint8Array(capacity);
    this.slot = new Int32Array(capacity).fill(-1);
    this.ids = new Int32Array(capacity);
    this.keys = new Float64Array(capacity);
  }

  add(x: number, y: number, bound: number): number {
    const q = this.count++;
    this.a[q] = Math.min(x, y);
    this.b[q] = Math.max(x, y);
    this.bound[q] = bound;
    return q;
  }

  /** Whether heap entry i goes above entry j. */
  private above(i: number, j: number): boolean {
    const ki = this.keys[i]!, kj = this.keys[j]!;
    if (ki !== kj) return ki > kj;
    const p = this.ids[i]!, q = this.ids[j]!;
    return this.a[p]! < this.a[q]! || (this.a[p] === this.a[q] && this.b[p]! < this.b[q]!);
  }

  private place(i: number, q: number, key: number): void {
    this.ids[i] = q;
    this.keys[i] = key;
    this.slot[q] = i;
  }

  private swap(i: number, j: number): void {
    const q = this.ids[i]!, k = this.keys[i]!;
    this.place(i, this.ids[j]!, this.keys[j]!);
    this.place(j, q, k);
  }

  private up(i: number): number {
    while (i > 0) {
      const parent = (i - 1) >> 2;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
    return i;
  }

  private down(i: number): void {
    for (;;) {
      const first = 4 * i + 1;
      if (first >= this.size) return;
      let best = first;
      for (let c = first + 1; c < Math.min(first + 4, this.size); c++) if (this.above(c, best)) best = c;
      if (!this.above(best, i)) return;
      this.swap(i, best);
      i = best;
    }
  }

  /**
   * Queue pair q on `key`, or take it out of the queue when the key is below 0 (it cannot
   * merge). Also the call to make after its roots changed: the tie order may have moved.
   */
  setKey(q: number, key: number): void {
    const at = this.slot[q]!;
    if (key < 0) {
      if (at < 0) return;
      const last = --this.size;
      this.slot[q] = -1;
      if (at === last) return;
      this.place(at, this.ids[last]!, this.keys[last]!);
      this.down(this.up(at));
      return;
    }
    if (at < 0) {
      this.place(this.size++, q, key);
      this.up(this.size - 1);
      return;
    }
    this.keys[at] = key;
    this.down(this.up(at));
  }

  /** The best queued pair, or -1. */
  top(): number {
    return this.size > 0 ? this.ids[0]! : -1;
  }
}

const NOTHING = new Float32Array(0);

/**
 * Cluster state over canonical indices (rank by face id). A cluster is named by its smallest
 * canonical index (its root), so every tie-break depends on membership only.
 */
class Clusters {
  readonly parent: Int32Array;
  readonly count: Int32Array;
  /**
   * Vector sum per root; singletons use the face's own vector until they merge. Float32: the
   * rounding (~1e-7 relative per merge) is far below any threshold step, and float64 sums
   * would cost 5.6 KB per cluster and slow the dot products.
   */
  readonly sum: Float32Array[];
  readonly photos: Array<Set<number>>;
  /** Canonical indices this root's members may never share a cluster with. */
  readonly cannot: Array<number[] | undefined>;
  /** Must-link group id per root, -1 for none. */
  readonly group: Int32Array;
  /** 1 where sum[root] is a buffer of the cluster's own (not a face's vector). */
  readonly owned: Uint8Array;

  constructor(faces: readonly ClusterFace[]) {
    const n = faces.length;
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
    this.count = new Int32Array(n).fill(1);
    this.sum = faces.map((f) => f.vector);
    this.photos = faces.map((f) => new Set([f.photoId]));
    this.cannot = new Array<number[] | undefined>(n);
    this.group = new Int32Array(n).fill(-1);
    this.owned = new Uint8Array(n);
  }

  find(i: number): number {
    let r = i;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[i] !== r) {
      const next = this.parent[i]!;
      this.parent[i] = r;
      i = next;
    }
    return r;
  }

  /** Whether roots a and b may become one person (photo-mates, cannot-link, distinct must-link groups). */
  compatible(a: number, b: number): boolean {
    if (this.group[a]! >= 0 && this.group[b]! >= 0 && this.group[a] !== this.group[b]) return false;
    const pa = this.photos[a]!, pb = this.photos[b]!;
    const small = pa.size <= pb.size ? pa : pb, large = small === pa ? pb : pa;
    for (const p of small) if (large.has(p)) return false;
    const ca = this.cannot[a], cb = this.cannot[b];
    if (ca) for (const c of ca) if (this.find(c) === b) return false;
    if (cb) for (const c of cb) if (this.find(c) === a) return false;
    return true;
  }

  linkage(a: number, b: number): number {
    return dot32(this.sum[a]!, this.sum[b]!) / (this.count[a]! * this.count[b]!);
  }

  /**
   * Make roots a and b one cluster that counts as one of them: a near-duplicate adds its face
   * (and photo) but no weight. The larger of the two (by count) keeps its sum and count.
   */
  absorb(a: number, b: number): number {
    const [root, gone] = a < b ? [a, b] : [b, a];
    const keeper = this.count[a]! > this.count[b]! || (this.count[a] === this.count[b] && a < b) ? a : b;
    this.parent[gone] = root;
    this.sum[root] = this.sum[keeper]!;
    this.owned[root] = this.owned[keeper]!;
    this.count[root] = this.count[keeper]!;
    this.sum[gone] = NOTHING;
    this.owned[gone] = 0;
    this.joinRest(root, gone);
    return root;
  }

  /** Merge roots a and b; returns the surviving root (the smaller index). */
  union(a: number, b: number): number {
    const [root, gone] = a < b ? [a, b] : [b, a];
    this.parent[gone] = root;
    const sr = this.sum[root]!, sg = this.sum[gone]!;
    // Accumulate into a buffer this cluster owns; a singleton's sum is still its face's vector.
    // Add into whichever buffer is already owned (float addition commutes, so the sum is the same).
    const [acc, add] = this.owned[root] ? [sr, sg] : this.owned[gone] ? [sg, sr] : [Float32Array.from(sr), sg];
    for (let d = 0; d < acc.length; d++) acc[d]! += add[d]!;
    this.sum[root] = acc;
    this.owned[root] = 1;
    this.owned[gone] = 0;
    this.sum[gone] = NOTHING; // let the dead cluster's buffer go
    this.count[root]! += this.count[gone]!;
    this.joinRest(root, gone);
    return root;
  }

  /**
   * What every join of `gone` into `root` does besides the weight: photos, cannot-links and
   * group pass to `root`.
   */
  private joinRest(root: number, gone: number): void {
    // Add the smaller photo set into the larger (the sets are only asked what they hold).
    const [ps, pl] = this.photos[root]!.size >= this.photos[gone]!.size ? [this.photos[gone]!, this.photos[root]!] : [this.photos[root]!, this.photos[gone]!];
    for (const p of ps) pl.add(p);
    this.photos[root] = pl;
    this.photos[gone] = new Set();
    const cg = this.cannot[gone];
    if (cg) this.cannot[root] = [...(this.cannot[root] ?? []), ...cg];
    if (this.group[root]! < 0) this.group[root] = this.group[gone]!;
  }
}

/** Canonical order: positions sorted by face id, and back. Throws on duplicate ids. */
function canonicalOrder(faces: readonly ClusterFace[]): { order: number[]; rank: Int32Array } {
  const order = faces.map((_, i) => i).sort((x, y) => faces[x]!.id - faces[y]!.id);
  const rank = new Int32Array(faces.length);
  order.forEach((pos, r) => {
    if (r > 0 && faces[order[r - 1]!]!.id === faces[pos]!.id) throw new Error(`duplicate face id ${faces[pos]!.id}`);
    rank[pos] = r;
  });
  return { order, rank };
}

/**
 * How far a linkage bound may sit below the linkage as computed and still be trusted: float32
 * sums and the float64 dot each round, so a bound derived from earlier computed linkages can
 * undershoot a fresh computation of the same pair by ~1e-6 at most. Bounds are raised by this.
 */
const BOUND_SLACK = 1e-4;

/**
 * Agglomerate the given canonical indices by average linkage over the kNN edges among them.
 * Only pairs with a kNN edge ≥ the lowest possible threshold are ever compared: a pair of
 * clusters whose mean cross similarity reaches it has at least one cross pair reaching it.
 *
 * The best pair merges first (largest margin over its threshold). Every adjacent pair keeps an
 * upper bound on its linkage, exact once computed: when A and B merge into R, R's linkage to a
 * neighbour C is exactly (|A|·L(A,C) + |B|·L(B,C)) / (|A| + |B|), so the stored figures bound
 * it (for a side never adjacent to C, the Cauchy–Schwarz bound |ΣX|·|ΣC| / (|X|·|C|)). A pair
 * is queued on an upper bound of its margin, and its linkage computed from the sums only when
 * it reaches the top of the queue, then queued again on the exact figure; a pair whose bound is
 * under its threshold is out of the queue, and a pair holds one place in it, moved when its
 * bound changes (PairQueue). Queue keys are never below the pairs' true margins, so an exact
 * pair at the top is the best pair: the merges, their order and every linkage compared are
 * those of computing every pair at every step, which a large person absorbing faces one at a
 * time made the cost of the whole run (each step recomputed its linkage to hundreds of
 * neighbours).
 */
function agglomerate(cl: Clusters, members: readonly number[], edges: EdgeLists, vector: (c: number) => Float32Array, p: Readonly<ClusterRules>): void {
  const inSet = new Uint8Array(cl.parent.length);
  for (const c of members) inSet[c] = 1;
  const floor = p.linkage;
  let capacity = 0;
  for (const c of members) capacity += edges.start[c + 1]! - edges.start[c]!;
  const pairs = new PairQueue(capacity);
  /** Per root: adjacent root → their pair's id. */
  const adj = new Map<number, Map<number, number>>();
  const near = (a: number) => {
    let s = adj.get(a);
    if (!s) adj.set(a, (s = new Map()));
    return s;
  };
  for (const c of members) {
    const rc = cl.find(c);
    for (let k = edges.start[c]!; k < edges.start[c + 1]!; k++) {
      const j = edges.j[k]!, similarity = edges.sim[k]!;
      if (!inSet[j] || similarity < floor) continue;
      const rj = cl.find(j);
      if (rj === rc) continue;
      // Between two lone faces the linkage is the edge's cosine (the index's own float32
      // arithmetic, well inside BOUND_SLACK); otherwise all that is known is that it is at most 1.
      const bound = cl.sum[rc] === vector(c) && cl.sum[rj] === vector(j) ? similarity : 1;
      const q = near(rc).get(rj);
      if (q !== undefined) pairs.bound[q] = Math.max(pairs.bound[q]!, bound);
      else {
        const fresh = pairs.add(rc, rj, bound);
        near(rc).set(rj, fresh);
        near(rj).set(rc, fresh);
      }
    }
  }
  /** |Σ| per root, for the Cauchy–Schwarz bound. */
  const norm = new Float64Array(cl.parent.length);
  for (const r of adj.keys()) norm[r] = Math.sqrt(dot32(cl.sum[r]!, cl.sum[r]!));
  const threshold = (x: number, y: number) => mergeThreshold(p, cl.count[x]!, cl.count[y]!);
  /** Queue pair q on its bound (or exact linkage) as it stands; out of the queue when even that cannot merge. */
  const requeue = (q: number) => {
    const x = pairs.a[q]!, y = pairs.b[q]!;
    pairs.setKey(q, pairs.exact[q] ? (merges(p, pairs.bound[q]!, cl.count[x]!, cl.count[y]!) ? pairs.bound[q]! - threshold(x, y) : -1) : pairs.bound[q]! + BOUND_SLACK - threshold(x, y));
  };
  for (let q = 0; q < pairs.count; q++) requeue(q);
  for (let q = pairs.top(); q >= 0; q = pairs.top()) {
    const a = pairs.a[q]!, b = pairs.b[q]!;
    if (!pairs.exact[q]) {
      // Its turn: the exact figure, queued again when it merges (the same rule as merges()).
      pairs.bound[q] = cl.linkage(a, b);
      pairs.exact[q] = 1;
      requeue(q);
      continue;
    }
    pairs.setKey(q, -1);
    adj.get(a)!.delete(b);
    adj.get(b)!.delete(a);
    // Constraints only accumulate as clusters grow, so an incompatible pair can never merge.
    if (!cl.compatible(a, b)) continue;
    const ca = cl.count[a]!, cb = cl.count[b]!;
    const perA = norm[a]! / ca, perB = norm[b]! / cb;
    const ma = adj.get(a)!, mb = adj.get(b)!;
    cl.union(a, b); // a < b: a is the root
    norm[a] = Math.sqrt(dot32(cl.sum[a]!, cl.sum[a]!));
    adj.delete(b);
    /** The merged pair's bound from its sides' (undefined: never adjacent, Cauchy–Schwarz). */
    const merged = (c: number, la: number | undefined, lb: number | undefined) => {
      const perC = norm[c]! / cl.count[c]!;
      return (ca * (la ?? Math.min(1, perA * perC)) + cb * (lb ?? Math.min(1, perB * perC))) / (ca + cb);
    };
    for (const [c, qa] of ma) {
      const qb = mb.get(c);
      pairs.bound[qa] = merged(c, pairs.bound[qa], qb === undefined ? undefined : pairs.bound[qb]);
      pairs.exact[qa] = 0;
      if (qb !== undefined) {
        pairs.setKey(qb, -1);
        adj.get(c)!.delete(b);
      }
      requeue(qa);
    }
    for (const [c, qb] of mb) {
      if (ma.has(c)) continue;
      pairs.bound[qb] = merged(c, undefined, pairs.bound[qb]);
      pairs.exact[qb] = 0;
      pairs.a[qb] = Math.min(a, c);
      pairs.b[qb] = Math.max(a, c);
      const mc = adj.get(c)!;
      mc.delete(b);
      mc.set(a, qb);
      ma.set(c, qb);
      requeue(qb);
    }
  }
}

/**
 * Attach lone faces (canonical indices) to existing clusters: each picks its best-linked target
 * among its neighbours' clusters (poorFaceJoins decides), and a compatible cluster. All choices
 * are made against the clusters as they stand, then applied best-first per cluster, so
 * photo-mates competing for one person resolve by similarity and the outcome does not depend
 * on face order.
 */
function attach(cl: Clusters, lone: readonly number[], isTarget: (root: number) => boolean, edges: EdgeLists, vec: (c: number) => Float32Array, p: Readonly<ClusterRules>): void {
  const choices: Array<{ c: number; root: number; sim: number }> = [];
  for (const c of lone) {
    const roots: number[] = [];
    for (let k = edges.start[c]!; k < edges.start[c + 1]!; k++) {
      const r = cl.find(edges.j[k]!);
      if (r !== cl.find(c) && isTarget(r) && cl.compatible(cl.find(c), r)) roots.push(r);
    }
    const v = vec(c);
    const hit = bestTarget(roots, (r) => dot32(v, cl.sum[r]!) / cl.count[r]!, (r) => r);
    if (hit && poorFaceJoins(p, hit)) choices.push({ c, root: hit.target, sim: hit.sim });
  }
  choices.sort((x, y) => y.sim - x.sim || x.c - y.c);
  // Every target is still made of good (or confirmed) faces only, so its count is its good count.
  const goodIn = new Map(choices.map((ch) => [ch.root, cl.count[ch.root]!]));
  const poorIn = new Map<number, number>();
  for (const ch of choices) {
    const taken = poorIn.get(ch.root) ?? 0;
    if (!roomForPoor(p, goodIn.get(ch.root)!, taken)) continue;
    const target = cl.find(ch.root);
    const own = cl.find(ch.c);
    // Compatibility is re-checked against the grown cluster: a photo-mate may have joined first.
    if (own !== target && cl.compatible(own, target)) {
      cl.union(own, target);
      poorIn.set(ch.root, taken + 1);
    }
  }
}

/**
 * Fold near-duplicate faces (see NearDuplicateRule) into one unit each before clustering, so a
 * photo and its resized copy weigh as one face in every linkage, size and evidence rule.
 * kNN edges come most similar first, so only the head of each list is read.
 */
function collapseNearDuplicates(cl: Clusters, canon: readonly ClusterFace[], edges: EdgeLists, rule: NearDuplicateRule): void {
  for (let c = 0; c < canon.length; c++) {
    if (!canon[c]!.box) continue;
    for (let k = edges.start[c]!; k < edges.start[c + 1]!; k++) {
      const j = edges.j[k]!, similarity = edges.sim[k]!;
      if (similarity < rule.similarity) break;
      if (!isNearDuplicate(canon[c]!, canon[j]!, similarity, rule)) continue;
      const a = cl.find(c), b = cl.find(j);
      if (a !== b && cl.compatible(a, b)) cl.absorb(a, b);
    }
  }
}

/**
 * Every face's kNN edges as canonical indices, most similar first (ties by index), in flat
 * arrays: face c's edges are j[k], sim[k] for k in [start[c], start[c + 1]). Read once (each
 * read may be a kNN query) and walked by the near-duplicate pass, the agglomeration and the
 * attachment without an object per edge (12 bytes each: ~40 MB at 100k faces).
 */
interface EdgeLists {
  start: Int32Array;
  j: Int32Array;
  sim: Float64Array;
}

/** Edges c's in [from, to) sorted most similar first, ties by index: an insertion sort, as the index's lists come in order already. */
function sortEdges(js: Int32Array, sims: Float64Array, from: number, to: number): void {
  for (let x = from + 1; x < to; x++) {
    const j = js[x]!, s = sims[x]!;
    let y = x;
    while (y > from && (sims[y - 1]! < s || (sims[y - 1] === s && js[y - 1]! > j))) {
      js[y] = js[y - 1]!;
      sims[y] = sims[y - 1]!;
      y--;
    }
    js[y] = j;
    sims[y] = s;
  }
}

/** The k-NN lists as EdgeLists over canonical indices: self and positions outside the faces dropped. */
function flatEdgeLists(knn: FlatKnn, order: readonly number[], rank: Int32Array): EdgeLists {
  const n = order.length;
  const start = new Int32Array(n + 1);
  const js = new Int32Array(knn.j.length);
  const sims = new Float64Array(knn.j.length);
  let at = 0;
  for (let c = 0; c < n; c++) {
    const i = order[c]!;
    const from = at;
    const count = Math.max(0, Math.min(knn.counts[i] ?? 0, knn.k));
    for (let r = i * knn.k; r < i * knn.k + count; r++) {
      const j = knn.j[r]!;
      if (j < 0 || j >= n || j === i) continue;
      js[at] = rank[j]!;
      sims[at] = knn.similarity[r]!;
      at++;
    }
    sortEdges(js, sims, from, at);
    start[c + 1] = at;
  }
  return { start, j: js, sim: sims };
}

/** A Knn's lists in flat arrays; a position that is not an integer reads -1 (ignored, as any stray). */
function flatKnn(knn: Knn, n: number): FlatKnn {
  const lists = Array.from({ length: n }, (_, i) => knn(i));
  const k = lists.reduce((m, l) => Math.max(m, l.length), 0);
  const counts = Int32Array.from(lists, (l) => l.length);
  const j = new Int32Array(n * k).fill(-1);
  const similarity = new Float64Array(n * k);
  lists.forEach((list, i) =>
    list.forEach((e, r) => {
      if (Number.isInteger(e.j) && e.j >= 0 && e.j < n) j[i * k + r] = e.j;
      similarity[i * k + r] = e.similarity;
    }),
  );
  return { k, counts, j, similarity };
}

/**
 * Cluster faces into people. Deterministic and independent of the order of `faces`: ties are
 * broken by face id. Photo-mates and `cannotLink` pairs never end up together; `mustLink`
 * groups start together (a member conflicting with its own group is left out of it).
 */
export function clusterFaces(faces: readonly ClusterFace[], knn: Knn | FlatKnn, opts: ClusterConstraints = {}, p: Readonly<ClusterRules> = CLUSTER_RULES): ClusterResult {
  const { order, rank } = canonicalOrder(faces);
  const n = faces.length;
  const canon = order.map((pos) => faces[pos]!);
  const cl = new Clusters(canon);
  for (const [x, y] of opts.cannotLink ?? []) {
    const a = rank[x]!, b = rank[y]!;
    if (a === b) continue;
    (cl.cannot[a] ??= []).push(b);
    (cl.cannot[b] ??= []).push(a);
  }
  const edges = flatEdgeLists(typeof knn === 'function' ? flatKnn(knn, n) : knn, order, rank);

  const grouped = seedGroups(cl, opts.mustLink ?? [], rank);
  if (p.nearDuplicates) collapseNearDuplicates(cl, canon, edges, p.nearDuplicates);
  // A unit (a face with its near-duplicates, or a confirmed group) is good when any member is:
  // confirmed faces count as good, the user vouched for them.
  const goodUnit = new Uint8Array(n);
  for (let c = 0; c < n; c++) if (grouped[c] || canon[c]!.good) goodUnit[cl.find(c)] = 1;
  const good: number[] = [];
  const poor: number[] = [];
  for (let c = 0; c < n; c++) {
    const r = cl.find(c);
    if (goodUnit[r]) good.push(c);
    else if (r === c) poor.push(c); // a poor unit attaches once, as its root
  }
  agglomerate(cl, good, edges, (c) => canon[c]!.vector, p);
  const isGoodRoot = new Uint8Array(n);
  for (const c of good) isGoodRoot[cl.find(c)] = 1;
  attach(cl, poor, (r) => isGoodRoot[r] === 1 && cl.count[r]! >= p.joinMinSize, edges, (c) => canon[c]!.vector, p);
  return collect(cl, order, (r) => cl.count[r]! >= p.minClusterSize || cl.group[r]! >= 0);
}

/** Union each must-link group (in canonical order), skipping members that conflict. Returns which canonical indices are grouped. */
function seedGroups(cl: Clusters, mustLink: readonly (readonly number[])[], rank: Int32Array): Uint8Array {
  const grouped = new Uint8Array(cl.parent.length);
  const groups = mustLink
    .map((g) => [...new Set(g.map((pos) => rank[pos]!))].sort((x, y) => x - y))
    .filter((g) => g.length > 0)
    .sort((x, y) => x[0]! - y[0]!);
  groups.forEach((g, gid) => {
    const first = cl.find(g[0]!);
    if (cl.group[first]! < 0) cl.group[first] = gid;
    grouped[g[0]!] = 1;
    for (const c of g.slice(1)) {
      const root = cl.find(g[0]!);
      const rc = cl.find(c);
      if (rc === root) {
        grouped[c] = 1;
        continue;
      }
      if (!cl.compatible(root, rc)) continue;
      cl.union(root, rc);
      grouped[c] = 1;
    }
  });
  return grouped;
}

/** Turn roots into the public result, positions in the caller's order. */
function collect(cl: Clusters, order: readonly number[], keep: (root: number) => boolean): ClusterResult {
  const byRoot = new Map<number, number[]>();
  const unassigned: number[] = [];
  for (let c = 0; c < order.length; c++) {
    const r = cl.find(c);
    if (!keep(r)) {
      unassigned.push(order[c]!);
      continue;
    }
    let list = byRoot.get(r);
    if (!list) byRoot.set(r, (list = []));
    list.push(order[c]!);
  }
  // Canonical indices ascend with face id, and roots are each cluster's smallest index.
  const clusters = [...byRoot.entries()].sort((x, y) => x[0] - y[0]).map(([, m]) => m);
  return { clusters, unassigned };
}

/** What the incremental step needs to know about an existing person. */
export interface PersonCentroid {
  /** The caller's person id. */
  key: number;
  /** Σ of the good member faces' unit vectors (summarisePerson builds it). */
  sum: Float64Array;
  /** Number of faces in `sum`. */
  count: number;
  /** Photos already holding one of the person's faces: a new face from one of them cannot join. */
  photoIds: ReadonlySet<number>;
}

/**
 * Summary of a person from its member faces. The sum covers the good members only (all of them
 * when none is good), as in clusterFaces, where poor faces join but never shape a person: a
 * centroid pulled toward blurry faces would draw in more blurry strangers. Photos count for all.
 */
export function summarisePerson(key: number, members: readonly Pick<ClusterFace, 'vector' | 'photoId' | 'good'>[]): PersonCentroid {
  if (members.length === 0) throw new Error(`person ${key} has no faces`);
  const good = members.filter((m) => m.good);
  const shaping = good.length > 0 ? good : members;
  const sum = new Float64Array(members[0]!.vector.length);
  for (const m of shaping) for (let d = 0; d < sum.length; d++) sum[d]! += m.vector[d]!;
  return { key, sum, count: shaping.length, photoIds: new Set(members.map((m) => m.photoId)) };
}

export interface IncrementalOptions extends ClusterConstraints {
  /**
   * Keys of existing people with a face among face i's nearest neighbours in the whole library
   * (typically: HNSW hits mapped face → person). Without it every person is a candidate.
   */
  candidates?: (i: number) => readonly number[];
  /** [face position, person key]: the user rejected this face from this person. */
  cannotJoin?: readonly (readonly [number, number])[];
}

export interface IncrementalResult {
  /** New faces that join existing people (directly, or as a new cluster that links to one), sorted by face id. */
  joins: Array<{ face: number; person: number }>;
  /** New people among the rest, as in ClusterResult. */
  clusters: number[][];
  unassigned: number[];
}

/** Somewhere a face can go in the incremental step: an existing person or a new group. */
interface Target {
  person: PersonCentroid | null;
  sum: ArrayLike<number>;
  count: number;
  /** Photos it holds, the batch's additions included. */
  photos: Set<number>;
  /** New faces (positions) it has taken in this batch. */
  added: number[];
  /** Good and poor faces it holds, for maxPoorPerGood. */
  good: number;
  poor: number;
}

/**
 * Place new faces without re-clustering the library, following clusterFaces' rules:
 * 1. each good face joins its best existing person when the merge rule for a singleton holds;
 * 2. the remaining good (and must-linked) faces are clustered among themselves;
 * 3. each new group joins its best existing person when their average linkage passes the merge
 *    threshold, as the full agglomeration would have merged them;
 * 4. poor faces join the best of the people and new groups near them (poorFaceJoins, roomForPoor).
 * The decisions are clusterFaces' own rule functions (merges, bestTarget, poorFaceJoins,
 * roomForPoor); only what a target is differs (a person's summary instead of a live cluster).
 * Decisions are made against the people as given and applied best-first, so the outcome does not
 * depend on face order. `knn` gives neighbours among `faces` only (positions in `faces`).
 * Pass as `faces` the new faces plus the unassigned faces among their nearest neighbours (an
 * earlier singleton may now have company). Not every unassigned face: in an LFW-like library
 * that is ~40 % of all faces, i.e. a re-cluster. `people` need only hold the candidates.
 */
export function assignIncremental(faces: readonly ClusterFace[], knn: Knn, people: readonly PersonCentroid[], opts: IncrementalOptions = {}, p: Readonly<ClusterRules> = CLUSTER_RULES): IncrementalResult {
  const n = faces.length;
  const byKey = new Map(people.map((q) => [q.key, q]));
  const rejected = new Map<number, Set<number>>();
  for (const [f, k] of opts.cannotJoin ?? []) rejected.set(f, (rejected.get(f) ?? new Set()).add(k));
  const cannot = new Map<number, number[]>();
  for (const [x, y] of opts.cannotLink ?? []) {
    cannot.set(x, [...(cannot.get(x) ?? []), y]);
    cannot.set(y, [...(cannot.get(y) ?? []), x]);
  }
  const mustLinked = new Uint8Array(n);
  for (const g of opts.mustLink ?? []) for (const i of g) mustLinked[i] = 1;
  const founder = (i: number) => faces[i]!.good || mustLinked[i] === 1;
  const allKeys = people.map((q) => q.key);
  const candidateCache = new Map<number, readonly number[]>();
  /** Memoised: the caller's candidates typically run an HNSW search, and steps 1, 3 and 4 all ask. */
  const candidatesOf = (i: number): readonly number[] => {
    let c = candidateCache.get(i);
    if (!c) candidateCache.set(i, (c = opts.candidates?.(i) ?? allKeys));
    return c;
  };
  const personTargets = new Map<number, Target>();
  const personTarget = (q: PersonCentroid): Target => {
    let t = personTargets.get(q.key);
    // A person holds one face per photo, so its photos count its faces; the sum counts the good ones.
    if (!t) personTargets.set(q.key, (t = { person: q, sum: q.sum, count: q.count, photos: new Set(q.photoIds), added: [], good: q.count, poor: Math.max(0, q.photoIds.size - q.count) }));
    return t;
  };
  /** Whether face i may go to target t (photo-mates, cannot-link with faces it already took, rejections). */
  const fits = (i: number, t: Target) =>
    !t.photos.has(faces[i]!.photoId) &&
    !(t.person && rejected.get(i)?.has(t.person.key)) &&
    !(cannot.get(i) ?? []).some((x) => t.added.includes(x));
  const take = (i: number, t: Target) => {
    t.photos.add(faces[i]!.photoId);
    t.added.push(i);
    if (founder(i)) t.good++;
    else t.poor++;
  };
  /** Best and runner-up similarity of `vector` (a sum over `count` faces) among the targets fitting `ok`. */
  const rank = (vector: ArrayLike<number>, count: number, targets: Iterable<Target>, ok: (t: Target) => boolean) =>
    bestTarget([...targets].filter(ok), (t) => dot(vector, t.sum) / (t.count * count), order);
  const groupIndex = new Map<Target, number>();
  const order = (t: Target) => (t.person ? t.person.key : Number.MAX_SAFE_INTEGER - (groupIndex.get(t) ?? 0));
  const peopleNear = (i: number) => [...candidatesOf(i)].flatMap((k) => (byKey.has(k) ? [personTarget(byKey.get(k)!)] : []));
  const byIdThenSim = (x: { i: number; sim: number }, y: { i: number; sim: number }) => y.sim - x.sim || faces[x.i]!.id - faces[y.i]!.id;
  const placedIn = new Map<number, Target>();

  // 1. Good single faces against existing people; photo-mates proposing one person resolve by similarity.
  const proposals: Array<{ i: number; t: Target; sim: number }> = [];
  for (let i = 0; i < n; i++) {
    if (!faces[i]!.good || mustLinked[i]) continue; // confirmed groups are placed as groups (3)
    const hit = rank(faces[i]!.vector, 1, peopleNear(i), (t) => fits(i, t));
    if (hit && merges(p, hit.sim, 1, hit.target.count)) proposals.push({ i, t: hit.target, sim: hit.sim });
  }
  for (const pr of proposals.sort(byIdThenSim)) {
    if (!fits(pr.i, pr.t)) continue;
    take(pr.i, pr.t);
    placedIn.set(pr.i, pr.t);
  }

  // 2. The remaining founders among themselves (singletons kept: they may still link to a person).
  const rest = [...Array(n).keys()].filter((i) => founder(i) && !placedIn.has(i));
  const restPos = new Map(rest.map((i, r) => [i, r]));
  const sub = clusterFaces(
    rest.map((i) => ({ ...faces[i]!, good: true })),
    (r) => knn(rest[r]!).flatMap((e) => (restPos.has(e.j) ? [{ j: restPos.get(e.j)!, similarity: e.similarity }] : [])),
    {
      mustLink: (opts.mustLink ?? []).map((g) => g.filter((i) => restPos.has(i)).map((i) => restPos.get(i)!)),
      cannotLink: (opts.cannotLink ?? []).filter(([x, y]) => restPos.has(x) && restPos.has(y)).map(([x, y]) => [restPos.get(x)!, restPos.get(y)!] as const),
    },
    { ...p, minClusterSize: 1 },
  );

  // 3. Each new group against existing people, with the full clustering's merge rule.
  const groups: Target[] = [];
  for (const members of sub.clusters.map((m) => m.map((r) => rest[r]!))) {
    const sum = new Float64Array(faces[members[0]!]!.vector.length);
    for (const i of members) for (let d = 0; d < sum.length; d++) sum[d]! += faces[i]!.vector[d]!;
    const near = members.flatMap(peopleNear);
    const hit = rank(sum, members.length, near, (t) => members.every((i) => fits(i, t)));
    if (hit && merges(p, hit.sim, members.length, hit.target.count)) {
      for (const i of members) {
        take(i, hit.target);
        placedIn.set(i, hit.target);
      }
      continue;
    }
    const g: Target = { person: null, sum, count: members.length, photos: new Set(members.map((i) => faces[i]!.photoId)), added: [...members], good: members.length, poor: 0 };
    groupIndex.set(g, groups.length);
    groups.push(g);
    for (const i of members) placedIn.set(i, g);
  }

  // 4. Poor faces join the best person or new group near them, decided together, applied best-first.
  const choices: Array<{ i: number; t: Target; sim: number }> = [];
  for (let i = 0; i < n; i++) {
    if (founder(i)) continue;
    const near = [...peopleNear(i), ...knn(i).flatMap((e) => (e.j !== i && founder(e.j) && placedIn.has(e.j) ? [placedIn.get(e.j)!] : []))];
    const hit = rank(faces[i]!.vector, 1, near, (t) => fits(i, t) && t.count >= p.joinMinSize);
    if (hit && poorFaceJoins(p, hit)) choices.push({ i, t: hit.target, sim: hit.sim });
  }
  for (const ch of choices.sort(byIdThenSim)) {
    if (!fits(ch.i, ch.t) || !roomForPoor(p, ch.t.good, ch.t.poor)) continue;
    take(ch.i, ch.t);
    placedIn.set(ch.i, ch.t);
  }

  const joins: Array<{ face: number; person: number }> = [];
  const unassigned: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = placedIn.get(i);
    if (t?.person) joins.push({ face: i, person: t.person.key });
    else if (!t) unassigned.push(i);
  }
  const byId = (x: number, y: number) => faces[x]!.id - faces[y]!.id;
  const clusters: number[][] = [];
  for (const g of groups) {
    const members = [...g.added].sort(byId);
    const observations = countObservations(members.map((i) => faces[i]!), p.nearDuplicates);
    if (observations >= p.minClusterSize || members.some((i) => mustLinked[i])) clusters.push(members);
    else unassigned.push(...members);
  }
  joins.sort((x, y) => byId(x.face, y.face));
  clusters.sort((x, y) => byId(x[0]!, y[0]!));
  unassigned.sort(byId);
  return { joins, clusters, unassigned };
}

/**
 * A Knn over `faces` from a nearest-neighbour search by face id (e.g. FaceIndex.search): hits
 * that are not in `faces` (other faces of the library) are dropped, so ask for a few more than k.
 */
export function knnFromSearch(faces: readonly ClusterFace[], search: (vector: Float32Array, k: number) => readonly { faceId: number; similarity: number }[], k: number = KNN_K): Knn {
  const pos = new Map(faces.map((f, i) => [f.id, i]));
  return (i) =>
    search(faces[i]!.vector, k + 1).flatMap((h) => {
      const j = pos.get(h.faceId);
      return j === undefined || j === i ? [] : [{ j, similarity: h.similarity }];
    });
}
