/**
 * @file `npm run bench:int8 [-- --db lfw.db] [--rounds 3] [--skip-accuracy]`: are int8 recognisers
 * worth adopting? Builds the int8 forms of both recognisers (models/quantize.ts; static ranges
 * calibrated on the faces of /work/shared/faces/portraits and groups, never lfw-dev), then on one
 * indexed lfw-dev library (faces re-cropped from their stored landmarks, no re-detection):
 * - speed: ms per face at batch 1 and 16, one intra-op thread (as the indexing pool's workers
 *   run), the variants interleaved round by round so each sees the same machine load;
 * - accuracy: every face embedded by each variant, cosine to fp32, and TAR@FAR from
 *   bench/embedder-compare.ts run on a copy of the library re-embedded with that variant.
 * The bar (issue 10): TAR@FAR=1e-4 within 0.1 point of fp32 and ≥ 1.5× faster.
 */
import '../native/pipeline/no-telemetry.ts';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sha256 } from '../models/fetch.ts';
import type { ModelManifest } from '../models/manifest.ts';
import { calibrate, inputTensor } from '../models/calibrate.ts';
import { quantizeDynamic, quantizeStatic } from '../models/quantize.ts';
import { analysePhoto, recrop } from '../native/pipeline/analyse.ts';
import { decodePhotoFile } from '../native/pipeline/decode.ts';
import { loadDetector } from '../native/pipeline/detect.ts';
import { EMBED_BATCH, cosine, normalise } from '../native/pipeline/embed.ts';
import { MODELS_DIR, loadManifest, ort } from '../native/pipeline/runtime.ts';
import { Store } from '../native/store/index.ts';

const FACES = '/work/shared/faces';
const RECOGNISERS = [
  { id: 'sirius-mfn-192', preset: 'sirius' },
  { id: 'fr-feature-512', preset: 'fr-feature' },
] as const;

function photosUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((p) => /\.(jpe?g|png)$/i.test(p))
    .map((p) => join(dir, p))
    .filter((p) => statSync(p).isFile())
    .sort();
}

/** Aligned crops of every face the pipeline finds in the calibration photos. */
export async function calibrationCrops(dirs = [join(FACES, 'portraits'), join(FACES, 'groups')]): Promise<Uint8Array[]> {
  const detector = await loadDetector('cpu');
  const crops: Uint8Array[] = [];
  for (const path of dirs.flatMap(photosUnder)) {
    const photo = await decodePhotoFile(path).catch(() => null);
    if (photo) crops.push(...(await analysePhoto(detector, photo)).crops);
  }
  return crops;
}

/** How one recogniser is run: which file (fp32 or an int8 form) at which ORT graph optimisation level. */
interface Variant {
  name: string;
  form: 'fp32' | 'int8-static' | 'int8-dynamic';
  level: 'extended' | 'all';
}
/** 'all' is what the engine uses today (runtime.ts); 'extended' stops before the NCHWc layout pass. */
const VARIANTS: Variant[] = [
  { name: 'fp32', form: 'fp32', level: 'all' },
  { name: 'fp32 ext', form: 'fp32', level: 'extended' },
  { name: 'int8-static', form: 'int8-static', level: 'all' },
  { name: 'int8-static ext', form: 'int8-static', level: 'extended' },
  { name: 'int8-dynamic', form: 'int8-dynamic', level: 'all' },
];

/** One recogniser session, run the engine's way: one intra-op thread, the crops normalised as Embedder does. */
class Runner {
  private constructor(
    private readonly model: ModelManifest['models'][number],
    private readonly session: ort.InferenceSession,
  ) {}

  static async create(model: ModelManifest['models'][number], bytes: Uint8Array, level: Variant['level']): Promise<Runner> {
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: level, intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'] });
    return new Runner(model, session);
  }

  async embed(crops: readonly Uint8Array[], batch = EMBED_BATCH): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const { name: output, size } = this.model.output!;
    for (let s = 0; s < crops.length; s += batch) {
      const part = crops.slice(s, s + batch);
      const result = await this.session.run({ [this.model.input.name]: inputTensor(this.model, part) });
      const flat = result[output]!.data as Float32Array;
      for (let n = 0; n < part.length; n++) out.push(normalise(flat.slice(n * size, (n + 1) * size)));
    }
    return out;
  }
}

