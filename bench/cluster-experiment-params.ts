/**
 * @file The clustering experiment's own variants, kept out of the product (native/people/cluster.ts
 * runs only its measured rules): other rule values (passed to clusterFaces as ClusterRules), the
 * 'faces' rivals for poor faces (rejected by bench/cluster-experiments.ts), and finishing another
 * algorithm's grouping the way clusterFaces finishes its own (attachPoorFaces), so algorithms
 * compare on equal terms. The decisions are the product's rule functions (bestTarget,
 * poorFaceJoins, roomForPoor, dot32); only what the experiment varies is written here.
 */
import {
  bestTarget,
  CLUSTER_RULES,
  clusterFaces,
  dot32,
  poorFaceJoins,
  roomForPoor,
  type ClusterFace,
  type ClusterResult,
  type ClusterRules,
  type Knn,
  type KnnEdge,
} from '../native/people/cluster.ts';

/**
 * What a poor face's runner-up is: 'clusters' (the product) = the next-best cluster; 'faces' =
 * also any single neighbour outside the chosen cluster, joined or not. Blurry, tiny faces
 * ("hubs") sit close to one another, so under 'faces' they hold each other back from joining.
 */
export type JoinRivals = 'clusters' | 'faces';

/** Rule values and variants one experiment row runs with. */
export interface ExperimentParams extends ClusterRules {
  joinRivals: JoinRivals;
}

export function experimentParams(over: Partial<ExperimentParams> = {}): ExperimentParams {
  return { ...CLUSTER_RULES, joinRivals: 'clusters', ...over };
}

/** clusterFaces under experiment params: the product itself for 'clusters' rivals; for 'faces', its good-face clusters finished by attachPoorFaces. */
export function clusterWith(faces: readonly ClusterFace[], knn: Knn, over: Partial<ExperimentParams> = {}): ClusterResult {
  const p = experimentParams(over);
  const { joinRivals, ...rules } = p;
  if (joinRivals === 'clusters') return clusterFaces(faces, knn, {}, rules);
  // The product's agglomeration with no poor face joining and nothing dropped: every good-face cluster.
  const grown = clusterFaces(faces, knn, {}, { ...rules, join: Infinity, minClusterSize: 1 });
  return attachPoorFaces(faces, knn, grown.clusters.filter((m) => m.some((i) => faces[i]!.good)), p);
}

/**
 * Finish a grouping made by another algorithm as clusterFaces finishes its own: the given
 * clusters (positions) are taken as they are, then poor faces outside them join (the product's
 * rule, or 'faces' rivals), and clusters smaller than minClusterSize become unassigned.
 * Face ids order every tie, as in clusterFaces.
 */
export function attachPoorFaces(faces: readonly ClusterFace[], knn: Knn, seeds: readonly (readonly number[])[], over: Partial<ExperimentParams> = {}): ClusterResult {
  const p = experimentParams(over);
  const n = faces.length;
  const order = faces.map((_, i) => i).sort((x, y) => faces[x]!.id - faces[y]!.id);
  const rank = new Int32Array(n);
  order.forEach((pos, r) => (rank[pos] = r));
  const canon = order.map((pos) => faces[pos]!);
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const count = new Int32Array(n).fill(1);
  const sum = canon.map((f) => f.vector);
  const photos = canon.map((f) => new Set([f.photoId]));
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  // As clusterFaces' union: the smaller index is the root; the sum is added in float32, element by element.
  const union = (a: number, b: number): void => {
    const [root, gone] = a < b ? [a, b] : [b, a];
    parent[gone] = root;
    const acc = Float32Array.from(sum[root]!);
    for (let d = 0; d < acc.length; d++) acc[d]! += sum[gone]![d]!;
    sum[root] = acc;
    count[root]! += count[gone]!;
    for (const ph of photos[gone]!) photos[root]!.add(ph);
  };
  const compatible = (a: number, b: number): boolean => ![...photos[a]!].some((ph) => photos[b]!.has(ph));
  const edges = (c: number): KnnEdge[] =>
    knn(order[c]!)
      .filter((e) => Number.isInteger(e.j) && e.j >= 0 && e.j < n && e.j !== order[c])
      .map((e) => ({ j: rank[e.j]!, similarity: e.similarity }))
      .sort((x, y) => y.similarity - x.similarity || x.j - y.j);

  const seeded = new Uint8Array(n);
  for (const members of seeds) {
    for (const pos of members) {
      seeded[rank[pos]!] = 1;
      const a = find(rank[members[0]!]!), b = find(rank[pos]!);
      if (a !== b) union(a, b);
    }
  }
  const isTarget = new Uint8Array(n);
  for (let c = 0; c < n; c++) if (seeded[c] || canon[c]!.good) isTarget[find(c)] = 1;

  const choices: Array<{ c: number; root: number; sim: number }> = [];
  for (let c = 0; c < n; c++) {
    if (seeded[c] || canon[c]!.good) continue;
    const near = edges(c);
    const roots = near.map((e) => find(e.j)).filter((r) => r !== find(c) && isTarget[r] === 1 && count[r]! >= p.joinMinSize && compatible(find(c), r));
    const hit = bestTarget(roots, (r) => dot32(canon[c]!.vector, sum[r]!) / count[r]!, (r) => r);
    if (hit && p.joinRivals === 'faces') {
      // Edges come most similar first: the first one outside the chosen cluster is the rival.
      const rival = near.find((e) => find(e.j) !== hit.target);
      if (rival) hit.runnerUp = Math.max(hit.runnerUp, rival.similarity);
    }
    if (hit && poorFaceJoins(p, hit)) choices.push({ c, root: hit.target, sim: hit.sim });
  }
  choices.sort((x, y) => y.sim - x.sim || x.c - y.c);
  const goodIn = new Map(choices.map((ch) => [ch.root, count[ch.root]!]));
  const poorIn = new Map<number, number>();
  for (const ch of choices) {
    const taken = poorIn.get(ch.root) ?? 0;
    if (!roomForPoor(p, goodIn.get(ch.root)!, taken)) continue;
    const target = find(ch.root), own = find(ch.c);
    if (own !== target && compatible(own, target)) {
      union(own, target);
      poorIn.set(ch.root, taken + 1);
    }
  }

  const byRoot = new Map<number, number[]>();
  const unassigned: number[] = [];
  for (let c = 0; c < n; c++) {
    const r = find(c);
    if (count[r]! < p.minClusterSize) unassigned.push(order[c]!);
    else byRoot.set(r, [...(byRoot.get(r) ?? []), order[c]!]);
  }
  return { clusters: [...byRoot.entries()].sort((x, y) => x[0] - y[0]).map(([, m]) => m), unassigned };
}
