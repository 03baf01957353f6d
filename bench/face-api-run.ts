/**
 * @file The peer in `bench:peer`: the usual Node way to find and describe faces,
 * @vladmandic/face-api (SSD MobileNet v1 + 68 landmarks + recognition net) on tfjs with the
 * WebAssembly backend, fed by a JavaScript/WebAssembly decoder, one photo after another as
 * face-api's own Node demos do. Its own module so only the peer's process loads tfjs.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getImageData, imageFromBuffer } from '@canvas/image';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import jpeg from 'jpeg-js';
import { scanFolder } from '../native/scan.ts';
import { peakRssMiB, round, type Contender } from './common.ts';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Both give the pixels as stored (no EXIF rotation), as face-api's demos do. */
export const DECODERS: Record<string, (bytes: Buffer) => Promise<Rgb>> = {
  /** libjpeg-turbo/lodepng in WebAssembly: what face-api's demo/node-wasm.js uses. */
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
  /** Pure JavaScript, JPEG only. */
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

export async function runFaceApi(folder: string, decoderName: string): Promise<Contender> {
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
      readDecodeMsPerPhoto: photos ? round(decodeMs / photos) : null,
      modelMsPerPhoto: photos ? round(modelMs / photos) : null,
      // Should stay 0: a growing count would mean tensors leak and the peer's RSS is not its own.
      leakedTensors: tf.memory().numTensors - tensorsBefore,
    },
  };
}
