/**
 * @file One worker thread of the peer in `bench:peer`: its own tfjs-wasm instance and its own
 * copy of face-api's three nets, analysing the photos the coordinator (face-api-run.ts) hands it
 * one at a time. tfjs-wasm's own multi-threaded build does not start under Node (its pthreads
 * are blob: URL workers, which worker_threads refuses), so a thread per core is how a user who
 * wanted the peer fast would use the machine.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { getImageData, imageFromBuffer } from '@canvas/image';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import jpeg from 'jpeg-js';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

interface Rgb {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Both give the pixels as stored (no EXIF rotation), as face-api's demos do. */
const DECODERS: Record<string, (bytes: Buffer) => Promise<Rgb>> = {
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

export const DECODER_NAMES = Object.keys(DECODERS);

/** What the coordinator sends: a photo to analyse, or the end of the run. */
export type ToWorker = { path: string } | { stop: true };

/** What a worker answers. */
export type FromWorker =
  | { kind: 'ready'; loadMs: number; label: string; wasmSimd: boolean; wasmThreads: boolean }
  | { kind: 'photo'; path: string; faces: number | null; decodeMs: number; modelMs: number }
  | { kind: 'stopped'; leakedTensors: number };

async function serve(port: NonNullable<typeof parentPort>, decoderName: string): Promise<void> {
  const decode = DECODERS[decoderName];
  if (!decode) throw new Error(`--decoder must be one of ${DECODER_NAMES.join(', ')}`);
  const send = (msg: FromWorker) => port.postMessage(msg);
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
  const tensorsBefore = tf.memory().numTensors;
  send({
    kind: 'ready',
    loadMs: performance.now() - t0,
    label: `face-api ${faceapi.version} (tfjs ${tf.version_core} ${tf.getBackend()})`,
    wasmSimd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    wasmThreads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
  });

  // One message at a time: the next photo only arrives after this one is answered.
  port.on('message', async (msg: ToWorker) => {
    if ('stop' in msg) {
      // Should stay 0: a growing count would mean tensors leak and the peer's RSS is not its own.
      send({ kind: 'stopped', leakedTensors: tf.memory().numTensors - tensorsBefore });
      port.close();
      return;
    }
    const t1 = performance.now();
    let input: faceapi.tf.Tensor3D;
    try {
      const { data, width, height } = await decode(await readFile(msg.path));
      input = faceapi.tf.tensor3d(data, [height, width, 3], 'int32');
    } catch (err) {
      console.error(`face-api: cannot decode ${msg.path}: ${(err as Error).message}`);
      send({ kind: 'photo', path: msg.path, faces: null, decodeMs: performance.now() - t1, modelMs: 0 });
      return;
    }
    const t2 = performance.now();
    const faces = (await analyse(input)).length;
    input.dispose();
    send({ kind: 'photo', path: msg.path, faces, decodeMs: t2 - t1, modelMs: performance.now() - t2 });
  });
}

if (parentPort) await serve(parentPort, (workerData as { decoder: string }).decoder);
