/**
 * @file Activation ranges for static int8 quantisation (models/quantize.ts): the fp32 recogniser,
 * folded as the int8 one will be and with every quantisable activation exposed as an output, is
 * run over aligned face crops, and each tensor's [min, max] is kept.
 */
import * as ort from 'onnxruntime-node';
import type { ModelManifest } from './manifest.ts';
import { calibrationModel, type Ranges } from './quantize.ts';

type Recogniser = ModelManifest['models'][number];

/** Model input as the engine builds it (native/pipeline/embed.ts): (pixel − mean) / std, NCHW. */
export function inputTensor(model: Recogniser, crops: readonly Uint8Array[], side = 112): ort.Tensor {
  const { mean, std } = model.input;
  const plane = side * side;
  const data = new Float32Array(crops.length * 3 * plane);
  crops.forEach((crop, n) => {
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) data[n * 3 * plane + c * plane + p] = (crop[3 * p + c]! - mean) / std;
  });
  return new ort.Tensor('float32', data, [crops.length, 3, side, side]);
}

/**
 * Range of every quantisable activation of the fp32 model over the crops: [min, max] when
 * `clip` is 0, else the clip and 1 − clip quantiles (read from every 7th value), which trades
 * a few saturated outliers for finer steps everywhere else.
 */
export async function calibrate(fp32: Uint8Array, model: Recogniser, crops: readonly Uint8Array[], clip = 0): Promise<Ranges> {
  const { bytes, tensors } = calibrationModel(fp32);
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  const ranges: Ranges = {};
  const samples = new Map<string, number[]>();
  try {
    for (let s = 0; s < crops.length; s += 16) {
      const out = await session.run({ [model.input.name]: inputTensor(model, crops.slice(s, s + 16)) });
      for (const t of tensors) {
        const data = out[t]!.data as Float32Array;
        let [lo, hi] = ranges[t] ?? [Infinity, -Infinity];
        for (const v of data) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        ranges[t] = [lo, hi];
        if (clip > 0) {
          const kept = samples.get(t) ?? [];
          for (let i = 0; i < data.length; i += 7) kept.push(data[i]!);
          samples.set(t, kept);
        }
      }
    }
  } finally {
    await session.release();
  }
  for (const [t, kept] of samples) {
    const sorted = Float64Array.from(kept).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    ranges[t] = [at(clip), at(1 - clip)];
  }
  return ranges;
}
