/**
 * @file `npm run bench:cluster-cv -- <lfw-dev library.db>`: 2-fold cross-validation of the
 * clustering's numbers (native/people/cluster.ts: the merge threshold linkage + bonus/√(|A|·|B|)
 * and the quality gate's face size) across lfw-dev's halves, split by the person's name as the
 * other benches do (A–D and E–H). For each fold the setting is chosen on the tuning half alone
 * (pairwise P ≥ 0.995 first, then best BCubed F to 4 places, then fewest user actions per face,
 * then the one nearest today's values) from a small grid around today's values, and only then
 * read on the other half. The figures are bench:quality's: labelled (centre) faces scored,
 * background faces clustered but not scored, unassigned faces as singletons, and user actions =
 * merges + face moves to reach the truth (cluster-metrics.ts). Faces carry their box in the
 * frame, as the app clusters them, so near-duplicates count once.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLUSTER_RULES, clusterFaces, DEFAULT_GATE, isGoodFace, KNN_K, relativeBox, type ClusterRules, type QualityGate } from '../native/people/cluster.ts';
import { Store } from '../native/store/index.ts';
import { JSON_PREFIX, machine, machineLine } from './common.ts';
import { loadLfw, makeSplit, score, type Split } from './cluster-experiments.ts';
import type { ClusterScores } from './cluster-metrics.ts';

/** The issue's bar: a setting is eligible only at this pairwise precision on its tuning half. */
export const MIN_PRECISION = 0.995;

export interface Setting {
  linkage: number;
  sizeBonus: number;
  /** The quality gate's smallest face (px); the gate's other values stay DEFAULT_GATE's. */
  gateMinSize: number;
}

export const TODAY: Readonly<Setting> = Object.freeze({ linkage: CLUSTER_RULES.linkage, sizeBonus: CLUSTER_RULES.sizeBonus, gateMinSize: DEFAULT_GATE.minSize });

/** A small grid around today's values: ±0.05 linkage, 0–2× the size bonus, ±16 px of gate. */
export const GRID: readonly Setting[] = [0.4, 0.425, 0.45, 0.475, 0.5].flatMap((linkage) =>
  [0, 0.025, 0.05, 0.075, 0.1].flatMap((sizeBonus) => [48, 64, 80].map((gateMinSize) => ({ linkage, sizeBonus, gateMinSize }))),
);

