/**
 * @file `npm run bench:cluster -- [--db lfw.db] [--sizes 10000,100000]`: how clustering scales.
 * For each library size it builds an HNSW index (hnswlib directly, the app's settings), times
 * single queries (p50/p99), the kNN graph a full re-cluster needs, clusterFaces itself, and an
 * incremental run that places a few new photos against the existing people. Faces are
 * synthetic but shaped like real ones: with --db, the real embeddings (and quality flags and
 * photo-mates) of an indexed library are replayed in independently rotated copies
 * (a per-copy coordinate permutation and sign flip keeps every within-copy similarity and
 * makes copies strangers), plus a little noise; without it, random identities with a
 * long-tailed number of photos each. Nothing goes through SQLite.
 *
 * With --store, each size also runs the product's own path on a real library: the faces written
 * to SQLite as the indexer writes them (bench/synthetic-store.ts), FaceIndex.open building the
 * HNSW file, PeopleClusterer.full with the k-NN pass in this thread, then on worker threads,
 * then again with the k-NN graph the previous run cached (same run; the people must come out
 * identical each time), then --new-photos photos added and PeopleClusterer.incremental, each
 * split into its stages.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import hnswlib from 'hnswlib-node';
import { PeopleClusterer, type ClusterSummary } from '../native/people/clusterer.ts';
import { FaceIndex } from '../native/search/ann.ts';
import { fillStore } from './synthetic-store.ts';
import { assignIncremental, CLUSTER_RULES, clusterFaces, isGoodFace, KNN_K, summarisePerson, type ClusterFace, type Knn, type KnnEdge } from '../native/people/cluster.ts';
import { Store } from '../native/store/index.ts';
import { seededRandom } from '../test/seeded-random.ts';
import { fullStagesLine, incrementalStagesLine, machine, machineLine, peakRssMiB, printJson, round, sec, tempDir } from './common.ts';

const USAGE = `usage: npm run bench:cluster -- [--db FILE] [--sizes 10000,100000] [--new-photos 100] [--queries 1000] [--store]

  --db FILE        replay this library's embeddings (e.g. an indexed lfw-dev); default: random identities
  --sizes LIST     library sizes in faces (default 10000,100000)
  --new-photos N   photos added in the incremental run (default 100)
  --queries N      single HNSW queries timed for p50/p99 (default 1000)
  --store          also run the product path on a real SQLite library (PeopleClusterer, FaceIndex)
  --store-only     only the product path (skips the hnswlib-only figures)`;

// The app's index settings (native/search/ann.ts), so latencies mean the same thing.
const M = 16;
const EF_CONSTRUCTION = 200;
const EF_SEARCH = 64;
/** Noise added to each replayed embedding, as a norm relative to the unit vector. */
const NOISE = 0.2;

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function normaliseInPlace(v: Float32Array): void {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
}

interface Source {
  dim: number;
  vectors: Float32Array[];
  photoIds: number[];
  good: boolean[];
}

function loadSource(dbPath: string): Source {
  const store = new Store(dbPath);
  const [top] = store.faces.modelCounts();
  if (!top) throw new Error(`${dbPath} holds no faces`);
  const src: Source = { dim: 0, vectors: [], photoIds: [], good: [] };
  for (const f of store.faces.iterate(top.modelId)) {
    src.vectors.push(f.embedding);
    src.photoIds.push(f.photoId);
    src.good.push(isGoodFace(f));
  }
  store.close();
  src.dim = src.vectors[0]!.length;
  return src;
}

/** Random identities: people with 1 + ⌊Pareto⌋ photos (a long tail like a real library), one face per photo. */
function randomSource(n: number, dim: number, rand: () => number): Source {
  const src: Source = { dim, vectors: [], photoIds: [], good: [] };
  let photo = 0;
  while (src.vectors.length < n) {
    const centre = new Float32Array(dim).map(() => gaussian(rand));
    normaliseInPlace(centre);
    const photos = Math.min(500, 1 + Math.floor(1 / Math.pow(1 - rand(), 1.2) - 1));
    for (let p = 0; p < photos && src.vectors.length < n; p++) {
      // Noise of norm ~0.8 puts same-person similarity near 0.6, as the real models do.
      const v = centre.map((c) => c + (0.8 / Math.sqrt(dim)) * gaussian(rand));
      normaliseInPlace(v);
      src.vectors.push(v);
      src.photoIds.push(photo++);
      src.good.push(rand() > 0.1);
    }
  }
  return src;
}

