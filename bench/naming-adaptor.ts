/**
 * @file `tsx bench/naming-adaptor.ts <lfw-dev library.db> [--rounds N]` (open a copy: opening
 * writes -wal/-shm): does the triplet-loss adaptor (native/people/adaptor.ts) make naming
 * better, and are the shown confidences right? The five-shot protocol of bench/naming-eval.ts,
 * on each half of lfw-dev's people (A–D tunes, E–H is read once at the settings A–D chose):
 *  1. raw 704-d vectors (today's namer) against the PCA start alone and against the trained
 *     adaptor at a grid of margins α and pulls λ; the namer (shipped C, loss, margin weight)
 *     is trained in the adapted space and gated at 99% correct-accept on A–D;
 *  2. for the best adaptor and raw: how many named people before it helps (the first N named);
 *  3. calibration: the shipped Platt constants against a refit on A–D's suggestions, read on
 *     E–H in 10% bins;
 *  4. one named person (no negatives, score = centroid similarity): the gate and confidence
 *     for that case by the same protocol.
 */
import '../native/pipeline/no-telemetry.ts';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Adaptor, type AdaptorSettings } from '../native/people/adaptor.ts';
import { CONFIDENCE, SUGGEST_GATE, trainNamer } from '../native/people/classify.ts';
import { Store } from '../native/store/index.ts';
import { machine, machineLine } from './common.ts';
import { emptyPool, fitPlatt, fiveShotWorld, gateFor, halfOf, loadLabelledFaces, ratesAt, SHIPPED, scoreWorld, share, type Half, type LabelledFace, type Pool, type World } from './naming-eval.ts';

interface Config {
  name: string;
  /** null: raw vectors; otherwise adaptor settings (steps 0: the PCA start alone). */
  adaptor: Partial<AdaptorSettings> | null;
}

/** Suggestions a 10% bin needs before its accuracy is read against the shown confidence (±5 points needs tens). */
const ENOUGH = 20;

const pct = (x: number, digits = 2) => (Number.isNaN(x) ? '   –  ' : `${(100 * x).toFixed(digits)}%`).padStart(7);

/** The world with every vector mapped by `adaptor` (trained on the world's own names). */
function adapted(world: World, adaptor: Adaptor): World {
  const map = (vs: Float32Array[]) => adaptor.applyMany(vs);
  const probes = (ps: World['positives']) => {
    const vs = map(ps.map((p) => p.vector));
    return ps.map((p, i) => ({ vector: vs[i]!, truth: p.truth }));
  };
  const ex = map(world.examples.map((e) => e.vector));
  return {
    examples: world.examples.map((e, i) => ({ ...e, vector: ex[i]! })),
    positives: probes(world.positives),
    negatives: probes(world.negatives),
    background: probes(world.background),
    clusters: world.clusters.map((c) => ({ vectors: map(c.vectors), truth: c.truth })),
  };
}

/** The world with only the first `n` named people still named (the others become strangers). */
function firstNamed(world: World, n: number): World {
  const stranger = (v: Float32Array) => ({ vector: v, truth: null });
  return {
    examples: world.examples.filter((e) => e.personId <= n),
    positives: world.positives.filter((p) => p.truth !== null && p.truth <= n),
    negatives: [...world.negatives, ...world.positives.filter((p) => p.truth! > n).map((p) => stranger(p.vector)), ...world.examples.filter((e) => e.personId > n).map((e) => stranger(e.vector))],
    background: world.background,
    clusters: [],
  };
}

function score(world: World, config: Config, start: Adaptor, pool: Pool, seed: number): { trainMs: number } {
  let w = world, trainMs = 0;
  if (config.adaptor) {
    const t0 = performance.now();
    const a = config.adaptor.steps === 0 ? start : start.train(world.examples, [], { ...config.adaptor, seed });
    trainMs = performance.now() - t0;
    w = adapted(world, a);
  }
  if (w.examples.length === 0) return { trainMs };
  scoreWorld(w, trainNamer(w.examples), [SHIPPED], [pool]);
  return { trainMs };
}

function configs(): Config[] {
  const out: Config[] = [{ name: 'raw 704-d (today)', adaptor: null }, { name: 'PCA start alone (128-d)', adaptor: { steps: 0 } }];
  for (const alpha of [0.1, 0.2, 0.4]) for (const lambda of [0.1, 1, 10]) out.push({ name: `adaptor α=${alpha} λ=${lambda}`, adaptor: { alpha, lambda } });
  return out;
}

/** Reliability in 10% bins of `conf(score)` among suggestions (score ≥ gate). */
function reliability(pool: Pool, gate: number, conf: (s: number) => number): string[] {
  const items = [...pool.positives.map((p) => ({ s: p.score, right: p.correct })), ...pool.negatives.map((s) => ({ s, right: false }))].filter((x) => x.s >= gate);
  const lines: string[] = [];
  for (let b = 0; b < 10; b++) {
    const inBin = items.filter((x) => Math.min(9, Math.floor(conf(x.s) * 10)) === b);
    if (inBin.length === 0) continue;
    const shown = inBin.reduce((a, x) => a + conf(x.s), 0) / inBin.length;
    const right = inBin.filter((x) => x.right).length / inBin.length;
    lines.push(`    ${b * 10}–${b * 10 + 10}%: ${String(inBin.length).padStart(5)} suggestions, shown ${pct(shown, 1)}, right ${pct(right, 1)}${inBin.length < ENOUGH ? '  (too few to judge)' : Math.abs(shown - right) > 0.05 ? '  (off by more than 5 points)' : '  (within 5 points)'}`);
  }
  return lines;
}

