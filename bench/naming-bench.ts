/**
 * @file `npm run bench:naming -- <labelled folder | indexed library .db> [--limit N] [--device cpu|gpu|auto]`:
 * how good naming suggestions are for a real user, through the engine's own API.
 *
 * Protocol: index and cluster the folder as the app does (KithEngine.startIndex; a .db is
 * copied to a temporary folder and only clustered, so the original is never touched), then
 * name, through renamePerson, the largest cluster of every other person with at least 6
 * labelled faces (sorted by name: the user's effort), then ask for `suggestions` once.
 * Ground truth is bench/labels.ts's (the folder of the photo names its centre face).
 * `--adaptor` runs the naming service with the triplet adaptor on (it is off by default).
 * Figures, counted by face (bench/naming-metrics.ts): precision of the suggestions, recovery
 * of the named people's stray faces, false names on never-named people's faces, questions
 * asked, and shown confidence against measured accuracy in 10% bins; for all people and for
 * each half (A–D, where tuning is done, and E–H, where it is read).
 */
import '../native/pipeline/no-telemetry.ts';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { KithEngine } from '../native/api/api.ts';
import { trainingSet } from '../native/people/adaptor-trainer.ts';
import { scanFolder } from '../native/pipeline/scan.ts';
import { Store } from '../native/store/index.ts';
import { machine, machineLine, parseDevice, parseLimit, printJson, round, tempDir } from './common.ts';
import { labelledFaces } from './labels.ts';
import { halfOf } from './naming-eval.ts';
import { largestClusterOf, namingFigures, peopleToName, type NamingFigures, type ScoredSuggestion, type TruthFace } from './naming-metrics.ts';

/** A person is a naming candidate from this many labelled faces on (the "at least 6 photos"). */
const MIN_FACES = 6;
const PAGE = 1000;

const USAGE = 'usage: npm run bench:naming -- <labelled folder | library.db> [--limit N] [--device cpu|gpu|auto] [--adaptor]';

type Client = ReturnType<KithEngine['client']>;

/** A copy of the library (database and HNSW files), so the bench's names never land in it. */
function copyLibrary(db: string, dir: string): string {
  const to = join(dir, basename(db));
  for (const suffix of ['', '-wal', '.hnsw', '.hnsw.json']) if (existsSync(db + suffix)) copyFileSync(db + suffix, to + suffix);
  return to;
}

/**
 * A folder holding copies of the first `limit` photos of `folder` (scan order), same layout.
 * Copies, not common.ts's symlinks: the indexer refuses a link leading outside the library.
 */
async function copiedSubset(folder: string, limit: number | undefined, dir: string): Promise<string> {
  const { files } = await scanFolder(folder);
  if (limit === undefined || limit >= files.length) return folder;
  const root = join(dir, 'photos');
  for (const f of files.slice(0, limit)) {
    const to = join(root, relative(folder, f.path));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(f.path, to);
  }
  return root;
}

/** Every face id of every person, read page by page through the API as the People screen does. */
async function clustersOf(api: Client): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  for (const card of await api.people(true)) {
    const ids: number[] = [];
    for (let offset = 0; offset < card.faceCount; offset += PAGE) {
      const page = await api.person(card.id, offset, PAGE);
      ids.push(...page.faces.map((f) => f.id));
      if (page.faces.length === 0) break;
    }
    out.set(card.id, ids);
  }
  return out;
}

const pct = (x: number | null, digits = 1) => (x === null ? '—' : `${(x * 100).toFixed(digits)}%`);

/**
 * The adaptor retrains in the background after naming changes (adaptor-trainer.ts): wait until
 * the stored one was trained on the names just given, as a user who asks a little later would
 * find it. Its version says how many retrains the burst of names took.
 */
async function adaptorTrainedOnNames(store: Store, modelId: string): Promise<void> {
  const want = trainingSet(store, modelId).fingerprint;
  const t0 = performance.now();
  while (store.adaptors.trainedOn(modelId) !== want) {
    const failure = store.adaptors.lastFailure(modelId);
    if (failure) throw new Error(`the adaptor's retrain failed: ${failure.message}`);
    if (performance.now() - t0 > 300_000) throw new Error('the adaptor was not retrained within 5 minutes');
    await sleep(100);
  }
  console.log(`adaptor: version ${store.adaptors.get(modelId)!.version} stored ${((performance.now() - t0) / 1000).toFixed(1)} s after the last name`);
}

