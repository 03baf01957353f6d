/**
 * @file Where search stops calling a face "like this one": the similarity threshold, chosen on
 * the measured same-person and different-person similarity distributions of lfw-dev, never
 * guessed. People A–D choose it, people E–H check it (held out). Each half is indexed once
 * with the real `kith index` into its own library; pass `--work DIR` to keep and reuse them.
 *
 *   npx tsx bench/search-threshold.ts [--faces ../shared/faces/lfw-dev] [--work DIR]
 *
 * Each half holds every photo (up to 4) of people seen at least twice, and every 3rd person
 * seen once (strangers: they add only different-person pairs). Only the labelled face of each
 * photo counts (bench/labels.ts); background faces are unknown people.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Store } from '../native/store/index.ts';
import { machine, machineLine, printJson, tempDir } from './common.ts';
import { labelledFaces } from './labels.ts';

const REPO = resolve(import.meta.dirname, '..');
const MAX_PER_PERSON = 4;
const SINGLETON_EVERY = 3;
/** The false-accept rates the threshold is read at: 1 in 1,000 and 1 in 10,000 different-person pairs. */
const FARS = [1e-3, 1e-4];

interface Half {
  name: string;
  letters: RegExp;
}
const HALVES: Half[] = [
  { name: 'tune', letters: /^[A-D]/ },
  { name: 'check', letters: /^[E-H]/ },
];

/** A folder of symlinks: the chosen photos of the people whose names match `letters`. */
function subsetFolder(faces: string, letters: RegExp, dest: string): number {
  let n = 0;
  let singles = 0;
  for (const person of readdirSync(faces, { withFileTypes: true })) {
    if (!person.isDirectory() || !letters.test(person.name)) continue;
    const photos = readdirSync(join(faces, person.name)).filter((f) => /\.jpe?g$/i.test(f)).sort();
    if (photos.length === 1 && singles++ % SINGLETON_EVERY !== 0) continue;
    mkdirSync(join(dest, person.name), { recursive: true });
    for (const p of photos.slice(0, MAX_PER_PERSON)) {
      symlinkSync(join(faces, person.name, p), join(dest, person.name, p));
      n++;
    }
  }
  return n;
}

function indexHalf(faces: string, work: string, half: Half): string {
  const db = join(work, `${half.name}.db`);
  if (existsSync(db)) return db;
  const folder = join(work, half.name);
  const photos = subsetFolder(faces, half.letters, folder);
  console.log(`indexing ${half.name}: ${photos} photos into ${db}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'native', 'cli', 'cli.ts'), 'index', folder, '--db', db, '--device', 'cpu'], {
    cwd: REPO,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`kith index failed for ${half.name}`);
  return db;
}

interface Pairs {
  same: Float64Array;
  different: Float64Array;
  people: number;
  faces: number;
}

/** Cosine similarity of every pair of labelled faces, split by same or different identity. */
function pairSimilarities(db: string): Pairs {
  const store = new Store(db);
  try {
    const { faces } = labelledFaces(store);
    const labelled = faces.filter((f) => f.label !== null);
    const vectors = labelled.map((f) => f.row.embedding);
    const labels = labelled.map((f) => f.label!);
    const same: number[] = [];
    const different: number[] = [];
    for (let i = 0; i < vectors.length; i++) {
      const a = vectors[i]!;
      for (let j = i + 1; j < vectors.length; j++) {
        const b = vectors[j]!;
        let dot = 0;
        for (let d = 0; d < a.length; d++) dot += a[d]! * b[d]!;
        (labels[i] === labels[j] ? same : different).push(dot);
      }
    }
    return {
      same: Float64Array.from(same).sort(),
      different: Float64Array.from(different).sort(),
      people: new Set(labels).size,
      faces: labelled.length,
    };
  } finally {
    store.close();
  }
}

/** The smallest similarity that at most `far` of the sorted different-person pairs reach. */
function thresholdAt(different: Float64Array, far: number): number {
  const allowed = Math.floor(different.length * far);
  return different[different.length - allowed - 1]! + 1e-6;
}

/** Share of sorted values ≥ t. */
function shareAtLeast(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return (sorted.length - lo) / sorted.length;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { faces: { type: 'string' }, work: { type: 'string' } } });
  const faces = resolve(values.faces ?? join(REPO, '..', 'shared', 'faces', 'lfw-dev'));
  const work = values.work ? resolve(values.work) : tempDir('kith-threshold-').dir;
  mkdirSync(work, { recursive: true });
  console.log(machineLine(machine()));
  const [tune, check] = HALVES.map((h) => pairSimilarities(indexHalf(faces, work, h))) as [Pairs, Pairs];
  for (const [name, p] of [['tune (A-D)', tune], ['check (E-H)', check]] as const) {
    console.log(`${name}: ${p.faces} labelled faces of ${p.people} people; ${p.same.length} same-person, ${p.different.length} different-person pairs`);
  }
  const rows = FARS.map((far) => {
    const t = thresholdAt(tune.different, far);
    return {
      far,
      threshold: Math.round(t * 1000) / 1000,
      tuneTar: shareAtLeast(tune.same, t),
      checkTar: shareAtLeast(check.same, t),
      checkFar: shareAtLeast(check.different, t),
    };
  });
  console.log('\nFAR (tune) | threshold | same-person recall: tune / held-out | held-out FAR');
  for (const r of rows) console.log(`${r.far} | ${r.threshold.toFixed(3)} | ${pct(r.tuneTar)} / ${pct(r.checkTar)} | ${(r.checkFar * 1e4).toFixed(1)} in 10,000`);
  printJson({ work, tune: { faces: tune.faces, people: tune.people }, check: { faces: check.faces, people: check.people }, rows });
}

await main();
