/**
 * @file `npm run bench:peer -- <folder>`: Kith against the usual Node way to do the same job,
 * @vladmandic/face-api (SSD MobileNet v1 + 68 landmarks + recognition net) on tfjs with the
 * WebAssembly backend, fed by a JavaScript/WebAssembly decoder. Each contender runs in its own
 * child process so peak RSS is its own; the parent prints the two side by side.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { getImageData, imageFromBuffer } from '@canvas/image';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import jpeg from 'jpeg-js';
import { scanFolder } from '../native/scan.ts';
import { JSON_PREFIX, limitedFolder, machine, machineLine, parseDevice, parseLimit, peakRssMiB, printJson, round, runKith } from './common.ts';

const USAGE = `usage: npm run bench:peer -- <folder> [--limit N] [--device cpu|gpu|auto] [--embedder NAME]
         [--decoder canvas|jpeg-js]

  --limit N    use only the first N photos (sorted)
  --decoder    the peer's image decoder: @canvas/image (libjpeg-turbo/lodepng in WebAssembly,
               as in face-api's own demo/node-wasm.js; the default) or pure-JS jpeg-js`;

/** What each child reports; the same fields for both, so the table and ratio are like for like. */
interface Contender {
  contender: 'peer' | 'kith';
  label: string;
  photos: number;
  errors: number;
  faces: number;
  /** Model load and one warm-up inference, before the timed pass. */
  loadSec: number;
  wallSec: number;
  photosPerSec: number;
  peakRssMiB: number;
  detail: Record<string, unknown>;
}

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Both decoders give upright-as-stored pixels (no EXIF rotation), as face-api's demos do. */
const DECODERS: Record<string, (bytes: Buffer) => Promise<Rgb>> = {
  async canvas(bytes) {
    const image = getImageData(await imageFromBuffer(bytes));
    if (!image) throw new Error('undecodable');
    const { width, height, data: rgba } = image;
    const data = new Uint8Array(width * height * 3);
    for (let p = 0, q = 0; q < data.length; p += 4, q += 3) {
      data[q] = rgba[p]!;
      data[q + 1] = rgba[p + 1]!;
      data[q + 2] = rgba[p + 2]!;
    }
    return { data, width, height };
  },
  async 'jpeg-js'(bytes) {
    // jpeg-js refuses images above 100 MP / 512 MB unless told; lift that to Kith's own limit.
    return jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 150, maxMemoryUsageInMB: 4096 });
  },
};

/** Log a line every 15 s so a slow pass visibly makes progress. */
function progress(label: string, total: number) {
  let last = performance.now();
  return (done: number) => {
    if (performance.now() - last < 15_000) return;
    last = performance.now();
    console.error(`${label}: ${done}/${total} photos`);
  };
}

