/**
 * bench:gpu's comparison of the GPU's faces with the CPU's: faces are paired by box overlap, not
 * by order (a GPU may list them in another order), a face only one side found is counted but not
 * paired, and the cosines are those of the paired vectors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agreement } from '../bench/gpu-bench.ts';
import { normalise } from '../native/pipeline/embed.ts';
import type { AnalysedFile } from '../native/pipeline/photo-analysis.ts';

const box = (x1: number, y1: number, x2: number, y2: number) => ({ x1, y1, x2, y2 });
const vec = (...xs: number[]) => normalise(Float32Array.from(xs));

function file(faces: Array<{ box: ReturnType<typeof box>; v: Float32Array }>): AnalysedFile {
  return {
    path: 'p.jpg', size: 1, hash: 'h', photo: null, error: null, thumbs: [],
    faces: faces.map((f) => ({ box: f.box, landmarks: [], score: 0.99, size: 50, sharpness: 30, yaw: 0, pitch: 0, roll: 0 })),
    vectors: faces.map((f) => f.v),
    ms: { read: 0, decode: 0, detect: 0, align: 0, thumbs: 0, embed: 0 },
  } as AnalysedFile;
}

describe('bench:gpu agreement', () => {
  it('pairs faces by overlap, counts unpaired ones, and reports the paired cosines', () => {
    const left = { box: box(0, 0, 100, 100), v: vec(1, 0, 0) };
    const right = { box: box(200, 0, 300, 100), v: vec(0, 1, 0) };
    const cpu = [file([left, right])];
    // The GPU lists them the other way round, a hair apart, and finds one face more.
    const gpu = [file([{ box: box(200.5, 0, 300, 100), v: vec(0, 1, 0.01) }, { box: box(0, 0, 100, 100), v: vec(1, 0, 0) }, { box: box(400, 0, 450, 50), v: vec(0, 0, 1) }])];
    const a = agreement(cpu, gpu);
    assert.equal(a.cpuFaces, 2);
    assert.equal(a.gpuFaces, 3);
    assert.equal(a.matched, 2);
    assert.ok(Math.abs(a.cosineMin! - 1 / Math.hypot(1, 0.01)) < 1e-6, String(a.cosineMin));
    assert.ok(a.cosineMedian! > 0.99999);
    assert.equal(a.above0999, 1);
    assert.equal(a.maxBoxShiftPx, 0.5);
  });

  it('does not pair faces that do not overlap enough', () => {
    const a = agreement([file([{ box: box(0, 0, 100, 100), v: vec(1, 0) }])], [file([{ box: box(60, 60, 160, 160), v: vec(1, 0) }])]);
    assert.equal(a.matched, 0);
    assert.equal(a.cosineMin, null);
  });
});
