/**
 * @file `tsx bench/near-duplicates.ts <db> [--copies PATTERN]`: where the near-duplicate rule
 * (cluster.ts NEAR_DUPLICATE) should sit. Prints, for faces of photos whose path matches
 * PATTERN (default `variants/`: resized copies of one photo, as in make-messy-library.sh), the
 * cosine and box differences of every pair; and for a labelled library (lfw-dev), how many
 * same-person and different-person pairs of different photos reach each cosine, with and
 * without the box test. Only pairs among each face's 32 nearest neighbours are seen, which
 * holds every pair above ~0.6.
 */
import { parseArgs } from 'node:util';
import { FaceIndex } from '../native/search/ann.ts';
import { isNearDuplicate, NEAR_DUPLICATE, relativeBox, type ClusterFace } from '../native/people/cluster.ts';
import { Store } from '../native/store/index.ts';
import { labelledFaces } from './labels.ts';

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { copies: { type: 'string', default: 'variants/' } } });
  const store = new Store(positionals[0] ?? '');
  const { faces, modelId } = labelledFaces(store);
  const photos = new Map(store.photos.list().map((p) => [p.id, p]));
  const cf = faces.map((f): ClusterFace => {
    const p = photos.get(f.row.photoId)!;
    return { id: f.row.id, photoId: f.row.photoId, vector: f.row.embedding, good: true, box: relativeBox(f.row.box, p.width, p.height) };
  });

  const copies = cf.filter((f) => photos.get(f.photoId)!.path.includes(values.copies!));
  console.log(`faces in photos matching "${values.copies}": ${copies.length}`);
  for (let i = 0; i < copies.length; i++) {
    for (let j = i + 1; j < copies.length; j++) {
      const a = copies[i]!, b = copies[j]!;
      if (a.photoId === b.photoId) continue;
      const sim = dot(a.vector, b.vector);
      if (sim < 0.8) continue;
      const name = (f: ClusterFace) => photos.get(f.photoId)!.path.split('/').pop();
      console.log(
        `  ${name(a)} ~ ${name(b)}: cos ${sim.toFixed(4)}, centre Δ ${Math.abs(a.box!.cx - b.box!.cx).toFixed(4)}/${Math.abs(a.box!.cy - b.box!.cy).toFixed(4)}, width ratio ${(a.box!.w / b.box!.w).toFixed(3)}, near-duplicate: ${isNearDuplicate(a, b, sim)}`,
      );
    }
  }

  const labelled = faces.map((f, i) => ({ f, i })).filter((x) => x.f.label !== null);
  const bySize = new Map<string, number>();
  for (const x of labelled) bySize.set(x.f.label!, (bySize.get(x.f.label!) ?? 0) + 1);
  const samePairs = [...bySize.values()].reduce((n, c) => n + (c * (c - 1)) / 2, 0);
  const index = FaceIndex.open(store, modelId, cf[0]!.vector.length);
  const pos = new Map(cf.map((f, i) => [f.id, i]));
  const cuts = [0.9, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99];
  const same = cuts.map(() => ({ any: 0, placed: 0 }));
  const diff = cuts.map(() => ({ any: 0, placed: 0 }));
  const seen = new Set<string>();
  for (const { f, i } of labelled) {
    for (const h of index.search(f.row.embedding, 33)) {
      const j = pos.get(h.faceId);
      if (j === undefined || j === i || faces[j]!.label === null || cf[j]!.photoId === cf[i]!.photoId) continue;
      const key = i < j ? `${i}:${j}` : `${j}:${i}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const sim = dot(cf[i]!.vector, cf[j]!.vector);
      const bucket = faces[j]!.label === f.label ? same : diff;
      cuts.forEach((t, k) => {
        if (sim < t) return;
        bucket[k]!.any++;
        if (isNearDuplicate(cf[i]!, cf[j]!, sim, { ...NEAR_DUPLICATE, similarity: t })) bucket[k]!.placed++;
      });
    }
  }
  console.log(`labelled faces ${labelled.length}, same-person pairs ${samePairs}`);
  console.log('cosine ≥ | same-person pairs (share) | with box test | different-person pairs | with box test');
  cuts.forEach((t, k) => {
    console.log(`${t.toFixed(2)} | ${same[k]!.any} (${((100 * same[k]!.any) / samePairs).toFixed(3)} %) | ${same[k]!.placed} | ${diff[k]!.any} | ${diff[k]!.placed}`);
  });
  store.close();
}

main();
