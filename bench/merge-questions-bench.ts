/**
 * @file `node --import tsx bench/merge-questions-bench.ts <indexed labelled library .db>`: where
 * to put the floor of "Are these the same person?" (native/people/merge-questions.ts). Copies the
 * library (the original is never written), clusters it in full, then takes every candidate pair
 * of people the questions would consider and scores it against the labels (bench/labels.ts):
 * a person is the label most of its labelled faces carry, a pair is "same" when both carry one
 * label. Prints, per 0.02 linkage bin, how many pairs there are and the share that is one
 * person, and the precision of asking everything from each bin up.
 */
import '../native/pipeline/no-telemetry.ts';
import { copyFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FaceIndex } from '../native/search/ann.ts';
import { mergeCandidates } from '../native/people/merge-questions.ts';
import { PeopleClusterer } from '../native/people/clusterer.ts';
import { Store } from '../native/store/index.ts';
import { tempDir } from './common.ts';
import { labelledFaces } from './labels.ts';

/** 0.02-wide bins: the same-person pairs are few, and the floor sits where they begin. */
const BINS_PER_UNIT = 50;
const source = process.argv[2];
if (!source || !existsSync(source)) throw new Error('usage: merge-questions-bench.ts <library.db>');
const tmp = tempDir('kith-merge-q-');
const db = join(tmp.dir, basename(source));
for (const suffix of ['', '.hnsw', '.hnsw.json']) if (existsSync(source + suffix)) copyFileSync(source + suffix, db + suffix);
const store = new Store(db);
try {
  const { faces, modelId } = labelledFaces(store);
  const index = FaceIndex.open(store, modelId, faces[0]!.row.embedding.length);
  await new PeopleClusterer(store).full(index);
  const labelOf = new Map(faces.filter((f) => f.label !== null).map((f) => [f.row.id, f.label!]));
  const majority = (faceIds: number[]): string | null => {
    const counts = new Map<string, number>();
    for (const f of faceIds) {
      const l = labelOf.get(f);
      if (l) counts.set(l, (counts.get(l) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? null;
  };
  const bins = new Map<number, { pairs: number; same: number }>();
  for (const c of mergeCandidates(store, modelId, (v, k) => index.search(v, k))) {
    const la = majority(c.a.faceIds);
    const lb = majority(c.b.faceIds);
    if (la === null || lb === null) continue;
    const bin = Math.floor(c.linkage * BINS_PER_UNIT) / BINS_PER_UNIT;
    const b = bins.get(bin) ?? { pairs: 0, same: 0 };
    b.pairs++;
    if (la === lb) b.same++;
    bins.set(bin, b);
  }
  let pairs = 0;
  let same = 0;
  console.log('linkage bin\tpairs\tsame\tshare same\tprecision from here up');
  for (const [bin, b] of [...bins].sort((x, y) => y[0] - x[0])) {
    pairs += b.pairs;
    same += b.same;
    console.log(`${bin.toFixed(2)}–${(bin + 1 / BINS_PER_UNIT).toFixed(2)}\t${b.pairs}\t${b.same}\t${(b.same / b.pairs).toFixed(2)}\t${(same / pairs).toFixed(2)}`);
  }
} finally {
  store.close();
  tmp.remove();
}
