/**
 * Embeddings on real, aligned faces: the same person is closer than different people, by a
 * margin, for each recogniser alone (the converted TFLite one included) and the ensemble.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { alignFace } from '../native/pipeline/align.ts';
import { decodePhoto } from '../native/pipeline/decode.ts';
import { detectFaces, loadDetector } from '../native/pipeline/detect.ts';
import { batchingFor, cosine, CPU_BATCHING, Embedder, GPU_BATCHING, ONE_THREAD_BATCHING, paddedRows } from '../native/pipeline/embed.ts';
import { intraOpThreadsSet, loadManifest, MODELS_DIR, ort, sessionFor, setIntraOpThreads } from '../native/pipeline/runtime.ts';
import { FACES, facesIn } from './helpers.ts';

interface Sample {
  who: string;
  crop: Uint8Array;
}

/** The largest face of each labelled portrait, aligned; identity = the portrait's folder. */
async function labelledCrops(): Promise<Sample[]> {
  const detector = await loadDetector('cpu');
  const samples: Sample[] = [];
  // The mirrored copy is the same photo flipped: it would flatter the same-person figures.
  for (const rel of facesIn('portraits', (p) => !p.includes('reflection'))) {
    const photo = await decodePhoto(readFileSync(join(FACES, rel)));
    const faces = await detectFaces(detector, photo);
    const largest = faces.sort((a, b) => (b.x2 - b.x1) * (b.y2 - b.y1) - (a.x2 - a.x1) * (a.y2 - a.y1))[0];
    if (!largest) continue;
    samples.push({ who: `${basename(dirname(dirname(rel)))}/${basename(dirname(rel))}`, crop: alignFace(photo, largest.landmarks) });
  }
  return samples;
}

interface Separation {
  meanSame: number;
  meanDiff: number;
  /** Probability that a random same-person pair is closer than a random different-person pair. */
  auc: number;
  pairs: { same: number; diff: number };
}

function separation(samples: Sample[], vectors: Float32Array[]): Separation {
  const same: number[] = [];
  const diff: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    for (let j = i + 1; j < samples.length; j++) {
      (samples[i]!.who === samples[j]!.who ? same : diff).push(cosine(vectors[i]!, vectors[j]!));
    }
  }
  const sortedDiff = [...diff].sort((a, b) => a - b);
  let wins = 0;
  for (const s of same) {
    let lo = 0, hi = sortedDiff.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sortedDiff[mid]! < s) lo = mid + 1;
      else hi = mid;
    }
    wins += lo;
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { meanSame: mean(same), meanDiff: mean(diff), auc: wins / (same.length * diff.length), pairs: { same: same.length, diff: diff.length } };
}

