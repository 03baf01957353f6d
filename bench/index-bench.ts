/**
 * @file `npm run bench:index -- <folder>`: how fast Kith indexes a folder, where the time goes,
 * and how close the whole pipeline comes to the pace of its models alone. The last figure
 * tells whether a speed-up has to come from the models or from the plumbing around them.
 */
import '../native/pipeline/no-telemetry.ts';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import type { StageTimes } from '../native/api/types.ts';
import { threadLayout, type ThreadLayout } from '../native/pipeline/analysis-pool.ts';
import { DEFAULT_EMBEDDER } from '../native/pipeline/embed.ts';
import { modelsPhotosPerSec, spread, timeModels } from './models-only.ts';
import { scanFolder } from '../native/pipeline/scan.ts';
import { JSON_PREFIX, limitedFolder, machine, machineLine, parseDevice, parseLayouts, parseLimit, printJson, rerunWithLibuvThreads, round } from './common.ts';
import type { KithRun } from './kith-run.ts';
import { stageCpu } from './stage-cpu.ts';

const USAGE = `usage: npm run bench:index -- <folder> [--db FILE [--reuse]] [--device cpu|gpu|auto]
         [--embedder ensemble|sirius|fr-feature] [--limit N] [--sample N] [--layouts 2x1,1x2]

  --limit N     index only the first N photos (sorted)
  --sample N    photos run through the models alone for the models-only figure (default 64)
  --layouts L   worker × thread layouts to compare, each measured models-only and end to end
                (default: the one Kith picks for this machine)
  --no-breakdown  skip the CPU-time-per-stage pass over the sample`;

/** The timed end-to-end run, in a child process of its own so its peak RSS is the indexing's alone. */
function endToEndInChild(folder: string, args: string[]): Promise<KithRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, import.meta.filename, folder, ...args, '--only-run'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(JSON_PREFIX));
      if (code !== 0 || !line) reject(new Error(`the end-to-end run failed (exit ${code})`));
      else resolve(JSON.parse(line.slice(JSON_PREFIX.length)) as KithRun);
    });
  });
}

/** None given: the product's own layout for this machine. */
function layoutsOrDefault(value: string | undefined): ThreadLayout[] {
  return value ? parseLayouts(value) : [threadLayout()];
}

const label = (l: ThreadLayout) => (l.workers === 0 ? `in-process × ${l.threads} threads` : `${l.workers} workers × ${l.threads} thread${l.threads === 1 ? '' : 's'}`);

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    allowNegative: true,
    options: {
      db: { type: 'string' },
      reuse: { type: 'boolean', default: false },
      device: { type: 'string', default: 'auto' },
      embedder: { type: 'string' },
      limit: { type: 'string' },
      sample: { type: 'string', default: '64' },
      layouts: { type: 'string' },
      breakdown: { type: 'boolean', default: true },
      'only-run': { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new Error(USAGE);
  const sample = parseLimit(values.sample)!;
  const device = parseDevice(values.device);
  const layouts = layoutsOrDefault(values.layouts);
  if (values['only-run']) {
    const { runKith } = await import('./kith-run.ts');
    return printJson(await runKith(positionals[0]!, { device, embedder: values.embedder, db: values.db, reuse: values.reuse, layout: layouts[0] }));
  }
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
      const pass = ['--device', device, '--layouts', `${layout.workers}x${layout.threads}`, ...(values.embedder ? ['--embedder', values.embedder] : []), ...(values.db ? ['--db', values.db] : []), ...(values.reuse ? ['--reuse'] : [])];
      const run = await endToEndInChild(photos.folder, pass);
      const s = run.summary;
      const n = s.indexed;
      const wallSec = s.wallMs / 1000;
      const perPhoto = Object.fromEntries(Object.entries(s.stages).map(([k, ms]) => [k, n > 0 ? round(ms / n, 2) : null])) as Record<keyof StageTimes, number | null>;
      const modelsPerSec = models && modelsPhotosPerSec(models);
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
        cpuMsPerPhoto: n > 0 ? round((run.cpuSec * 1000) / n) : null,
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
      console.log(`  models load + warm-up ${result.loadSec} s (before the clock); peak RSS of the indexing process ${run.peakRssMiB} MiB; ${round(run.cpuSec * 1000 / Math.max(1, n))} CPU ms per photo`);
      console.log(`  ms per photo by stage (summed over workers; stages overlap): ${Object.entries(perPhoto).map(([k, v]) => `${k} ${v ?? '-'}`).join(', ')}`);
      if (result.endToEndOverModelsOnly !== null) console.log(`  end to end / models only: ${result.endToEndOverModelsOnly} (1.0 = the pipeline runs at the models' pace)`);
      console.log(`  load average after: ${result.loadAfter.join(' ')}`);
      printJson(result);
    }
    if (values.breakdown && device !== 'gpu') {
      // Last, in this process: its sessions are made here with one thread, as a worker's are.
      const cpu = await stageCpu(sampled, embedderName);
      console.log(`\nCPU ms per photo by stage, one thread, photo by photo (${cpu.photos} photos, ${cpu.faces} faces): ${Object.entries(cpu.msPerPhoto).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      console.log(`  models (detector + embed) are ${cpu.modelsShare} of it: about the best end to end ÷ models only when every core is busy`);
      printJson({ bench: 'index-stages', folder: positionals[0], ...cpu, machine: mach, loadAfter: machine().load });
    }
  } finally {
    photos.remove();
  }
}

rerunWithLibuvThreads();
main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench:index: ${err.message}`);
    process.exit(1);
  },
);
