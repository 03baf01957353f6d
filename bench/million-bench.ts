/**
 * @file `npm run bench:million -- --db <indexed lfw-dev library> [--sizes 100000,1000000]`: Kith at
 * up to a million faces, through the product's own path. Per size: synthetic faces written to a
 * real SQLite library as the indexer writes them (bench/synthetic-store.ts), FaceIndex.open
 * building and saving the HNSW file, single-query latency, PeopleClusterer.full (k-NN pass on
 * worker threads) and an incremental run after --new-photos photos arrive. Then each figure is
 * extrapolated from the two largest sizes run to a million faces, against this machine's memory.
 *
 * The faces are not random points: their structure is measured on the real library given with
 * --db (ensemble embedder, 704-d) and printed beside what the generator makes:
 * - people: sizes drawn from the library's own faces-per-person counts (LFW: most people once,
 *   a few hundred times), background faces as singletons, in photos with a person's face;
 * - vectors: v = normalise(μ + L_b g_person + s_face L_w g_face), μ the mean face vector, L_b the
 *   Cholesky factor of the covariance of person centroids (less the within-person share a
 *   centroid of n faces still carries), L_w that of faces about their person's centroid, and
 *   s_face a per-face noise scale (log-normal, its spread fitted so within-person similarity
 *   varies as much as the real one: real faces differ in quality, pose and age);
 * - quality: the share of faces passing the gate, labelled and background apart.
 * A Gaussian has no look-alike families, so between-person similarity has a thinner tail than
 * real faces (printed): clustering here is easier than on a real million.
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isGoodFace, KNN_K, LINKAGE } from '../native/people/cluster.ts';
import { PeopleClusterer, type ClusterSummary } from '../native/people/clusterer.ts';
import { FaceIndex, indexPathFor } from '../native/search/ann.ts';
import { Store } from '../native/store/index.ts';
import { seededRandom } from '../test/seeded-random.ts';
import { fullStagesLine, incrementalStagesLine, machine, machineLine, peakRssMiB, printJson, round, sec, tempDir } from './common.ts';
import { labelledFaces } from './labels.ts';
import { fillStore, type SyntheticFace } from './synthetic-store.ts';

const USAGE = `usage: npm run bench:million -- --db FILE [--sizes 100000,1000000] [--new-photos 100] [--queries 1000]

  --db FILE        an indexed labelled library (lfw-dev) whose vectors the generator is fitted to
  --sizes LIST     library sizes in faces, run in order (default 1000000); the figures are
                   extrapolated from the two largest to 1,000,000
  --new-photos N   photos added before the incremental run (default 100)
  --queries N      single searches timed for p50/p99 (default 1000)`;

const MODEL = 'synthetic-ens-704';
const TARGET = 1_000_000;

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function normalised(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** What the generator draws from, all measured on the real library. */
interface FaceModel {
  dim: number;
  mean: Float32Array;
  /** Lower-triangular Cholesky factors (row-major, dim × dim) of the between- and within-person covariances. */
  between: Float64Array;
  within: Float64Array;
  /** σ of log s_face. */
  noiseSpread: number;
  /** Faces per person, one entry per labelled person. */
  personSizes: number[];
  /** Background faces per labelled face. */
  backgroundPerFace: number;
  goodShare: { labelled: number; background: number };
}

/** m += w · v vᵀ (upper and lower halves both). */
function addOuter(m: Float64Array, v: Float64Array, w: number): void {
  const n = v.length;
  for (let i = 0; i < n; i++) {
    const wi = w * v[i]!;
    for (let j = 0; j < n; j++) m[i * n + j]! += wi * v[j]!;
  }
}

/**
 * Lower Cholesky factor of a symmetric matrix. A covariance estimated from fewer samples than
 * dimensions (and the between one after its within-share correction) is not quite positive
 * definite: a ridge is added, growing from 1e-4 of the mean variance until every pivot is positive.
 */
function cholesky(a: Float64Array, n: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += a[i * n + i]!;
  for (let ridge = 1e-4 * (trace / n); ; ridge *= 4) {
    const l = new Float64Array(n * n);
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let s = a[i * n + j]! + (i === j ? ridge : 0);
        for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
        if (i === j) {
          if (!(s > 0)) ok = false;
          l[i * n + i] = Math.sqrt(s);
        } else l[i * n + j] = s / l[j * n + j]!;
      }
    }
    if (ok) return l;
  }
}

