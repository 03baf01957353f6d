/**
 * @file `tsx bench/people-evidence.ts <db of a labelled folder>`: which unnamed groups the
 * People grid shows and which go under "Maybe" (native/people/evidence.ts), against the labels.
 * Clusters every face as the app's full re-cluster does, then counts per rule: true people
 * (two or more labelled faces of one identity) put under Maybe, and wrong groups (no identity
 * twice: background strangers, look-alikes) shown. Rules are tuned on people A–D and read on
 * E–H (a group belongs to the half of its main identity, else of its first photo's folder).
 * Also prints the near-duplicate figures of the clustering: people found and wrong merges with
 * and without folding near-duplicates (`--messy`: a library made by make-messy-library.sh,
 * which holds a set of resized copies).
 */
import { basename, dirname } from 'node:path';
import { FaceIndex } from '../native/search/ann.ts';
import { CLUSTER_RULES, clusterFaces, isGoodFace, KNN_K, knnFromSearch, relativeBox, type ClusterFace } from '../native/people/cluster.ts';
import { clusterScores, labelsFromClusters } from './cluster-metrics.ts';
import { evidenceOf, isMaybe, type Evidence, type EvidenceFace, type EvidenceRule } from '../native/people/evidence.ts';
import { Store } from '../native/store/index.ts';
import { labelledFaces } from './labels.ts';

interface Group {
  half: 'A–D' | 'E–H' | 'other';
  real: boolean;
  faces: number;
  /** By EvidenceRule.clearSize. */
  evidence: Map<number, Evidence>;
}

const halfOf = (name: string): Group['half'] => (/^[A-D]/i.test(name) ? 'A–D' : /^[E-H]/i.test(name) ? 'E–H' : 'other');

/**
 * Labels in a library made by make-messy-library.sh: identity folders (portraits, LFW) label
 * their centre face; group photos and sample images are unlabelled; every clear face in
 * `variants/` (resized copies and crops of face_recognition's obama.jpg) is Obama.
 */
function messyLabel(path: string, row: { size: number }, label: string | null): string | null {
  if (path.includes('/variants/')) return row.size >= 40 ? 'obama' : null; // copies and crops of one Obama photo
  if (label === null || /\/2019\/holiday\/|\/debian\/|\/DCIM\/[^/]+$/.test(path)) return null;
  return label;
}

function main(): void {
  const path = process.argv[2];
  if (!path) throw new Error('usage: tsx bench/people-evidence.ts <library.db> [--messy]');
  const store = new Store(path);
  const photos = new Map(store.photos.list().map((p) => [p.id, p]));
  const labelled = labelledFaces(store);
  const modelId = labelled.modelId;
  const faces = process.argv.includes('--messy')
    ? labelled.faces.map((f) => ({ ...f, label: messyLabel(photos.get(f.row.photoId)!.path, f.row, f.label) }))
    : labelled.faces;
  const input: Array<ClusterFace & EvidenceFace> = faces.map((f) => {
    const p = photos.get(f.row.photoId)!;
    return { ...f.row, id: f.row.id, photoId: f.row.photoId, vector: f.row.embedding, good: isGoodFace(f.row), box: relativeBox(f.row.box, p.width, p.height) };
  });
  const index = FaceIndex.open(store, modelId, input[0]!.vector.length);
  const knn = knnFromSearch(input, (v, k) => index.search(v, k), KNN_K + 8);
  const lists = input.map((_, i) => knn(i));
  const cachedKnn = (i: number) => lists[i]!;

  for (const nearDuplicates of [null, CLUSTER_RULES.nearDuplicates]) {
    const r = clusterFaces(input, cachedKnn, {}, { ...CLUSTER_RULES, nearDuplicates });
    // A wrong merge: a group holding labelled faces of two identities.
    const wrong = r.clusters.filter((c) => new Set(c.flatMap((i) => (faces[i]!.label ? [faces[i]!.label] : []))).size > 1).length;
    const predicted = labelsFromClusters(faces.length, r.clusters);
    const scored = faces.flatMap((f, i) => (f.label ? [{ label: f.label, predicted: predicted[i] }] : []));
    const s = clusterScores(scored.map((x) => x.predicted), scored.map((x) => x.label));
    console.log(
      `near-duplicates ${nearDuplicates ? 'folded' : 'counted one by one'}: ${r.clusters.length} people, ${wrong} holding two labelled identities, ${r.unassigned.length} faces unassigned; ` +
        `pairwise P ${s.pairwise.precision.toFixed(4)} R ${s.pairwise.recall.toFixed(4)}, BCubed P ${s.bcubed.precision.toFixed(4)} R ${s.bcubed.recall.toFixed(4)} F ${s.bcubed.f1.toFixed(4)}`,
    );
  }

  const result = clusterFaces(input, cachedKnn);
  const clearSizes = [Number.POSITIVE_INFINITY, 64, 80, 96];
  const groups: Group[] = result.clusters.map((c) => {
    const counts = new Map<string, number>();
    for (const i of c) if (faces[i]!.label) counts.set(faces[i]!.label!, (counts.get(faces[i]!.label!) ?? 0) + 1);
    const [main] = [...counts].sort((a, b) => b[1] - a[1]);
    const folder = basename(dirname(photos.get(input[c[0]!]!.photoId)!.path));
    const members = c.map((i) => input[i]!);
    return { half: halfOf(main?.[0] ?? folder), real: (main?.[1] ?? 0) >= 2, faces: c.length, evidence: new Map(clearSizes.map((z) => [z, evidenceOf(members, z)])) };
  });

  type Rule = { name: string; maybe: (g: Group) => boolean };
  const rules: Rule[] = [
    { name: 'show every group', maybe: () => false },
    { name: 'Immich: ≥ 3 faces', maybe: (g) => g.faces < 3 },
    { name: '≥ 3 observations', maybe: (g) => g.evidence.get(64)!.observations < 3 },
  ];
  for (const clearSize of clearSizes) {
    const clear = clearSize === Number.POSITIVE_INFINITY ? 'good' : `good or ≥ ${clearSize} px`;
    for (const minClear of [2, 3]) {
      rules.push({ name: `≥ ${minClear} ${clear}`, maybe: (g) => isMaybe(g.evidence.get(clearSize)!, { minClear, minClearAlike: 99, alike: 1, clearSize }) });
    }
    for (const alike of [0.5, 0.55, 0.6, 0.65, 0.7]) {
      const rule: EvidenceRule = { minClear: 3, minClearAlike: 2, alike, clearSize };
      rules.push({ name: `≥ 3 ${clear}, or 2 alike ≥ ${alike}`, maybe: (g) => isMaybe(g.evidence.get(clearSize)!, rule) });
    }
  }
  for (const half of ['A–D', 'E–H', 'all'] as const) {
    const inHalf = groups.filter((g) => half === 'all' || g.half === half);
    const real = inHalf.filter((g) => g.real);
    const wrong = inHalf.filter((g) => !g.real);
    console.log(`\n${half}: ${inHalf.length} groups, ${real.length} true people, ${wrong.length} wrong groups`);
    console.log('rule | true people under Maybe | wrong groups shown | sum');
    for (const rule of rules) {
      const hidden = real.filter(rule.maybe).length;
      const shown = wrong.filter((g) => !rule.maybe(g)).length;
      console.log(`${rule.name} | ${hidden} (${((100 * hidden) / Math.max(1, real.length)).toFixed(1)} %) | ${shown} (${((100 * shown) / Math.max(1, wrong.length)).toFixed(1)} %) | ${hidden + shown}`);
    }
  }
  store.close();
}

main();
