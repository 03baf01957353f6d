/**
 * @file `tsx bench/embedder-compare.ts <lfw db>...`: which embedding separates people best on a
 * labelled library (one db per embedder, same photos). Every same-person pair of labelled faces
 * against every different-person pair: ROC AUC, and the share of same-person pairs accepted
 * (TAR) when 0.1% / 0.01% of different-person pairs are (FAR). Histograms, not sorting, so all
 * ~14M pairs of lfw-dev are counted.
 */
import '../native/pipeline/no-telemetry.ts';
import { Store } from '../native/store/index.ts';
import { cosine } from '../native/pipeline/embed.ts';
import { labelledFaces } from './labels.ts';

const BINS = 4000; // cosine in [-1, 1] at 0.0005 resolution

function compare(dbPath: string): void {
  const store = new Store(dbPath);
  const { faces, modelId } = labelledFaces(store);
  const labelled = faces.filter((f) => f.label !== null);
  const same = new Float64Array(BINS);
  const diff = new Float64Array(BINS);
  const bin = (c: number) => Math.min(BINS - 1, Math.max(0, Math.floor(((c + 1) / 2) * BINS)));
  for (let i = 0; i < labelled.length; i++) {
    const a = labelled[i]!;
    for (let j = i + 1; j < labelled.length; j++) {
      const b = labelled[j]!;
      (a.label === b.label ? same : diff)[bin(cosine(a.row.embedding, b.row.embedding))]!++;
    }
  }
  const nSame = same.reduce((s, x) => s + x, 0);
  const nDiff = diff.reduce((s, x) => s + x, 0);
  // AUC = P(same > diff) (+ half the ties), from the two histograms.
  let auc = 0;
  let diffBelow = 0;
  for (let k = 0; k < BINS; k++) {
    auc += same[k]! * (diffBelow + diff[k]! / 2);
    diffBelow += diff[k]!;
  }
  auc /= nSame * nDiff;
  const tarAt = (far: number) => {
    let accepted = 0;
    let sameAccepted = 0;
    for (let k = BINS - 1; k >= 0; k--) {
      if ((accepted + diff[k]!) / nDiff > far) break;
      accepted += diff[k]!;
      sameAccepted += same[k]!;
    }
    return sameAccepted / nSame;
  };
  console.log(
    `${modelId.padEnd(36)} ${labelled.length} faces, ${nSame} same / ${nDiff} different pairs: AUC ${auc.toFixed(5)}, ` +
      `TAR@FAR=1e-3 ${(tarAt(1e-3) * 100).toFixed(2)}%, TAR@FAR=1e-4 ${(tarAt(1e-4) * 100).toFixed(2)}%`,
  );
  store.close();
}

for (const db of process.argv.slice(2)) compare(db);