describe('face embeddings', () => {
  let samples: Sample[];
  before(async () => {
    samples = await labelledCrops();
  });

  it('has labelled faces from every portrait set', () => {
    const sets = new Set(samples.map((s) => s.who.split('/')[0]));
    assert.deepEqual([...sets].sort(), ['deepface', 'face_recognition', 'faceapi-bbt', 'vladmandic-human']);
    assert.ok(samples.length >= 120, `${samples.length} faces`);
  });

  for (const name of ['sirius', 'fr-feature', 'ensemble']) {
    it(`${name}: same person is closer than different people, by a margin`, async () => {
      const embedder = await Embedder.load(name, 'cpu');
      const vectors = await embedder.embed(samples.map((s) => s.crop));
      assert.equal(vectors[0]!.length, embedder.dim);
      for (const v of vectors) assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-4, 'embedding is L2-normalised');
      const sep = separation(samples, vectors);
      console.log(`  ${name}: mean same ${sep.meanSame.toFixed(3)}, mean different ${sep.meanDiff.toFixed(3)}, AUC ${sep.auc.toFixed(4)} (${sep.pairs.same}/${sep.pairs.diff} pairs)`);
      assert.ok(sep.meanSame - sep.meanDiff > 0.6, `margin ${(sep.meanSame - sep.meanDiff).toFixed(3)}`);
      assert.ok(sep.auc > 0.985, `AUC ${sep.auc}`);
    });
  }

  it('gives the same vector for a face whatever else is in the batch', async () => {
    const embedder = await Embedder.load('ensemble', 'cpu');
    const crops = samples.slice(0, 5).map((s) => s.crop);
    const alone = await embedder.embed([crops[2]!]);
    const together = await embedder.embed(crops);
    assert.ok(cosine(alone[0]!, together[2]!) > 0.99999);
  });

  it("cuts runs by the session's threads: one face a run on one thread, batches on several or on a GPU", () => {
    const before = intraOpThreadsSet();
    try {
      setIntraOpThreads(1);
      assert.equal(batchingFor('cpu'), ONE_THREAD_BATCHING);
      assert.equal(ONE_THREAD_BATCHING.max, 1);
      setIntraOpThreads(undefined);
      assert.equal(batchingFor('cpu'), CPU_BATCHING);
      assert.equal(batchingFor('webgpu'), GPU_BATCHING);
    } finally {
      setIntraOpThreads(before);
    }
  });

  it('gives a one-thread embedder the vectors of a batching one', async () => {
    const batched = await Embedder.load('ensemble', 'cpu');
    const single = await Embedder.load('ensemble', 'cpu', undefined, undefined, ONE_THREAD_BATCHING);
    const crops = samples.slice(0, 6).map((s) => s.crop);
    const [a, b] = [await batched.embed(crops), await single.embed(crops)];
    for (let i = 0; i < crops.length; i++) assert.ok(cosine(a[i]!, b[i]!) > 0.99999, `crop ${i}`);
  });

  it('pads a GPU batch to a power of two without changing a vector', async () => {
    assert.deepEqual([1, 2, 3, 5, 9, 33, 64, 65].map((n) => paddedRows(n, GPU_BATCHING)), [1, 2, 4, 8, 16, 64, 64, 65]);
    assert.equal(paddedRows(5, { max: 16, padToPowerOfTwo: false }), 5);
    const plain = await Embedder.load('ensemble', 'cpu');
    const padded = await Embedder.load('ensemble', 'cpu', undefined, undefined, GPU_BATCHING);
    assert.equal(plain.batching.padToPowerOfTwo, false, 'the CPU cuts batches without padding');
    // 70 crops: one run of 64 and one of 6 padded to 8.
    const crops = Array.from({ length: 70 }, (_, i) => samples[i % samples.length]!.crop);
    const [a, b] = [await plain.embed(crops), await padded.embed(crops)];
    assert.equal(b.length, 70);
    for (let i = 0; i < 70; i++) assert.ok(cosine(a[i]!, b[i]!) > 0.99999, `crop ${i}`);
  });

  it("runs each model at its manifest's graph level (fr-feature: 'extended'), with the vectors of 'all'", async () => {
    const entry = loadManifest().models.find((m) => m.id === 'fr-feature-512')!;
    assert.equal(entry.graphOptimization, 'extended');
    const file = join(MODELS_DIR, entry.file);
    const [extended, all] = await Promise.all([sessionFor(file, 'cpu', undefined, 'extended'), sessionFor(file, 'cpu', undefined, 'all')]);
    assert.notEqual(extended.session, all.session, 'a session per level');
    const size = 112 * 112;
    const data = new Float32Array(samples.length * 3 * size);
    samples.forEach((s, n) => {
      for (let p = 0; p < size; p++) for (let c = 0; c < 3; c++) data[n * 3 * size + c * size + p] = (s.crop[3 * p + c]! - 127) / 128;
    });
    const run = async (l: typeof all) => (await l.session.run({ input: new ort.Tensor('float32', data, [samples.length, 3, 112, 112]) })).output!.data as Float32Array;
    const [a, b] = [await run(extended), await run(all)];
    for (let n = 0; n < samples.length; n++) {
      const va = a.subarray(n * 512, (n + 1) * 512);
      const vb = b.subarray(n * 512, (n + 1) * 512);
      const dot = va.reduce((sum, x, i) => sum + x * vb[i]!, 0);
      const norm = Math.sqrt(va.reduce((q, x) => q + x * x, 0) * vb.reduce((q, x) => q + x * x, 0));
      assert.ok(dot / norm > 0.9999, `face ${n}: cosine ${dot / norm}`);
    }
  });
});