async function runPeer(folder: string, decoderName: string): Promise<Contender> {
  const decode = DECODERS[decoderName];
  if (!decode) throw new Error(`--decoder must be one of ${Object.keys(DECODERS).join(', ')}`);
  const t0 = performance.now();
  // The .wasm binaries ship in the npm package; a path prefix makes tfjs read them from disk.
  setWasmPaths(join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist') + '/');
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend failed to start');
  await tf.ready();
  const models = join(packageDir('@vladmandic/face-api'), 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(models);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(models);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(models);
  const options = new faceapi.SsdMobilenetv1Options(); // face-api's defaults: minConfidence 0.5, up to 100 faces
  const analyse = (input: faceapi.tf.Tensor3D) => faceapi.detectAllFaces(input, options).withFaceLandmarks().withFaceDescriptors();
  const warm = faceapi.tf.tensor3d(new Int32Array(480 * 640 * 3), [480, 640, 3], 'int32');
  await analyse(warm);
  warm.dispose();
  const loadMs = performance.now() - t0;

  const { files } = await scanFolder(folder);
  const report = progress('face-api', files.length);
  const tensorsBefore = tf.memory().numTensors;
  let faces = 0;
  let errors = 0;
  let decodeMs = 0;
  let modelMs = 0;
  const start = performance.now();
  for (const [i, file] of files.entries()) {
    const t1 = performance.now();
    let input: faceapi.tf.Tensor3D;
    try {
      const { data, width, height } = await decode(await readFile(file.path));
      input = faceapi.tf.tensor3d(data, [height, width, 3], 'int32');
    } catch (err) {
      console.error(`face-api: cannot decode ${file.path}: ${(err as Error).message}`);
      errors++;
      continue;
    } finally {
      decodeMs += performance.now() - t1;
    }
    const t2 = performance.now();
    faces += (await analyse(input)).length;
    input.dispose();
    modelMs += performance.now() - t2;
    report(i + 1);
  }
  const wallMs = performance.now() - start;
  const photos = files.length - errors;
  return {
    contender: 'peer',
    label: `face-api ${faceapi.version} (tfjs ${tf.version_core} ${tf.getBackend()})`,
    photos,
    errors,
    faces,
    loadSec: round(loadMs / 1000, 2),
    wallSec: round(wallMs / 1000, 2),
    photosPerSec: round(photos / (wallMs / 1000), 2),
    peakRssMiB: peakRssMiB(),
    detail: {
      decoder: decoderName,
      wasmSimd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
      wasmThreads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
      decodeMsPerPhoto: photos ? round(decodeMs / photos) : null,
      modelMsPerPhoto: photos ? round(modelMs / photos) : null,
      // Should stay 0: a growing count would mean the peer leaks tensors and its RSS is unfair.
      leakedTensors: tf.memory().numTensors - tensorsBefore,
    },
  };
}

async function runKithContender(folder: string, device: string, embedder: string | undefined): Promise<Contender> {
  const run = await runKith(folder, { device: parseDevice(device), embedder });
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

function table(rows: Contender[]): string {
  const head = ['', 'photos', 'errors', 'faces', 'load s', 'wall s', 'photos/s', 'peak RSS MiB'];
  const body = rows.map((r) => [r.label, r.photos, r.errors, r.faces, r.loadSec, r.wallSec, r.photosPerSec, r.peakRssMiB].map(String));
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
    },
  });
  if (positionals.length !== 1) throw new Error(USAGE);
  const folder = positionals[0]!;
  if (values.only === 'peer') return printJson(await runPeer(folder, values.decoder));
  if (values.only === 'kith') return printJson(await runKithContender(folder, values.device, values.embedder));
  if (values.only !== undefined) throw new Error(`--only must be peer or kith`);

  const mach = machine();
  const photos = await limitedFolder(folder, parseLimit(values.limit));
  try {
    const pass = ['--device', values.device, '--decoder', values.decoder, ...(values.embedder ? ['--embedder', values.embedder] : [])];
    // One after the other: on a small machine two at once would slow each other down.
    const kith = await child('kith', [photos.folder, ...pass]);
    const peer = await child('peer', [photos.folder, ...pass]);
    const ratio = peer.photosPerSec > 0 ? round(kith.photosPerSec / peer.photosPerSec, 2) : null;
    console.log(machineLine(mach));
    console.log(`folder: ${folder}${values.limit ? ` (first ${values.limit} photos)` : ''}`);
    console.log(table([peer, kith]));
    console.log(`Kith / face-api photos/s: ${ratio ?? '-'}×`);
    console.log(`face-api detail: ${JSON.stringify(peer.detail)}`);
    console.log(`Kith detail: ${JSON.stringify(kith.detail)}`);
    const loadAfter = machine().load;
    console.log(`load average after: ${loadAfter.join(' ')}`);
    printJson({ bench: 'peer', folder, limit: parseLimit(values.limit) ?? null, peer, kith, kithOverPeerPhotosPerSec: ratio, machine: mach, loadAfter });
  } finally {
    photos.remove();
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench:peer: ${err.message}`);
    process.exit(1);
  },
);
