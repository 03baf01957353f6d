/**
 * @file `npm run bench:index -- <folder>`: how fast Kith indexes a folder, where the time goes,
 * and how close the whole pipeline comes to the pace of its models alone. The last figure
 * tells whether a speed-up has to come from the models or from the plumbing around them.
 */
import '../native/pipeline/no-telemetry.ts';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { StageTimes } from '../native/api/types.ts';
import { threadLayout, type ThreadLayout } from '../native/pipeline/analysis-pool.ts';
import { DEFAULT_EMBEDDER } from '../native/pipeline/embed.ts';
import type { ModelsOnlyMessage, ModelsOnlySetup } from './models-only-worker.ts';
import { scanFolder } from '../native/pipeline/scan.ts';
import { limitedFolder, machine, machineLine, parseDevice, parseLimit, printJson, round } from './common.ts';
import { runKith } from './kith-run.ts';

const USAGE = `usage: npm run bench:index -- <folder> [--db FILE [--reuse]] [--device cpu|gpu|auto]
         [--embedder ensemble|sirius|fr-feature] [--limit N] [--sample N] [--layouts 2x1,1x2]

  --limit N     index only the first N photos (sorted)
  --sample N    photos run through the models alone for the models-only figure (default 64)
  --layouts L   worker × thread layouts to compare, each measured models-only and end to end
                (default: the one Kith picks for this machine)`;

interface ModelOnly {
  photos: number;
  faces: number;
  /** Wall time of the slowest worker, from "go" to its last inference. */
  wallMs: number;
}

/**
 * The models alone, with `layout`'s workers and threads: each worker decodes and prepares its
 * share of `paths` before the clock, then runs only the detector and the embedder. Photos per
 * second at this pace is what the pipeline could reach if nothing but inference took time.
 */
async function timeModels(paths: string[], embedder: string, layout: ThreadLayout): Promise<ModelOnly> {
  const workers = Math.max(1, layout.workers);
  const shares = Array.from({ length: workers }, (_, w) => paths.filter((_, i) => i % workers === w));
  const url = new URL('./models-only-worker.ts', import.meta.url);
  const started = shares.map((share) => {
    const worker = new Worker(url, { workerData: { paths: share, embedder, threads: layout.threads } satisfies ModelsOnlySetup });
    const next = () => new Promise<ModelsOnlyMessage>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    return { worker, next };
  });
  try {
    const ready = await Promise.all(started.map((s) => s.next()));
    const t0 = performance.now();
    const done = started.map((s) => s.next());
    for (const s of started) s.worker.postMessage('go');
    await Promise.all(done);
    const count = (k: 'photos' | 'faces') => ready.reduce((n, m) => n + (m.kind === 'ready' ? m[k] : 0), 0);
    return { photos: count('photos'), faces: count('faces'), wallMs: performance.now() - t0 };
  } finally {
    await Promise.all(started.map((s) => s.worker.terminate()));
  }
}

/** `count` paths spread evenly over the list, so the sample is not one corner of the library. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!);
}

/** "2x1,1x2" → layouts of workers × threads; none given: the product's own layout for this machine. */
function parseLayouts(value: string | undefined): ThreadLayout[] {
  if (!value) return [threadLayout('cpu')];
  return value.split(',').map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`--layouts wants WORKERSxTHREADS[,…] (got ${part})`);
    return { workers: Number(m[1]), threads: Number(m[2]) };
  });
}

const label = (l: ThreadLayout) => (l.workers === 0 ? `in-process × ${l.threads} threads` : `${l.workers} workers × ${l.threads} thread${l.threads === 1 ? '' : 's'}`);

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      reuse: { type: 'boolean', default: false },
      device: { type: 'string', default: 'auto' },
      embedder: { type: 'string' },
      limit: { type: 'string' },
      sample: { type: 'string', default: '64' },
      layouts: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new Error(USAGE);
  const sample = parseLimit(values.sample)!;
  const device = parseDevice(values.device);
  const layouts = parseLayouts(values.layouts);
  // A limited run indexes symlinks in a temporary folder: paths a real library must never keep.
  if (values.limit && values.db) throw new Error('--limit cannot be combined with --db');
  if (values.db && layouts.length > 1) throw new Error('--db indexes one library once: give one layout');
  const mach = machine();
  const photos = await limitedFolder(positionals[0]!, parseLimit(values.limit));
  const embedderName = values.embedder ?? DEFAULT_EMBEDDER;
  console.log(machineLine(mach));
  console.log(`folder: ${positionals[0]} → ${values.db ? `library ${values.db}` : 'a fresh temporary library per layout'}`);
  const sampled = spread((await scanFolder(photos.folder)).files, sample).map((f) => f.path);
  try {
    for (const layout of layouts) {
      // Models alone first (same photos, same threads), then the whole pipeline.
      const models = device === 'gpu' ? null : await timeModels(sampled, embedderName, layout);
      const run = await runKith(photos.folder, { device, embedder: values.embedder, db: values.db, reuse: values.reuse, layout });
      const s = run.summary;
      const n = s.indexed;
      const wallSec = s.wallMs / 1000;
      const perPhoto = Object.fromEntries(Object.entries(s.stages).map(([k, ms]) => [k, n > 0 ? round(ms / n, 2) : null])) as Record<keyof StageTimes, number | null>;
      const modelsPerSec = models && models.photos > 0 ? models.photos / (models.wallMs / 1000) : null;
      const photosPerSec = n / wallSec;
      const result = {
        bench: 'index',
        folder: positionals[0],
        db: values.db ?? null,
        layout,
        provider: s.provider,
        modelId: s.modelId,
        photos: n,
        scanned: s.scanned,
        unchanged: s.unchanged,
        errors: s.errors,
        faces: s.faces,
        loadSec: round(run.loadMs / 1000, 2),
        wallSec: round(wallSec, 2),
        photosPerSec: round(photosPerSec, 2),
        facesPerSec: round(s.faces / wallSec, 2),
        msPerPhoto: perPhoto,
        peakRssMiB: run.peakRssMiB,
        modelsOnly: models && { photos: models.photos, faces: models.faces, photosPerSec: modelsPerSec && round(modelsPerSec, 2) },
        endToEndOverModelsOnly: modelsPerSec ? round(photosPerSec / modelsPerSec, 2) : null,
        machine: mach,
        loadAfter: machine().load,
      };
      console.log(`\n${label(layout)} — provider ${s.provider}, embedder ${s.modelId}`);
      if (models && modelsPerSec) {
        console.log(`  models only: ${models.photos} photos, ${models.faces} faces decoded and packed before the clock → ${round(modelsPerSec, 2)} photos/s`);
      }
      console.log(`  end to end: ${n} photos indexed (${s.scanned} scanned, ${s.unchanged} unchanged, ${s.errors} errors), ${s.faces} faces in ${result.wallSec} s → ${result.photosPerSec} photos/s`);
      console.log(`  models load + warm-up ${result.loadSec} s (before the clock); peak RSS ${run.peakRssMiB} MiB`);
      console.log(`  ms per photo by stage (summed over workers; stages overlap): ${Object.entries(perPhoto).map(([k, v]) => `${k} ${v ?? '-'}`).join(', ')}`);
      if (result.endToEndOverModelsOnly !== null) console.log(`  end to end / models only: ${result.endToEndOverModelsOnly} (1.0 = the pipeline runs at the models' pace)`);
      console.log(`  load average after: ${result.loadAfter.join(' ')}`);
      printJson(result);
    }
  } finally {
    photos.remove();
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench:index: ${err.message}`);
    process.exit(1);
  },
);
