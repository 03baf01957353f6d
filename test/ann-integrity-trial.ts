/**
 * @file Child process of test/ann-integrity.test.ts: damages a library's HNSW file (and/or its
 * sidecar) in one way (test/ann-damage.ts), then opens the index in this process and searches
 * with every face, once per trial. A damaged file that crashes hnswlib kills only this
 * process, and the test sees which trial did it. Prints one JSON line per finished trial.
 *
 * usage: ann-integrity-trial.ts <db> <modelId> <dim> <mode> <seed> <trials>
 * The intact files are read from `<db>.hnsw.good` and `<db>.hnsw.json.good`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { FaceIndex, indexPathFor } from '../native/search/ann.ts';
import { Store } from '../native/store/index.ts';
import { SEARCH_K, damage, type DamageMode } from './ann-damage.ts';
import { seededRandom } from './seeded-random.ts';

const [dbPath, modelId, dimArg, mode, seedArg, trialsArg] = process.argv.slice(2) as [string, string, string, DamageMode, string, string];
const dim = Number(dimArg);
const hnswPath = indexPathFor(dbPath);
const good = readFileSync(`${hnswPath}.good`);
const goodSidecar = readFileSync(`${hnswPath}.json.good`, 'utf8');
const random = seededRandom(Number(seedArg));

const store = new Store(dbPath);
const queries = store.faces.idsFor(modelId).map((id) => store.faces.get(id)!);
for (let trial = 0; trial < Number(trialsArg); trial++) {
  const { hnsw, sidecar } = damage(mode, good, goodSidecar, dim, random, trial);
  writeFileSync(hnswPath, hnsw);
  writeFileSync(`${hnswPath}.json`, sidecar);
  const index = FaceIndex.open(store, modelId, dim);
  const results = queries.map((q) => index.search(q.embedding, SEARCH_K).map((h) => [h.faceId, h.similarity]));
  console.log(JSON.stringify({ trial, size: index.size, results }));
}
store.close();
