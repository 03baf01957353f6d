/**
 * int8 recognisers (models/quantize.ts): built deterministically from the fp32 files, valid
 * graphs whose Conv weights really are int8, and vectors close to fp32 on real faces. Ranges are
 * calibrated on the face_recognition and vladmandic-human portraits; closeness is read on the
 * BBT portraits, a different set.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import onnxProto from 'onnx-proto';
import { calibrate, inputTensor } from '../models/calibrate.ts';
import type { ModelManifest } from '../models/manifest.ts';
import { calibrationModel, quantizeDynamic, quantizeStatic, type Ranges } from '../models/quantize.ts';
import { alignFace } from '../native/pipeline/align.ts';
import { decodePhoto } from '../native/pipeline/decode.ts';
import { detectFaces, loadDetector } from '../native/pipeline/detect.ts';
import { cosine, normalise } from '../native/pipeline/embed.ts';
import { MODELS_DIR, loadManifest, ort } from '../native/pipeline/runtime.ts';
import { FACES, facesIn } from './helpers.ts';

const { onnx } = onnxProto;
type Recogniser = ModelManifest['models'][number];

async function largestFaceCrops(sub: string): Promise<Uint8Array[]> {
  const detector = await loadDetector('cpu');
  const crops: Uint8Array[] = [];
  for (const rel of facesIn(sub)) {
    const photo = await decodePhoto(readFileSync(join(FACES, rel)));
    const faces = await detectFaces(detector, photo);
    const largest = faces.sort((a, b) => (b.x2 - b.x1) * (b.y2 - b.y1) - (a.x2 - a.x1) * (a.y2 - a.y1))[0];
    if (largest) crops.push(alignFace(photo, largest.landmarks));
  }
  return crops;
}

async function embed(bytes: Uint8Array, model: Recogniser, crops: readonly Uint8Array[], output = model.output!.name): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  try {
    const flat = (await session.run({ [model.input.name]: inputTensor(model, crops) }))[output]!.data as Float32Array;
    const d = flat.length / crops.length;
    return crops.map((_, n) => flat.slice(n * d, (n + 1) * d));
  } finally {
    await session.release();
  }
}

for (const id of ['sirius-mfn-192', 'fr-feature-512']) {
  describe(`int8 ${id}`, () => {
    let model: Recogniser;
    let fp32: Uint8Array;
    let ranges: Ranges;
    let faces: Uint8Array[];
    let reference: Float32Array[];

    before(async () => {
      model = loadManifest(MODELS_DIR).models.find((m) => m.id === id)!;
      fp32 = readFileSync(join(MODELS_DIR, model.file));
      const calib = [...(await largestFaceCrops('portraits/face_recognition')), ...(await largestFaceCrops('portraits/vladmandic-human'))];
      ranges = await calibrate(fp32, model, calib);
      faces = await largestFaceCrops('portraits/faceapi-bbt');
      reference = (await embed(fp32, model, faces)).map(normalise);
    });

    it('the calibration graph (PReLU folded) computes what the fp32 model does', async () => {
      const folded = await embed(calibrationModel(fp32).bytes, model, faces.slice(0, 8));
      const original = await embed(fp32, model, faces.slice(0, 8));
      for (let i = 0; i < folded.length; i++) for (let k = 0; k < folded[i]!.length; k++) assert.ok(Math.abs(folded[i]![k]! - original[i]![k]!) < 1e-4);
    });

    it('is the same bytes every time it is built from the same file and ranges', () => {
      assert.deepEqual(quantizeStatic(fp32, ranges), quantizeStatic(fp32, ranges));
      assert.deepEqual(quantizeDynamic(fp32), quantizeDynamic(fp32));
    });

    it('stores every Conv weight but the final one as int8, and is a third of the size or less', () => {
      const bytes = quantizeStatic(fp32, ranges);
      const graph = onnx.ModelProto.decode(bytes).graph!;
      const convs = (graph.node ?? []).filter((n) => n.opType === 'Conv');
      const int8 = new Set((graph.initializer ?? []).filter((t) => t.dataType === onnx.TensorProto.DataType.INT8).map((t) => `${t.name}`));
      const dqWeights = (graph.node ?? []).filter((n) => n.opType === 'DequantizeLinear' && int8.has(n.input![0]!));
      assert.equal(dqWeights.length, convs.length - 1);
      assert.ok(!(graph.initializer ?? []).some((t) => t.dataType === onnx.TensorProto.DataType.FLOAT && (t.dims ?? []).length === 4 && Number(t.dims![2]) > 1));
      assert.ok(bytes.length < fp32.length / 2, `${bytes.length} vs ${fp32.length}`);
    });

    // Measured on these faces (min/max calibration): static mean cosine 0.945 (sirius) and 0.977
    // (fr-feature), min 0.85 and 0.96. The bar catches a broken quantiser (a wrong scale, axis or
    // zero point gives cosines near 0); whether int8 is good enough is bench:int8's question.
    it('gives vectors close to fp32 on real faces, both forms', async () => {
      for (const [form, bytes] of [
        ['static', quantizeStatic(fp32, ranges)],
        ['dynamic', quantizeDynamic(fp32)],
      ] as const) {
        const got = (await embed(bytes, model, faces)).map(normalise);
        const cos = got.map((v, i) => cosine(v, reference[i]!));
        const mean = cos.reduce((s, c) => s + c, 0) / cos.length;
        assert.ok(mean > 0.9 && Math.min(...cos) > 0.75, `${form}: mean ${mean.toFixed(4)}, min ${Math.min(...cos).toFixed(4)}`);
      }
    });
  });
}
