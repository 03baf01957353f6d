/**
 * @file How good a clustering is against known identities: pairwise and BCubed precision,
 * recall and F, and the user effort (merges + face moves) to fix it. Everything is counted
 * through the cluster × identity contingency table, never by enumerating pairs, so a 100k-face
 * evaluation costs O(n). Pure: the caller decides which items count (e.g. labelled faces only).
 */

/** An item's predicted cluster; null/undefined = unassigned, scored as a singleton cluster of its own. */
export type Predicted = number | string | null | undefined;

export interface Prf {
  precision: number;
  recall: number;
  f1: number;
}

export interface PairCounts {
  /** Same-cluster pairs that are the same identity. */
  correct: number;
  /** Same-cluster pairs. */
  predicted: number;
  /** Same-identity pairs. */
  truth: number;
}

export interface Effort {
  /** Merges: for each identity, its clusters (majority-labelled as it) beyond the first. */
  merges: number;
  /** Face moves: misplaced faces taken out of a wrong cluster, unassigned faces added to their person, and faces gathered into a person that got no cluster. */
  moves: number;
  /** (merges + moves) / items. */
  perFace: number;
}

export interface ClusterScores {
  items: number;
  pairwise: Prf & PairCounts;
  bcubed: Prf;
  effort: Effort;
  /** Predicted clusters with ≥ 2 items, and items unassigned or alone. */
  clusters: number;
  singletons: number;
}

function f1(p: number, r: number): number {
  return p + r > 0 ? (2 * p * r) / (p + r) : 0;
}

/** n choose 2. */
function pairs(n: number): number {
  return (n * (n - 1)) / 2;
}

/**
 * Scores a clustering. `predicted[i]` and `truth[i]` describe item i. Unassigned items are each
 * their own singleton cluster (standard for BCubed; they add no predicted pairs).
 *
 * Pairwise: precision = correct / predicted pairs, recall = correct / true pairs (1 when there
 * are none). BCubed (Amigó et al. 2009): mean over items of |own cluster ∩ own identity| /
 * |own cluster| (precision) and / |own identity| (recall).
 *
 * Effort: each cluster of ≥ 2 items is labelled with its majority identity (ties: the identity
 * seen first). For identity P with n_P items and k_P clusters labelled P: merges = max(0, k_P − 1);
 * every item of P sitting in a cluster labelled otherwise costs 1 move (drag out, or to P);
 * if k_P ≥ 1 every unassigned item of P costs 1 move (add to P); if k_P = 0 the items of P
 * are gathered into a new person at n_P − 1 moves (the first founds it), on top of any
 * drag-outs. A correct result costs 0; a person seen once and left alone costs 0.
 */
export function clusterScores(predicted: readonly Predicted[], truth: readonly (number | string)[]): ClusterScores {
  if (predicted.length !== truth.length) throw new Error('predicted and truth differ in length');
  const n = truth.length;
  // Dense ids: unassigned items get fresh cluster ids of their own.
  const clusterId = new Map<number | string, number>();
  const identityId = new Map<number | string, number>();
  const pc = new Int32Array(n);
  const tc = new Int32Array(n);
  let nextCluster = 0;
  for (let i = 0; i < n; i++) {
    const p = predicted[i];
    if (p === null || p === undefined) pc[i] = nextCluster++;
    else {
      let id = clusterId.get(p);
      if (id === undefined) clusterId.set(p, (id = nextCluster++));
      pc[i] = id;
    }
    let t = identityId.get(truth[i]!);
    if (t === undefined) identityId.set(truth[i]!, (t = identityId.size));
    tc[i] = t;
  }
  const clusterSize = new Float64Array(nextCluster);
  const identitySize = new Float64Array(identityId.size);
  const cells = new Map<number, number>(); // cluster * identities + identity → count
  const nt = identityId.size;
  for (let i = 0; i < n; i++) {
    clusterSize[pc[i]!]!++;
    identitySize[tc[i]!]!++;
    const key = pc[i]! * nt + tc[i]!;
    cells.set(key, (cells.get(key) ?? 0) + 1);
  }

  let correct = 0, predictedPairs = 0, truthPairs = 0, bp = 0, br = 0;
  for (const s of clusterSize) predictedPairs += pairs(s);
  for (const s of identitySize) truthPairs += pairs(s);
  // Majority identity per cluster (first identity by id on ties: ids follow first appearance).
  const majority = new Int32Array(nextCluster).fill(-1);
  const majorityCount = new Float64Array(nextCluster);
  for (const [key, count] of cells) {
    const c = Math.floor(key / nt), t = key % nt;
    correct += pairs(count);
    bp += (count * count) / clusterSize[c]!;
    br += (count * count) / identitySize[t]!;
    if (count > majorityCount[c]! || (count === majorityCount[c]! && t < majority[c]!)) {
      majority[c] = t;
      majorityCount[c] = count;
    }
  }

  // Effort.
  const clustersOf = new Float64Array(nt); // clusters (≥ 2 items) labelled with each identity
  let clusters = 0, singletons = 0;
  for (let c = 0; c < nextCluster; c++) {
    if (clusterSize[c]! >= 2) {
      clusters++;
      clustersOf[majority[c]!]!++;
    } else if (clusterSize[c] === 1) singletons++;
  }
  let merges = 0, moves = 0;
  for (let t = 0; t < nt; t++) {
    merges += Math.max(0, clustersOf[t]! - 1);
    if (clustersOf[t] === 0) moves += Math.max(0, identitySize[t]! - 1);
  }
  for (let i = 0; i < n; i++) {
    const c = pc[i]!, t = tc[i]!;
    if (clusterSize[c]! >= 2) {
      if (majority[c] !== t) moves++;
    } else if (clustersOf[t]! > 0) moves++;
  }

  const precision = predictedPairs > 0 ? correct / predictedPairs : 1;
  const recall = truthPairs > 0 ? correct / truthPairs : 1;
  const bcP = n > 0 ? bp / n : 1, bcR = n > 0 ? br / n : 1;
  return {
    items: n,
    pairwise: { precision, recall, f1: f1(precision, recall), correct, predicted: predictedPairs, truth: truthPairs },
    bcubed: { precision: bcP, recall: bcR, f1: f1(bcP, bcR) },
    effort: { merges, moves, perFace: n > 0 ? (merges + moves) / n : 0 },
    clusters,
    singletons,
  };
}

/** Per-item cluster labels from a clustering given as lists of item indices (unassigned: null). */
export function labelsFromClusters(n: number, clusters: readonly (readonly number[])[]): Array<number | null> {
  const out = new Array<number | null>(n).fill(null);
  clusters.forEach((members, c) => {
    for (const i of members) out[i] = c;
  });
  return out;
}
