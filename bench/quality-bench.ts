/**
 * @file `npm run bench:quality -- <labelled folder> [--db FILE]`: how good Kith's people are on
 * a folder labelled by sub-folder name (`<Name>/<photo>`, as lfw-dev). Indexes the folder (or
 * reuses a library of it), clusters every face as the app's full re-cluster does, and prints
 * BCubed and pairwise precision/recall/F, people found vs true people and the user effort to
 * fix the result; then simulates naming (the largest clusters of half the people) and prints
 * the namer's top-1, correct-accept and false-name rate on people never named.
 */
import '../native/pipeline/no-telemetry.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FaceIndex } from '../native/search/ann.ts';
import { clusterFaces, isGoodFace, KNN_K, knnFromSearch, relativeBox } from '../native/people/cluster.ts';
import { clusterScores, labelsFromClusters, type ClusterScores } from './cluster-metrics.ts';
import { indexFolder } from '../native/indexing/indexer.ts';
import { Store } from '../native/store/index.ts';
import { JSON_PREFIX, machine, machineLine } from './common.ts';
import { labelledFaces } from './labels.ts';
import { evaluateNaming, type Figures } from './naming-eval.ts';

const pct = (x: number, digits = 2) => `${(x * 100).toFixed(digits)}%`;
const f4 = (x: number) => x.toFixed(4);

function printClusters(s: ClusterScores, truePeople: number, foundPeople: number): void {
  console.log(`people: ${foundPeople} found (clusters of ≥ 2 faces), ${truePeople} true people among the labelled faces`);
  console.log(`BCubed    precision ${f4(s.bcubed.precision)}  recall ${f4(s.bcubed.recall)}  F ${f4(s.bcubed.f1)}`);
  console.log(`pairwise  precision ${f4(s.pairwise.precision)}  recall ${f4(s.pairwise.recall)}  F ${f4(s.pairwise.f1)}`);
  console.log(`user effort: ${s.effort.merges} merges + ${s.effort.moves} face moves = ${f4(s.effort.perFace)} per face`);
}

function printNaming(label: string, f: Figures): void {
  const at99 = f.curve.find((c) => c.accept === 0.99);
  console.log(
    `${label}: top-1 ${pct(f.top1)} on ${f.positives} faces of named people; at the shipped gate ${f.atGate.gate.toFixed(3)}: ` +
      `correct-accept ${pct(f.atGate.correctAccept)}, false names ${pct(f.atGate.falseNames, 3)} of ${f.negatives} faces of never-named people` +
      (at99 && Number.isFinite(at99.gate) ? `; at 99% correct-accept: false names ${pct(at99.falseNames, 3)}` : ''),
  );
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { db: { type: 'string' } } });
  const folder = positionals[0];
  if (!folder) throw new Error('usage: npm run bench:quality -- <labelled folder> [--db FILE]');
  const tmp = values.db ? null : mkdtempSync(join(tmpdir(), 'kith-quality-'));
  const dbPath = values.db ?? join(tmp!, 'library.db');
  console.log(machineLine(machine()));
  try {
    const store = new Store(dbPath);
    // Incremental: a library of this folder that is already indexed costs only a scan.
    const s = await indexFolder(store, resolve(folder), { device: 'cpu' });
    console.log(`indexed: ${s.indexed} photos (${s.unchanged} unchanged), ${s.faces} faces found, ${(s.wallMs / 1000).toFixed(1)} s`);
    const { faces, modelId } = labelledFaces(store);
    const index = FaceIndex.open(store, modelId, faces[0]!.row.embedding.length);
    const photoSize = new Map(store.photos.list().map((p) => [p.id, p]));
    // As the app clusters: each face placed in its frame, so near-duplicates count once.
    const clusterInput = faces.map((f) => {
      const p = photoSize.get(f.row.photoId);
      return { id: f.row.id, photoId: f.row.photoId, vector: f.row.embedding, good: isGoodFace(f.row), box: relativeBox(f.row.box, p?.width ?? null, p?.height ?? null) };
    });
    const t0 = performance.now();
    const result = clusterFaces(clusterInput, knnFromSearch(clusterInput, (v, k) => index.search(v, k), KNN_K + 8));
    const clusterMs = performance.now() - t0;
    const predicted = labelsFromClusters(faces.length, result.clusters);
    const labelled = faces.map((f, i) => ({ label: f.label, predicted: predicted[i] })).filter((x) => x.label !== null);
    const scores = clusterScores(labelled.map((x) => x.predicted), labelled.map((x) => x.label!));
    console.log(`model ${modelId}: ${faces.length} faces, ${labelled.length} labelled (centre face of each photo), clustered in ${(clusterMs / 1000).toFixed(2)} s`);
    printClusters(scores, new Set(labelled.map((x) => x.label)).size, result.clusters.length);

    const clusterOf = new Map<number, number>();
    result.clusters.forEach((members, c) => members.forEach((i) => clusterOf.set(faces[i]!.row.id, c)));
    const naming = evaluateNaming(store, { shippedOnly: true, clusters: clusterOf });
    for (const half of ['tuning', 'heldout'] as const) {
      printNaming(`naming, bench protocol, ${half} half`, naming.shipped.bench[half]);
      printNaming(`naming, five named faces per person, ${half} half`, naming.shipped.fiveShot[half]);
    }
    console.log(`${JSON_PREFIX}${JSON.stringify({ bench: 'quality', folder, modelId, faces: faces.length, labelled: labelled.length, clusters: scores, naming: naming.shipped })}`);
    store.close();
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