/** base + scale · L g, g standard normal. */
function drawGaussian(base: ArrayLike<number>, l: Float64Array, scale: number, rand: () => number): Float64Array {
  const n = base.length;
  const g = Float64Array.from({ length: n }, () => gaussian(rand));
  const out = Float64Array.from(base);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k <= i; k++) s += l[i * n + k]! * g[k]!;
    out[i]! += scale * s;
  }
  return out;
}

function fitModel(dbPath: string): { model: FaceModel; people: Float32Array[][]; background: Float32Array[] } {
  const store = new Store(dbPath);
  try {
    const { faces } = labelledFaces(store);
    const byLabel = new Map<string, typeof faces>();
    const background = faces.filter((f) => f.label === null);
    for (const f of faces) if (f.label !== null) byLabel.set(f.label, [...(byLabel.get(f.label) ?? []), f]);
    const dim = faces[0]!.row.embedding.length;
    const mean = new Float64Array(dim);
    for (const f of faces) for (let d = 0; d < dim; d++) mean[d]! += f.row.embedding[d]! / faces.length;
    // Within: faces about their person's centroid (n/(n-1) for the centroid's own share).
    const withinCov = new Float64Array(dim * dim);
    let withinN = 0;
    const centroids: Array<{ c: Float64Array; n: number }> = [];
    for (const list of byLabel.values()) {
      const c = new Float64Array(dim);
      for (const f of list) for (let d = 0; d < dim; d++) c[d]! += f.row.embedding[d]! / list.length;
      centroids.push({ c, n: list.length });
      if (list.length < 2) continue;
      for (const f of list) addOuter(withinCov, Float64Array.from(f.row.embedding, (x, d) => x - c[d]!), list.length / (list.length - 1));
      withinN += list.length;
    }
    for (let i = 0; i < withinCov.length; i++) withinCov[i]! /= withinN;
    // Between: centroids about the mean, less what within-person noise leaves in a centroid of n
    // faces. People seen 4+ times only: a singleton's "centroid" is mostly within-person noise.
    const betweenCov = new Float64Array(dim * dim);
    let inverseN = 0;
    const seen = centroids.filter((c) => c.n >= 4);
    for (const { c, n } of seen) {
      addOuter(betweenCov, Float64Array.from(c, (x, d) => x - mean[d]!), 1 / seen.length);
      inverseN += 1 / n / seen.length;
    }
    for (let i = 0; i < betweenCov.length; i++) betweenCov[i]! -= inverseN * withinCov[i]!;
    const labelled = faces.filter((f) => f.label !== null);
    const model: FaceModel = {
      dim,
      mean: Float32Array.from(mean),
      between: cholesky(betweenCov, dim),
      within: cholesky(withinCov, dim),
      noiseSpread: 0,
      personSizes: centroids.map((c) => c.n),
      backgroundPerFace: background.length / labelled.length,
      goodShare: {
        labelled: labelled.filter((f) => isGoodFace(f.row)).length / labelled.length,
        background: background.filter((f) => isGoodFace(f.row)).length / Math.max(1, background.length),
      },
    };
    return { model, people: [...byLabel.values()].map((l) => l.map((f) => f.row.embedding)), background: background.map((f) => f.row.embedding) };
  } finally {
    store.close();
  }
}

/** `n` faces from the model: people of the library's sizes, background faces as photo-mates of a person's face. */
function generate(model: FaceModel, n: number, rand: () => number): { faces: SyntheticFace[]; person: Int32Array } {
  const faces: SyntheticFace[] = [];
  const person: number[] = [];
  let photo = 0;
  let who = 0;
  const draw = (centre: Float64Array) => normalised(Float32Array.from(drawGaussian(centre, model.within, Math.exp(model.noiseSpread * gaussian(rand)), rand)));
  const centreOf = () => drawGaussian(model.mean, model.between, 1, rand);
  while (faces.length < n) {
    const size = model.personSizes[Math.floor(rand() * model.personSizes.length)]!;
    const centre = centreOf();
    for (let k = 0; k < size && faces.length < n; k++) {
      const photoId = photo++;
      faces.push({ vector: draw(centre), photoId, good: rand() < model.goodShare.labelled });
      person.push(who);
      // Background people in the same frame: each a person of its own, seen once.
      let extra = model.backgroundPerFace;
      while (faces.length < n && rand() < extra) {
        faces.push({ vector: draw(centreOf()), photoId, good: rand() < model.goodShare.background });
        person.push(-1);
        extra -= 1;
      }
    }
    who++;
  }
  return { faces, person: Int32Array.from(person) };
}

