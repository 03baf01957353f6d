/**
 * @file `npm run bench:peer -- <folder>`: Kith against the usual Node way to do the same job,
 * @vladmandic/face-api on tfjs-wasm (see face-api-run.ts), on the same photos. Each contender
 * runs in its own child process, importing only its own libraries, so peak RSS is its own; the
 * parent prints the two side by side. Both get every core: Kith through ONNX Runtime's and
 * libvips's thread pools, the peer as one worker thread per core. A folder holding a
 * groups.csv (the labelled group photos) is also scored for recall against its face counts.
 */
import '../native/pipeline/no-telemetry.ts';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { scanFolder } from '../native/pipeline/scan.ts';
import { JSON_PREFIX, limitedFolder, machine, machineLine, parseDevice, parseLimit, printJson, rerunWithLibuvThreads, round, tempDir, type Contender } from './common.ts';

const USAGE = `usage: npm run bench:peer -- <folder> [--limit N] [--device cpu|gpu|auto] [--embedder NAME]
         [--decoder canvas|jpeg-js] [--peer-workers N]

  --limit N    use only the first N photos (sorted)
  --peer-workers N  face-api worker threads, each with its own tfjs-wasm and models
               (default: one per core, as many as Kith's thread pools use)
  --decoder    the peer's image decoder: @canvas/image (libjpeg-turbo/lodepng in WebAssembly,
               as in face-api's own demo/node-wasm.js; the default) or pure-JS jpeg-js
  --sample N   photos for Kith's models-only pace, the upper bound line (default 64)`;

async function runKithContender(folder: string, device: string, embedder: string | undefined): Promise<Contender> {
  const { runKith } = await import('./kith-run.ts');
  const tmp = tempDir('kith-bench-peer-db-');
  try {
    const db = join(tmp.dir, 'library.db');
    const run = await runKith(folder, { device: parseDevice(device), embedder, db });
    return kithContender(run, facesPerPhoto(db, folder));
  } finally {
    tmp.remove();
  }
}

function facesPerPhoto(db: string, folder: string): Record<string, number> {
  const conn = new Database(db, { readonly: true });
  try {
    const rows = conn.prepare('SELECT p.path AS path, count(f.id) AS n FROM photos p LEFT JOIN faces f ON f.photo_id = p.id GROUP BY p.id').all() as { path: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [relative(folder, r.path), r.n]));
  } finally {
    conn.close();
  }
}

function kithContender(run: import('./kith-run.ts').KithRun, perPhotoFaces: Record<string, number>): Contender {
  const s = run.summary;
  return {
    contender: 'kith',
    label: `Kith (${s.provider}, ${s.modelId})`,
    photos: s.indexed,
    errors: s.errors,
    faces: s.faces,
    loadSec: round(run.loadMs / 1000, 2),
    wallSec: round(s.wallMs / 1000, 2),
    photosPerSec: round(s.indexed / (s.wallMs / 1000), 2),
    peakRssMiB: run.peakRssMiB,
    // ONNX Runtime's intra-op pool and libvips default to one thread per core.
    cores: availableParallelism(),
    coresBusy: round(run.cpuSec / (s.wallMs / 1000), 2),
    perPhotoFaces,
    detail: { msPerPhoto: Object.fromEntries(Object.entries(s.stages).map(([k, ms]) => [k, s.indexed ? round(ms / s.indexed) : null])) },
  };
}

/** Runs this script again as `--only <which>` and returns the result line it prints. */
function child(which: Contender['contender'], args: string[]): Promise<Contender> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, import.meta.filename, ...args, '--only', which], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(JSON_PREFIX));
      if (code !== 0 || !line) reject(new Error(`the ${which} run failed (exit ${code})`));
      else resolve(JSON.parse(line.slice(JSON_PREFIX.length)) as Contender);
    });
  });
}

/** How many faces each photo of groups.csv holds at least (its `faces` column's first number). */
function knownCounts(folder: string): Record<string, number> | null {
  const csv = join(folder, 'groups.csv');
  if (!existsSync(csv)) return null;
  const [header, ...lines] = readFileSync(csv, 'utf8').trim().split('\n');
  const col = header!.split(',').indexOf('faces');
  // The columns up to `faces` hold no quoted commas; later ones (names) may.
  return Object.fromEntries(
    lines.map((line) => {
      const cells = line.split(',');
      return [cells[0]!, Number(/\d+/.exec(cells[col]!)?.[0] ?? 0)];
    }),
  );
}

export interface Recall {
  /** Σ over photos of min(found, known) ÷ Σ known: a count, not a box match. */
  recallByCount: number;
  known: number;
  photosWithFewer: number;
  photosWithMore: number;
}

function recall(found: Record<string, number>, known: Record<string, number>): Recall {
  let hit = 0;
  let total = 0;
  let fewer = 0;
  let more = 0;
  for (const [path, n] of Object.entries(known)) {
    const f = found[path] ?? 0;
    hit += Math.min(f, n);
    total += n;
    if (f < n) fewer++;
    if (f > n) more++;
  }
  return { recallByCount: round(total ? hit / total : 0, 3), known: total, photosWithFewer: fewer, photosWithMore: more };
}