/** Every face of the library's main model and its crop, recomputed from the stored landmarks. */
async function libraryCrops(store: Store): Promise<{ ids: number[]; crops: Uint8Array[] }> {
  const [top] = store.faces.modelCounts();
  const byPhoto = new Map<number, Array<{ id: number; landmarks: { x: number; y: number }[] }>>();
  for (const f of store.faces.iterate(top!.modelId)) byPhoto.set(f.photoId, [...(byPhoto.get(f.photoId) ?? []), f]);
  const ids: number[] = [];
  const crops: Uint8Array[] = [];
  for (const [photoId, faces] of byPhoto) {
    const photo = await decodePhotoFile(store.photos.getById(photoId)!.path);
    crops.push(...recrop(photo, faces.map((f) => f.landmarks)));
    ids.push(...faces.map((f) => f.id));
  }
  return { ids, crops };
}

function ensembleOf(blocks: Float32Array[]): Float32Array {
  const v = new Float32Array(blocks.reduce((s, b) => s + b.length, 0));
  let o = 0;
  for (const b of blocks) {
    v.set(b, o);
    o += b.length;
  }
  return normalise(v);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string', default: '/tmp/kc-people/lfw.db' },
      rounds: { type: 'string', default: '3' },
      'speed-faces': { type: 'string', default: '256' },
      'skip-accuracy': { type: 'boolean', default: false },
    },
  });
  const root = mkdtempSync(join(tmpdir(), 'kith-int8-'));
  const manifest = loadManifest(MODELS_DIR);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; work in ${root}`);

  // 1. int8 models.
  const calib = await calibrationCrops();
  console.log(`calibration: ${calib.length} faces from portraits/ and groups/`);
  const files = new Map<string, Uint8Array>();
  for (const r of RECOGNISERS) {
    const model = manifest.models.find((m) => m.id === r.id)!;
    const fp32 = readFileSync(join(MODELS_DIR, model.file));
    const st = quantizeStatic(fp32, await calibrate(fp32, model, calib));
    const dy = quantizeDynamic(fp32);
    files.set(`fp32:${r.id}`, fp32);
    files.set(`int8-static:${r.id}`, st);
    files.set(`int8-dynamic:${r.id}`, dy);
    console.log(`${r.id}: fp32 ${(fp32.length / 1e6).toFixed(2)} MB, static ${(st.length / 1e6).toFixed(2)} MB ${sha256(st).slice(0, 12)}, dynamic ${(dy.length / 1e6).toFixed(2)} MB ${sha256(dy).slice(0, 12)}`);
  }
  const runners = new Map<string, Runner>();
  for (const v of VARIANTS) {
    for (const r of RECOGNISERS) {
      const model = manifest.models.find((m) => m.id === r.id)!;
      runners.set(`${v.name}:${r.id}`, await Runner.create(model, files.get(`${v.form}:${r.id}`)!, v.level));
    }
  }

  // 2. lfw-dev crops.
  const dbCopy = join(root, 'lfw.db');
  copyFileSync(values.db!, dbCopy);
  const store = new Store(dbCopy);
  const t0 = performance.now();
  const { ids, crops } = await libraryCrops(store);
  store.close();
  console.log(`lfw-dev: ${crops.length} faces re-cropped from stored landmarks in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 3. Speed, interleaved: every round runs each variant on the same faces, in a rotating order.
  const rounds = Number(values.rounds);
  const n = Math.min(Number(values['speed-faces']), crops.length);
  const ms = new Map<string, number>();
  const loads: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const chunk = crops.slice(((round * n) % (crops.length - n)) | 0, ((round * n) % (crops.length - n)) + n);
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = VARIANTS[(k + round) % VARIANTS.length]!;
      for (const r of RECOGNISERS) {
        const e = runners.get(`${v.name}:${r.id}`)!;
        await e.embed(chunk.slice(0, 16)); // warm
        let t = performance.now();
        await e.embed(chunk);
        ms.set(`${v.name}:${r.id}:16`, (ms.get(`${v.name}:${r.id}:16`) ?? 0) + performance.now() - t);
        t = performance.now();
        await e.embed(chunk.slice(0, n / 4), 1);
        ms.set(`${v.name}:${r.id}:1`, (ms.get(`${v.name}:${r.id}:1`) ?? 0) + performance.now() - t);
      }
    }
    loads.push(loadavg()[0]!);
  }
  const perFace = (v: string, id: string, b: 1 | 16) => ms.get(`${v}:${id}:${b}`)! / (rounds * (b === 16 ? n : n / 4));
  console.log(`\nspeed: ms/face, 1 intra-op thread, ${rounds} interleaved rounds of ${n} faces (batch 16) and ${n / 4} (batch 1); load during: ${loads.map((l) => l.toFixed(2)).join(' ')}`);
  const speed: Record<string, unknown> = {};
  for (const b of [1, 16] as const) {
    for (const v of VARIANTS) {
      const parts = RECOGNISERS.map((r) => perFace(v.name, r.id, b));
      const total = parts.reduce((s, x) => s + x, 0);
      const base = RECOGNISERS.map((r) => perFace('fp32', r.id, b)).reduce((s, x) => s + x, 0);
      console.log(`  batch ${String(b).padStart(2)} ${v.name.padEnd(15)} sirius ${parts[0]!.toFixed(2)}  fr-feature ${parts[1]!.toFixed(2)}  ensemble ${total.toFixed(2)}  (${(base / total).toFixed(2)}× fp32)`);
      speed[`${v.name}_b${b}`] = { sirius: parts[0], frFeature: parts[1], ensemble: total };
    }
  }
  // Each form at its faster optimisation level, per recogniser (batch 16), so int8 meets the best fp32.
  const fastest = (form: Variant['form'], id: string) =>
    VARIANTS.filter((v) => v.form === form).sort((x, y) => perFace(x.name, id, 16) - perFace(y.name, id, 16))[0]!;
  const best: Record<string, unknown> = {};
  for (const b of [1, 16] as const) {
    const sum = (form: Variant['form']) => RECOGNISERS.reduce((s, r) => s + perFace(fastest(form, r.id).name, r.id, b), 0);
    for (const form of ['int8-static', 'int8-dynamic'] as const) {
      const ratios = RECOGNISERS.map((r) => perFace(fastest('fp32', r.id).name, r.id, b) / perFace(fastest(form, r.id).name, r.id, b));
      console.log(`  batch ${String(b).padStart(2)} best ${form} vs best fp32: sirius ${ratios[0]!.toFixed(2)}×, fr-feature ${ratios[1]!.toFixed(2)}×, ensemble ${(sum('fp32') / sum(form)).toFixed(2)}×`);
      best[`${form}_b${b}`] = { sirius: ratios[0], frFeature: ratios[1], ensemble: sum('fp32') / sum(form) };
    }
  }
  console.log(`BENCH_JSON ${JSON.stringify({ bench: 'int8-speed', cores: cpus().length, loads, rounds, faces: n, speed, best })}`);
  if (values['skip-accuracy']) return;

  // 4. Accuracy: all faces through fp32 and static int8 (each at its faster level; the level does not
  // change what is computed); cosine to fp32; TAR@FAR by embedder-compare on re-embedded copies.
  const FORMS = ['fp32', 'int8-static'] as const;
  const vectors = new Map<string, Float32Array[]>();
  for (const form of FORMS) {
    for (const r of RECOGNISERS) {
      const t = performance.now();
      vectors.set(`${form}:${r.id}`, await runners.get(`${fastest(form, r.id).name}:${r.id}`)!.embed(crops));
      console.log(`embedded ${crops.length} faces with ${r.id} ${fastest(form, r.id).name} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    }
    vectors.set(`${form}:ensemble`, ids.map((_, i) => ensembleOf(RECOGNISERS.map((r) => vectors.get(`${form}:${r.id}`)![i]!))));
  }
  const dbs: string[] = [dbCopy]; // first line: the vectors the indexer stored, as a check on this re-embedding
  const accuracy: Record<string, unknown> = {};
  for (const key of ['sirius-mfn-192', 'fr-feature-512', 'ensemble']) {
    for (const form of FORMS) {
      const vs = vectors.get(`${form}:${key}`)!;
      const cos = vs.map((x, i) => cosine(x, vectors.get(`fp32:${key}`)![i]!));
      const mean = cos.reduce((s, c) => s + c, 0) / cos.length;
      const min = Math.min(...cos);
      if (form !== 'fp32') console.log(`cosine to fp32 ${key} ${form}: mean ${mean.toFixed(5)}, min ${min.toFixed(5)}`);
      accuracy[`${form}:${key}`] = { meanCos: mean, minCos: min };
      const db = join(root, `${key}-${form}.db`);
      copyFileSync(dbCopy, db);
      const s = new Store(db);
      s.transaction(() => ids.forEach((id, i) => s.faces.reembed(id, vs[i]!, `${key}/${form}`)));
      s.close();
      dbs.push(db);
    }
  }
  const compare = fileURLToPath(new URL('./embedder-compare.ts', import.meta.url));
  const report = execFileSync(process.execPath, ['--import', 'tsx', compare, ...dbs], { encoding: 'utf8' });
  console.log(`\nlfw-dev (bench/embedder-compare.ts):\n${report}`);
  console.log(`BENCH_JSON ${JSON.stringify({ bench: 'int8-accuracy', faces: ids.length, accuracy, compare: report.trim().split('\n') })}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
