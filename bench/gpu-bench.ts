/**
 * @file `npm run bench:gpu -- <folder> [--limit N] [--layouts 0x1,4x1]`: the GPU path against the
 * CPU on the same photos, in one run. The CPU analyser (the product's layout for this machine)
 * reads every photo once; then each GPU layout reads them twice, the first pass cold (WebGPU
 * compiles its shaders for every new input shape) and the second warm. Per layout it prints
 * photos per second of analysis (decode, detect, align, embed, thumbnails; no SQLite) and how
 * the GPU's faces and vectors compare with the CPU's: faces matched by box overlap, cosine of
 * each matched pair. Kith's promise is cosine > 0.999: a library indexed on either device is one
 * library.
 */
import '../native/pipeline/no-telemetry.ts';
import { parseArgs } from 'node:util';
import { iou } from '../native/common/geometry.ts';
import { startAnalyser, threadLayout, type PhotoAnalyser, type PoolOptions } from '../native/pipeline/analysis-pool.ts';
import { cosine, DEFAULT_EMBEDDER } from '../native/pipeline/embed.ts';
import type { AnalysedFile } from '../native/pipeline/photo-analysis.ts';
import { join } from 'node:path';
import { loadManifest, MODELS_DIR, ort, runSession, sessionFor, setIntraOpThreads, type DeviceChoice } from '../native/pipeline/runtime.ts';
import { scanFolder } from '../native/pipeline/scan.ts';
import { cpuSeconds, limitedFolder, machine, machineLine, parseLayouts, parseLimit, printJson, rerunWithLibuvThreads, round } from './common.ts';

const USAGE = `usage: npm run bench:gpu -- <folder> [--limit N] [--layouts 0x1,4x1] [--embedding stage,workers] [--embedder NAME] [--no-models]

  --layouts L   GPU layouts, WORKERSxTHREADS: 0 workers runs the sessions in-process (default: this machine's)
  --embedding E where a pool's faces are embedded, each measured: stage (the product: the workers
                detect on the CPU, one stage embeds every worker's faces in runs of up to 64 on the
                GPU) and workers (every model on the GPU in each worker, one photo's faces a run)
  --no-models   skip the per-model table (each model alone, by input size and batch, GPU against one CPU thread)`;

/** Detector inputs (an LFW photo, a group photo at 640 and at Kith's 960) and recogniser batches timed alone. */
const DETECTOR_SHAPES = [[256, 256], [640, 448], [960, 640]] as const;
const EMBED_BATCHES = [1, 4, 16, 64] as const;

/** Mean ms per run of one session on one input, after two warm-up runs, over about half a second. */
async function msPerRun(loaded: Awaited<ReturnType<typeof sessionFor>>, feeds: ort.InferenceSession.FeedsType): Promise<number> {
  await runSession(loaded, feeds);
  await runSession(loaded, feeds);
  let runs = 0;
  const t0 = performance.now();
  while (runs < 3 || (performance.now() - t0 < 500 && runs < 50)) {
    await runSession(loaded, feeds);
    runs++;
  }
  return (performance.now() - t0) / runs;
}

/** Each model alone on `device` (CPU: one intra-op thread, as in a worker of the pool). */
async function modelTable(device: DeviceChoice): Promise<Array<{ model: string; shape: number[]; ms: number; msPerItem: number }>> {
  const rows = [];
  for (const model of loadManifest().models) {
    const loaded = await sessionFor(join(MODELS_DIR, model.file), device, () => {}, model.graphOptimization);
    const shapes = model.role === 'detector' ? DETECTOR_SHAPES.map(([w, h]) => [1, 3, h, w]) : EMBED_BATCHES.map((b) => [b, 3, 112, 112]);
    for (const shape of shapes) {
      const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 50);
      const name = model.role === 'detector' ? 'data' : model.input.name;
      const ms = await msPerRun(loaded, { [name]: new ort.Tensor('float32', data, shape) });
      rows.push({ model: model.id, shape, ms: round(ms, 2), msPerItem: round(ms / shape[0]!, 2) });
    }
  }
  return rows;
}

interface Pass {
  results: AnalysedFile[];
  wallMs: number;
  cpuSec: number;
}