/** Platt fit on the suggestions only (score ≥ gate): what the user is shown is what must be calibrated. */
function fitOnSuggestions(pool: Pool, gate: number): { A: number; B: number } {
  return fitPlatt([...pool.positives.map((p) => ({ score: p.score, right: p.correct })), ...pool.negatives.map((score) => ({ score, right: false }))].filter((x) => x.score >= gate));
}

/** One named person at a time: score = similarity to their centroid; positives their other faces, negatives every stranger. */
function onePersonPool(worlds: readonly World[]): Pool {
  const pool = emptyPool();
  for (const w of worlds) {
    const ids = [...new Set(w.examples.map((e) => e.personId))];
    for (const id of ids) {
      const c = new Float64Array(w.examples[0]!.vector.length);
      for (const e of w.examples) if (e.personId === id) for (let j = 0; j < c.length; j++) c[j]! += e.vector[j]!;
      const n = Math.hypot(...c);
      const sim = (v: Float32Array) => {
        let s = 0;
        for (let j = 0; j < c.length; j++) s += c[j]! * v[j]!;
        return s / n;
      };
      for (const p of w.positives) if (p.truth === id) pool.positives.push({ correct: true, score: sim(p.vector) });
      // Everyone but this person is a stranger when they are the only one named.
      for (const p of w.negatives) pool.negatives.push(sim(p.vector));
      for (const p of w.positives) if (p.truth !== id) pool.negatives.push(sim(p.vector));
    }
  }
  return pool;
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string' }, 'raw-only': { type: 'boolean' } } });
  const db = positionals[0];
  if (!db) throw new Error('usage: tsx bench/naming-adaptor.ts <copy of an indexed lfw-dev library.db> [--rounds N]');
  const rounds = values.rounds ? Number(values.rounds) : 4;
  const store = new Store(db);
  console.log(machineLine(machine()));
  const { faces } = loadLabelledFaces(store);
  store.close();
  const halves: Half[] = ['tuning', 'heldout'];
  const own = (h: Half): LabelledFace[] => faces.filter((f) => halfOf(f.folder) === h);
  const worlds = new Map(halves.map((h) => [h, Array.from({ length: rounds }, (_, r) => fiveShotWorld(own(h), r))]));
  const t0 = performance.now();
  // The PCA start of each half from all its faces (unsupervised, as the app's from the library's).
  const starts = new Map(halves.map((h) => [h, Adaptor.start(own(h).map((f) => f.row.embedding))]));
  console.log(`PCA starts in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${rounds} five-shot rounds a half`);

  // 1. Raw vs PCA vs adaptor.
  const all = values['raw-only'] ? configs().slice(0, 1) : configs();
  const pools = new Map<string, Pool>();
  const trainMs: number[] = [];
  for (const c of all) {
    for (const h of halves) {
      const pool = emptyPool();
      worlds.get(h)!.forEach((w, r) => trainMs.push(score(w, c, starts.get(h)!, pool, r + 1).trainMs));
      pools.set(`${c.name}:${h}`, pool);
    }
    console.error(`scored ${c.name}`);
  }
  const adaptorMs = trainMs.filter((x) => x > 0).sort((a, b) => a - b);
  console.log(`adaptor training per world: median ${adaptorMs[Math.floor(adaptorMs.length / 2)]?.toFixed(0)} ms`);
  console.log('\nfalse names = share of never-named faces named at the gate; gate = 99% correct-accept on A–D');
  console.log(`${'config'.padEnd(26)} | A–D: top-1   fn@99% (n)   fn@99.5% (n) | E–H: top-1   fn@99% (n)   fn@99.5% | E–H at A–D's gate: correct-accept  wrong  false names (n)`);
  const rows = all.map((c) => {
    const tp = pools.get(`${c.name}:tuning`)!, hp = pools.get(`${c.name}:heldout`)!;
    const top1 = (p: Pool) => p.positives.filter((x) => x.correct).length / p.positives.length;
    const fnAt = (p: Pool, acc: number) => {
      const g = gateFor(p, acc);
      return Number.isNaN(g) ? NaN : share(p.negatives, g);
    };
    const gate = gateFor(tp, 0.99);
    const at = ratesAt(hp, gate);
    const key = fnAt(tp, 0.99) + fnAt(tp, 0.995);
    const n = (rate: number, p: Pool) => `(${Number.isNaN(rate) ? '–' : Math.round(rate * p.negatives.length)})`.padEnd(6);
    console.log(
      `${c.name.padEnd(26)} | ${pct(top1(tp))} ${pct(fnAt(tp, 0.99))} ${n(fnAt(tp, 0.99), tp)} ${pct(fnAt(tp, 0.995))} ${n(fnAt(tp, 0.995), tp)}| ${pct(top1(hp))} ${pct(fnAt(hp, 0.99))} ${n(fnAt(hp, 0.99), hp)} ${pct(fnAt(hp, 0.995))} | ${pct(at.correctAccept)} ${pct(at.wrongNames)} ${pct(at.falseNames, 3)} (${Math.round(at.falseNames * hp.negatives.length)}) gate ${gate.toFixed(4)}`,
    );
    return { c, key, gate };
  });
  console.log(`[A–D: ${pools.get(`${all[0]!.name}:tuning`)!.positives.length} closed-set, ${pools.get(`${all[0]!.name}:tuning`)!.negatives.length} never-named; E–H: ${pools.get(`${all[0]!.name}:heldout`)!.positives.length} and ${pools.get(`${all[0]!.name}:heldout`)!.negatives.length}]`);
  const raw = rows[0]!;
  const best = rows.length === 1 ? raw : rows.filter((r) => r.c.adaptor && r.c.adaptor.steps !== 0 && Number.isFinite(r.key)).reduce((a, b) => (b.key < a.key - 1e-12 ? b : a));
  console.log(`chosen on A–D: ${best.c.name} (fn@99% + fn@99.5% = ${pct(best.key)} vs raw ${pct(raw.key)})`);

  // 2. How many named people before it helps (E–H, each mode at its own A–D gate).
  console.log('\nnamed people needed (E–H, first N named of each round; each mode at its A–D gate):');
  console.log('  N     raw: correct-accept  false names (n)   |  adaptor: correct-accept  false names (n)');
  for (const N of rows.length === 1 ? [] : [1, 2, 5, 10, 20, 1000]) {
    const line = [raw, best].map((r) => {
      const pool = emptyPool();
      worlds.get('heldout')!.forEach((w, i) => score(firstNamed(w, N), r.c, starts.get('heldout')!, pool, i + 1));
      const at = ratesAt(pool, r.gate);
      return `${pct(at.correctAccept)}  ${pct(at.falseNames, 3)} (${Math.round(at.falseNames * pool.negatives.length)}/${pool.negatives.length})`;
    });
    console.log(`  ${String(N === 1000 ? 'all' : N).padEnd(5)} ${line[0]!.padEnd(38)} |  ${line[1]}`);
  }

  // 3. Calibration of the shipped (raw) mode: shipped constants vs a refit on A–D's suggestions.
  const rawT = pools.get(`${raw.c.name}:tuning`)!, rawH = pools.get(`${raw.c.name}:heldout`)!;
  const platt = fitOnSuggestions(rawT, SUGGEST_GATE);
  const conf = (p: { A: number; B: number }) => (s: number) => 1 / (1 + Math.exp(p.A * s + p.B));
  console.log(`\ncalibration, raw mode, suggestions at the shipped gate ${SUGGEST_GATE}:`);
  console.log(`  shipped CONFIDENCE A=${CONFIDENCE.A} B=${CONFIDENCE.B}; E–H:`);
  for (const l of reliability(rawH, SUGGEST_GATE, conf(CONFIDENCE))) console.log(l);
  console.log(`  refit on A–D's suggestions: A=${platt.A.toFixed(3)} B=${platt.B.toFixed(3)}; A–D:`);
  for (const l of reliability(rawT, SUGGEST_GATE, conf(platt))) console.log(l);
  console.log('  E–H:');
  for (const l of reliability(rawH, SUGGEST_GATE, conf(platt))) console.log(l);

  // 4. One named person: centroid similarity alone.
  const oneT = onePersonPool(worlds.get('tuning')!), oneH = onePersonPool(worlds.get('heldout')!);
  const g1 = gateFor(oneT, 0.99), g95 = gateFor(oneT, 0.95);
  console.log(`\none named person (score = centroid similarity): A–D ${oneT.positives.length} faces of the person, ${oneT.negatives.length} (person, stranger face) pairs`);
  for (const [label, g] of [['shipped SUGGEST_GATE', SUGGEST_GATE], ['99% correct-accept on A–D', g1], ['95% correct-accept on A–D', g95]] as const) {
    const t = ratesAt(oneT, g), h = ratesAt(oneH, g);
    console.log(`  gate ${g.toFixed(4)} (${label}): A–D correct-accept ${pct(t.correctAccept)}, false names ${pct(t.falseNames, 3)}; E–H correct-accept ${pct(h.correctAccept)}, false names ${pct(h.falseNames, 3)} (${Math.round(h.falseNames * oneH.negatives.length)}/${oneH.negatives.length})`);
  }
  const platt1 = fitOnSuggestions(oneT, g1);
  console.log(`  Platt on A–D's suggestions at ${g1.toFixed(4)}: A=${platt1.A.toFixed(3)} B=${platt1.B.toFixed(3)}; E–H:`);
  for (const l of reliability(oneH, g1, conf(platt1))) console.log(l);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