interface SimilarityStats {
  withinMean: number;
  withinSd: number;
  betweenMean: number;
  betweenSd: number;
  /** Share of different-person pairs at or above the merge linkage: false-merge pressure. */
  betweenAboveLinkage: number;
  betweenP999: number;
}

function similarityStats(people: Float32Array[][], rand: () => number, pairs = 100_000): SimilarityStats {
  const within: number[] = [];
  const between: number[] = [];
  const multi = people.filter((p) => p.length >= 2);
  for (let s = 0; s < pairs; s++) {
    const p = multi[Math.floor(rand() * multi.length)]!;
    const a = Math.floor(rand() * p.length);
    let b = Math.floor(rand() * (p.length - 1));
    if (b >= a) b++;
    within.push(dot(p[a]!, p[b]!));
    const x = Math.floor(rand() * people.length);
    let y = Math.floor(rand() * (people.length - 1));
    if (y >= x) y++;
    const px = people[x]!, py = people[y]!;
    between.push(dot(px[Math.floor(rand() * px.length)]!, py[Math.floor(rand() * py.length)]!));
  }
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
  const sorted = [...between].sort((a, b) => a - b);
  return {
    withinMean: round(mean(within), 3),
    withinSd: round(sd(within), 3),
    betweenMean: round(mean(between), 3),
    betweenSd: round(sd(between), 3),
    betweenAboveLinkage: round(between.filter((x) => x >= LINKAGE).length / between.length, 5),
    betweenP999: round(sorted[Math.floor(0.999 * sorted.length)]!, 3),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Current resident set, MiB. */
const rssMiB = () => Math.round(process.memoryUsage().rss / 2 ** 20);

interface SizeFigures {
  faces: number;
  people: number;
  insertSec: number;
  sqliteMiB: number;
  hnswBuildSec: number;
  hnswMiB: number;
  rssAfterIndexMiB: number;
  queryMs: { p50: number; p99: number };
  full: ClusterSummary;
  incremental: { photos: number; faces: number; indexSyncSec: number; summary: ClusterSummary };
  /** A full re-cluster after the incremental run: the k-NN graph the first one kept, brought up to date. */
  fullAgain: ClusterSummary;
  peakRssMiB: number;
  load: number[];
}

async function runSize(model: FaceModel, n: number, newPhotos: number, queries: number): Promise<SizeFigures> {
  const rand = seededRandom(n);
  const { faces, person } = generate(model, n, rand);
  const photos = [...new Set(faces.map((f) => f.photoId))];
  const held = new Set<number>();
  while (held.size < Math.min(newPhotos, photos.length - 1)) held.add(photos[Math.floor(rand() * photos.length)]!);
  const base = faces.filter((f) => !held.has(f.photoId));
  const fresh = faces.filter((f) => held.has(f.photoId));
  const people = new Set(person.filter((p) => p >= 0)).size + person.filter((p) => p < 0).length;
  const tmp = tempDir('kith-million-');
  try {
    const dbPath = join(tmp.dir, 'library.db');
    const store = new Store(dbPath);
    let t = performance.now();
    fillStore(store, base, MODEL, rand);
    const insertSec = sec(performance.now() - t);
    t = performance.now();
    let index = FaceIndex.open(store, MODEL, model.dim);
    const hnswBuildSec = sec(performance.now() - t);
    const rssAfterIndexMiB = rssMiB();
    const lat: number[] = [];
    for (let q = 0; q < queries; q++) {
      const v = base[Math.floor(rand() * base.length)]!.vector;
      const t0 = performance.now();
      index.search(v, KNN_K + 1);
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    const full = await new PeopleClusterer(store).full(index);
    fillStore(store, fresh, MODEL, rand);
    t = performance.now();
    index = FaceIndex.open(store, MODEL, model.dim);
    const indexSyncSec = sec(performance.now() - t);
    const summary = await new PeopleClusterer(store).incremental(index);
    const fullAgain = await new PeopleClusterer(store).full(index);
    store.close();
    return {
      faces: base.length,
      people,
      insertSec,
      sqliteMiB: round(statSync(dbPath).size / 2 ** 20, 1),
      hnswBuildSec,
      hnswMiB: round(statSync(indexPathFor(dbPath)).size / 2 ** 20, 1),
      rssAfterIndexMiB,
      queryMs: { p50: round(percentile(lat, 50), 3), p99: round(percentile(lat, 99), 3) },
      full,
      incremental: { photos: held.size, faces: fresh.length, indexSyncSec, summary },
      fullAgain,
      peakRssMiB: peakRssMiB(),
      load: machine().load,
    };
  } finally {
    tmp.remove();
  }
}

/**
 * A time at `n` from a power law through the two measured points. The exponent is clamped to
 * [1, 1.5]: every step is n log n at heart (HNSW inserts and queries, the agglomeration), and on a
 * shared machine two small runs can suggest anything.
 */
function extrapolate(n1: number, y1: number, n2: number, y2: number, n: number): { value: number; exponent: number } {
  const raw = n1 === n2 || y1 <= 0 || y2 <= 0 ? 1 : Math.log(y2 / y1) / Math.log(n2 / n1);
  const exponent = Math.min(1.5, Math.max(1, raw));
  return { value: y2 * (n / n2) ** exponent, exponent: round(exponent, 2) };
}

/** A size or memory figure at `n`: a fixed part plus a part per face, through the two measured points (per face only, when one). */
function extrapolateAffine(n1: number, y1: number, n2: number, y2: number, n: number): { value: number; perFace: number } {
  const perFace = n1 === n2 ? y2 / n2 : Math.max(0, (y2 - y1) / (n2 - n1));
  return { value: y2 + perFace * (n - n2), perFace };
}

function report(r: SizeFigures): void {
  const f = r.full;
  console.log(`${r.faces} faces (${r.people} people incl. singletons):`);
  console.log(`  SQLite: written in ${r.insertSec} s, ${r.sqliteMiB} MiB`);
  console.log(`  HNSW: built and saved in ${r.hnswBuildSec} s, file ${r.hnswMiB} MiB, RSS after ${r.rssAfterIndexMiB} MiB`);
  console.log(`  search (k=${KNN_K + 1}): p50 ${r.queryMs.p50} ms, p99 ${r.queryMs.p99} ms`);
  console.log(`  full re-cluster ${sec(f.ms)} s = ${fullStagesLine(f)} → ${f.people} people, ${f.unassigned} unassigned`);
  const inc = r.incremental;
  console.log(`  incremental, ${inc.photos} new photos (${inc.faces} faces, ${inc.summary.faces} placed with their unassigned neighbours): ${sec(inc.summary.ms)} s = ${incrementalStagesLine(inc.summary)} (index sync before it ${inc.indexSyncSec} s)`);
  const again = r.fullAgain;
  console.log(`  full re-cluster again, k-NN graph kept: ${sec(again.ms)} s = ${fullStagesLine(again)} → ${again.people} people, ${again.unassigned} unassigned`);
  console.log(`  peak RSS ${r.peakRssMiB} MiB; load ${r.load.join(' ')}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { db: { type: 'string' }, sizes: { type: 'string' }, 'new-photos': { type: 'string' }, queries: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help || !values.db) {
    console.log(USAGE);
    if (!values.db) process.exitCode = 2;
    return;
  }
  const sizes = (values.sizes ?? String(TARGET)).split(',').map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 1000)) throw new Error(`--sizes must list integers ≥ 1000 (got ${values.sizes})`);
  const newPhotos = Number(values['new-photos'] ?? 100);
  const queries = Number(values.queries ?? 1000);
  console.log(machineLine(machine()));
  const { model, people, background } = fitModel(values.db);
  const rand = seededRandom(7);
  const real = similarityStats([...people, ...background.map((v) => [v])], rand);
  const synthStats = () => {
    const sample = generate(model, 8_000, seededRandom(3));
    const synthPeople = new Map<number, Float32Array[]>();
    sample.person.forEach((p, i) => synthPeople.set(p < 0 ? -1 - i : p, [...(synthPeople.get(p < 0 ? -1 - i : p) ?? []), sample.faces[i]!.vector]));
    return similarityStats([...synthPeople.values()], seededRandom(5), 30_000);
  };
  // The noise scale's spread: the first of a coarse grid whose within-person sd reaches the real one.
  let synth = synthStats();
  for (const spread of [0.15, 0.3, 0.45, 0.6]) {
    if (synth.withinSd >= real.withinSd) break;
    model.noiseSpread = spread;
    synth = synthStats();
  }
  const sizesSorted = [...model.personSizes].sort((a, b) => a - b);
  console.log(`fitted to ${values.db}: ${model.dim}-d, ${model.personSizes.length} people (faces per person: median ${percentile(sizesSorted, 50)}, p90 ${percentile(sizesSorted, 90)}, max ${sizesSorted.at(-1)}, ${Math.round((100 * sizesSorted.filter((s) => s === 1).length) / sizesSorted.length)}% seen once), ${round(model.backgroundPerFace, 3)} background faces per labelled face, good faces ${round(model.goodShare.labelled, 3)} labelled / ${round(model.goodShare.background, 3)} background; noise scale spread σ(log s) ${model.noiseSpread}`);
  console.log(`similarity          within mean/sd   between mean/sd   between p99.9   between ≥ ${LINKAGE}`);
  for (const [name, s] of [['real (lfw)', real], ['synthetic', synth]] as const) {
    console.log(`  ${name.padEnd(16)}  ${s.withinMean} / ${s.withinSd}      ${s.betweenMean} / ${s.betweenSd}      ${s.betweenP999}           ${s.betweenAboveLinkage}`);
  }
  console.log('');
  const results: SizeFigures[] = [];
  for (const n of sizes) {
    const r = await runSize(model, n, newPhotos, queries);
    results.push(r);
    report(r);
  }
  // Where it breaks: each figure carried to a million from the two largest sizes run.
  const [a, b] = results.length >= 2 ? results.slice(-2) : [results[0]!, results[0]!];
  const ex = (pick: (r: SizeFigures) => number) => extrapolate(a!.faces, pick(a!), b!.faces, pick(b!), TARGET);
  const memGiB = os.totalmem() / 2 ** 30;
  const affine = (pick: (r: SizeFigures) => number) => extrapolateAffine(a!.faces, pick(a!), b!.faces, pick(b!), TARGET);
  const at = {
    insertSec: ex((r) => r.insertSec),
    sqliteMiB: affine((r) => r.sqliteMiB),
    hnswBuildSec: ex((r) => r.hnswBuildSec),
    hnswMiB: affine((r) => r.hnswMiB),
    fullSec: ex((r) => r.full.ms / 1000),
    knnSec: ex((r) => r.full.stages!.knn / 1000),
    incrementalSec: ex((r) => r.incremental.summary.ms / 1000),
    peakRssMiB: affine((r) => r.peakRssMiB),
  };
  const linear = b!.faces >= TARGET;
  console.log(linear ? `measured at ${b!.faces} faces` : `extrapolated to ${TARGET} faces from ${a!.faces} and ${b!.faces} (power law through both, exponent in brackets):`);
  if (!linear) {
    console.log(`  SQLite: write ${round(at.insertSec.value / 60, 1)} min (${at.insertSec.exponent}), ${round(at.sqliteMiB.value / 1024, 2)} GiB`);
    console.log(`  HNSW: build ${round(at.hnswBuildSec.value / 60, 1)} min (${at.hnswBuildSec.exponent}), file ${round(at.hnswMiB.value / 1024, 2)} GiB`);
    console.log(`  full re-cluster ${round(at.fullSec.value / 60, 1)} min (${at.fullSec.exponent}), of it kNN ${round(at.knnSec.value / 60, 1)} min (${at.knnSec.exponent}); incremental ${round(at.incrementalSec.value, 1)} s (${at.incrementalSec.exponent})`);
    console.log(`  peak RSS ${round(at.peakRssMiB.value / 1024, 1)} GiB (${round((at.peakRssMiB.perFace * 1024) / 1, 1)} KiB per face) of ${round(memGiB, 1)} GiB`);
  }
  const breaks: string[] = [];
  if (at.peakRssMiB.value / 1024 > memGiB * 0.8) breaks.push(`memory: ~${round(at.peakRssMiB.value / 1024, 1)} GiB peak against ${round(memGiB, 1)} GiB`);
  if (at.hnswBuildSec.value > 3600) breaks.push(`time: building the index from scratch takes ~${round(at.hnswBuildSec.value / 3600, 1)} h (single-threaded addPoint)`);
  if (at.fullSec.value > 600) breaks.push(`time: a full re-cluster takes ~${round(at.fullSec.value / 60, 0)} min`);
  console.log(breaks.length ? `where it breaks at ${TARGET}: ${breaks.join('; ')}` : `nothing breaks at ${TARGET} on this machine`);
  printJson({
    bench: 'million',
    machine: machine(),
    source: values.db,
    model: { dim: model.dim, people: model.personSizes.length, backgroundPerFace: model.backgroundPerFace, goodShare: model.goodShare },
    similarity: { real, synthetic: synth },
    results,
    extrapolatedTo: TARGET,
    extrapolated: at,
    breaks,
  });
}

await main();