function printFigures(title: string, f: NamingFigures): void {
  console.log(`${title}:`);
  console.log(`  questions ${f.questions}, covering ${f.suggestedFaces} faces (${f.suggestedLabelled} labelled, ${f.backgroundSuggested} background)`);
  console.log(`  named people: ${f.namedPeopleFaces} labelled faces, ${f.strayFaces} of them outside their named cluster; ${f.impostorsInNamed} faces of others inside named clusters`);
  console.log(`  precision ${pct(f.precision)} (${f.correct}/${f.suggestedLabelled} labelled faces named right)`);
  console.log(`  recovery  ${pct(f.recovered === 0 && f.strayFaces === 0 ? null : f.recovery)} (${f.recovered}/${f.strayFaces} stray faces of named people; ${f.wrongNamedPerson} named as another named person)`);
  console.log(`  false names ${pct(f.falseNames, 3)} (${f.falseNamed}/${f.neverNamedFaces} faces of never-named people)`);
  console.log('  confidence   questions  faces  accuracy  mean shown');
  for (const b of f.reliability) {
    if (b.questions === 0) continue;
    const range = `${Math.round(b.from * 100)}–${Math.round(b.to * 100)}%`.padEnd(12);
    console.log(`  ${range} ${String(b.questions).padStart(9)}  ${String(b.faces).padStart(5)}  ${pct(b.accuracy).padStart(8)}  ${pct(b.meanConfidence).padStart(10)}`);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { limit: { type: 'string' }, device: { type: 'string', default: 'cpu' }, adaptor: { type: 'boolean' } },
  });
  const source = positionals[0];
  if (!source || !existsSync(source)) throw new Error(USAGE);
  const device = parseDevice(values.device!);
  // The naming service reads it when it trains (native/people/naming.ts, ADAPTOR_ON).
  if (values.adaptor) process.env.KITH_ADAPTOR = '1';
  console.log(`mode: ${values.adaptor ? 'triplet adaptor (KITH_ADAPTOR=1)' : 'default'}`);
  const m = machine();
  console.log(machineLine(m));
  const tmp = tempDir('kith-naming-');
  try {
    const t0 = performance.now();
    const isFolder = statSync(source).isDirectory();
    const folder = isFolder ? await copiedSubset(resolve(source), parseLimit(values.limit), tmp.dir) : null;
    const store = new Store(isFolder ? join(tmp.dir, 'library.db') : copyLibrary(resolve(source), tmp.dir));
    const engine = new KithEngine(store, { device, notice: (l) => console.error(`kith: ${l}`) });
    const api = engine.client();
    try {
      if (folder) {
        // As the first-run screen does: index the folder, which clusters when it is done.
        await api.startIndex(folder);
        await engine.idle();
      } else {
        await api.cluster(false);
      }
      const status = await api.status();
      const prepareSec = (performance.now() - t0) / 1000;
      console.log(`library: ${status.photos} photos, ${status.faces} faces, ${status.people} people, ${status.namedPeople} named, ${status.errors} errors (${prepareSec.toFixed(1)} s)`);
      if (status.namedPeople > 0) throw new Error(`${source} already has named people: give a library nobody has named yet`);

      const { faces: labelled, modelId } = labelledFaces(store);
      const truth: TruthFace[] = labelled.map((f) => ({ faceId: f.row.id, label: f.label, folder: f.folder }));
      const labelOf = new Map(truth.map((f) => [f.faceId, f.label]));
      const clusters = await clustersOf(api);
      const clusterLabels = new Map([...clusters].map(([id, ids]) => [id, ids.map((f) => labelOf.get(f) ?? null)]));

      // The user's effort: one rename per person they look for and find.
      const candidates = peopleToName(truth, MIN_FACES);
      const named = new Map<string, ReadonlySet<number>>();
      const labelOfName = new Map<string, string>();
      const notFound: string[] = [];
      for (const label of candidates) {
        const personId = largestClusterOf(label, clusterLabels);
        if (personId === null) {
          notFound.push(label);
          continue;
        }
        const name = label.replace(/_/g, ' ');
        const r = await api.renamePerson(personId, name);
        if (r.conflictWith !== undefined) throw new Error(`naming ${name}: ${r.label}`);
        labelOfName.set(name, label);
        named.set(label, new Set(clusters.get(personId)));
        clusterLabels.delete(personId); // a named cluster is no longer there to be found for someone else
      }
      console.log(`named: ${named.size} of ${candidates.length} people asked for (every other person with ≥ ${MIN_FACES} labelled faces); ${notFound.length} lead no cluster`);

      if (values.adaptor) await adaptorTrainedOnNames(store, modelId);

      const t1 = performance.now();
      const suggestions = await api.suggestions();
      const suggestSec = (performance.now() - t1) / 1000;
      const scored: ScoredSuggestion[] = suggestions.map((s) => ({ faceIds: s.faceIds, suggestedLabel: labelOfName.get(s.suggestedName) ?? s.suggestedName, confidence: s.confidence }));
      console.log(`suggestions: ${suggestions.length} (${suggestions.filter((s) => s.kind === 'person').length} for unnamed people, ${suggestions.filter((s) => s.kind === 'face').length} for single faces), in ${suggestSec.toFixed(2)} s`);

      const all = namingFigures(truth, named, scored);
      const firstHalf = namingFigures(truth, named, scored, (f) => halfOf(f.folder) === 'tuning');
      const secondHalf = namingFigures(truth, named, scored, (f) => halfOf(f.folder) === 'heldout');
      printFigures('all people', all);
      printFigures('people A–D (tuning half)', firstHalf);
      printFigures('people E–H (held-out half)', secondHalf);
      printJson({
        bench: 'naming',
        mode: values.adaptor ? 'adaptor' : 'default',
        source,
        modelId,
        machine: m,
        photos: status.photos,
        faces: status.faces,
        labelledFaces: truth.filter((f) => f.label !== null).length,
        people: status.people,
        askedToName: candidates.length,
        named: named.size,
        notFound,
        suggestions: suggestions.length,
        prepareSec: round(prepareSec),
        suggestSec: round(suggestSec, 2),
        all,
        halves: { 'A-D': firstHalf, 'E-H': secondHalf },
      });
    } finally {
      await engine.close(); // ends a background adaptor retrain before its library closes
      store.close();
    }
  } finally {
    tmp.remove();
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