/** Every path through the analyser, `capacity` in flight, in order of the list. */
async function analyseAll(analyser: PhotoAnalyser, paths: string[]): Promise<Pass> {
  const results: AnalysedFile[] = new Array(paths.length);
  let next = 0;
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const lane = async () => {
    while (next < paths.length) {
      const i = next++;
      results[i] = await analyser.analyse(paths[i]!);
    }
  };
  await Promise.all(Array.from({ length: analyser.capacity }, lane));
  return { results, wallMs: performance.now() - t0, cpuSec: cpuSeconds() - cpu0 };
}

export interface Agreement {
  cpuFaces: number;
  gpuFaces: number;
  matched: number;
  /** Cosines of matched pairs: the lowest, the 1st percentile, the median. */
  cosineMin: number | null;
  cosineP1: number | null;
  cosineMedian: number | null;
  /** Share of matched pairs above 0.999. */
  above0999: number | null;
  /** Largest box-corner difference of a matched pair, in pixels of the photo. */
  maxBoxShiftPx: number | null;
}

/** How the GPU's faces and vectors compare with the CPU's, photo by photo. */
export function agreement(cpu: readonly AnalysedFile[], gpu: readonly AnalysedFile[]): Agreement {
  const cosines: number[] = [];
  let cpuFaces = 0;
  let gpuFaces = 0;
  let shift = 0;
  cpu.forEach((c, i) => {
    const g = gpu[i]!;
    cpuFaces += c.faces.length;
    gpuFaces += g.faces.length;
    const taken = new Set<number>();
    c.faces.forEach((face, a) => {
      let best = -1;
      let bestIou = 0.5;
      g.faces.forEach((other, b) => {
        const o = iou(face.box, other.box);
        if (!taken.has(b) && o >= bestIou) [best, bestIou] = [b, o];
      });
      if (best < 0) return;
      taken.add(best);
      cosines.push(cosine(c.vectors[a]!, g.vectors[best]!));
      const gb = g.faces[best]!.box;
      shift = Math.max(shift, Math.abs(face.box.x1 - gb.x1), Math.abs(face.box.y1 - gb.y1), Math.abs(face.box.x2 - gb.x2), Math.abs(face.box.y2 - gb.y2));
    });
  });
  const sorted = [...cosines].sort((x, y) => x - y);
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : null);
  return {
    cpuFaces,
    gpuFaces,
    matched: cosines.length,
    cosineMin: at(0),
    cosineP1: at(0.01),
    cosineMedian: at(0.5),
    above0999: cosines.length ? round(cosines.filter((x) => x > 0.999).length / cosines.length, 4) : null,
    maxBoxShiftPx: cosines.length ? round(shift, 2) : null,
  };
}