/** Kith's models alone on `sample` photos spread over the folder, with the layout the pool picks here. */
async function modelsOnlyPace(folder: string, embedder: string | undefined, sample: number) {
  // Imported here, not at the top: the peer's child process runs this file too and must not load ONNX Runtime.
  const { threadLayout } = await import('../native/pipeline/analysis-pool.ts');
  const { DEFAULT_EMBEDDER } = await import('../native/pipeline/embed.ts');
  const { modelsPhotosPerSec, spread, timeModels } = await import('./models-only.ts');
  const layout = threadLayout();
  const paths = spread((await scanFolder(folder)).files, sample).map((f) => f.path);
  const m = await timeModels(paths, embedder ?? DEFAULT_EMBEDDER, layout);
  const perSec = modelsPhotosPerSec(m);
  return perSec === null ? null : { photos: m.photos, faces: m.faces, photosPerSec: round(perSec, 2), layout: `${layout.workers} workers × ${layout.threads} thread${layout.threads === 1 ? '' : 's'}` };
}

function table(rows: Contender[]): string {
  const head = ['', 'photos', 'errors', 'faces', 'cores', 'busy', 'load s', 'wall s', 'photos/s', 'peak RSS MiB'];
  const body = rows.map((r) => [r.label, r.photos, r.errors, r.faces, r.cores, r.coresBusy, r.loadSec, r.wallSec, r.photosPerSec, r.peakRssMiB].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body].map((cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      limit: { type: 'string' },
      only: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      embedder: { type: 'string' },
      decoder: { type: 'string', default: 'canvas' },
      'peer-workers': { type: 'string' },
      sample: { type: 'string', default: '64' },
    },
  });
  if (positionals.length !== 1) throw new Error(USAGE);
  const folder = positionals[0]!;
  const peerWorkers = values['peer-workers'] === undefined ? availableParallelism() : Number(values['peer-workers']);
  if (!Number.isInteger(peerWorkers) || peerWorkers < 1) throw new Error(`--peer-workers must be a positive integer`);
  if (values.only === 'peer') return printJson(await (await import('./face-api-run.ts')).runFaceApi(folder, values.decoder, peerWorkers));
  if (values.only === 'kith') return printJson(await runKithContender(folder, values.device, values.embedder));
  if (values.only !== undefined) throw new Error(`--only must be peer or kith`);

  const mach = machine();
  const photos = await limitedFolder(folder, parseLimit(values.limit));
  try {
    const pass = ['--device', values.device, '--decoder', values.decoder, '--peer-workers', String(peerWorkers), ...(values.embedder ? ['--embedder', values.embedder] : [])];
    // One after the other: on a small machine two at once would slow each other down.
    const kith = await child('kith', [photos.folder, ...pass]);
    const peer = await child('peer', [photos.folder, ...pass]);
    const ratio = peer.photosPerSec > 0 ? round(kith.photosPerSec / peer.photosPerSec, 2) : null;
    // Kith's models alone, with the pool's layout, on a sample: the most Kith could reach here.
    const models = values.device === 'gpu' ? null : await modelsOnlyPace(photos.folder, values.embedder, parseLimit(values.sample)!);
    const ceiling = models && peer.photosPerSec > 0 ? round(models.photosPerSec / peer.photosPerSec, 2) : null;
    console.log(machineLine(mach));
    console.log(`folder: ${folder}${values.limit ? ` (first ${values.limit} photos)` : ''}`);
    console.log(table([peer, kith]));
    console.log(`Kith / face-api photos/s: ${ratio ?? '-'}× (cores: given to each; busy: CPU s ÷ wall s of the timed pass)`);
    if (models) {
      console.log(
        `upper bound with these models: Kith's models alone ${models.photosPerSec} photos/s (${models.photos} photos decoded and packed before the clock, ${models.layout}) ÷ face-api ${peer.photosPerSec} = ${ceiling ?? '-'}×; end to end reaches ${ratio !== null && ceiling ? round(ratio / ceiling, 2) : '-'} of it`,
      );
    }
    const known = knownCounts(folder);
    // Only the photos this run saw (--limit), including any one side failed to read.
    const seen = new Set([...Object.keys(peer.perPhotoFaces), ...Object.keys(kith.perPhotoFaces)]);
    const knownSeen = known && Object.fromEntries(Object.entries(known).filter(([path]) => seen.has(path)));
    const recalls = knownSeen ? { peer: recall(peer.perPhotoFaces, knownSeen), kith: recall(kith.perPhotoFaces, knownSeen) } : null;
    if (recalls) {
      for (const [who, r] of [['face-api', recalls.peer], ['Kith', recalls.kith]] as const) {
        console.log(`${who} vs groups.csv: ${r.recallByCount} of ${r.known} known faces by count; ${r.photosWithFewer} photos with fewer, ${r.photosWithMore} with more`);
      }
    }
    console.log(`face-api detail: ${JSON.stringify(peer.detail)}`);
    console.log(`Kith detail: ${JSON.stringify(kith.detail)}`);
    const loadAfter = machine().load;
    console.log(`load average after: ${loadAfter.join(' ')}`);
    // Per-photo counts went into `recalls`; thousands of them would swamp the line.
    const brief = ({ perPhotoFaces: _, ...rest }: Contender) => rest;
    printJson({ bench: 'peer', folder, limit: parseLimit(values.limit) ?? null, peer: brief(peer), kith: brief(kith), kithOverPeerPhotosPerSec: ratio, kithModelsOnly: models, upperBoundOverPeer: ceiling, recalls, machine: mach, loadAfter });
  } finally {
    photos.remove();
  }
}

rerunWithLibuvThreads();
main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench:peer: ${err.message}`);
    process.exit(1);
  },
);
