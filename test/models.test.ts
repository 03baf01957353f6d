/**
 * The models step: pinned sources verified by sha256, a deterministic TFLite → ONNX
 * conversion, graphs edited for batching and any aspect ratio, and an idempotent re-run.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureModels, obtainSource, sha256 } from '../models/fetch.ts';
import { SIRIUS_MFN } from '../models/sources.ts';
import { tfliteToOnnx } from '../models/tflite-to-onnx.ts';
import { loadManifest, MODELS_DIR, ort } from '../native/pipeline/runtime.ts';

const manifest = loadManifest();
const modelFile = (id: string) => join(MODELS_DIR, manifest.models.find((m) => m.id === id)!.file);

async function run(session: ort.InferenceSession, input: string, data: Float32Array, dims: number[]) {
  return session.run({ [input]: new ort.Tensor('float32', data, dims) });
}

function noise(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = (s / 2 ** 31) * 2 - 1;
  }
  return out;
}

describe('models', () => {
  it('lists a detector and two embedders, each file matching its recorded sha256 and licence', () => {
    assert.deepEqual(manifest.models.map((m) => m.id).sort(), ['fr-feature-512', 'retinaface-mnet025-v2', 'sirius-mfn-192']);
    for (const m of manifest.models) {
      assert.equal(sha256(readFileSync(join(MODELS_DIR, m.file))), m.sha256, m.file);
      assert.match(m.source.sha256, /^[0-9a-f]{64}$/);
      assert.ok(m.licence.length > 10, `${m.id} licence`);
    }
    assert.match(manifest.models.find((m) => m.id === 'retinaface-mnet025-v2')!.licence, /non-commercial/);
  });

  it('is idempotent: a second run rebuilds nothing', () => {
    const before = manifest.models.map((m) => statSync(join(MODELS_DIR, m.file)).mtimeMs);
    const lines: string[] = [];
    ensureModels(MODELS_DIR, (l) => lines.push(l));
    assert.deepEqual(manifest.models.map((m) => statSync(join(MODELS_DIR, m.file)).mtimeMs), before);
    assert.ok(lines.every((l) => l.endsWith(' ok')), lines.join('\n'));
  });

  it('converts the MobileFaceNet TFLite file the same way every time, and refuses other bytes', () => {
    const onnxBytes = tfliteToOnnx(obtainSource(SIRIUS_MFN));
    assert.equal(sha256(onnxBytes), sha256(readFileSync(modelFile('sirius-mfn-192'))));
    assert.throws(() => tfliteToOnnx(new Uint8Array(64)), /TFL3/);
  });

  for (const [id, input, output, dim] of [
    ['sirius-mfn-192', 'input', 'embedding', 192],
    ['fr-feature-512', 'input', 'output', 512],
  ] as const) {
    it(`${id}: a batch gives the same rows as one face at a time`, async () => {
      const session = await ort.InferenceSession.create(modelFile(id));
      const plane = 3 * 112 * 112;
      const batch = noise(3 * plane, 7);
      const together = (await run(session, input, batch, [3, 3, 112, 112]))[output]!;
      assert.deepEqual(together.dims, [3, dim]);
      for (let i = 0; i < 3; i++) {
        const alone = (await run(session, input, batch.slice(i * plane, (i + 1) * plane), [1, 3, 112, 112]))[output]!;
        const a = alone.data as Float32Array;
        const b = (together.data as Float32Array).subarray(i * dim, (i + 1) * dim);
        assert.ok(a.every((v, k) => Math.abs(v - b[k]!) < 1e-4), `row ${i}`);
      }
    });
  }

  it('retinaface runs at any multiple-of-32 size, with outputs per stride', async () => {
    const session = await ort.InferenceSession.create(modelFile('retinaface-mnet025-v2'));
    const out = await run(session, 'data', new Float32Array(3 * 96 * 224), [1, 3, 96, 224]);
    assert.deepEqual(out.face_rpn_cls_prob_reshape_stride8!.dims, [1, 4, 12, 28]);
    assert.deepEqual(out.face_rpn_landmark_pred_stride32!.dims, [1, 20, 3, 7]);
  });
});