const pace = (n: number, p: Pass) => round(n / (p.wallMs / 1000), 2);

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    allowNegative: true,
    options: {
      limit: { type: 'string' },
      layouts: { type: 'string' },
      embedding: { type: 'string', default: 'stage,workers' },
      embedder: { type: 'string', default: DEFAULT_EMBEDDER },
      models: { type: 'boolean', default: true },
    },
  });
  if (positionals.length !== 1) throw new Error(USAGE);
  const mach = machine();
  console.log(machineLine(mach));
  if (values.models) {
    setIntraOpThreads(1);
    const gpu = await modelTable('gpu');
    const cpu = await modelTable('cpu');
    console.log('each model alone, ms per run (per item): GPU | one CPU thread');
    gpu.forEach((g, i) => console.log(`  ${g.model} [${g.shape.join('×')}]: ${g.ms} (${g.msPerItem}) | ${cpu[i]!.ms} (${cpu[i]!.msPerItem})`));
    printJson({ bench: 'gpu-models', rows: gpu.map((g, i) => ({ ...g, cpuMs: cpu[i]!.ms, cpuMsPerItem: cpu[i]!.msPerItem })), machine: mach });
  }
  const photos = await limitedFolder(positionals[0]!, parseLimit(values.limit));
  try {
    const paths = (await scanFolder(photos.folder)).files.map((f) => f.path);
    // Symlinked folders are not followed (as in a library): copies or linked files are.
    if (paths.length === 0) throw new Error(`no photos in ${positionals[0]}`);
    const base = { embedder: values.embedder, modelsDir: MODELS_DIR, notice: (l: string) => console.error(`kith: ${l}`) };
    const cpuAnalyser = await startAnalyser({ ...base, device: 'cpu', layout: threadLayout() });
    let cpu: Pass;
    try {
      await cpuAnalyser.analyse(paths[0]!);
      cpu = await analyseAll(cpuAnalyser, paths);
    } finally {
      await cpuAnalyser.close();
    }
    const n = paths.length;
    console.log(`${n} photos from ${positionals[0]}`);
    console.log(`CPU (${cpuAnalyser.layout.workers} workers × ${cpuAnalyser.layout.threads}): ${pace(n, cpu)} photos/s, ${round(cpu.cpuSec * 1000 / n)} CPU ms per photo`);
    printJson({ bench: 'gpu', device: 'cpu', folder: positionals[0], photos: n, layout: cpuAnalyser.layout, photosPerSec: pace(n, cpu), cpuMsPerPhoto: round(cpu.cpuSec * 1000 / n), machine: mach });
    type Embedding = PoolOptions['embedding'];
    const embeddings = values.embedding.split(',').map((e): Embedding => {
      if (e !== 'stage' && e !== 'workers') throw new Error(`--embedding: stage or workers, not "${e}"`);
      return e;
    });
    const layouts = values.layouts ? parseLayouts(values.layouts) : [threadLayout()];
    // In-process there is nothing to batch across: one analysis, its own sessions.
    const runs = layouts.flatMap((layout) => (layout.workers === 0 ? [undefined] : embeddings).map((embedding) => ({ layout, embedding })));
    for (const { layout, embedding } of runs) {
      const t0 = performance.now();
      const gpuAnalyser = await startAnalyser({ ...base, device: 'gpu', layout, embedding });
      const loadMs = performance.now() - t0;
      try {
        const cold = await analyseAll(gpuAnalyser, paths);
        const warm = await analyseAll(gpuAnalyser, paths);
        const agree = agreement(cpu.results, warm.results);
        const coldAgree = agreement(cpu.results, cold.results);
        const where = layout.workers === 0 ? 'in-process' : `${layout.workers} workers, embedding in ${gpuAnalyser.stage ? 'one stage' : 'each worker'}`;
        const stage = await gpuAnalyser.stage?.stats();
        console.log(`\nGPU ${gpuAnalyser.provider}, ${where}, capacity ${gpuAnalyser.capacity}: sessions ${round(loadMs / 1000, 2)} s`);
        if (stage) console.log(`  stage, both passes: ${stage.runs} runs, ${round(stage.faces / Math.max(1, stage.runs), 1)} faces a run (largest ${stage.largestRun}), ${stage.requests} photos`);
        console.log(`  cold pass ${pace(n, cold)} photos/s, warm pass ${pace(n, warm)} photos/s (${round(warm.cpuSec * 1000 / n)} CPU ms per photo); CPU ${pace(n, cpu)} → ×${round(pace(n, warm) / pace(n, cpu), 2)} warm`);
        console.log(`  faces CPU ${agree.cpuFaces}, GPU ${agree.gpuFaces}, matched ${agree.matched}; cosine min ${agree.cosineMin?.toFixed(6)}, p1 ${agree.cosineP1?.toFixed(6)}, median ${agree.cosineMedian?.toFixed(6)}; > 0.999: ${agree.above0999}; largest box shift ${agree.maxBoxShiftPx} px`);
        if (coldAgree.matched !== agree.matched || coldAgree.gpuFaces !== agree.gpuFaces) console.log(`  cold pass differs: ${JSON.stringify(coldAgree)}`);
        printJson({
          bench: 'gpu',
          device: 'gpu',
          provider: gpuAnalyser.provider,
          folder: positionals[0],
          photos: n,
          layout,
          embedding: gpuAnalyser.stage ? 'stage' : 'workers',
          stage: stage ?? null,
          capacity: gpuAnalyser.capacity,
          loadSec: round(loadMs / 1000, 2),
          coldPhotosPerSec: pace(n, cold),
          warmPhotosPerSec: pace(n, warm),
          cpuPhotosPerSec: pace(n, cpu),
          speedUp: round(pace(n, warm) / pace(n, cpu), 2),
          warmCpuMsPerPhoto: round(warm.cpuSec * 1000 / n),
          agreement: agree,
          machine: mach,
        });
      } finally {
        await gpuAnalyser.close();
      }
    }
  } finally {
    photos.remove();
  }
}

if (process.argv[1] === import.meta.filename) {
  rerunWithLibuvThreads();
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: Error) => {
      console.error(`bench:gpu: ${err.message}`);
      process.exit(1);
    },
  );
}