/** The synthetic library: face i replays source face i mod R in copy ⌊i / R⌋. */
class Library {
  readonly data: Float32Array;
  readonly faces: ClusterFace[] = [];
  constructor(src: Source, n: number, rand: () => number) {
    const { dim } = src;
    const R = src.vectors.length;
    this.data = new Float32Array(n * dim);
    const copies = Math.ceil(n / R);
    const perms: Int32Array[] = [];
    const signs: Float32Array[] = [];
    for (let c = 0; c < copies; c++) {
      const perm = Int32Array.from({ length: dim }, (_, i) => i);
      for (let i = dim - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      perms.push(perm);
      signs.push(Float32Array.from({ length: dim }, () => (c === 0 ? 1 : rand() < 0.5 ? -1 : 1)));
    }
    const sigma = NOISE / Math.sqrt(dim);
    for (let i = 0; i < n; i++) {
      const r = i % R, c = Math.floor(i / R);
      const v = this.data.subarray(i * dim, (i + 1) * dim);
      const s = src.vectors[r]!, perm = perms[c]!, sign = signs[c]!;
      for (let d = 0; d < dim; d++) v[d] = sign[d]! * s[perm[d]!]! + sigma * gaussian(rand);
      normaliseInPlace(v);
      this.faces.push({ id: i + 1, photoId: c * 10_000_000 + src.photoIds[r]!, vector: v, good: src.good[r]! });
    }
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface SizeResult {
  faces: number;
  libraryFaces: number;
  newFaces: number;
  hnswBuildSec: number;
  queryMs: { p50: number; p99: number };
  /** The same queries with a JS filter callback, as FaceIndex.search made them before (a native-to-JS call per candidate). */
  queryFilteredMs: { p50: number; p99: number };
  knnGraphSec: number;
  clusterSec: number;
  fullReclusterSec: number;
  people: number;
  unassigned: number;
  incremental: { addSec: number; searchSec: number; summariesSec: number; assignSec: number; totalSec: number; fresh: number; joined: number; newPeople: number };
  peakRssMiB: number;
}

function runSize(src: Source, n: number, newPhotos: number, queries: number): SizeResult {
  const rand = seededRandom(n);
  const lib = new Library(src, n, rand);
  const { dim } = src;
  const k = KNN_K;
  // Hold out `newPhotos` random photos: the library is everything else, those photos arrive later.
  const photos = [...new Set(lib.faces.map((f) => f.photoId))];
  const held = new Set<number>();
  while (held.size < Math.min(newPhotos, photos.length - 1)) held.add(photos[Math.floor(rand() * photos.length)]!);
  const base = lib.faces.filter((f) => !held.has(f.photoId));
  const fresh = lib.faces.filter((f) => held.has(f.photoId));

  let t = performance.now();
  const index = new hnswlib.HierarchicalNSW('cosine', dim);
  index.initIndex({ maxElements: n, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: 100 });
  index.setEf(EF_SEARCH);
  base.forEach((f, i) => index.addPoint(Array.from(f.vector), i));
  const hnswBuildSec = (performance.now() - t) / 1000;

  const lat: number[] = [];
  const latFiltered: number[] = [];
  const none = new Set<number>();
  for (let q = 0; q < queries; q++) {
    const f = base[Math.floor(rand() * base.length)]!;
    const v = Array.from(f.vector);
    // Alternating, so both see the same load.
    let t0 = performance.now();
    index.searchKnn(v, k + 1);
    lat.push(performance.now() - t0);
    t0 = performance.now();
    index.searchKnn(v, k + 1, (label: number) => !none.has(label));
    latFiltered.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  latFiltered.sort((a, b) => a - b);

  // Full re-cluster: the kNN graph (one query per face), then clusterFaces.
  t = performance.now();
  const lists: KnnEdge[][] = base.map((f, i) => {
    const res = index.searchKnn(Array.from(f.vector), k + 1);
    return res.neighbors.flatMap((j, r) => (j === i ? [] : [{ j, similarity: 1 - res.distances[r]! }]));
  });
  const knnGraphSec = (performance.now() - t) / 1000;
  t = performance.now();
  const full = clusterFaces(base, (i) => lists[i]!);
  const clusterSec = (performance.now() - t) / 1000;

  // Incremental: the new photos' faces enter the index; they and the unassigned faces near them
  // are placed against the people the full run found.
  const personOf = new Int32Array(base.length).fill(-1);
  full.clusters.forEach((m, key) => m.forEach((i) => (personOf[i] = key)));
  const t1 = performance.now();
  fresh.forEach((f, r) => index.addPoint(Array.from(f.vector), base.length + r));
  const addSec = (performance.now() - t1) / 1000;
  t = performance.now();
  const hits = fresh.map((f) => index.searchKnn(Array.from(f.vector), k + 1));
  const nearUnassigned = new Set<number>();
  for (const h of hits) for (const j of h.neighbors) if (j < base.length && personOf[j] === -1) nearUnassigned.add(j);
  const batch = [...fresh, ...[...nearUnassigned].map((j) => base[j]!)];
  const batchLabels = [...fresh.map((_, r) => base.length + r), ...nearUnassigned];
  const local = new Map(batchLabels.map((label, b) => [label, b]));
  const batchHits = batch.map((f, b) => (b < fresh.length ? hits[b]! : index.searchKnn(Array.from(f.vector), k + 1)));
  const knn: Knn = (b) => batchHits[b]!.neighbors.flatMap((label, r) => (local.has(label) && local.get(label) !== b ? [{ j: local.get(label)!, similarity: 1 - batchHits[b]!.distances[r]! }] : []));
  const candidates = (b: number) => batchHits[b]!.neighbors.flatMap((label) => (label < base.length && personOf[label]! >= 0 ? [personOf[label]!] : []));
  const searchSec = (performance.now() - t) / 1000;
  t = performance.now();
  const touched = new Set<number>();
  for (let b = 0; b < batch.length; b++) for (const key of candidates(b)) touched.add(key);
  // Only the people a new face could join need a summary; keep them cached in an app.
  const people = [...touched].map((key) => summarisePerson(key, full.clusters[key]!.map((i) => base[i]!)));
  const summariesSec = (performance.now() - t) / 1000;
  t = performance.now();
  const inc = assignIncremental(batch, knn, people, { candidates });
  const assignSec = (performance.now() - t) / 1000;

  return {
    faces: n,
    libraryFaces: base.length,
    newFaces: fresh.length,
    hnswBuildSec: round(hnswBuildSec, 2),
    queryMs: { p50: round(percentile(lat, 50), 3), p99: round(percentile(lat, 99), 3) },
    queryFilteredMs: { p50: round(percentile(latFiltered, 50), 3), p99: round(percentile(latFiltered, 99), 3) },
    knnGraphSec: round(knnGraphSec, 2),
    clusterSec: round(clusterSec, 2),
    fullReclusterSec: round(knnGraphSec + clusterSec, 2),
    people: full.clusters.length,
    unassigned: full.unassigned.length,
    incremental: {
      addSec: round(addSec, 3),
      searchSec: round(searchSec, 3),
      summariesSec: round(summariesSec, 3),
      assignSec: round(assignSec, 3),
      totalSec: round((performance.now() - t1) / 1000, 3),
      fresh: batch.length,
      joined: inc.joins.length,
      newPeople: inc.clusters.length,
    },
    peakRssMiB: peakRssMiB(),
  };
}

interface StoreResult {
  faces: number;
  insertSec: number;
  hnswBuildSec: number;
  dbMiB: number;
  full: { inThread: ClusterSummary; workers: ClusterSummary; cached: ClusterSummary; identical: boolean };
  incremental: { photos: number; faces: number; indexSyncSec: number; summary: ClusterSummary };
  /** A full re-cluster after those photos: with the kept k-NN graph brought up to date, and with every face searched; faces the two place differently. */
  fullAfterAdding: { kept: ClusterSummary; searched: ClusterSummary; facesPlacedDifferently: number };
}

/** Face id → its person's smallest face id (people compared by membership, not by their ids). */
function placement(store: Store): Map<number, number> {
  const rows = store.people.assignments();
  const first = new Map<number, number>();
  for (const a of rows) first.set(a.personId, Math.min(first.get(a.personId) ?? Infinity, a.faceId));
  return new Map(rows.map((a) => [a.faceId, first.get(a.personId)!]));
}

/** Faces in `a` or `b` whose person (as its smallest face) differs between the two. */
function placedDifferently(a: Map<number, number>, b: Map<number, number>): number {
  let n = 0;
  for (const id of new Set([...a.keys(), ...b.keys()])) if (a.get(id) !== b.get(id)) n++;
  return n;
}

const MODEL = 'synthetic';

/** The product path over the same synthetic faces: SQLite, FaceIndex, PeopleClusterer. */
async function runStore(src: Source, n: number, newPhotos: number): Promise<StoreResult> {
  const rand = seededRandom(n);
  const lib = new Library(src, n, rand);
  const photos = [...new Set(lib.faces.map((f) => f.photoId))];
  const held = new Set<number>();
  while (held.size < Math.min(newPhotos, photos.length - 1)) held.add(photos[Math.floor(rand() * photos.length)]!);
  const base = lib.faces.filter((f) => !held.has(f.photoId));
  const fresh = lib.faces.filter((f) => held.has(f.photoId));
  const tmp = tempDir('kith-cluster-bench-');
  try {
    const dbPath = join(tmp.dir, 'library.db');
    const store = new Store(dbPath);
    let t = performance.now();
    fillStore(store, base, MODEL, rand);
    const insertSec = (performance.now() - t) / 1000;
    t = performance.now();
    let index = FaceIndex.open(store, MODEL, src.dim);
    const hnswBuildSec = (performance.now() - t) / 1000;
    const inThread = await new PeopleClusterer(store, { workers: 0, cache: false }).full(index);
    const before = JSON.stringify(store.people.assignments());
    const workers = await new PeopleClusterer(store).full(index); // nothing cached yet: searches, then keeps the graph
    const afterWorkers = JSON.stringify(store.people.assignments());
    const cached = await new PeopleClusterer(store).full(index);
    const identical = afterWorkers === before && JSON.stringify(store.people.assignments()) === before && [workers, cached].every((s) => s.people === inThread.people && s.unassigned === inThread.unassigned);
    fillStore(store, fresh, MODEL, rand);
    t = performance.now();
    index = FaceIndex.open(store, MODEL, src.dim); // what the indexer does after a run: the new faces enter the index
    const indexSyncSec = (performance.now() - t) / 1000;
    const summary = await new PeopleClusterer(store).incremental(index);
    const kept = await new PeopleClusterer(store).full(index);
    const keptPlacement = placement(store);
    const searched = await new PeopleClusterer(store, { cache: false }).full(index);
    const facesPlacedDifferently = placedDifferently(keptPlacement, placement(store));
    store.close();
    const dbMiB = statSync(dbPath).size / 2 ** 20;
    return {
      faces: base.length,
      insertSec: round(insertSec, 2),
      hnswBuildSec: round(hnswBuildSec, 2),
      dbMiB: round(dbMiB, 1),
      full: { inThread, workers, cached, identical },
      incremental: { photos: held.size, faces: fresh.length, indexSyncSec: round(indexSyncSec, 2), summary },
      fullAfterAdding: { kept, searched, facesPlacedDifferently },
    };
  } finally {
    tmp.remove();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { db: { type: 'string' }, sizes: { type: 'string' }, 'new-photos': { type: 'string' }, queries: { type: 'string' }, store: { type: 'boolean' }, 'store-only': { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const sizes = (values.sizes ?? '10000,100000').split(',').map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 100)) throw new Error(`--sizes must list integers ≥ 100 (got ${values.sizes})`);
  const newPhotos = Number(values['new-photos'] ?? 100);
  const queries = Number(values.queries ?? 1000);
  console.log(machineLine(machine()));
  const src = values.db ? loadSource(values.db) : randomSource(Math.max(...sizes), 512, seededRandom(1));
  console.log(`source: ${values.db ? `${values.db} (${src.vectors.length} real faces, ${src.dim}-d, replayed in rotated copies + noise ${NOISE})` : `random identities, ${src.dim}-d`}`);
  console.log(`HNSW M=${M} efConstruction=${EF_CONSTRUCTION} ef=${EF_SEARCH}; k=${KNN_K}; rules ${JSON.stringify(CLUSTER_RULES)}\n`);
  const results: SizeResult[] = [];
  const stores: StoreResult[] = [];
  const storeOnly = values['store-only'] === true;
  for (const n of sizes) {
    if (storeOnly) console.log(`${n} faces:`);
    const r = storeOnly ? null : runSize(src, n, newPhotos, queries);
    if (r) results.push(r);
    const i = r?.incremental;
    if (r && i) {
      console.log(`${n} faces: HNSW build ${r.hnswBuildSec} s; query p50 ${r.queryMs.p50} ms, p99 ${r.queryMs.p99} ms (with a JS filter callback: ${r.queryFilteredMs.p50} / ${r.queryFilteredMs.p99} ms)`);
      console.log(`  full re-cluster ${r.fullReclusterSec} s = kNN graph ${r.knnGraphSec} s + clusterFaces ${r.clusterSec} s → ${r.people} people, ${r.unassigned} unassigned`);
      console.log(
        `  incremental (${newPhotos} photos, ${r.newFaces} faces + ${i.fresh - r.newFaces} unassigned neighbours): ${i.totalSec} s = add ${i.addSec} + search ${i.searchSec} + summaries ${i.summariesSec} + assign ${i.assignSec} → ${i.joined} joined, ${i.newPeople} new people`,
      );
      console.log(`  peak RSS so far ${r.peakRssMiB} MiB\n`);
    }
    if (!values.store && !storeOnly) continue;
    const st = await runStore(src, n, newPhotos);
    stores.push(st);
    const { inThread, workers, cached } = st.full;
    const inc = st.incremental;
    console.log(`  product path (SQLite + FaceIndex + PeopleClusterer), ${st.faces} faces: written in ${st.insertSec} s (${st.dbMiB} MiB), HNSW built and saved in ${st.hnswBuildSec} s`);
    console.log(`    full, k-NN in this thread: ${sec(inThread.ms)} s = ${fullStagesLine(inThread)} → ${inThread.people} people, ${inThread.unassigned} unassigned`);
    console.log(`    full, k-NN on workers:     ${sec(workers.ms)} s = ${fullStagesLine(workers)} → ${workers.people} people, ${workers.unassigned} unassigned`);
    console.log(`    full, k-NN graph kept:     ${sec(cached.ms)} s = ${fullStagesLine(cached)} → ${cached.people} people, ${cached.unassigned} unassigned; same people all three: ${st.full.identical}`);
    console.log(`    incremental, ${inc.photos} new photos (${inc.faces} faces): clustering ${sec(inc.summary.ms)} s = ${incrementalStagesLine(inc.summary)} (${inc.summary.faces} faces placed) → ${inc.summary.assigned} placed, ${inc.summary.newPeople} new people (index sync before it ${inc.indexSyncSec} s)`);
    const after = st.fullAfterAdding;
    console.log(`    full after those photos, kept graph updated: ${sec(after.kept.ms)} s = ${fullStagesLine(after.kept)} → ${after.kept.people} people, ${after.kept.unassigned} unassigned`);
    console.log(`    full after those photos, every face searched: ${sec(after.searched.ms)} s = ${fullStagesLine(after.searched)} → ${after.searched.people} people; faces placed differently: ${after.facesPlacedDifferently}`);
    console.log(`    load now ${machine().load.join(' ')}; peak RSS so far ${peakRssMiB()} MiB\n`);
  }
  printJson({ bench: 'cluster', machine: machine(), source: values.db ?? 'random', results, ...(stores.length > 0 ? { store: stores } : {}) });
}

await main();