export interface Figures {
  pairwiseP: number;
  bcubedF: number;
  actionsPerFace: number;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** How far a setting is from today's, each value in units of its grid step. */
function distanceFromToday(s: Setting): number {
  return Math.abs(s.linkage - TODAY.linkage) / 0.025 + Math.abs(s.sizeBonus - TODAY.sizeBonus) / 0.025 + Math.abs(s.gateMinSize - TODAY.gateMinSize) / 16;
}

/**
 * The issue's criterion, on tuning-half figures: among settings at pairwise P ≥ MIN_PRECISION,
 * the best BCubed F (to 4 places), then the fewest actions per face (to 4 places), then the
 * nearest to today's values. When none reaches the bar, the most precise. Returns an index.
 */
export function pickSetting(rows: ReadonlyArray<{ setting: Setting; figures: Figures }>): number {
  const eligible = rows.map((r, i) => ({ ...r, i })).filter((r) => r.figures.pairwiseP >= MIN_PRECISION);
  if (eligible.length === 0) return rows.reduce((best, r, i) => (r.figures.pairwiseP > rows[best]!.figures.pairwiseP ? i : best), 0);
  eligible.sort(
    (a, b) =>
      round4(b.figures.bcubedF) - round4(a.figures.bcubedF) ||
      round4(a.figures.actionsPerFace) - round4(b.figures.actionsPerFace) ||
      distanceFromToday(a.setting) - distanceFromToday(b.setting) ||
      a.i - b.i,
  );
  return eligible[0]!.i;
}

function figuresOf(s: ClusterScores): Figures {
  return { pairwiseP: s.pairwise.precision, bcubedF: s.bcubed.f1, actionsPerFace: s.effort.perFace };
}

/** The split as the app would cluster it under `setting`: its gate, its merge threshold, today's other rules. */
function run(split: Split, setting: Setting): Figures & { merges: number; moves: number } {
  const gate: QualityGate = { ...DEFAULT_GATE, minSize: setting.gateMinSize };
  const faces = split.faces.map((f, i) => ({ ...f, good: isGoodFace(split.quality[i]!, gate) }));
  const rules: ClusterRules = { ...CLUSTER_RULES, linkage: setting.linkage, sizeBonus: setting.sizeBonus };
  const s = score(split, clusterFaces(faces, split.knn, {}, rules));
  return { ...figuresOf(s), merges: s.effort.merges, moves: s.effort.moves };
}

const label = (s: Setting) => `${s.linkage.toFixed(3)} + ${s.sizeBonus.toFixed(3)}/√(ab), gate ${s.gateMinSize} px`;
const same = (a: Setting, b: Setting) => a.linkage === b.linkage && a.sizeBonus === b.sizeBonus && a.gateMinSize === b.gateMinSize;

function main(): void {
  const { positionals } = parseArgs({ allowPositionals: true });
  const db = positionals[0];
  if (!db) {
    console.error('usage: npm run bench:cluster-cv -- <indexed lfw-dev library.db>   (use a copy: the bench only reads it)');
    process.exit(2);
  }
  console.log(machineLine(machine()));
  const t0 = performance.now();
  const { faces, neighbours, modelId } = loadLfw(db);
  // The box of each face in its frame, as the app clusters (near-duplicates count once).
  const store = new Store(db);
  const photos = new Map(store.photos.list().map((p) => [p.id, p]));
  store.close();
  const boxOf = new Map(faces.map((f) => [f.row.id, relativeBox(f.row.box, photos.get(f.row.photoId)?.width ?? null, photos.get(f.row.photoId)?.height ?? null)]));
  const half = (name: string, re: RegExp): Split => {
    const sp = makeSplit(name, faces, neighbours, (folder) => re.test(folder), KNN_K);
    return { ...sp, faces: sp.faces.map((f) => ({ ...f, box: boxOf.get(f.id) })) };
  };
  const halves = [half('A-D', /^[A-D]/), half('E-H', /^[E-H]/)];
  console.log(`${db}: ${faces.length} faces (${modelId}), loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const sp of halves) {
    const lab = sp.labels.filter((l) => l !== null);
    console.log(`  ${sp.name}: ${sp.faces.length} faces, ${lab.length} labelled, ${new Set(lab).size} people`);
  }
  console.log(`grid: ${GRID.length} settings (linkage 0.40–0.50, bonus 0–0.10, gate 48/64/80 px); today: ${label(TODAY)}`);

  // Every setting on both halves: each half tunes one fold and is read by the other.
  const t1 = performance.now();
  const table = halves.map((sp) => GRID.map((setting) => ({ setting, figures: run(sp, setting) })));
  console.log(`${GRID.length * halves.length} clusterings in ${((performance.now() - t1) / 1000).toFixed(0)} s; load now ${machine().load.join(' ')}\n`);

  const todayAt = GRID.findIndex((s) => same(s, TODAY));
  const folds = [0, 1].map((t) => {
    const h = 1 - t;
    const pick = pickSetting(table[t]!);
    return {
      tune: halves[t]!.name,
      heldOut: halves[h]!.name,
      chosen: GRID[pick]!,
      chosenIsToday: pick === todayAt,
      tuning: table[t]![pick]!.figures,
      heldOutFigures: table[h]![pick]!.figures,
      todayHeldOut: table[h]![todayAt]!.figures,
    };
  });

  const f4 = (x: number) => x.toFixed(4);
  const row = (f: Figures & { merges?: number; moves?: number }) =>
    `${f4(f.pairwiseP)} | ${f4(f.bcubedF)} | ${f4(f.actionsPerFace)}${f.merges !== undefined ? ` (${f.merges} merges + ${f.moves} moves)` : ''}`;
  console.log('| fold: tune → read | chosen on the tuning half | tuning P / F / actions | held-out pairwise P | held-out BCubed F | held-out actions per face |');
  console.log('|---|---|---|---|---|---|');
  for (const f of folds) {
    console.log(`| ${f.tune} → ${f.heldOut} | ${label(f.chosen)}${f.chosenIsToday ? ' (today)' : ''} | ${f4(f.tuning.pairwiseP)} / ${f4(f.tuning.bcubedF)} / ${f4(f.tuning.actionsPerFace)} | ${row(f.heldOutFigures)} |`);
  }
  for (const f of folds) if (!f.chosenIsToday) console.log(`| today on ${f.heldOut} | ${label(TODAY)} | | ${row(f.todayHeldOut)} |`);
  const mean = (k: keyof Figures) => folds.reduce((s, f) => s + f.heldOutFigures[k], 0) / folds.length;
  console.log(`\nmean over the two held-out halves: pairwise P ${f4(mean('pairwiseP'))}, BCubed F ${f4(mean('bcubedF'))}, ${f4(mean('actionsPerFace'))} actions per face`);
  console.log(folds.every((f) => f.chosenIsToday) ? "both folds choose today's values" : `folds choose: ${folds.map((f) => `${f.tune}: ${label(f.chosen)}`).join('; ')}`);

  // The neighbourhood of each fold's choice on its tuning half, for judging how sharp the choice is.
  for (let t = 0; t < 2; t++) {
    const eligible = table[t]!.map((r, i) => ({ ...r, i })).filter((r) => r.figures.pairwiseP >= MIN_PRECISION);
    eligible.sort((a, b) => round4(b.figures.bcubedF) - round4(a.figures.bcubedF) || a.figures.actionsPerFace - b.figures.actionsPerFace);
    console.log(`\n${halves[t]!.name} (tuning): ${eligible.length} of ${GRID.length} settings reach pairwise P ≥ ${MIN_PRECISION}; the best five, then today:`);
    for (const r of [...eligible.slice(0, 5), { ...table[t]![todayAt]!, i: todayAt }]) {
      console.log(`  ${label(r.setting).padEnd(36)} P ${f4(r.figures.pairwiseP)}  F ${f4(r.figures.bcubedF)}  actions/face ${f4(r.figures.actionsPerFace)}`);
    }
  }
  console.log(`${JSON_PREFIX}${JSON.stringify({ bench: 'cluster-cv', db, modelId, minPrecision: MIN_PRECISION, grid: GRID.length, today: TODAY, folds, load: machine().load })}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
