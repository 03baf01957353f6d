/**
 * @file `npm run bench:index -- <folder>`: how fast Kith indexes a folder, where the time goes,
 * and how close the whole pipeline comes to the pace of its models alone. The last figure
 * tells whether a speed-up has to come from the models or from the plumbing around them.
 */
import '../native/pipeline/no-telemetry.ts';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { alignFace } from '../native/pipeline/align.ts';
import { decodePhoto } from '../native/pipeline/decode.ts';
import { detectFaces, detectorInput } from '../native/pipeline/detect.ts';
import type { Embedder } from '../native/pipeline/embed.ts';
import type { StageTimes } from '../native/api/types.ts';
import type { LoadedSession } from '../native/pipeline/runtime.ts';
import { scanFolder } from '../native/pipeline/scan.ts';
import { limitedFolder, machine, machineLine, parseDevice, parseLimit, printJson, round } from './common.ts';
import { runKith } from './kith-run.ts';

const USAGE = `usage: npm run bench:index -- <folder> [--db FILE [--reuse]] [--device cpu|gpu|auto]
         [--embedder ensemble|sirius|fr-feature] [--limit N] [--sample N]

  --limit N   index only the first N photos (sorted)
  --sample N  photos re-run through the models alone for the model-only figure (default 32)`;

interface ModelOnly {
  photos: number;
  faces: number;
  detectMs: number;
  embedMs: number;
}

/**
 * Times the detector and embedder sessions alone on `sample` photos: decoding, resizing, tensor
 * packing, NMS and alignment all happen outside the timed regions, so nothing but inference is
 * counted. The detector runs once untimed per photo to find the faces whose crops are embedded.
 */
async function timeModels(paths: string[], detector: LoadedSession, embedder: Embedder): Promise<ModelOnly> {
  const crops: Uint8Array[] = [];
  let photos = 0;
  let detectMs = 0;
  for (const path of paths) {
    const photo = await readFile(path).then(decodePhoto).catch(() => undefined);
    if (!photo) continue; // the indexer recorded it as an error; it has no model time to measure
    photos++;
    for (const d of await detectFaces(detector, photo)) crops.push(alignFace(photo, d.landmarks));
    const { tensor } = await detectorInput(photo);
    const t0 = performance.now();
    await detector.session.run({ data: tensor });
    detectMs += performance.now() - t0;
  }
  const t0 = performance.now();
  await embedder.embed(crops);
  return { photos, faces: crops.length, detectMs, embedMs: performance.now() - t0 };
}

/** `count` paths spread evenly over the list, so the sample is not one corner of the library. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!);
}

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
      sample: { type: 'string', default: '32' },
    },
  });
  if (positionals.length !== 1) throw new Error(USAGE);
  const sample = parseLimit(values.sample)!;
  const device = parseDevice(values.device);
  // A limited run indexes symlinks in a temporary folder: paths a real library must never keep.
  if (values.limit && values.db) throw new Error('--limit cannot be combined with --db');
  const mach = machine();
  const photos = await limitedFolder(positionals[0]!, parseLimit(values.limit));
  try {
    const run = await runKith(photos.folder, { device, embedder: values.embedder, db: values.db, reuse: values.reuse });
    const s = run.summary;
    const n = s.indexed;
    const wallSec = s.wallMs / 1000;
    const perPhoto = Object.fromEntries(
      Object.entries(s.stages).map(([k, ms]) => [k, n > 0 ? round(ms / n, 2) : null]),
    ) as Record<keyof StageTimes, number | null>;

    // Model-only pace, on photos of this same folder; skipped when nothing was indexed (a --reuse no-op).
    const sampled = spread((await scanFolder(photos.folder)).files, sample).map((f) => f.path);
    const models = n > 0 ? await timeModels(sampled, run.detector, run.embedder) : undefined;
    const modelOnly =
      models && models.photos > 0
        ? {
            photos: models.photos,
            faces: models.faces,
            detectorMsPerPhoto: round(models.detectMs / models.photos, 2),
            embedderMsPerFace: models.faces > 0 ? round(models.embedMs / models.faces, 2) : null,
            msPerPhoto: round((models.detectMs + models.embedMs) / models.photos, 2),
          }
        : null;
    // Model-bound time for the whole run = model-only ms/photo × photos indexed.
    const ratio = modelOnly ? round(s.wallMs / (modelOnly.msPerPhoto * n), 2) : null;

    const result = {
      bench: 'index',
      folder: positionals[0],
      db: values.db ?? null,
      provider: s.provider,
      modelId: s.modelId,
      photos: n,
      scanned: s.scanned,
      unchanged: s.unchanged,
      errors: s.errors,
      faces: s.faces,
      loadSec: round(run.loadMs / 1000, 2),
      wallSec: round(wallSec, 2),
      photosPerSec: round(n / wallSec, 2),
      facesPerSec: round(s.faces / wallSec, 2),
      msPerPhoto: perPhoto,
      peakRssMiB: run.peakRssMiB,
      modelOnly,
      endToEndOverModelOnly: ratio,
      machine: mach,
      loadAfter: machine().load,
    };

    console.log(machineLine(mach));
    console.log(`folder: ${result.folder} → ${values.db ? `library ${values.db}` : 'fresh temporary library'}`);
    console.log(`provider: ${s.provider}, embedder ${s.modelId}`);
    console.log(`photos: ${n} indexed (${s.scanned} scanned, ${s.unchanged} unchanged, ${s.errors} errors), ${s.faces} faces`);
    console.log(`model load + warm-up: ${result.loadSec} s (before the timed run, not in wall time)`);
    console.log(`wall: ${result.wallSec} s → ${result.photosPerSec} photos/s, ${result.facesPerSec} faces/s`);
    console.log(
      `ms per photo by stage (summed; stages overlap): ${Object.entries(perPhoto)
        .map(([k, v]) => `${k} ${v ?? '-'}`)
        .join(', ')}`,
    );
    console.log(`peak RSS: ${run.peakRssMiB} MiB`);
    if (modelOnly) {
      const m = modelOnly;
      console.log(
        `model-only (${m.photos} photos, ${m.faces} faces, in memory): detector ${m.detectorMsPerPhoto} ms/photo, ` +
          `embedder ${m.embedderMsPerFace ?? '-'} ms/face → ${m.msPerPhoto} ms/photo`,
      );
      console.log(`end-to-end / model-only: ${ratio}× (1.0 = the pipeline runs at the models' pace)`);
    }
    console.log(`load average after: ${result.loadAfter.join(' ')}`);
    printJson(result);
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
